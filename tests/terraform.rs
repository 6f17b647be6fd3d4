//! Terraform's `aws_lambda_invocation` (lifecycle scope CRUD) against IAM's wire answers
//! replayed by wiremock: the provider's inputs for create, update and destroy (the `tf` key),
//! the CREATE_ONLY input without it, the results Terraform stores, and the function errors
//! `terraform apply` prints. Nothing is PUT anywhere: the result is the invocation's.

mod support;

use support::cfn::{ECS, ECS_ROLE, STACK};
use support::iam_wire::*;
use support::replay_harness::{Harness, LAMBDA_REQUEST_ID, bodies_of};

use serde_json::{Value, json};
use wiremock::matchers::body_string_contains;

const OWNER: &str = "prod/network/ecs";
const AUTOSCALING: &str = "autoscaling.amazonaws.com";

/// The input the module sends for the ECS role, with the provider's `tf` key for `action`.
fn input(action: &str, props: Value, prev: Value) -> Value {
    let mut input = props;
    input["tf"] = json!({"action": action, "prev_input": prev});
    input
}

/// The ECS role's properties as the module writes them: numbers as JSON numbers.
fn ecs(removal_policy: &str) -> Value {
    json!({
        "AWSServiceName": ECS,
        "RemovalPolicy": removal_policy,
        "PropagationWaitSeconds": 0,
        "Owner": OWNER,
    })
}

/// Tags that make a role this owner's, with `policy` recorded.
fn terraform_tags(owner: &'static str, policy: &'static str) -> Vec<(&'static str, &'static str)> {
    vec![
        ("upsert-slr:stack-id", "terraform"),
        ("upsert-slr:logical-id", owner),
        ("upsert-slr:request-id", "an-earlier-invocation"),
        ("upsert-slr:removal-policy", policy),
    ]
}

fn ecs_result(created: &str) -> Value {
    json!({
        "RoleName": ECS_ROLE,
        "Arn": arn(ECS, ECS_ROLE),
        "Created": created,
        "Propagated": "true",
    })
}

/// The function error's type and message.
async fn function_error(h: &Harness, input: Value) -> (String, String) {
    let d = h.invoke(input).await.expect_err("a function error");
    (d.error_type, d.error_message)
}

async fn mount_ecs_role(h: &Harness, tags: &[(&str, &str)]) {
    action("GetRole")
        .and(body_string_contains("RoleName=AWSServiceRoleForECS"))
        .respond_with(ok("GetRole", &role_xml(ECS, ECS_ROLE, tags)))
        .mount(&h.iam)
        .await;
}

async fn mount_deletion_succeeds(h: &Harness, name: &str, service: &str) {
    let task = format!("task/aws-service-role/{service}/{name}/9c1d");
    let id = format!("<DeletionTaskId>{task}</DeletionTaskId>");
    action("DeleteServiceLinkedRole")
        .and(body_string_contains(format!("RoleName={name}")))
        .respond_with(ok("DeleteServiceLinkedRole", &id))
        .expect(1)
        .mount(&h.iam)
        .await;
    action("GetServiceLinkedRoleDeletionStatus")
        .respond_with(deletion_status("IN_PROGRESS", ""))
        .up_to_n_times(1)
        .mount(&h.iam)
        .await;
    mount_deletion_finished(&h.iam).await;
}

#[tokio::test]
async fn create_makes_the_role_marks_it_as_the_owners_and_answers_its_attributes() {
    let h = Harness::new().await;
    mount_created(&h.iam).await;

    let result = h.invoke(input("create", ecs("Delete"), Value::Null)).await;

    assert_eq!(result.unwrap(), ecs_result("true"));
    assert_eq!(
        h.iam_actions().await,
        ["CreateServiceLinkedRole", "TagRole"]
    );
    let tagged = &bodies_of(&h, "TagRole").await[0];
    for tag in [
        "Key=upsert-slr%3Astack-id&Tags.member.1.Value=terraform",
        "Key=upsert-slr%3Alogical-id&Tags.member.2.Value=prod%2Fnetwork%2Fecs",
        &format!("Key=upsert-slr%3Arequest-id&Tags.member.3.Value={LAMBDA_REQUEST_ID}"),
        "Key=upsert-slr%3Aremoval-policy&Tags.member.4.Value=Delete",
    ] {
        assert!(tagged.contains(tag), "{tag} not in {tagged}");
    }
    assert!(h.answers().await.is_empty(), "nothing is PUT");
}

#[tokio::test]
async fn without_the_tf_key_the_input_is_a_create() {
    let h = Harness::new().await;
    mount_created(&h.iam).await;

    let props = json!({"AWSServiceName": ECS, "PropagationWaitSeconds": "0"});
    assert_eq!(h.invoke(props).await.unwrap(), ecs_result("true"));
    assert_eq!(
        h.iam_actions().await,
        ["CreateServiceLinkedRole"],
        "without an Owner the role is marked as nobody's"
    );
}

#[tokio::test]
async fn the_same_create_again_answers_the_same_role_still_owned() {
    let h = Harness::new().await;
    mount(&h.iam, "CreateServiceLinkedRole", taken(ECS_ROLE)).await;
    mount_ecs_role(&h, &terraform_tags(OWNER, "Delete")).await;

    let result = h.invoke(input("create", ecs("Delete"), Value::Null)).await;

    assert_eq!(result.unwrap(), ecs_result("true"));
    assert!(bodies_of(&h, "TagRole").await.is_empty());
}

#[tokio::test]
async fn create_adopts_a_role_someone_else_made() {
    let stack_tags = vec![
        ("upsert-slr:stack-id", STACK),
        ("upsert-slr:logical-id", OWNER),
    ];
    let another_owner = terraform_tags("prod/other/ecs", "Delete");
    for tags in [vec![], stack_tags, another_owner] {
        let h = Harness::new().await;
        mount(&h.iam, "CreateServiceLinkedRole", taken(ECS_ROLE)).await;
        mount_ecs_role(&h, &tags).await;

        let result = h.invoke(input("create", ecs("Delete"), Value::Null)).await;

        assert_eq!(result.unwrap(), ecs_result("false"), "{tags:?}");
        assert!(bodies_of(&h, "TagRole").await.is_empty(), "{tags:?}");
    }
}

#[tokio::test]
async fn update_changes_the_description_of_the_owners_role() {
    let h = Harness::new().await;
    mount(&h.iam, "CreateServiceLinkedRole", taken(ECS_ROLE)).await;
    mount_ecs_role(&h, &terraform_tags(OWNER, "Retain")).await;
    mount(&h.iam, "TagRole", ok_empty("TagRole")).await;
    mount(
        &h.iam,
        "UpdateRoleDescription",
        ok("UpdateRoleDescription", &role_xml(ECS, ECS_ROLE, &[])),
    )
    .await;
    let mut new = ecs("Delete");
    new["Description"] = json!("new words");
    let mut old = ecs("Retain");
    old["Description"] = json!("old words");

    let result = h.invoke(input("update", new, old)).await;

    assert_eq!(result.unwrap(), ecs_result("true"));
    let described = bodies_of(&h, "UpdateRoleDescription").await;
    assert_eq!(described.len(), 1);
    assert!(
        described[0].contains("Description=new%20words"),
        "{described:?}"
    );
    let tagged = bodies_of(&h, "TagRole").await;
    assert_eq!(tagged.len(), 1, "the removal policy recorded again");
    assert!(tagged[0].contains("Value=Delete"), "{tagged:?}");
}

#[tokio::test]
async fn update_leaves_an_adopted_roles_description_alone() {
    let h = Harness::new().await;
    mount(&h.iam, "CreateServiceLinkedRole", taken(ECS_ROLE)).await;
    mount_ecs_role(&h, &[]).await;
    let mut new = ecs("Retain");
    new["Description"] = json!("new words");

    let result = h.invoke(input("update", new, ecs("Retain"))).await;

    assert_eq!(result.unwrap(), ecs_result("false"));
    assert_eq!(
        h.iam_actions().await,
        ["CreateServiceLinkedRole", "GetRole"]
    );
}

#[tokio::test]
async fn an_update_to_another_role_ensures_it_then_deletes_the_old_one_this_owner_made() {
    let h = Harness::new().await;
    let (old_role, new_role) = (
        "AWSServiceRoleForAutoScaling_a",
        "AWSServiceRoleForAutoScaling_b",
    );
    mount(
        &h.iam,
        "CreateServiceLinkedRole",
        ok(
            "CreateServiceLinkedRole",
            &role_xml(AUTOSCALING, new_role, &[]),
        ),
    )
    .await;
    mount(&h.iam, "TagRole", ok_empty("TagRole")).await;
    mount(
        &h.iam,
        "ListRoles",
        roles_listed(&[(AUTOSCALING, old_role), (AUTOSCALING, new_role)]),
    )
    .await;
    action("GetRole")
        .and(body_string_contains(format!("RoleName={old_role}")))
        .respond_with(ok(
            "GetRole",
            &role_xml(AUTOSCALING, old_role, &terraform_tags(OWNER, "Delete")),
        ))
        .mount(&h.iam)
        .await;
    mount_deletion_succeeds(&h, old_role, AUTOSCALING).await;
    let props = |suffix: &str| {
        json!({"AWSServiceName": AUTOSCALING, "CustomSuffix": suffix, "RemovalPolicy": "Delete",
               "PropagationWaitSeconds": 0, "Owner": OWNER})
    };

    let result = h.invoke(input("update", props("b"), props("a"))).await;

    assert_eq!(
        result.unwrap(),
        json!({"RoleName": new_role, "Arn": arn(AUTOSCALING, new_role), "Created": "true",
               "Propagated": "true"})
    );
    let actions = h.iam_actions().await;
    assert_eq!(
        actions[..2],
        ["CreateServiceLinkedRole", "TagRole"],
        "{actions:?}"
    );
    assert!(actions.contains(&"DeleteServiceLinkedRole".to_string()));
    assert_eq!(
        actions.last().map(String::as_str),
        Some("GetServiceLinkedRoleDeletionStatus"),
        "the deletion is waited for: {actions:?}"
    );
}

#[tokio::test]
async fn delete_removes_the_owners_role_and_waits_for_iam() {
    let h = Harness::new().await;
    mount_ecs_role(&h, &terraform_tags(OWNER, "Delete")).await;
    mount_deletion_succeeds(&h, ECS_ROLE, ECS).await;

    let result = h
        .invoke(input("delete", ecs("Delete"), ecs("Delete")))
        .await;

    assert_eq!(
        result.unwrap(),
        json!({"Deleted": "true", "Reason": "deleted AWSServiceRoleForECS"})
    );
    let polls = bodies_of(&h, "GetServiceLinkedRoleDeletionStatus").await;
    assert_eq!(polls.len(), 2, "polled until SUCCEEDED");
    assert!(
        bodies_of(&h, "DescribeStacks").await.is_empty(),
        "no stack is asked"
    );
}

#[tokio::test]
async fn delete_keeps_a_role_whose_policy_is_retain() {
    let h = Harness::new().await;
    let result = h
        .invoke(input("delete", ecs("Retain"), ecs("Retain")))
        .await;
    assert_eq!(
        result.unwrap(),
        json!({"Deleted": "false",
               "Reason": "kept the role for ecs.amazonaws.com: RemovalPolicy is Retain"})
    );
    assert!(h.iam_actions().await.is_empty());

    // The input says Delete, the role recorded Retain: the record governs, as for stacks.
    let h = Harness::new().await;
    mount_ecs_role(&h, &terraform_tags(OWNER, "Retain")).await;
    let result = h
        .invoke(input("delete", ecs("Delete"), ecs("Delete")))
        .await;
    assert_eq!(result.unwrap()["Deleted"], "false");
    assert!(bodies_of(&h, "DeleteServiceLinkedRole").await.is_empty());
}

#[tokio::test]
async fn delete_never_removes_a_role_this_owner_did_not_create() {
    let stack_tags = vec![
        ("upsert-slr:stack-id", STACK),
        ("upsert-slr:logical-id", OWNER),
        ("upsert-slr:removal-policy", "Delete"),
    ];
    let cases = [
        (vec![], OWNER),
        (stack_tags, OWNER),
        (terraform_tags("prod/other/ecs", "Delete"), OWNER),
    ];
    for (tags, _) in cases {
        let h = Harness::new().await;
        mount_ecs_role(&h, &tags).await;

        let result = h
            .invoke(input("delete", ecs("Delete"), ecs("Delete")))
            .await;

        assert_eq!(
            result.unwrap(),
            json!({"Deleted": "false", "Reason":
                "retained AWSServiceRoleForECS: AWSServiceRoleForECS was not created by this resource"}),
            "{tags:?}"
        );
        assert!(bodies_of(&h, "DeleteServiceLinkedRole").await.is_empty());
    }
}

#[tokio::test]
async fn a_custom_resource_event_cannot_claim_a_terraform_owners_role() {
    let h = Harness::new().await;
    mount_ecs_role(&h, &terraform_tags("EcsRole", "Delete")).await;
    let mut event = h.event(
        "Delete",
        json!({"AWSServiceName": ECS, "RemovalPolicy": "Delete"}),
    );
    event["StackId"] = json!("terraform");

    h.invoke(event).await.unwrap();

    assert_eq!(
        h.answer().await["Reason"],
        "retained AWSServiceRoleForECS: AWSServiceRoleForECS was not created by this resource"
    );
    assert!(bodies_of(&h, "DeleteServiceLinkedRole").await.is_empty());
}

#[tokio::test]
async fn an_unknown_action_is_a_function_error_and_touches_nothing() {
    let h = Harness::new().await;
    let error = function_error(&h, input("destroy", ecs("Delete"), Value::Null)).await;
    assert_eq!(
        error,
        (
            "InvalidEvent".into(),
            "tf.action \"destroy\" is not one of create, update, delete".into()
        )
    );
    assert!(h.iam_actions().await.is_empty());
}

#[tokio::test]
async fn a_bad_owner_is_a_function_error() {
    let h = Harness::new().await;
    let mut props = ecs("Delete");
    props["Owner"] = json!("prod,ecs");
    let error = function_error(&h, input("create", props, Value::Null)).await;
    assert_eq!(
        error,
        (
            "InvalidEvent".into(),
            "Owner \"prod,ecs\" has ',', which an IAM tag value cannot hold (letters, digits, \
             spaces and _.:/=+-@)"
                .into()
        )
    );
    props = ecs("Delete");
    props["Owner"] = json!(7);
    let (_, message) = function_error(&h, input("create", props, Value::Null)).await;
    assert_eq!(message, "Owner is a number, not a string");
    assert!(h.iam_actions().await.is_empty());
}

#[tokio::test]
async fn a_missing_service_is_a_function_error() {
    let h = Harness::new().await;
    let input = input("create", json!({"Owner": OWNER}), Value::Null);
    let error = function_error(&h, input).await;
    assert_eq!(
        error,
        (
            "ServiceLinkedRoleFailed".into(),
            "AWSServiceName is required: the service principal, e.g. \"ecs.amazonaws.com\"".into()
        )
    );
    assert!(h.iam_actions().await.is_empty());
}

#[tokio::test]
async fn delete_without_an_owner_is_refused_on_create() {
    let h = Harness::new().await;
    let props = json!({"AWSServiceName": ECS, "RemovalPolicy": "Delete"});
    let (_, message) = function_error(&h, input("create", props, Value::Null)).await;
    assert_eq!(
        message,
        "RemovalPolicy Delete needs an Owner: without one the function never deletes a role"
    );
    assert!(h.iam_actions().await.is_empty());
}

#[tokio::test]
async fn iams_refusal_is_a_function_error_in_iams_words() {
    let h = Harness::new().await;
    mount(&h.iam, "CreateServiceLinkedRole", suffix_not_allowed(ECS)).await;
    mount(&h.iam, "ListRoles", roles_listed(&[])).await;
    let mut props = ecs("Retain");
    props["CustomSuffix"] = json!("blue");

    let error = function_error(&h, input("create", props, Value::Null)).await;

    assert_eq!(
        error,
        (
            "ServiceLinkedRoleFailed".into(),
            "InvalidInput: Custom suffix is not allowed for ecs.amazonaws.com \
             (iam:CreateServiceLinkedRole)"
                .into()
        )
    );
}

#[tokio::test]
async fn an_unknown_service_is_refused_in_iams_words() {
    let h = Harness::new().await;
    let service = "nosuch.amazonaws.com";
    mount(
        &h.iam,
        "CreateServiceLinkedRole",
        error(
            400,
            "AccessDenied",
            &format!("Cannot find Service Linked Role template for {service}"),
        ),
    )
    .await;
    mount(&h.iam, "ListRoles", roles_listed(&[])).await;
    let props = json!({"AWSServiceName": service, "Owner": OWNER});

    let (_, message) = function_error(&h, input("create", props, Value::Null)).await;

    assert_eq!(
        message,
        "AccessDenied: Cannot find Service Linked Role template for nosuch.amazonaws.com \
         (iam:CreateServiceLinkedRole)"
    );
}
