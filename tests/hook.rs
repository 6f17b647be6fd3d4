//! The Lambda Hook protocol against IAM's wire answers replayed by wiremock: the documented
//! input for a resource's create and update, a target needing no role, the re-invocation with
//! the callbackContext this function gave, check mode, AllowedServices and malformed input.
//! Every answer is the invocation's result, echoing clientRequestToken.

mod support;

use support::cfn::FUNCTION_ARN;
use support::iam_wire::*;
use support::replay_harness::Harness;

use serde_json::{Value, json};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use wiremock::matchers::body_string_contains;

const STACK: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/warehouse/1";
const REDSHIFT: &str = "redshift.amazonaws.com";
const REDSHIFT_ROLE: &str = "AWSServiceRoleForRedshift";
const TOKEN: &str = "4b90a7e4-b790-456b-a937-0cfdfa211dfe";

/// The function with `settings`, given Lambda's longest timeout so that no wait is cut short by
/// the invocation's deadline unless a test says so.
async fn hook_harness(settings: &[(&'static str, &str)]) -> Harness {
    let mut h = Harness::with_settings(settings).await;
    h.deadline = Duration::from_secs(300);
    h
}

/// IAM holding the Redshift role, as GetRole shows it.
async fn mount_redshift_role(h: &Harness) {
    let role = role_xml(REDSHIFT, REDSHIFT_ROLE, &[]);
    mount(&h.iam, "GetRole", ok("GetRole", &role)).await;
}

/// IAM saying the Redshift role "has been taken", and GetRole showing it.
async fn mount_redshift_taken(h: &Harness) {
    mount(&h.iam, "CreateServiceLinkedRole", taken(REDSHIFT_ROLE)).await;
    mount_redshift_role(h).await;
}

/// The input CloudFormation sends for a resource target, as the Hooks User Guide documents it.
fn hook_event(point: &str, target: &str, properties: Value) -> Value {
    json!({
        "clientRequestToken": TOKEN,
        "awsAccountId": ACCOUNT,
        "stackId": STACK,
        "changeSetId": null,
        "hookTypeName": "UpsertSlr::IAM::ServiceLinkedRoles",
        "hookTypeVersion": "00000001",
        "hookModel": {"LambdaFunction": FUNCTION_ARN},
        "actionInvocationPoint": point,
        "requestData": {
            "targetName": target,
            "targetType": target,
            "targetLogicalId": "Warehouse",
            "targetModel": {"resourceProperties": properties}
        },
        "requestContext": {"invocation": 1, "callbackContext": null}
    })
}

/// `events/hook-create.json`: a Redshift cluster about to be created.
fn redshift_create() -> Value {
    let path = format!("{}/events/hook-create.json", env!("CARGO_MANIFEST_DIR"));
    let event: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(event["clientRequestToken"], TOKEN);
    event
}

/// The Redshift create's re-invocation number `invocation`, with the callbackContext this
/// function gave: the Redshift role created, its propagation over `left_s` seconds from now.
fn re_invocation(invocation: u64, left_s: u64) -> Value {
    let mut event = redshift_create();
    event["requestContext"] = json!({"invocation": invocation, "callbackContext":
        {"upsertSlr": {"propagatedAt": now_s() + left_s, "roles": [REDSHIFT_ROLE]}}});
    event
}

fn assert_status(answer: &Value, status: &str) {
    assert_eq!(answer["clientRequestToken"], TOKEN, "{answer}");
    assert_eq!(answer["hookStatus"], status, "{answer}");
    assert!(
        answer["message"].as_str().unwrap().len() <= 4096,
        "{answer}"
    );
}

/// The answer's message names `text`.
fn assert_says(answer: &Value, text: &str) {
    let message = answer["message"].as_str().unwrap();
    assert!(message.contains(text), "{answer}");
}

fn now_s() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test]
async fn a_create_creates_the_role_and_asks_to_be_called_back_after_the_wait() {
    let h = hook_harness(&[]).await;
    let role = role_xml(REDSHIFT, REDSHIFT_ROLE, &[]);
    mount(
        &h.iam,
        "CreateServiceLinkedRole",
        ok("CreateServiceLinkedRole", &role),
    )
    .await;
    mount(&h.iam, "TagRole", ok_empty("TagRole")).await;
    let answer = h.result_of(redshift_create()).await;
    assert_status(&answer, "IN_PROGRESS");
    let delay = answer["callbackDelaySeconds"].as_u64().unwrap();
    assert!(
        (57..=60).contains(&delay),
        "the default 60 s wait: {answer}"
    );
    let context = &answer["callbackContext"]["upsertSlr"];
    assert_eq!(context["roles"], json!([REDSHIFT_ROLE]));
    let at = context["propagatedAt"].as_u64().unwrap();
    assert!(at.abs_diff(now_s() + 60) <= 3, "{answer}");
    assert_says(&answer, "created AWSServiceRoleForRedshift");
    assert_eq!(
        h.iam_actions().await,
        ["CreateServiceLinkedRole", "TagRole"]
    );
    let create = &bodies(&h.iam).await[0];
    assert!(
        create.contains("AWSServiceName=redshift.amazonaws.com"),
        "{create}"
    );
}

#[tokio::test]
async fn the_re_invocation_with_its_context_waits_out_the_rest_without_iam() {
    let h = hook_harness(&[]).await;
    let mut event = re_invocation(2, 2);
    let started = std::time::Instant::now();
    let answer = h.result_of(event.clone()).await;
    assert_status(&answer, "SUCCESS");
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "the rest was waited in the function"
    );
    assert!(answer.get("callbackContext").is_none(), "{answer}");
    assert_says(&answer, "AWS::Redshift::Cluster may proceed");

    // A context cannot make the wait longer than the setting from now, even past the clock's range.
    for far in [now_s() + 100_000, u64::MAX] {
        event["requestContext"]["callbackContext"]["upsertSlr"]["propagatedAt"] = json!(far);
        let answer = h.result_of(event.clone()).await;
        assert_status(&answer, "IN_PROGRESS");
        assert!(
            answer["callbackDelaySeconds"].as_u64().unwrap() <= 60,
            "{answer}"
        );
    }
    assert!(
        h.iam_actions().await.is_empty(),
        "no IAM call on a re-invocation"
    );
}

#[tokio::test]
async fn the_last_invocation_answers_success_when_the_wait_cannot_fit() {
    let h = hook_harness(&[]).await;
    // The fourth invocation: no IN_PROGRESS is left, and 40 s do not fit in one invocation.
    let event = re_invocation(4, 40);
    tokio::time::pause();
    let answer = h.result_of(event).await;
    assert_status(&answer, "SUCCESS");
    assert_says(&answer, "before the propagation wait is over");
}

#[tokio::test]
async fn an_old_role_is_adopted_and_the_target_proceeds_at_once() {
    let h = hook_harness(&[]).await;
    mount_redshift_taken(&h).await;
    let answer = h.result_of(redshift_create()).await;
    assert_status(&answer, "SUCCESS");
    assert_says(&answer, "AWSServiceRoleForRedshift exists");
    assert_eq!(
        h.iam_actions().await,
        ["CreateServiceLinkedRole", "GetRole"]
    );
}

#[tokio::test]
async fn an_update_is_evaluated_on_the_new_properties() {
    let h = hook_harness(&[]).await;
    mount_redshift_taken(&h).await;
    let mut event = redshift_create();
    event["actionInvocationPoint"] = json!("UPDATE_PRE_PROVISION");
    event["requestData"]["targetModel"]["previousResourceProperties"] =
        json!({"NodeType": "dc2.large"});
    let answer = h.result_of(event).await;
    assert_status(&answer, "SUCCESS");
}

#[tokio::test]
async fn a_target_needing_no_role_succeeds_with_no_iam_call() {
    let h = hook_harness(&[]).await;
    for event in [
        hook_event("CREATE_PRE_PROVISION", "AWS::SNS::Topic", json!({})),
        hook_event("DELETE_PRE_PROVISION", "AWS::Redshift::Cluster", json!({})),
    ] {
        let answer = h.result_of(event).await;
        assert_status(&answer, "SUCCESS");
    }
    assert!(h.iam_actions().await.is_empty());
}

/// A Redshift cluster's create, the Redshift role missing (as `absent` says), with `settings`
/// that do not let the hook create it: FAILED NonCompliant. The harness and the message.
async fn refused(settings: &[(&'static str, &str)], absent: Absent) -> (Harness, String) {
    let h = hook_harness(settings).await;
    mount_absent(&h.iam, absent, REDSHIFT_ROLE).await;
    let answer = h.result_of(redshift_create()).await;
    assert_status(&answer, "FAILED");
    assert_eq!(answer["errorCode"], "NonCompliant", "{absent:?}: {answer}");
    let message = answer["message"].as_str().unwrap().to_string();
    (h, message)
}

#[tokio::test]
async fn check_mode_names_the_missing_role_and_how_to_create_it() {
    // However IAM says the role is missing: NoSuchEntity, or AccessDenied on a name that has no
    // path, which ListRoles then shows to be missing.
    for absent in ABSENT {
        let (h, message) = refused(&[("UPSERT_SLR_HOOK_MODE", "check")], absent).await;
        assert!(
            message.contains("AWSServiceRoleForRedshift (redshift.amazonaws.com)"),
            "{message}"
        );
        assert!(
            message.contains(
                "aws iam create-service-linked-role --aws-service-name redshift.amazonaws.com"
            ),
            "{message}"
        );
        assert!(message.contains("UPSERT_SLR_HOOK_MODE=check"), "{message}");
        let looked = match absent {
            Absent::NoSuchEntity => vec!["GetRole"],
            Absent::AccessDenied => vec!["GetRole", "ListRoles"],
        };
        assert_eq!(h.iam_actions().await, looked, "check mode creates nothing");
    }
}

#[tokio::test]
async fn check_mode_lets_a_target_whose_role_exists_proceed() {
    let h = hook_harness(&[("UPSERT_SLR_HOOK_MODE", "check")]).await;
    mount_redshift_role(&h).await;
    let answer = h.result_of(redshift_create()).await;
    assert_status(&answer, "SUCCESS");
    assert_eq!(h.iam_actions().await, ["GetRole"]);
}

#[tokio::test]
async fn check_mode_accepts_the_legacy_elasticsearch_role_for_an_opensearch_domain() {
    let h = hook_harness(&[("UPSERT_SLR_HOOK_MODE", "check")]).await;
    let legacy = "AWSServiceRoleForAmazonElasticsearchService";
    action("GetRole")
        .and(body_string_contains(format!("RoleName={legacy}")))
        .respond_with(ok("GetRole", &role_xml("es.amazonaws.com", legacy, &[])))
        .mount(&h.iam)
        .await;
    action("GetRole")
        .respond_with(error(404, "NoSuchEntity", "The role cannot be found."))
        .mount(&h.iam)
        .await;
    let domain = json!({"VPCOptions": {"SubnetIds": ["subnet-0a1b2c3d"]}});
    let answer = h
        .result_of(hook_event(
            "CREATE_PRE_PROVISION",
            "AWS::OpenSearchService::Domain",
            domain,
        ))
        .await;
    assert_status(&answer, "SUCCESS");
    assert_says(&answer, legacy);
    assert!(h.created_nothing().await, "no role created");
}

#[tokio::test]
async fn allowed_services_still_bound_what_the_hook_creates() {
    for absent in ABSENT {
        let (h, message) = refused(
            &[("UPSERT_SLR_ALLOWED_SERVICES", "ecs.amazonaws.com")],
            absent,
        )
        .await;
        assert!(
            message.contains("UPSERT_SLR_ALLOWED_SERVICES does not let it create"),
            "{message}"
        );
        assert!(h.created_nothing().await, "no role created");
    }
}

#[tokio::test]
async fn a_role_of_a_service_outside_allowed_services_is_used_when_it_exists() {
    for mode in ["create", "check"] {
        let h = hook_harness(&[
            ("UPSERT_SLR_ALLOWED_SERVICES", "ecs.amazonaws.com"),
            ("UPSERT_SLR_HOOK_MODE", mode),
        ])
        .await;
        mount_redshift_role(&h).await;
        let answer = h.result_of(redshift_create()).await;
        assert_status(&answer, "SUCCESS");
        assert_eq!(h.iam_actions().await, ["GetRole"], "{mode}");
    }
}

#[tokio::test]
async fn an_iam_refusal_is_an_internal_failure() {
    let h = hook_harness(&[]).await;
    mount(
        &h.iam,
        "CreateServiceLinkedRole",
        error(
            403,
            "AccessDenied",
            "not authorized to perform iam:CreateServiceLinkedRole",
        ),
    )
    .await;
    mount(
        &h.iam,
        "ListRoles",
        error(
            403,
            "AccessDenied",
            "not authorized to perform iam:ListRoles",
        ),
    )
    .await;
    let answer = h.result_of(redshift_create()).await;
    assert_status(&answer, "FAILED");
    assert_eq!(answer["errorCode"], "InternalFailure");
    assert_says(&answer, "iam:CreateServiceLinkedRole");
}

#[tokio::test]
async fn malformed_input_is_an_internal_failure_that_echoes_the_token() {
    let h = hook_harness(&[]).await;
    for (event, says) in [
        (
            json!({"clientRequestToken": TOKEN}),
            "actionInvocationPoint is missing",
        ),
        (
            json!({"clientRequestToken": TOKEN, "actionInvocationPoint": "CREATE_PRE_PROVISION", "requestData": 7}),
            "requestData is a number",
        ),
        (
            {
                let mut e = redshift_create();
                e["requestContext"]["callbackContext"] = json!({"someone": "else"});
                e
            },
            "not one this function answered",
        ),
    ] {
        let answer = h.result_of(event.clone()).await;
        assert_status(&answer, "FAILED");
        assert_eq!(answer["errorCode"], "InternalFailure");
        assert!(
            answer["message"].as_str().unwrap().contains(says),
            "{event}: {answer}"
        );
    }
    assert!(h.iam_actions().await.is_empty());
}

#[tokio::test]
async fn a_misconfigured_function_says_so_to_every_target() {
    let h = hook_harness(&[("UPSERT_SLR_HOOK_WAIT_SECONDS", "soon")]).await;
    let answer = h.result_of(redshift_create()).await;
    assert_status(&answer, "FAILED");
    assert_eq!(answer["errorCode"], "InternalFailure");
    assert_says(&answer, "UPSERT_SLR_HOOK_WAIT_SECONDS");
}
