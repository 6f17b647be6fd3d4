//! Faults injected around the real binary, with the SDK's production retry settings: wiremock
//! plays IAM (exact wire answers, delays) and the presigned ResponseURL (errors, hangs), and
//! every invocation has a short deadline so that the guard is in play.

mod support;

use support::{cfn, fault_rig, iam_wire, runtime_api};

use cfn::assert_answer;
use fault_rig::{Rig, SECOND, closed_port_url, held};
use iam_wire::*;
use runtime_api::Outcome;
use wiremock::ResponseTemplate;

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
async fn iam_throttling_every_attempt_fails_at_the_deadline_naming_the_call() {
    let rig = Rig::start(vec![]).await;
    let throttling = error(400, "Throttling", "Rate exceeded");
    mount(&rig.iam, "CreateServiceLinkedRole", throttling).await;

    let (_, took) = rig.invoke("Create", 10 * SECOND).await;

    let answer = rig.answer().await;
    assert_eq!(answer["Status"], "FAILED", "{answer}");
    let reason = answer["Reason"].as_str().unwrap();
    let named =
        "timed out while calling iam:CreateServiceLinkedRole for ecs.amazonaws.com, retried after ";
    let last =
        " transient refusals (the last: Throttling: Rate exceeded), before the Lambda deadline";
    assert!(
        reason.starts_with(named) && reason.ends_with(last),
        "{reason}"
    );
    let attempts = rig.iam_calls("CreateServiceLinkedRole").await;
    assert!(
        attempts > 3,
        "{attempts} attempts: more than the SDK's standard 3"
    );
    let what_held = format!(
        "{attempts} attempts until the guard, then FAILED naming the call and \"Throttling: Rate exceeded\", in {{ms}} ms"
    );
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
        reason.contains("Connection refused")
            && reason.starts_with("timed out while calling iam:CreateServiceLinkedRole"),
        "{reason}"
    );
    held(
        "IAM's endpoint refuses connections (10 s deadline)",
        "retried until the guard, then FAILED naming the call and \"Connection refused\", in {ms} ms",
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
async fn a_throttled_response_put_is_retried() {
    let rig = Rig::start(vec![(ResponseTemplate::new(429), 2)]).await;

    let (outcome, took) = rig.invoke("Delete", 5 * SECOND).await;

    assert!(matches!(outcome, Outcome::Result(_)), "{outcome:?}");
    let puts = rig.puts().await;
    assert_eq!(puts.len(), 3, "429, 429, then the 200");
    held(
        "ResponseURL answers 429 Too Many Requests twice, then 200 (5 s deadline)",
        "3 PUTs, the third accepted, done in {ms} ms",
        took,
    );
    rig.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_redirected_response_put_is_not_followed() {
    let elsewhere = wiremock::MockServer::start().await;
    let redirect = ResponseTemplate::new(307).insert_header(
        "location",
        format!("{}/cfn/answer", elsewhere.uri()).as_str(),
    );
    let rig = Rig::start(vec![(redirect, 100)]).await;

    let (outcome, took) = rig.invoke("Delete", 5 * SECOND).await;

    let Outcome::Error(error) = &outcome else {
        panic!("expected an invocation error, got {outcome:?}");
    };
    assert_eq!(error["errorType"], "ResponseNotDelivered");
    let message = outcome.error_message();
    assert!(
        message.contains("HTTP 307 Temporary Redirect (redirects are not followed)"),
        "{message}"
    );
    assert_eq!(rig.puts().await.len(), 1, "a redirect is final");
    assert!(
        bodies(&elsewhere).await.is_empty(),
        "the answer went elsewhere"
    );
    held(
        "ResponseURL answers 307 Temporary Redirect to another host",
        "not followed: nothing reached the other host, invocation failed ResponseNotDelivered in {ms} ms",
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

#[tokio::test(flavor = "multi_thread")]
async fn at_trace_level_the_logs_still_hold_no_response_url_credential() {
    let trace = [
        ("AWS_LAMBDA_LOG_LEVEL", "TRACE".to_string()),
        ("RUST_LOG", "trace".to_string()),
    ];
    let rig = Rig::start_with(vec![(ResponseTemplate::new(500), 1)], None, None, &trace).await;
    mount_created(&rig.iam).await;

    let (_, took) = rig.invoke("Create", 10 * SECOND).await;
    rig.invoke("Delete", 10 * SECOND).await;

    assert_eq!(
        rig.answer_count().await,
        3,
        "a retried PUT, then the Delete's"
    );
    let logs = rig.logs_after_answer().await;
    let traced = logs
        .lines()
        .filter(|l| l.contains("\"level\":\"TRACE\""))
        .count();
    assert!(traced > 10, "TRACE is on: {traced} TRACE lines\n{logs}");
    // Checked by `finish` as by every test: no presigned-URL marker in any line.
    held(
        "the function at TRACE log level (AWS_LAMBDA_LOG_LEVEL and RUST_LOG), a Create whose answer PUT is retried, a Delete",
        "TRACE lines written; none carries the ResponseURL's credential; done in {ms} ms",
        took,
    );
    rig.finish();
}
