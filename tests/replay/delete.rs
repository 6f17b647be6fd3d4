//! Delete against IAM's exact wire answers, replayed by wiremock: the deletion task waited for,
//! a role gone meanwhile, the resources still using a role, roles this resource did not create
//! and deletes that make no IAM call, deletion tasks IAM no longer knows.

use crate::support::{cfn, iam_wire, replay_harness};

use cfn::{ECS, ECS_ROLE, STACK, assert_answer};
use iam_wire::*;
use replay_harness::*;
use serde_json::json;
use std::time::Duration;

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
