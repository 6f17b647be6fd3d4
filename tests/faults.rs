//! Faults injected around the real binary, with the SDK's production retry settings: wiremock
//! plays IAM (exact wire answers, delays) and the presigned ResponseURL (errors, hangs), and
//! every invocation has a short deadline so that the guard is in play.

#[path = "support/evidence.rs"]
mod evidence;
#[path = "support/iam_wire.rs"]
mod iam_wire;
#[path = "support/runtime_api.rs"]
mod runtime_api;

use iam_wire::*;
use runtime_api::{Function, Outcome, RuntimeApi};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const ECS: &str = "ecs.amazonaws.com";
const ECS_ROLE: &str = "AWSServiceRoleForECS";

struct Rig {
    iam: MockServer,
    s3: MockServer,
    api: Arc<RuntimeApi>,
    function: Function,
}

impl Rig {
    /// `s3_reply`: how the ResponseURL answers (None: a plain 200).
    async fn start(s3_replies: Vec<(ResponseTemplate, u64)>) -> Rig {
        let iam = MockServer::start().await;
        let s3 = MockServer::start().await;
        for (reply, times) in s3_replies {
            Mock::given(method("PUT"))
                .respond_with(reply)
                .up_to_n_times(times)
                .mount(&s3)
                .await;
        }
        Mock::given(method("PUT"))
            .respond_with(ResponseTemplate::new(200))
            .mount(&s3)
            .await;
        let api = RuntimeApi::start().await;
        let function = Function::start(
            &api,
            &[
                ("AWS_ENDPOINT_URL_IAM", iam.uri()),
                ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE".into()),
                ("AWS_SECRET_ACCESS_KEY", "secret".into()),
                (
                    "UPSERT_SLR_EXTRA_RESPONSE_URL_PREFIXES",
                    format!("{}/", s3.uri()),
                ),
            ],
        );
        Rig {
            iam,
            s3,
            api,
            function,
        }
    }

    fn event(&self, request_type: &str, properties: Value) -> Value {
        event(
            &format!(
                "{}/cfn/answer?AWSAccessKeyId=AKID&Expires=1&Signature=c2VjcmV0",
                self.s3.uri()
            ),
            request_type,
            properties,
        )
    }

    /// Invokes with `deadline` and checks the outcome came before it.
    async fn invoke(&self, event: &Value, deadline: Duration) -> (Outcome, Duration) {
        let started = Instant::now();
        let outcome = self.api.invoke(event, deadline).await;
        let took = started.elapsed();
        assert!(
            took < deadline,
            "outcome after {took:?}, deadline {deadline:?}\n{}",
            self.function.logs()
        );
        (outcome, took)
    }

    /// Every PUT the ResponseURL received, with its HTTP answer's status as wiremock chose it.
    async fn puts(&self) -> Vec<Value> {
        self.s3
            .received_requests()
            .await
            .unwrap()
            .iter()
            .map(|r| serde_json::from_slice(&r.body).expect("JSON body"))
            .collect()
    }

    async fn iam_calls(&self, action: &str) -> usize {
        let needle = format!("Action={action}&");
        self.iam
            .received_requests()
            .await
            .unwrap()
            .iter()
            .filter(|r| String::from_utf8_lossy(&r.body).contains(&needle))
            .count()
    }

    fn finish(mut self) {
        assert!(
            self.function.is_alive(),
            "the function died\n{}",
            self.function.logs()
        );
        let logs = self.function.logs();
        assert!(
            !logs.contains("Signature=") && !logs.contains("X-Amz-Signature"),
            "{logs}"
        );
        assert!(!logs.contains("panicked"), "{logs}");
    }
}

fn event(url: &str, request_type: &str, properties: Value) -> Value {
    let mut e = json!({
        "RequestType": request_type,
        "ServiceToken": runtime_api::FUNCTION_ARN,
        "ResponseURL": url,
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/app/1",
        "RequestId": "req-1",
        "LogicalResourceId": "EcsRole",
        "ResourceType": "Custom::ServiceLinkedRole",
        "ResourceProperties": properties,
    });
    if request_type != "Create" {
        e["PhysicalResourceId"] = json!(ECS_ROLE);
    }
    e
}

/// A loopback URL where nothing listens: connections are refused.
fn closed_port_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://{}", listener.local_addr().unwrap())
}

fn create_props() -> Value {
    json!({"AWSServiceName": ECS, "PropagationWaitSeconds": "0"})
}

#[tokio::test(flavor = "multi_thread")]
async fn iam_throttling_or_server_errors_then_success_answer_success() {
    for (fault, name) in [
        (error(400, "Throttling", "Rate exceeded"), "Throttling"),
        (
            error(500, "ServiceFailure", "Internal failure"),
            "HTTP 500 ServiceFailure",
        ),
    ] {
        let rig = Rig::start(vec![]).await;
        action("CreateServiceLinkedRole")
            .respond_with(fault)
            .up_to_n_times(2)
            .mount(&rig.iam)
            .await;
        mount_created(&rig.iam).await;

        let (outcome, took) = rig
            .invoke(
                &rig.event("Create", create_props()),
                Duration::from_secs(10),
            )
            .await;

        assert!(matches!(outcome, Outcome::Result(_)), "{outcome:?}");
        let puts = rig.puts().await;
        assert_eq!(puts.len(), 1);
        assert_eq!(puts[0]["Status"], "SUCCESS", "{}", puts[0]);
        assert_eq!(rig.iam_calls("CreateServiceLinkedRole").await, 3);
        evidence::record(
            "Faults",
            &format!("IAM answers {name} twice, then creates the role (10 s deadline)"),
            1,
            &format!(
                "SUCCESS after 3 CreateServiceLinkedRole attempts, answered in {} ms",
                took.as_millis()
            ),
        );
        rig.finish();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn iam_throttling_past_the_retry_budget_fails_naming_it() {
    let rig = Rig::start(vec![]).await;
    action("CreateServiceLinkedRole")
        .respond_with(error(400, "Throttling", "Rate exceeded"))
        .mount(&rig.iam)
        .await;

    let (_, took) = rig
        .invoke(
            &rig.event("Create", create_props()),
            Duration::from_secs(10),
        )
        .await;

    let puts = rig.puts().await;
    assert_eq!(puts.len(), 1);
    assert_eq!(puts[0]["Status"], "FAILED");
    assert_eq!(
        puts[0]["Reason"],
        "Throttling: Rate exceeded (iam:CreateServiceLinkedRole)"
    );
    let attempts = rig.iam_calls("CreateServiceLinkedRole").await;
    assert_eq!(attempts, 3, "the SDK's standard retry budget");
    evidence::record(
        "Faults",
        "IAM throttles every attempt (10 s deadline)",
        1,
        &format!(
            "FAILED \"Throttling: Rate exceeded\" after {attempts} attempts, in {} ms",
            took.as_millis()
        ),
    );
    rig.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn iam_that_never_answers_gets_a_failed_answer_before_the_deadline() {
    let rig = Rig::start(vec![]).await;
    action("CreateServiceLinkedRole")
        .respond_with(ok("CreateServiceLinkedRole", "").set_delay(Duration::from_secs(120)))
        .mount(&rig.iam)
        .await;
    let deadline = Duration::from_secs(5);

    let (outcome, took) = rig
        .invoke(&rig.event("Create", create_props()), deadline)
        .await;

    assert!(matches!(outcome, Outcome::Result(_)), "{outcome:?}");
    let puts = rig.puts().await;
    assert_eq!(puts.len(), 1);
    assert_eq!(puts[0]["Status"], "FAILED");
    assert_eq!(
        puts[0]["Reason"],
        "timed out while calling iam:CreateServiceLinkedRole for ecs.amazonaws.com, before the Lambda deadline"
    );
    assert_eq!(
        puts[0]["PhysicalResourceId"],
        "upsert-slr:create-failed:EcsRole"
    );
    evidence::record(
        "Faults",
        "IAM accepts the connection and never answers (5 s deadline)",
        1,
        &format!(
            "FAILED \"timed out while calling iam:CreateServiceLinkedRole\" delivered after {} ms",
            took.as_millis()
        ),
    );
    rig.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn iam_refusing_connections_fails_with_the_cause() {
    let url = closed_port_url();
    let s3 = MockServer::start().await;
    Mock::given(method("PUT"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&s3)
        .await;
    let api = RuntimeApi::start().await;
    let mut function = Function::start(
        &api,
        &[
            ("AWS_ENDPOINT_URL_IAM", url),
            ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE".into()),
            ("AWS_SECRET_ACCESS_KEY", "secret".into()),
            (
                "UPSERT_SLR_EXTRA_RESPONSE_URL_PREFIXES",
                format!("{}/", s3.uri()),
            ),
        ],
    );
    let ev = event(
        &format!("{}/cfn/answer", s3.uri()),
        "Create",
        create_props(),
    );

    let started = Instant::now();
    api.invoke(&ev, Duration::from_secs(10)).await;
    let took = started.elapsed();

    let put: Value =
        serde_json::from_slice(&s3.received_requests().await.unwrap()[0].body).unwrap();
    assert_eq!(put["Status"], "FAILED");
    let reason = put["Reason"].as_str().unwrap();
    assert!(
        reason.contains("Connection refused") && reason.ends_with("(iam:CreateServiceLinkedRole)"),
        "{reason}"
    );
    assert!(function.is_alive());
    evidence::record(
        "Faults",
        "IAM's endpoint refuses connections (10 s deadline)",
        1,
        &format!(
            "FAILED naming \"Connection refused\", in {} ms",
            took.as_millis()
        ),
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn response_url_failing_then_accepting_gets_exactly_one_answer() {
    let rig = Rig::start(vec![
        (ResponseTemplate::new(503), 1),
        (ResponseTemplate::new(500), 1),
    ])
    .await;

    let (outcome, took) = rig
        .invoke(
            &rig.event("Delete", json!({"AWSServiceName": ECS})),
            Duration::from_secs(5),
        )
        .await;

    assert!(matches!(outcome, Outcome::Result(_)), "{outcome:?}");
    let puts = rig.puts().await;
    assert_eq!(puts.len(), 3, "503, 500, then the 200: one answer accepted");
    assert!(
        puts.iter().all(|p| p == &puts[0]),
        "every attempt carries the same answer"
    );
    evidence::record(
        "Faults",
        "ResponseURL answers 503, then 500, then 200 (5 s deadline)",
        1,
        &format!(
            "3 PUTs, exactly one accepted, identical bodies, done in {} ms",
            took.as_millis()
        ),
    );
    rig.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_response_url_is_tried_once_and_logged() {
    let expired = ResponseTemplate::new(403).set_body_string(
        "<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>",
    );
    let rig = Rig::start(vec![(expired, 100)]).await;

    let (outcome, took) = rig
        .invoke(
            &rig.event("Delete", json!({"AWSServiceName": ECS})),
            Duration::from_secs(5),
        )
        .await;

    assert!(
        outcome
            .error_message()
            .contains("HTTP 403 Forbidden (AccessDenied)"),
        "{outcome:?}"
    );
    assert_eq!(rig.puts().await.len(), 1, "a 403 is not retried");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let logs = rig.function.logs();
    assert!(
        logs.contains("response PUT failed") && logs.contains("\"retry\":false"),
        "{logs}"
    );
    evidence::record(
        "Faults",
        "ResponseURL answers 403 AccessDenied (expired)",
        1,
        &format!(
            "1 PUT, no retry, logged, invocation failed in {} ms",
            took.as_millis()
        ),
    );
    rig.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_response_url_connection_is_retried_a_bounded_number_of_times() {
    let url = closed_port_url();
    let api = RuntimeApi::start().await;
    let mut function = Function::start(
        &api,
        &[
            ("AWS_ENDPOINT_URL_IAM", "http://127.0.0.1:9".into()),
            ("UPSERT_SLR_EXTRA_RESPONSE_URL_PREFIXES", format!("{url}/")),
        ],
    );
    let ev = event(
        &format!("{url}/cfn/answer?Signature=c2VjcmV0"),
        "Delete",
        json!({"AWSServiceName": ECS}),
    );
    let deadline = Duration::from_secs(5);

    let started = Instant::now();
    let outcome = api.invoke(&ev, deadline).await;
    let took = started.elapsed();

    assert!(took < deadline, "{took:?}");
    assert!(
        outcome.error_message().contains("Connection refused")
            || outcome.error_message().contains("error sending request"),
        "{outcome:?}"
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    let logs = function.logs();
    let attempts = logs.matches("response PUT failed").count();
    assert!((3..=6).contains(&attempts), "{attempts} attempts\n{logs}");
    assert!(function.is_alive());
    assert!(!logs.contains("c2VjcmV0"), "{logs}");
    evidence::record(
        "Faults",
        "ResponseURL refuses connections (5 s deadline)",
        1,
        &format!(
            "{attempts} attempts with backoff, gave up after {} ms, before the deadline",
            took.as_millis()
        ),
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_response_url_that_never_answers_is_abandoned_at_the_deadline() {
    let rig = Rig::start(vec![(
        ResponseTemplate::new(200).set_delay(Duration::from_secs(120)),
        100,
    )])
    .await;
    let deadline = Duration::from_secs(4);

    let (outcome, took) = rig
        .invoke(
            &rig.event("Delete", json!({"AWSServiceName": ECS})),
            deadline,
        )
        .await;

    assert!(
        outcome
            .error_message()
            .contains("the answer was not delivered"),
        "{outcome:?}"
    );
    evidence::record(
        "Faults",
        "ResponseURL accepts the PUT and never answers (4 s deadline)",
        1,
        &format!(
            "invocation failed in {} ms, before the deadline",
            took.as_millis()
        ),
    );
    rig.finish();
}
