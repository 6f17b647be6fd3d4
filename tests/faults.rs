//! Faults injected around the real binary, with the SDK's production retry settings: wiremock
//! plays IAM (exact wire answers, delays) and the presigned ResponseURL (errors, hangs), and
//! every invocation has a short deadline so that the guard is in play.

#[path = "support/cfn.rs"]
mod cfn;
#[path = "support/evidence.rs"]
mod evidence;
#[path = "support/iam_wire.rs"]
mod iam_wire;
#[path = "support/runtime_api.rs"]
mod runtime_api;

use cfn::assert_answer;
use iam_wire::*;
use runtime_api::{Function, Outcome, RuntimeApi};
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant};
use wiremock::{MockServer, ResponseTemplate};

const SECOND: Duration = Duration::from_secs(1);

struct Rig {
    iam: MockServer,
    s3: MockServer,
    api: Arc<RuntimeApi>,
    function: Function,
    /// Where the ResponseURL points: the `s3` server unless a test chose another address.
    answers_at: String,
}

impl Rig {
    /// The function with IAM played by `iam` and the ResponseURL's bucket by `s3`, which gives
    /// each of `s3_replies` up to its count of times, in turn, then 200.
    async fn start(s3_replies: Vec<(ResponseTemplate, u64)>) -> Rig {
        Rig::start_at(s3_replies, None, None).await
    }

    /// The same, with IAM's endpoint or the ResponseURL's address replaced (e.g. by a port
    /// where nothing listens).
    async fn start_at(
        s3_replies: Vec<(ResponseTemplate, u64)>,
        iam_url: Option<String>,
        answers_at: Option<String>,
    ) -> Rig {
        let (iam, s3) = (MockServer::start().await, MockServer::start().await);
        cfn::mount_response_url(&s3, s3_replies).await;
        let iam_url = iam_url.unwrap_or_else(|| iam.uri());
        let answers_at = answers_at.unwrap_or_else(|| s3.uri());
        let api = RuntimeApi::start().await;
        let function = Function::start(&api, &runtime_api::loopback_env(&iam_url, &answers_at));
        Rig {
            iam,
            s3,
            api,
            function,
            answers_at,
        }
    }

    /// Invokes a Create of the ECS role (or a Delete, which retains it) with `deadline`, and
    /// checks the outcome came before it.
    async fn invoke(&self, request_type: &str, deadline: Duration) -> (Outcome, Duration) {
        let url = cfn::response_url(&self.answers_at);
        let event = cfn::request(request_type, &url, cfn::ecs_props());
        let started = Instant::now();
        let outcome = self.api.invoke(&event, deadline).await;
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
        let json = |body: &String| serde_json::from_str(body).expect("JSON body");
        bodies(&self.s3).await.iter().map(json).collect()
    }

    /// The one answer PUT.
    async fn answer(&self) -> Value {
        let puts = self.puts().await;
        assert_eq!(puts.len(), 1, "{puts:#?}");
        puts.into_iter().next().unwrap()
    }

    async fn iam_calls(&self, action: &str) -> usize {
        let calls = bodies(&self.iam).await;
        calls
            .iter()
            .filter(|b| action_of(b) == Some(action))
            .count()
    }

    /// The logs once the function has had time to write what follows its answer.
    async fn logs_after_answer(&self) -> String {
        tokio::time::sleep(Duration::from_millis(200)).await;
        self.function.logs()
    }

    fn finish(mut self) {
        self.function.assert_sound();
    }
}

/// A row of RELIABILITY.md: what was tried, and what held, with how long it took.
fn held(tried: &str, what_held: &str, took: Duration) {
    let held = what_held.replace("{ms}", &took.as_millis().to_string());
    evidence::record("Faults", tried, 1, &held);
}

/// A loopback URL where nothing listens: connections are refused.
fn closed_port_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://{}", listener.local_addr().unwrap())
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
        let create = action("CreateServiceLinkedRole").respond_with(fault);
        create.up_to_n_times(2).mount(&rig.iam).await;
        mount_created(&rig.iam).await;

        let (outcome, took) = rig.invoke("Create", 10 * SECOND).await;

        assert!(matches!(outcome, Outcome::Result(_)), "{outcome:?}");
        let answer = rig.answer().await;
        assert_eq!(answer["Status"], "SUCCESS", "{answer}");
        assert_eq!(rig.iam_calls("CreateServiceLinkedRole").await, 3);
        let tried = format!("IAM answers {name} twice, then creates the role (10 s deadline)");
        held(
            &tried,
            "SUCCESS after 3 CreateServiceLinkedRole attempts, answered in {ms} ms",
            took,
        );
        rig.finish();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn iam_throttling_past_the_retry_budget_fails_naming_it() {
    let rig = Rig::start(vec![]).await;
    let throttling = error(400, "Throttling", "Rate exceeded");
    mount(&rig.iam, "CreateServiceLinkedRole", throttling).await;

    let (_, took) = rig.invoke("Create", 10 * SECOND).await;

    let reason = "Throttling: Rate exceeded (iam:CreateServiceLinkedRole)";
    assert_answer(&rig.answer().await, "FAILED", reason);
    let attempts = rig.iam_calls("CreateServiceLinkedRole").await;
    assert_eq!(attempts, 3, "the SDK's standard retry budget");
    let what_held =
        format!("FAILED \"Throttling: Rate exceeded\" after {attempts} attempts, in {{ms}} ms");
    held(
        "IAM throttles every attempt (10 s deadline)",
        &what_held,
        took,
    );
    rig.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn iam_that_never_answers_gets_a_failed_answer_before_the_deadline() {
    let rig = Rig::start(vec![]).await;
    let hang = ok("CreateServiceLinkedRole", "").set_delay(120 * SECOND);
    mount(&rig.iam, "CreateServiceLinkedRole", hang).await;

    let (outcome, took) = rig.invoke("Create", 5 * SECOND).await;

    assert!(matches!(outcome, Outcome::Result(_)), "{outcome:?}");
    let answer = rig.answer().await;
    let reason = "timed out while calling iam:CreateServiceLinkedRole for ecs.amazonaws.com, before the Lambda deadline";
    assert_answer(&answer, "FAILED", reason);
    let marker = "upsert-slr:create-failed:EcsRole";
    assert_eq!(answer["PhysicalResourceId"], marker);
    held(
        "IAM accepts the connection and never answers (5 s deadline)",
        "FAILED \"timed out while calling iam:CreateServiceLinkedRole\" delivered after {ms} ms",
        took,
    );
    rig.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn iam_refusing_connections_fails_with_the_cause() {
    let rig = Rig::start_at(vec![], Some(closed_port_url()), None).await;

    let (_, took) = rig.invoke("Create", 10 * SECOND).await;

    let answer = rig.answer().await;
    assert_eq!(answer["Status"], "FAILED");
    let reason = answer["Reason"].as_str().unwrap();
    assert!(
        reason.contains("Connection refused") && reason.ends_with("(iam:CreateServiceLinkedRole)"),
        "{reason}"
    );
    held(
        "IAM's endpoint refuses connections (10 s deadline)",
        "FAILED naming \"Connection refused\", in {ms} ms",
        took,
    );
    rig.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn response_url_failing_then_accepting_gets_exactly_one_answer() {
    let failing = vec![
        (ResponseTemplate::new(503), 1),
        (ResponseTemplate::new(500), 1),
    ];
    let rig = Rig::start(failing).await;

    let (outcome, took) = rig.invoke("Delete", 5 * SECOND).await;

    assert!(matches!(outcome, Outcome::Result(_)), "{outcome:?}");
    let puts = rig.puts().await;
    assert_eq!(puts.len(), 3, "503, 500, then the 200: one answer accepted");
    let same = puts.iter().all(|p| p == &puts[0]);
    assert!(same, "every attempt carries the same answer");
    held(
        "ResponseURL answers 503, then 500, then 200 (5 s deadline)",
        "3 PUTs, exactly one accepted, identical bodies, done in {ms} ms",
        took,
    );
    rig.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_response_url_is_tried_once_and_logged() {
    let rig = Rig::start(vec![(cfn::expired(), 100)]).await;

    let (outcome, took) = rig.invoke("Delete", 5 * SECOND).await;

    let message = outcome.error_message();
    assert!(
        message.contains("HTTP 403 Forbidden (AccessDenied)"),
        "{outcome:?}"
    );
    assert_eq!(rig.puts().await.len(), 1, "a 403 is not retried");
    let logs = rig.logs_after_answer().await;
    let logged = logs.contains("response PUT failed") && logs.contains("\"retry\":false");
    assert!(logged, "{logs}");
    held(
        "ResponseURL answers 403 AccessDenied (expired)",
        "1 PUT, no retry, logged, invocation failed in {ms} ms",
        took,
    );
    rig.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_response_url_connection_is_retried_a_bounded_number_of_times() {
    let rig = Rig::start_at(
        vec![],
        Some("http://127.0.0.1:9".into()),
        Some(closed_port_url()),
    )
    .await;

    let (outcome, took) = rig.invoke("Delete", 5 * SECOND).await;

    let message = outcome.error_message();
    assert!(
        message.contains("Connection refused") || message.contains("error sending request"),
        "{outcome:?}"
    );
    let logs = rig.logs_after_answer().await;
    let attempts = logs.matches("response PUT failed").count();
    assert!((3..=6).contains(&attempts), "{attempts} attempts\n{logs}");
    assert!(!logs.contains("c2VjcmV0"), "{logs}");
    let what_held =
        format!("{attempts} attempts with backoff, gave up after {{ms}} ms, before the deadline");
    held(
        "ResponseURL refuses connections (5 s deadline)",
        &what_held,
        took,
    );
    rig.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_response_url_that_never_answers_is_abandoned_at_the_deadline() {
    let hang = ResponseTemplate::new(200).set_delay(120 * SECOND);
    let rig = Rig::start(vec![(hang, 100)]).await;

    let (outcome, took) = rig.invoke("Delete", 4 * SECOND).await;

    let message = outcome.error_message();
    assert!(
        message.contains("the answer was not delivered"),
        "{outcome:?}"
    );
    held(
        "ResponseURL accepts the PUT and never answers (4 s deadline)",
        "invocation failed in {ms} ms, before the deadline",
        took,
    );
    rig.finish();
}
