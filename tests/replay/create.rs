//! Create and Update against IAM's exact wire answers, replayed by wiremock, with a second
//! wiremock server standing in for the presigned ResponseURL: creation and its tags, adoption
//! of a taken name, IAM's errors and the retries of throttling and server errors, a redelivered
//! Create, descriptions on Update. Covers what LocalStack cannot produce.

use crate::support::{cfn, iam_wire, replay_harness};

use cfn::{ECS, ECS_ROLE, STACK, assert_answer, ecs_props};
use iam_wire::*;
use replay_harness::*;
use serde_json::json;
use std::time::Duration;
use wiremock::ResponseTemplate;
use wiremock::matchers::body_string_contains;

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

/// IAM refusing the ECS role's creation `times` times with `refusal`, then creating and tagging
/// it: the Create, answered SUCCESS.
async fn create_refused_first(h: &Harness, refusal: ResponseTemplate, times: u64) {
    action("CreateServiceLinkedRole")
        .respond_with(refusal)
        .up_to_n_times(times)
        .mount(&h.iam)
        .await;
    mount_ecs_created(&h.iam).await;
    mount(&h.iam, "TagRole", ok_empty("TagRole")).await;
    h.create(ecs_props()).await;
    assert_eq!(h.answer().await["Status"], "SUCCESS");
}

#[tokio::test]
async fn throttling_and_server_errors_are_retried() {
    for first in [
        error(400, "Throttling", "Rate exceeded"),
        error(500, "ServiceFailure", "Internal failure"),
    ] {
        let h = Harness::new().await;
        create_refused_first(&h, first, 2).await;
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
    create_refused_first(&h, error(400, "Throttling", "Rate exceeded"), 5).await;
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
    let a = h.create_within_the_deadline().await;
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
        h.invoke(h.description_update()).await.unwrap();

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
        h.invoke(h.description_update()).await.unwrap();

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
