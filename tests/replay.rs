//! The handler against IAM's exact wire answers, replayed by wiremock, with a second wiremock
//! server standing in for the presigned ResponseURL. Covers what LocalStack cannot produce:
//! unknown services, throttling, protected roles, deletion failures, hangs.

#[path = "support/cfn.rs"]
mod cfn;
#[path = "support/iam_wire.rs"]
mod iam_wire;
#[path = "support/replay_harness.rs"]
mod replay_harness;

use cfn::{ECS, ECS_ROLE, FUNCTION_ARN, STACK, assert_answer, ecs_props};
use iam_wire::*;
use replay_harness::{Harness, is_complete_event, owned_tags};
use serde_json::{Value, json};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use wiremock::matchers::{body_string_contains, method};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn created_role_is_tagged_and_answered_with_data() {
    let h = Harness::new().await;
    mount_ecs_created(&h.iam).await;
    action("TagRole")
        .and(body_string_contains("RoleName=AWSServiceRoleForECS"))
        .respond_with(ok_empty("TagRole"))
        .expect(1)
        .mount(&h.iam)
        .await;

    h.create(ecs_props()).await;

    let a = h.answer().await;
    assert_eq!(a["Status"], "SUCCESS");
    assert_eq!(a["PhysicalResourceId"], ECS_ROLE);
    assert_eq!(
        a["Data"],
        json!({"RoleName": ECS_ROLE, "Arn": arn(ECS, ECS_ROLE), "Created": "true"})
    );
    assert_eq!(a["RequestId"], "b6a3c1d2-0001");
    assert_eq!(a["LogicalResourceId"], "EcsRole");
    assert_eq!(a["StackId"], STACK);
    let calls = bodies(&h.iam).await;
    let tag_body = calls.iter().find(|b| b.contains("Action=TagRole")).unwrap();
    for expected in [
        "upsert-slr%3Astack-id",
        "upsert-slr%3Alogical-id",
        "EcsRole",
        "upsert-slr%3Arequest-id",
        "b6a3c1d2-0001",
    ] {
        assert!(
            tag_body.contains(expected),
            "{expected} missing from {tag_body}"
        );
    }
}

#[tokio::test]
async fn has_been_taken_adopts_the_named_role_without_waiting_or_tagging() {
    let mut h = Harness::new().await;
    h.deadline = Duration::from_secs(20);
    mount_taken(&h, &role_xml(ECS, ECS_ROLE, &[])).await;

    // A 900 s propagation wait would outlast the 20 s deadline: answering SUCCESS with
    // Created "false" at all shows the adopted path does not wait.
    let props = json!({"AWSServiceName": ECS, "PropagationWaitSeconds": 900});
    h.invoke(h.event("Create", props)).await.unwrap();

    let a = h.answer().await;
    assert_eq!(a["Status"], "SUCCESS", "{a}");
    assert_eq!(a["Data"]["Created"], "false");
    assert_eq!(a["Data"]["Arn"], arn(ECS, ECS_ROLE));
    assert_eq!(a["Reason"], "adopted existing AWSServiceRoleForECS");
    assert_eq!(
        h.iam_actions().await,
        ["CreateServiceLinkedRole", "GetRole"]
    );
}

#[tokio::test]
async fn has_been_taken_with_unfamiliar_wording_falls_back_to_list_roles() {
    let h = Harness::new().await;
    let asg = "autoscaling.amazonaws.com";
    mount(
        &h.iam,
        "CreateServiceLinkedRole",
        error(400, "InvalidInput", "The role has been taken."),
    )
    .await;
    action("ListRoles")
        .and(body_string_contains(
            "PathPrefix=%2Faws-service-role%2Fautoscaling.amazonaws.com%2F",
        ))
        .respond_with(ok(
            "ListRoles",
            &format!(
                "<IsTruncated>false</IsTruncated><Roles>{}{}</Roles>",
                role_xml(asg, "AWSServiceRoleForAutoScaling", &[])
                    .replace("<Role>", "<member>")
                    .replace("</Role>", "</member>"),
                role_xml(asg, "AWSServiceRoleForAutoScaling_team-a", &[])
                    .replace("<Role>", "<member>")
                    .replace("</Role>", "</member>"),
            ),
        ))
        .mount(&h.iam)
        .await;
    action("GetRole")
        .and(body_string_contains(
            "RoleName=AWSServiceRoleForAutoScaling_team-a",
        ))
        .respond_with(ok(
            "GetRole",
            &role_xml(asg, "AWSServiceRoleForAutoScaling_team-a", &[]),
        ))
        .mount(&h.iam)
        .await;

    let props = json!({"awsServiceName": asg, "customSuffix": "team-a"});
    h.invoke(h.event("Create", props)).await.unwrap();

    let a = h.answer().await;
    assert_eq!(a["Status"], "SUCCESS", "{a}");
    assert_eq!(
        a["PhysicalResourceId"],
        "AWSServiceRoleForAutoScaling_team-a"
    );
    assert_eq!(a["Data"]["Created"], "false");
}

#[tokio::test]
async fn other_iam_errors_fail_with_iams_code_and_message() {
    let cases = [
        (
            suffix_not_allowed(ECS),
            "InvalidInput: Custom suffix is not allowed for ecs.amazonaws.com (iam:CreateServiceLinkedRole)",
        ),
        (
            error(
                403,
                "AccessDenied",
                "Cannot find Service Linked Role template for ecs.amazonaws.com",
            ),
            "AccessDenied: Cannot find Service Linked Role template for ecs.amazonaws.com (iam:CreateServiceLinkedRole)",
        ),
    ];
    for (reply, reason) in cases {
        let h = Harness::new().await;
        mount(&h.iam, "CreateServiceLinkedRole", reply).await;

        h.create(ecs_props()).await;

        let a = h.answer().await;
        assert_eq!(a["Status"], "FAILED");
        assert_eq!(a["Reason"], reason);
        assert_eq!(a["PhysicalResourceId"], "upsert-slr:create-failed:EcsRole");
        assert_eq!(a["Data"], json!({}));
    }
}

#[tokio::test]
async fn throttling_and_server_errors_are_retried() {
    for first in [
        error(400, "Throttling", "Rate exceeded"),
        error(500, "ServiceFailure", "Internal failure"),
    ] {
        let h = Harness::new().await;
        action("CreateServiceLinkedRole")
            .respond_with(first)
            .up_to_n_times(2)
            .mount(&h.iam)
            .await;
        mount_ecs_created(&h.iam).await;
        mount(&h.iam, "TagRole", ok_empty("TagRole")).await;

        h.create(ecs_props()).await;

        assert_eq!(h.answer().await["Status"], "SUCCESS");
        assert_eq!(
            h.iam_actions().await,
            ["CreateServiceLinkedRole"; 3]
                .iter()
                .chain(&["TagRole"])
                .cloned()
                .collect::<Vec<_>>()
        );
    }
}

#[tokio::test]
async fn throttling_is_retried_past_three_attempts_and_until_the_deadline() {
    let h = Harness::new().await;
    action("CreateServiceLinkedRole")
        .respond_with(error(400, "Throttling", "Rate exceeded"))
        .up_to_n_times(5)
        .mount(&h.iam)
        .await;
    mount_ecs_created(&h.iam).await;
    mount(&h.iam, "TagRole", ok_empty("TagRole")).await;

    h.create(ecs_props()).await;

    assert_eq!(h.answer().await["Status"], "SUCCESS");
    let creates = h.iam_actions().await;
    assert_eq!(
        creates
            .iter()
            .filter(|a| *a == "CreateServiceLinkedRole")
            .count(),
        6
    );

    let mut h = Harness::new().await;
    h.deadline = Duration::from_secs(4);
    mount(
        &h.iam,
        "CreateServiceLinkedRole",
        error(400, "Throttling", "Rate exceeded"),
    )
    .await;
    let started = std::time::Instant::now();

    h.create(ecs_props()).await;

    assert!(
        started.elapsed() < Duration::from_secs(4),
        "answered after the deadline"
    );
    let a = h.answer().await;
    assert_eq!(a["Status"], "FAILED", "{a}");
    let reason = a["Reason"].as_str().unwrap();
    assert!(
        reason.starts_with("timed out while calling iam:CreateServiceLinkedRole for ecs.amazonaws.com, retried after ")
            && reason.ends_with(" transient refusals (the last: Throttling: Rate exceeded), before the Lambda deadline"),
        "{reason}"
    );
    assert!(
        h.iam_actions().await.len() > 3,
        "more than the SDK's old budget of 3"
    );
}

#[tokio::test]
async fn a_reworded_refusal_adopts_the_one_role_the_service_has() {
    let h = Harness::new().await;
    mount(
        &h.iam,
        "CreateServiceLinkedRole",
        error(
            400,
            "InvalidInput",
            "A role for ecs.amazonaws.com already exists in this account.",
        ),
    )
    .await;
    action("ListRoles")
        .and(body_string_contains(
            "PathPrefix=%2Faws-service-role%2Fecs.amazonaws.com%2F",
        ))
        .respond_with(ok(
            "ListRoles",
            &format!(
                "<IsTruncated>false</IsTruncated><Roles>{}</Roles>",
                role_xml(ECS, ECS_ROLE, &[])
                    .replace("<Role>", "<member>")
                    .replace("</Role>", "</member>"),
            ),
        ))
        .mount(&h.iam)
        .await;
    mount(
        &h.iam,
        "GetRole",
        ok("GetRole", &role_xml(ECS, ECS_ROLE, &[])),
    )
    .await;

    h.create(ecs_props()).await;

    let a = h.answer().await;
    assert_eq!(a["Status"], "SUCCESS", "{a}");
    assert_eq!(a["Data"]["Created"], "false");
    assert_eq!(a["PhysicalResourceId"], ECS_ROLE);
    assert_eq!(
        h.iam_actions().await,
        ["CreateServiceLinkedRole", "ListRoles", "GetRole"]
    );

    // Nothing listed: IAM's own words, at once.
    let h = Harness::new().await;
    mount(&h.iam, "CreateServiceLinkedRole", suffix_not_allowed(ECS)).await;
    mount(
        &h.iam,
        "ListRoles",
        ok(
            "ListRoles",
            "<IsTruncated>false</IsTruncated><Roles></Roles>",
        ),
    )
    .await;

    h.create(json!({"AWSServiceName": ECS, "CustomSuffix": "x", "PropagationWaitSeconds": "0"}))
        .await;

    assert_answer(
        &h.answer().await,
        "FAILED",
        "InvalidInput: Custom suffix is not allowed for ecs.amazonaws.com (iam:CreateServiceLinkedRole)",
    );
}

#[tokio::test]
async fn a_redelivered_create_recognises_its_own_role() {
    let h = Harness::new().await;
    let mut tags = owned_tags();
    tags[2].1 = "b6a3c1d2-0001";
    mount_taken(&h, &role_xml(ECS, ECS_ROLE, &tags)).await;

    h.create(ecs_props()).await;

    let a = h.answer().await;
    assert_eq!(
        a["Data"]["Created"], "true",
        "same answer as the first delivery: {a}"
    );
}

#[tokio::test]
async fn tag_failure_fails_only_when_the_role_must_be_deletable() {
    for (policy, status) in [("Delete", "FAILED"), ("Retain", "SUCCESS")] {
        let h = Harness::new().await;
        mount_ecs_created(&h.iam).await;
        action("TagRole")
            .respond_with(error(
                403,
                "AccessDenied",
                "User is not authorized to perform: iam:TagRole",
            ))
            .mount(&h.iam)
            .await;
        let props =
            json!({"AWSServiceName": ECS, "PropagationWaitSeconds": 0, "RemovalPolicy": policy});

        h.invoke(h.event("Create", props)).await.unwrap();

        let a = h.answer().await;
        assert_eq!(a["Status"], status, "{a}");
        // The role exists either way: its name is the physical id.
        assert_eq!(a["PhysicalResourceId"], ECS_ROLE);
        if status == "FAILED" {
            assert!(
                a["Reason"]
                    .as_str()
                    .unwrap()
                    .starts_with("AccessDenied: User is not authorized to perform: iam:TagRole")
            );
        }
    }
}

#[tokio::test]
async fn update_applies_a_new_description_and_tolerates_protected_roles() {
    for (reply, expect_reason) in [
        (
            ok("UpdateRoleDescription", &role_xml(ECS, ECS_ROLE, &[])),
            "updated AWSServiceRoleForECS",
        ),
        (
            error(
                400,
                "UnmodifiableEntity",
                "Cannot perform the operation on the protected role 'AWSServiceRoleForECS' - this role is only modifiable by AWS",
            ),
            "updated AWSServiceRoleForECS",
        ),
    ] {
        let h = Harness::new().await;
        mount(
            &h.iam,
            "GetRole",
            ok("GetRole", &role_xml(ECS, ECS_ROLE, &owned_tags())),
        )
        .await;
        action("UpdateRoleDescription")
            .and(body_string_contains("Description=new%20words"))
            .respond_with(reply)
            .expect(1)
            .mount(&h.iam)
            .await;
        let mut event = h.event(
            "Update",
            json!({"AWSServiceName": ECS, "Description": "new words"}),
        );
        event["OldResourceProperties"] = json!({"AWSServiceName": ECS, "Description": "old words"});

        h.invoke(event).await.unwrap();

        let a = h.answer().await;
        assert_eq!(a["Status"], "SUCCESS", "{a}");
        assert_eq!(a["PhysicalResourceId"], ECS_ROLE);
        assert_eq!(a["Reason"], expect_reason);
        assert_eq!(a["Data"]["Created"], "false");
        assert!(
            !h.iam_actions()
                .await
                .contains(&"CreateServiceLinkedRole".to_string())
        );
    }
}

#[tokio::test]
async fn update_leaves_an_adopted_roles_description_alone() {
    let h = Harness::new().await;
    let made_elsewhere = [
        (
            "upsert-slr:stack-id",
            "arn:aws:cloudformation:us-east-1:123456789012:stack/other/1",
        ),
        ("upsert-slr:logical-id", "EcsRole"),
    ];
    for tags in [&[][..], &made_elsewhere[..]] {
        h.iam.reset().await;
        mount(
            &h.iam,
            "GetRole",
            ok("GetRole", &role_xml(ECS, ECS_ROLE, tags)),
        )
        .await;
        let mut event = h.event(
            "Update",
            json!({"AWSServiceName": ECS, "Description": "new words"}),
        );
        event["OldResourceProperties"] = json!({"AWSServiceName": ECS, "Description": "old words"});

        h.invoke(event).await.unwrap();

        let answers = h.answers().await;
        let a = answers.last().unwrap();
        assert_eq!(a["Status"], "SUCCESS", "{a}");
        assert_eq!(
            a["Reason"],
            "kept AWSServiceRoleForECS as it was: this resource adopted it, so its description is not changed"
        );
        assert_eq!(h.iam_actions().await, ["GetRole"], "{tags:?}");
    }
}

#[tokio::test]
async fn a_failed_update_keeps_the_physical_id() {
    let h = Harness::new().await;
    mount(&h.iam, "CreateServiceLinkedRole", suffix_not_allowed(ECS)).await;
    let mut event = h.event(
        "Update",
        json!({"AWSServiceName": ECS, "CustomSuffix": "x"}),
    );
    event["OldResourceProperties"] = json!({"AWSServiceName": ECS});

    h.invoke(event).await.unwrap();

    let a = h.answer().await;
    assert_eq!(a["Status"], "FAILED");
    assert_eq!(a["PhysicalResourceId"], ECS_ROLE);
}

/// CloudFormation deleting the stack: what confirms a Delete.
async fn mount_stack_deleting(h: &Harness) {
    mount(
        &h.iam,
        "DescribeStacks",
        stack_in(STACK, "DELETE_IN_PROGRESS"),
    )
    .await;
}

/// IAM holding this resource's role, deleting it as task `task_id`, and answering the status
/// polls with `statuses` in turn (the last one from then on), in a stack being deleted.
async fn mount_owned_role_deletion(h: &Harness, task_id: &str, statuses: &[ResponseTemplate]) {
    mount_stack_deleting(h).await;
    mount(
        &h.iam,
        "GetRole",
        ok("GetRole", &role_xml(ECS, ECS_ROLE, &owned_tags())),
    )
    .await;
    action("DeleteServiceLinkedRole")
        .respond_with(ok(
            "DeleteServiceLinkedRole",
            &format!("<DeletionTaskId>{task_id}</DeletionTaskId>"),
        ))
        .expect(1)
        .mount(&h.iam)
        .await;
    for (i, status) in statuses.iter().enumerate() {
        let mock = action("GetServiceLinkedRoleDeletionStatus").respond_with(status.clone());
        let mock = if i + 1 < statuses.len() {
            mock.up_to_n_times(1)
        } else {
            mock
        };
        mock.mount(&h.iam).await;
    }
}

fn delete_event(h: &Harness, policy: &str) -> Value {
    h.event(
        "Delete",
        json!({"AWSServiceName": ECS, "RemovalPolicy": policy}),
    )
}

#[tokio::test]
async fn delete_waits_for_iam_and_reports_success() {
    let h = Harness::new().await;
    mount_owned_role_deletion(
        &h,
        "task/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS/1f4c",
        &[
            deletion_status("IN_PROGRESS", ""),
            deletion_status("SUCCEEDED", ""),
        ],
    )
    .await;

    h.invoke(delete_event(&h, "delete")).await.unwrap();

    let a = h.answer().await;
    assert_answer(&a, "SUCCESS", "deleted AWSServiceRoleForECS");
    assert_eq!(a["PhysicalResourceId"], ECS_ROLE);
}

#[tokio::test]
async fn a_role_deleted_between_the_look_and_the_deletion_is_already_gone() {
    let h = Harness::new().await;
    mount_stack_deleting(&h).await;
    mount(
        &h.iam,
        "GetRole",
        ok("GetRole", &role_xml(ECS, ECS_ROLE, &owned_tags())),
    )
    .await;
    mount(
        &h.iam,
        "DeleteServiceLinkedRole",
        error(
            404,
            "NoSuchEntity",
            "The role with name AWSServiceRoleForECS cannot be found.",
        ),
    )
    .await;

    h.invoke(delete_event(&h, "delete")).await.unwrap();

    assert_answer(
        &h.answer().await,
        "SUCCESS",
        "nothing to delete: AWSServiceRoleForECS was deleted meanwhile",
    );
    assert_eq!(
        h.iam_actions().await,
        ["GetRole", "DescribeStacks", "DeleteServiceLinkedRole"]
    );
}

#[tokio::test]
async fn delete_failure_names_the_regions_and_resources_still_using_the_role() {
    let h = Harness::new().await;
    mount_owned_role_deletion(&h, "task/x", &[deletion_status(
        "FAILED",
        "<Reason><Reason>Role is in use by ECS clusters</Reason><RoleUsageList>\
             <member><Region>us-east-1</Region><Resources><member>arn:aws:ecs:us-east-1:123456789012:cluster/prod</member></Resources></member>\
             <member><Region>eu-west-1</Region><Resources><member>arn:aws:ecs:eu-west-1:123456789012:cluster/eu</member></Resources></member>\
             </RoleUsageList></Reason>",
    )])
    .await;

    h.invoke(delete_event(&h, "Delete")).await.unwrap();

    let a = h.answer().await;
    assert_answer(
        &a,
        "FAILED",
        "DeletionFailed: Role is in use by ECS clusters (iam:GetServiceLinkedRoleDeletionStatus); \
         AWSServiceRoleForECS is still used in us-east-1 by arn:aws:ecs:us-east-1:123456789012:cluster/prod; \
         in eu-west-1 by arn:aws:ecs:eu-west-1:123456789012:cluster/eu",
    );
    assert_eq!(a["PhysicalResourceId"], ECS_ROLE);
}

#[tokio::test]
async fn delete_never_touches_a_role_this_resource_did_not_create() {
    let foreign = [
        vec![],
        vec![
            (
                "upsert-slr:stack-id",
                "arn:aws:cloudformation:us-east-1:123456789012:stack/other/1",
            ),
            ("upsert-slr:logical-id", "EcsRole"),
        ],
        vec![
            ("upsert-slr:stack-id", STACK),
            ("upsert-slr:logical-id", "AnotherResource"),
        ],
    ];
    for tags in foreign {
        let h = Harness::new().await;
        mount(
            &h.iam,
            "GetRole",
            ok("GetRole", &role_xml(ECS, ECS_ROLE, &tags)),
        )
        .await;

        h.invoke(delete_event(&h, "Delete")).await.unwrap();

        let a = h.answer().await;
        assert_answer(
            &a,
            "SUCCESS",
            "retained AWSServiceRoleForECS: AWSServiceRoleForECS was not created by this resource",
        );
        assert_eq!(h.iam_actions().await, ["GetRole"], "tags {tags:?}");
    }
}

#[tokio::test]
async fn retained_and_marker_deletes_make_no_iam_call() {
    let h = Harness::new().await;
    h.invoke(delete_event(&h, "Retain")).await.unwrap();
    let mut marker = delete_event(&h, "Delete");
    marker["PhysicalResourceId"] = json!("upsert-slr:create-failed:EcsRole");
    marker["ResourceProperties"]["RemovalPolicy"] = json!("not-a-policy");
    h.invoke(marker).await.unwrap();

    let answers = h.answers().await;
    assert_eq!(
        answers[0]["Reason"],
        "retained AWSServiceRoleForECS: RemovalPolicy is Retain"
    );
    assert_eq!(answers[1]["Status"], "SUCCESS");
    assert_eq!(
        answers[1]["PhysicalResourceId"],
        "upsert-slr:create-failed:EcsRole"
    );
    assert!(h.iam_actions().await.is_empty());
}

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
    let started = std::time::Instant::now();

    h.create(ecs_props()).await;

    assert!(
        started.elapsed() < Duration::from_secs(4),
        "answered after the deadline"
    );
    let a = h.answer().await;
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

const FRAMEWORK_ARN: &str =
    "arn:aws:lambda:us-east-1:123456789012:function:app-ProviderframeworkonEvent-1X";

/// A Harness behind CDK's Provider with this function as isComplete handler too.
async fn behind_is_complete() -> Harness {
    let mut h = Harness::new().await;
    h.settings.push(("UPSERT_SLR_WAIT", "is-complete".into()));
    h
}

/// IAM creates the ECS role.
async fn mount_ecs_created(iam: &MockServer) {
    let role = role_xml(ECS, ECS_ROLE, &[]);
    mount(
        iam,
        "CreateServiceLinkedRole",
        ok("CreateServiceLinkedRole", &role),
    )
    .await;
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

#[tokio::test]
async fn a_warm_function_finds_a_role_it_has_seen_with_one_get_role() {
    let h = Harness::new().await;
    mount_taken(&h, &role_xml(ECS, ECS_ROLE, &[])).await;

    h.create(ecs_props()).await;
    let mut second_stack = h.event("Create", ecs_props());
    second_stack["RequestId"] = json!("b6a3c1d2-0002");
    second_stack["StackId"] = json!("arn:aws:cloudformation:us-east-1:123456789012:stack/other/2");
    h.invoke(second_stack).await.unwrap();

    let answers = h.answers().await;
    assert_eq!(
        answers[0]["Data"], answers[1]["Data"],
        "the same role, adopted both times"
    );
    assert_eq!(answers[1]["Data"]["Created"], "false");
    assert_eq!(answers[1]["Data"]["Arn"], arn(ECS, ECS_ROLE));
    assert_eq!(
        h.iam_actions().await,
        ["CreateServiceLinkedRole", "GetRole", "GetRole"]
    );
}

#[tokio::test]
async fn a_known_name_whose_role_is_gone_falls_back_to_creating_it() {
    let h = Harness::new().await;
    mount_created(&h.iam).await;
    action("GetRole")
        .respond_with(error(
            404,
            "NoSuchEntity",
            "The role with name AWSServiceRoleForECS cannot be found.",
        ))
        .mount(&h.iam)
        .await;

    h.create(ecs_props()).await;
    let mut again = h.event("Create", ecs_props());
    again["RequestId"] = json!("b6a3c1d2-0002");
    h.invoke(again).await.unwrap();

    let answers = h.answers().await;
    assert!(
        answers.iter().all(|a| a["Data"]["Created"] == "true"),
        "{answers:?}"
    );
    assert_eq!(
        h.iam_actions().await,
        [
            "CreateServiceLinkedRole",
            "TagRole",
            "GetRole",
            "CreateServiceLinkedRole",
            "TagRole"
        ]
    );
}

// Propagation is measured from the role's creation, whoever created it: a role adopted moments
// after another stack (or the service itself) created it still gets the rest of the wait.

/// IAM saying the ECS role "has been taken", and GetRole showing it as `role` (its XML).
async fn mount_taken(h: &Harness, role: &str) {
    mount(&h.iam, "CreateServiceLinkedRole", taken(ECS_ROLE)).await;
    action("GetRole")
        .and(body_string_contains("RoleName=AWSServiceRoleForECS"))
        .respond_with(ok("GetRole", role))
        .mount(&h.iam)
        .await;
}

/// The whole seconds in "created N s ago; waited M s for IAM propagation". IAM's CreateDate is
/// whole seconds, so a role stamped N s ago may be up to a second younger: the age shown, and
/// the wait, count from the end of that second.
fn adopted_young(reason: &str) -> (u64, u64) {
    let rest = reason
        .strip_prefix("adopted AWSServiceRoleForECS, created ")
        .unwrap_or_else(|| panic!("{reason}"));
    let (age, rest) = rest.split_once(" s ago; waited ").expect(reason);
    let waited = rest.strip_suffix(" s for IAM propagation").expect(reason);
    (age.parse().expect(reason), waited.parse().expect(reason))
}

#[tokio::test]
async fn a_role_adopted_two_seconds_after_its_creation_waits_out_the_rest() {
    let h = Harness::new().await;
    let created = SystemTime::now() - Duration::from_secs(2);
    mount_taken(&h, &role_xml_created_at(ECS, ECS_ROLE, created)).await;

    let started = std::time::Instant::now();
    let props = json!({"AWSServiceName": ECS, "PropagationWaitSeconds": "5"});
    h.invoke(h.event("Create", props)).await.unwrap();
    let elapsed = started.elapsed();

    let a = h.answer().await;
    assert_eq!(a["Status"], "SUCCESS", "{a}");
    assert_eq!(a["Data"]["Created"], "false", "adopted, not created");
    let (age, waited) = adopted_young(a["Reason"].as_str().unwrap());
    // Stamped 2 s back, read as the end of its second: 1 s old, or 2 when the machine is so
    // busy that a second passed before the function read it; the age and the wait make 5.
    assert!((1..=2).contains(&age), "{a}");
    assert!((4..=5).contains(&(age + waited)), "{a}");
    assert!(
        elapsed >= Duration::from_secs(2),
        "answered after {elapsed:?}"
    );
    assert_eq!(
        h.iam_actions().await,
        ["CreateServiceLinkedRole", "GetRole"],
        "CreateDate comes with GetRole: no extra call"
    );
}

#[tokio::test]
async fn a_role_two_hours_old_is_adopted_at_once() {
    let mut h = Harness::new().await;
    h.deadline = Duration::from_secs(20);
    let created = SystemTime::now() - Duration::from_secs(2 * 3600);
    mount_taken(&h, &role_xml_created_at(ECS, ECS_ROLE, created)).await;

    // A 900 s wait would outlast the 20 s deadline and say so in the Reason.
    let props = json!({"AWSServiceName": ECS, "PropagationWaitSeconds": 900});
    h.invoke(h.event("Create", props)).await.unwrap();

    let a = h.answer().await;
    assert_answer(&a, "SUCCESS", "adopted existing AWSServiceRoleForECS");
}

#[tokio::test]
async fn a_create_date_ahead_of_the_clock_waits_the_whole_wait_from_now_and_no_longer() {
    let h = Harness::new().await;
    let created = SystemTime::now() + Duration::from_secs(3600);
    mount_taken(&h, &role_xml_created_at(ECS, ECS_ROLE, created)).await;

    let started = std::time::Instant::now();
    let props = json!({"AWSServiceName": ECS, "PropagationWaitSeconds": "2"});
    h.invoke(h.event("Create", props)).await.unwrap();

    let a = h.answer().await;
    assert_answer(
        &a,
        "SUCCESS",
        "adopted AWSServiceRoleForECS, created 0 s ago (its CreateDate is ahead of this \
         function's clock); waited 2 s for IAM propagation",
    );
    assert!(started.elapsed() >= Duration::from_secs(2));
}

#[tokio::test]
async fn a_warm_function_adopting_by_known_name_waits_the_same() {
    let h = Harness::new().await;
    action("CreateServiceLinkedRole")
        .respond_with(taken(ECS_ROLE))
        .expect(1)
        .mount(&h.iam)
        .await;
    action("GetRole")
        .respond_with(ok("GetRole", &role_xml(ECS, ECS_ROLE, &[])))
        .up_to_n_times(1)
        .mount(&h.iam)
        .await;
    h.create(ecs_props()).await;

    // Deleted and created again by someone else a second ago.
    let created = SystemTime::now() - Duration::from_secs(1);
    mount(
        &h.iam,
        "GetRole",
        ok("GetRole", &role_xml_created_at(ECS, ECS_ROLE, created)),
    )
    .await;
    let mut second_stack = h.event(
        "Create",
        json!({"AWSServiceName": ECS, "PropagationWaitSeconds": "3"}),
    );
    second_stack["RequestId"] = json!("b6a3c1d2-0002");
    let started = std::time::Instant::now();
    h.invoke(second_stack).await.unwrap();

    let answers = h.answers().await;
    let (age, waited) = adopted_young(answers[1]["Reason"].as_str().unwrap());
    // 0 s old (read as the end of its second), 1 on a machine too busy to answer at once;
    // the age and the wait make the 3 s.
    assert!(age <= 1, "{}", answers[1]);
    assert!((2..=3).contains(&(age + waited)), "{}", answers[1]);
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(
        h.iam_actions().await,
        ["CreateServiceLinkedRole", "GetRole", "GetRole"],
        "the known name needs one GetRole, which gives the CreateDate"
    );
}

#[tokio::test]
async fn an_update_that_adopts_a_young_role_waits_too() {
    let h = Harness::new().await;
    let created = SystemTime::now() - Duration::from_secs(1);
    mount_taken(&h, &role_xml_created_at(ECS, ECS_ROLE, created)).await;
    let mut update = h.event(
        "Update",
        json!({"AWSServiceName": ECS, "PropagationWaitSeconds": "2"}),
    );
    update["PhysicalResourceId"] = json!("AWSServiceRoleForAutoScaling");
    update["OldResourceProperties"] = json!({"AWSServiceName": "autoscaling.amazonaws.com"});

    h.invoke(update).await.unwrap();

    let a = h.answer().await;
    assert_eq!(a["PhysicalResourceId"], ECS_ROLE, "another role: replaced");
    let (age, waited) = adopted_young(a["Reason"].as_str().unwrap());
    // 0 s old (read as the end of its second), 1 on a machine too busy to answer at once;
    // the age and the wait make the 2 s.
    assert!(age <= 1, "{a}");
    assert!((1..=2).contains(&(age + waited)), "{a}");
}

#[tokio::test]
async fn behind_is_complete_a_young_adopted_role_waits_until_its_creation_plus_the_wait() {
    let h = behind_is_complete().await;
    let created = SystemTime::now() - Duration::from_secs(2);
    mount_taken(&h, &role_xml_created_at(ECS, ECS_ROLE, created)).await;
    let mut request = h.event(
        "Create",
        json!({"AWSServiceName": ECS, "PropagationWaitSeconds": 600}),
    );
    request["ServiceToken"] = json!(FRAMEWORK_ARN);

    let on_event = h.invoke(request.clone()).await.unwrap();
    assert_eq!(on_event["Data"]["Created"], "false");
    let created_s = created.duration_since(UNIX_EPOCH).unwrap().as_secs();
    assert_eq!(
        on_event["UpsertSlrWait"]["UntilEpochMs"],
        json!((created_s + 1 + 600) * 1000),
        "the end of CreateDate's second, plus the wait"
    );
    let waiting = h.is_complete(&request, &on_event).await;
    assert_eq!(waiting, json!({"IsComplete": false}));
}

/// IAM no longer knows the deletion task; GetRole then shows the role as `after`.
async fn mount_vanished_deletion_task(h: &Harness, after: ResponseTemplate) {
    mount_stack_deleting(h).await;
    action("GetRole")
        .respond_with(ok("GetRole", &role_xml(ECS, ECS_ROLE, &owned_tags())))
        .up_to_n_times(1)
        .mount(&h.iam)
        .await;
    action("GetRole").respond_with(after).mount(&h.iam).await;
    action("DeleteServiceLinkedRole")
        .respond_with(ok(
            "DeleteServiceLinkedRole",
            "<DeletionTaskId>task/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS/77aa</DeletionTaskId>",
        ))
        .mount(&h.iam)
        .await;
    action("GetServiceLinkedRoleDeletionStatus")
        .respond_with(error(
            404,
            "NoSuchEntity",
            "Deletion task task/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS/77aa not found.",
        ))
        .mount(&h.iam)
        .await;
}

#[tokio::test]
async fn a_vanished_deletion_task_with_the_role_gone_is_a_success() {
    let h = Harness::new().await;
    mount_vanished_deletion_task(
        &h,
        error(
            404,
            "NoSuchEntity",
            "The role with name AWSServiceRoleForECS cannot be found.",
        ),
    )
    .await;

    h.invoke(delete_event(&h, "Delete")).await.unwrap();

    let a = h.answer().await;
    assert_answer(&a, "SUCCESS", "deleted AWSServiceRoleForECS");
}

#[tokio::test]
async fn a_vanished_deletion_task_with_the_role_still_there_waits_then_fails_saying_so() {
    let mut h = Harness::new().await;
    h.deadline = Duration::from_secs(6);
    mount_vanished_deletion_task(&h, ok("GetRole", &role_xml(ECS, ECS_ROLE, &owned_tags()))).await;

    h.invoke(delete_event(&h, "Delete")).await.unwrap();

    let a = h.answer().await;
    assert_answer(
        &a,
        "FAILED",
        "timed out while waiting for the deletion of AWSServiceRoleForECS: IAM no longer knows \
         its deletion task (task/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS/77aa) \
         and the role still exists, before the Lambda deadline",
    );
    let polls = h
        .iam_actions()
        .await
        .iter()
        .filter(|a| *a == "GetServiceLinkedRoleDeletionStatus")
        .count();
    assert!(polls >= 2, "kept asking within the deadline: {polls} polls");
}

#[tokio::test]
async fn behind_is_complete_a_vanished_task_with_the_role_still_there_is_not_complete() {
    let h = behind_is_complete().await;
    mount_vanished_deletion_task(&h, ok("GetRole", &role_xml(ECS, ECS_ROLE, &owned_tags()))).await;
    let mut request = delete_event(&h, "Delete");
    request["ServiceToken"] = json!(FRAMEWORK_ARN);

    let on_event = h.invoke(request.clone()).await.unwrap();
    let checked = h.is_complete(&request, &on_event).await;
    assert_eq!(checked, json!({"IsComplete": false}));
}

// An OpenSearch domain is served by the OpenSearch role or by the legacy Elasticsearch one
// (slr-needs.json's satisfiedBy): the function looks both up before creating anything, so an
// account holding only the legacy role never sees a creation fail or a second role appear.

const OPENSEARCH: &str = "opensearchservice.amazonaws.com";
const OPENSEARCH_ROLE: &str = "AWSServiceRoleForAmazonOpenSearchService";
const ELASTICSEARCH: &str = "es.amazonaws.com";
const ELASTICSEARCH_ROLE: &str = "AWSServiceRoleForAmazonElasticsearchService";

/// The service's role with no propagation wait, as CloudFormation sends it.
fn props_of(service: &str) -> Value {
    json!({"ServiceToken": FUNCTION_ARN, "AWSServiceName": service, "PropagationWaitSeconds": "0"})
}

/// GetRole finding `role` (service, name) when asked for its name; every other name is missing.
async fn mount_only_role(h: &Harness, role: Option<(&str, &str)>) {
    if let Some((service, name)) = role {
        action("GetRole")
            .and(body_string_contains(format!("RoleName={name}")))
            .respond_with(ok("GetRole", &role_xml(service, name, &[])))
            .mount(&h.iam)
            .await;
    }
    for name in [OPENSEARCH_ROLE, ELASTICSEARCH_ROLE] {
        action("GetRole")
            .and(body_string_contains(format!("RoleName={name}")))
            .respond_with(error(
                404,
                "NoSuchEntity",
                &format!("The role with name {name} cannot be found."),
            ))
            .mount(&h.iam)
            .await;
    }
}

/// The names GetRole was asked for, in order.
async fn get_role_names(h: &Harness) -> Vec<String> {
    bodies(&h.iam)
        .await
        .iter()
        .filter(|b| action_of(b) == Some("GetRole"))
        .filter_map(|b| {
            b.split('&')
                .find_map(|kv| kv.strip_prefix("RoleName="))
                .map(String::from)
        })
        .collect()
}

#[tokio::test]
async fn an_opensearch_role_request_adopts_the_legacy_elasticsearch_role_when_it_is_the_only_one() {
    let h = Harness::new().await;
    mount_only_role(&h, Some((ELASTICSEARCH, ELASTICSEARCH_ROLE))).await;

    h.create(props_of(OPENSEARCH)).await;
    // A warm function goes straight to the role it adopted.
    let mut again = h.event("Create", props_of(OPENSEARCH));
    again["RequestId"] = json!("b6a3c1d2-0002");
    h.invoke(again).await.unwrap();

    let answers = h.answers().await;
    for a in &answers {
        assert_eq!(a["Status"], "SUCCESS", "{a}");
        assert_eq!(a["PhysicalResourceId"], ELASTICSEARCH_ROLE);
        assert_eq!(
            a["Data"],
            json!({"RoleName": ELASTICSEARCH_ROLE, "Arn": arn(ELASTICSEARCH, ELASTICSEARCH_ROLE), "Created": "false"})
        );
    }
    assert_eq!(answers.len(), 2);
    assert_eq!(
        get_role_names(&h).await,
        [OPENSEARCH_ROLE, ELASTICSEARCH_ROLE, ELASTICSEARCH_ROLE]
    );
    assert_eq!(h.iam_actions().await, ["GetRole", "GetRole", "GetRole"]);
}

#[tokio::test]
async fn an_opensearch_role_request_adopts_its_own_role_first() {
    let h = Harness::new().await;
    mount_only_role(&h, Some((OPENSEARCH, OPENSEARCH_ROLE))).await;

    h.create(props_of(OPENSEARCH)).await;

    let a = h.answer().await;
    assert_eq!(a["Status"], "SUCCESS", "{a}");
    assert_eq!(a["Data"]["RoleName"], OPENSEARCH_ROLE);
    assert_eq!(a["Data"]["Created"], "false");
    assert_eq!(get_role_names(&h).await, [OPENSEARCH_ROLE]);
    assert_eq!(h.iam_actions().await, ["GetRole"]);
}

#[tokio::test]
async fn an_opensearch_role_request_creates_the_opensearch_role_when_neither_exists() {
    let h = Harness::new().await;
    mount_only_role(&h, None).await;
    action("CreateServiceLinkedRole")
        .and(body_string_contains(format!("AWSServiceName={OPENSEARCH}")))
        .respond_with(ok(
            "CreateServiceLinkedRole",
            &role_xml(OPENSEARCH, OPENSEARCH_ROLE, &[]),
        ))
        .expect(1)
        .mount(&h.iam)
        .await;
    mount(&h.iam, "TagRole", ok_empty("TagRole")).await;

    h.create(props_of(OPENSEARCH)).await;

    let a = h.answer().await;
    assert_eq!(a["Status"], "SUCCESS", "{a}");
    assert_eq!(
        a["Data"],
        json!({"RoleName": OPENSEARCH_ROLE, "Arn": arn(OPENSEARCH, OPENSEARCH_ROLE), "Created": "true"})
    );
    assert_eq!(
        h.iam_actions().await,
        ["GetRole", "GetRole", "CreateServiceLinkedRole", "TagRole"]
    );
}

#[tokio::test]
async fn an_elasticsearch_role_request_adopts_the_opensearch_role() {
    let h = Harness::new().await;
    mount_only_role(&h, Some((OPENSEARCH, OPENSEARCH_ROLE))).await;

    h.create(props_of(ELASTICSEARCH)).await;

    let a = h.answer().await;
    assert_eq!(a["Status"], "SUCCESS", "{a}");
    assert_eq!(a["Data"]["RoleName"], OPENSEARCH_ROLE);
    assert_eq!(a["Data"]["Created"], "false");
    assert_eq!(
        get_role_names(&h).await,
        [ELASTICSEARCH_ROLE, OPENSEARCH_ROLE]
    );
}

#[tokio::test]
async fn a_role_of_another_service_under_the_legacy_name_is_not_adopted() {
    let h = Harness::new().await;
    // The name, but not the path IAM gives the legacy role: not the role that serves.
    mount_only_role(&h, Some((ECS, ELASTICSEARCH_ROLE))).await;
    mount(
        &h.iam,
        "CreateServiceLinkedRole",
        ok(
            "CreateServiceLinkedRole",
            &role_xml(OPENSEARCH, OPENSEARCH_ROLE, &[]),
        ),
    )
    .await;
    mount(&h.iam, "TagRole", ok_empty("TagRole")).await;

    h.create(props_of(OPENSEARCH)).await;

    let a = h.answer().await;
    assert_eq!(a["Data"]["RoleName"], OPENSEARCH_ROLE, "{a}");
    assert_eq!(a["Data"]["Created"], "true");
}
