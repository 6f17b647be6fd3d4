//! How the answer reaches CloudFormation, against IAM's exact wire answers replayed by
//! wiremock: input refused before any IAM call, hangs and deadlines, the presigned ResponseURL
//! refusing, failing or expired, and the CDK Provider's onEvent and isComplete.

use crate::support::{cfn, iam_wire, replay_harness};

use cfn::{ECS, ECS_ROLE, assert_answer, ecs_props};
use iam_wire::*;
use replay_harness::*;
use serde_json::json;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use wiremock::matchers::method;
use wiremock::{Mock, ResponseTemplate};

#[tokio::test]
async fn bad_properties_and_disallowed_services_fail_before_any_iam_call() {
    let mut h = Harness::new().await;
    h.settings.push((
        "UPSERT_SLR_ALLOWED_SERVICES",
        "ecs.amazonaws.com,*.elasticloadbalancing.amazonaws.com".into(),
    ));
    h.create(json!({"AWSServiceName": "eks.amazonaws.com"}))
        .await;
    h.create(json!({"AWSServiceName": ECS, "PropagationWaitSeconds": "soon"}))
        .await;

    let answers = h.answers().await;
    assert_answer(
        &answers[0],
        "FAILED",
        "AWSServiceName \"eks.amazonaws.com\" is not allowed by this function's UPSERT_SLR_ALLOWED_SERVICES",
    );
    assert_eq!(
        answers[1]["Reason"],
        "PropagationWaitSeconds must be a whole number of seconds from 0 to 900, got \"soon\""
    );
    assert!(h.iam_actions().await.is_empty());
}

#[tokio::test]
async fn a_hanging_iam_is_answered_failed_before_the_deadline() {
    let mut h = Harness::new().await;
    h.deadline = Duration::from_secs(4);
    mount(
        &h.iam,
        "CreateServiceLinkedRole",
        ok("CreateServiceLinkedRole", "").set_delay(Duration::from_secs(60)),
    )
    .await;
    let a = h.create_within_the_deadline().await;
    assert_answer(
        &a,
        "FAILED",
        "timed out while calling iam:CreateServiceLinkedRole for ecs.amazonaws.com, before the Lambda deadline",
    );
}

#[tokio::test]
async fn the_propagation_wait_is_cut_short_by_the_deadline() {
    let mut h = Harness::new().await;
    h.deadline = Duration::from_secs(4);
    mount_created(&h.iam).await;

    h.create(json!({"AWSServiceName": ECS, "PropagationWaitSeconds": 60}))
        .await;

    let a = h.answer().await;
    assert_eq!(a["Status"], "SUCCESS");
    let reason = a["Reason"].as_str().unwrap();
    assert!(
        reason.starts_with("created AWSServiceRoleForECS; waited "),
        "{reason}"
    );
    assert!(
        reason.ends_with(" s of 60 s for IAM propagation (cut short by the Lambda deadline)"),
        "{reason}"
    );
}

#[tokio::test]
async fn provider_mode_returns_the_result_and_never_puts() {
    let h = Harness::new().await;
    mount_taken(&h, &role_xml(ECS, ECS_ROLE, &[])).await;
    let mut event = h.event("Create", ecs_props());
    event["ServiceToken"] =
        json!("arn:aws:lambda:us-east-1:123456789012:function:app-ProviderframeworkonEvent-1X");

    let result = h.invoke(event.clone()).await.unwrap();
    assert_eq!(
        result,
        json!({"PhysicalResourceId": ECS_ROLE, "Data": {"RoleName": ECS_ROLE, "Arn": arn(ECS, ECS_ROLE), "Created": "false"}})
    );

    event["ResourceProperties"]["CustomSuffix"] = json!("");
    let err = h.invoke(event).await.unwrap_err();
    assert_eq!(err.error_type, "ServiceLinkedRoleFailed");
    assert!(
        err.error_message.starts_with("CustomSuffix is empty"),
        "{}",
        err.error_message
    );

    assert!(h.answers().await.is_empty(), "provider mode must never PUT");
}

#[tokio::test]
async fn a_refused_response_url_sends_nothing_and_fails_the_invocation() {
    let h = Harness::new().await;
    let mut event = h.event("Create", ecs_props());
    event["ResponseURL"] = json!("https://metadata.internal/latest?X-Amz-Signature=very-secret");

    let err = h.invoke(event).await.unwrap_err();

    assert_eq!(err.error_type, "ResponseUrlRefused");
    assert!(
        err.error_message.contains("only https://")
            || err.error_message.contains("not an S3 endpoint"),
        "{}",
        err.error_message
    );
    assert!(!err.error_message.contains("very-secret"));
    assert!(h.iam_actions().await.is_empty());
}

#[tokio::test]
async fn the_response_put_is_retried_after_server_errors() {
    let h = Harness::new().await;
    h.s3.reset().await;
    Mock::given(method("PUT"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .mount(&h.s3)
        .await;
    Mock::given(method("PUT"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(1)
        .mount(&h.s3)
        .await;
    Mock::given(method("PUT"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&h.s3)
        .await;

    h.invoke(delete_event(&h, "Retain")).await.unwrap();

    let answers = h.answers().await;
    assert_eq!(answers.len(), 3);
    assert!(
        answers.iter().all(|a| a == &answers[0]),
        "every attempt carries the same answer"
    );
}

#[tokio::test]
async fn an_expired_response_url_is_not_retried() {
    let h = Harness::new().await;
    h.s3.reset().await;
    cfn::mount_response_url(&h.s3, vec![(cfn::expired(), 100)]).await;

    let err = h.invoke(delete_event(&h, "Retain")).await.unwrap_err();

    assert_eq!(err.error_type, "ResponseNotDelivered");
    assert!(
        err.error_message
            .contains("HTTP 403 Forbidden (AccessDenied)"),
        "{}",
        err.error_message
    );
    assert!(
        !err.error_message.contains("Signature="),
        "{}",
        err.error_message
    );
    assert_eq!(h.answers().await.len(), 1);
}

#[tokio::test]
async fn an_event_already_past_its_deadline_still_gets_an_answer() {
    let mut h = Harness::new().await;
    h.deadline = Duration::ZERO;

    h.create(ecs_props()).await;

    let a = h.answer().await;
    assert_answer(
        &a,
        "FAILED",
        "timed out while starting, before the Lambda deadline",
    );
    assert!(h.iam_actions().await.is_empty());
}

#[tokio::test]
async fn behind_is_complete_a_new_role_returns_at_once_and_is_complete_waits() {
    let h = behind_is_complete().await;
    mount_created(&h.iam).await;
    let mut request = h.event(
        "Create",
        json!({"AWSServiceName": ECS, "PropagationWaitSeconds": 600}),
    );
    request["ServiceToken"] = json!(FRAMEWORK_ARN);

    // A 600 s wait inside a 30 s deadline: only returning at once can succeed.
    let on_event = h.invoke(request.clone()).await.unwrap();
    assert_eq!(on_event["PhysicalResourceId"], ECS_ROLE);
    assert_eq!(on_event["Data"]["Created"], "true");
    let until = on_event["UpsertSlrWait"]["UntilEpochMs"]
        .as_u64()
        .expect("wait end given");
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    assert!(
        until > now + 590_000 && until <= now + 600_000,
        "{until} vs {now}"
    );

    let waiting = h.is_complete(&request, &on_event).await;
    assert_eq!(waiting, json!({"IsComplete": false}));

    let mut over = on_event.clone();
    over["UpsertSlrWait"]["UntilEpochMs"] = json!(now - 1);
    let complete = h.is_complete(&request, &over).await;
    assert_eq!(
        complete,
        json!({"IsComplete": true, "Data": on_event["Data"]})
    );

    assert!(
        h.answers().await.is_empty(),
        "behind a Provider nothing is PUT"
    );
    assert_eq!(
        h.iam_actions().await,
        ["CreateServiceLinkedRole", "TagRole"],
        "isComplete checks the clock only"
    );
}

#[tokio::test]
async fn behind_is_complete_an_adopted_role_is_complete_at_once() {
    let h = behind_is_complete().await;
    mount_taken(&h, &role_xml(ECS, ECS_ROLE, &[])).await;
    let mut request = h.event("Create", ecs_props());
    request["ServiceToken"] = json!(FRAMEWORK_ARN);

    let on_event = h.invoke(request.clone()).await.unwrap();
    assert_eq!(on_event["UpsertSlrWait"], json!({}));
    let complete = h.is_complete(&request, &on_event).await;
    assert_eq!(complete["IsComplete"], true);
    assert_eq!(complete["Data"]["Created"], "false");
}

#[tokio::test]
async fn behind_is_complete_a_deletion_is_checked_once_per_invocation() {
    let h = behind_is_complete().await;
    mount_owned_role_deletion(
        &h,
        "task/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS/9c1e",
        &[
            deletion_status("IN_PROGRESS", ""),
            deletion_status("SUCCEEDED", ""),
            deletion_status("FAILED", "<Reason><Reason>in use</Reason><RoleUsageList><member><Region>us-east-1</Region><Resources><member>arn:aws:ecs:us-east-1:123456789012:cluster/c</member></Resources></member></RoleUsageList></Reason>"),
        ],
    )
    .await;
    let mut request = delete_event(&h, "Delete");
    request["ServiceToken"] = json!(FRAMEWORK_ARN);

    let on_event = h.invoke(request.clone()).await.unwrap();
    assert_eq!(
        on_event["PhysicalResourceId"], ECS_ROLE,
        "a Delete keeps its physical id"
    );
    assert_eq!(
        on_event["UpsertSlrWait"]["DeletionTaskId"],
        "task/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS/9c1e"
    );
    let check = is_complete_event(&request, &on_event);
    assert_eq!(
        h.invoke(check.clone()).await.unwrap(),
        json!({"IsComplete": false})
    );
    assert_eq!(
        h.invoke(check.clone()).await.unwrap(),
        json!({"IsComplete": true})
    );
    let failed = h.invoke(check).await.unwrap_err();
    assert!(
        failed.error_message.starts_with("DeletionFailed: in use"),
        "{}",
        failed.error_message
    );
    assert!(
        failed
            .error_message
            .contains("still used in us-east-1 by arn:aws:ecs:us-east-1:123456789012:cluster/c")
    );
}

#[tokio::test]
async fn behind_is_complete_failures_still_fail_on_event() {
    let h = behind_is_complete().await;
    mount(&h.iam, "CreateServiceLinkedRole", suffix_not_allowed(ECS)).await;
    let mut request = h.event(
        "Create",
        json!({"AWSServiceName": ECS, "CustomSuffix": "x"}),
    );
    request["ServiceToken"] = json!(FRAMEWORK_ARN);
    let err = h.invoke(request).await.unwrap_err();
    assert_eq!(
        err.error_message,
        "InvalidInput: Custom suffix is not allowed for ecs.amazonaws.com (iam:CreateServiceLinkedRole)"
    );
}

#[tokio::test]
async fn without_is_complete_a_provider_invocation_waits_in_the_function() {
    let h = Harness::new().await;
    mount_created(&h.iam).await;
    let mut request = h.event(
        "Create",
        json!({"AWSServiceName": ECS, "PropagationWaitSeconds": 1}),
    );
    request["ServiceToken"] = json!(FRAMEWORK_ARN);
    let started = std::time::Instant::now();

    let result = h.invoke(request).await.unwrap();

    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "the propagation wait happened here"
    );
    assert_eq!(result.get("UpsertSlrWait"), None);
    assert_eq!(result["Data"]["Created"], "true");
}

#[tokio::test]
async fn is_complete_without_the_setting_finds_the_wait_already_over() {
    let h = Harness::new().await;
    mount_taken(&h, &role_xml(ECS, ECS_ROLE, &[])).await;
    let mut request = h.event("Create", ecs_props());
    request["ServiceToken"] = json!(FRAMEWORK_ARN);

    let on_event = h.invoke(request.clone()).await.unwrap();
    let complete = h.is_complete(&request, &on_event).await;

    assert_eq!(
        complete,
        json!({"IsComplete": true, "Data": on_event["Data"]})
    );
    assert_eq!(
        h.iam_actions().await,
        ["CreateServiceLinkedRole", "GetRole"],
        "isComplete must not upsert again"
    );
}
