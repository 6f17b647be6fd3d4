//! Trust in what is adopted and retried, against IAM's exact wire answers: adoption takes
//! exactly the name asked for (service, suffix and path), IAM's transient conflicts are retried,
//! a TagRole applied though unanswered is confirmed from the role's tags, and an adopter learns
//! whose role it is.

use crate::support::{cfn, iam_wire, replay_harness};

use cfn::*;
use iam_wire::*;
use replay_harness::*;
use serde_json::{Value, json};

const ASG: &str = "autoscaling.amazonaws.com";
const OTHER_STACK: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/other-app/0c1d2e3f";

// Adoption takes exactly the name asked for.

#[tokio::test]
async fn a_refusal_adopts_only_the_role_of_the_asked_name() {
    let reworded = || {
        error(
            400,
            "InvalidInput",
            "A role for autoscaling.amazonaws.com already exists in this account.",
        )
    };
    let cases: [(Value, &[(&str, &str)]); 3] = [
        // Without a suffix, a lone role with one is another role.
        (
            json!({"AWSServiceName": ASG}),
            &[(ASG, "AWSServiceRoleForAutoScaling_team-b")],
        ),
        // With one, the service's own role and another suffix are other roles.
        (
            json!({"AWSServiceName": ASG, "CustomSuffix": "team-a"}),
            &[
                (ASG, "AWSServiceRoleForAutoScaling"),
                (ASG, "AWSServiceRoleForAutoScaling_team-b"),
            ],
        ),
        // A suffix that ends like the asked one is not it.
        (
            json!({"AWSServiceName": ASG, "CustomSuffix": "a"}),
            &[(ASG, "AWSServiceRoleForAutoScaling_team_a")],
        ),
    ];
    for (props, roles) in cases {
        let h = Harness::new().await;
        mount(&h.iam, "CreateServiceLinkedRole", reworded()).await;
        mount(&h.iam, "ListRoles", roles_listed(roles)).await;

        h.create(props.clone()).await;

        let a = h.answer().await;
        assert_answer(
            &a,
            "FAILED",
            "InvalidInput: A role for autoscaling.amazonaws.com already exists in this account. (iam:CreateServiceLinkedRole)",
        );
        assert!(
            !h.iam_actions().await.contains(&"GetRole".into()),
            "{props}: nothing read, nothing adopted"
        );
    }

    // The exact name is adopted.
    let h = Harness::new().await;
    mount(&h.iam, "CreateServiceLinkedRole", reworded()).await;
    mount(
        &h.iam,
        "ListRoles",
        roles_listed(&[
            (ASG, "AWSServiceRoleForAutoScaling_team-b"),
            (ASG, "AWSServiceRoleForAutoScaling_Team-A"),
        ]),
    )
    .await;
    action_on("GetRole", "AWSServiceRoleForAutoScaling_Team-A")
        .respond_with(ok(
            "GetRole",
            &role_xml(ASG, "AWSServiceRoleForAutoScaling_Team-A", &[]),
        ))
        .mount(&h.iam)
        .await;
    h.create(json!({"AWSServiceName": ASG, "CustomSuffix": "team-a"}))
        .await;
    assert_answer(
        &h.answer().await,
        "SUCCESS",
        "adopted existing AWSServiceRoleForAutoScaling_Team-A",
    );
}

#[tokio::test]
async fn a_taken_name_under_another_path_is_not_adopted() {
    let h = Harness::new().await;
    mount(&h.iam, "CreateServiceLinkedRole", taken(ECS_ROLE)).await;
    let plain = role_xml(ECS, ECS_ROLE, &[]).replace(
        "<Path>/aws-service-role/ecs.amazonaws.com/</Path>",
        "<Path>/</Path>",
    );
    mount(&h.iam, "GetRole", ok("GetRole", &plain)).await;

    h.create(ecs_props()).await;

    assert_answer(
        &h.answer().await,
        "FAILED",
        "IAM says AWSServiceRoleForECS has been taken, but that role is not ecs.amazonaws.com's service-linked role (its path is /): it is not adopted",
    );
}

// IAM's transient answers.

#[tokio::test]
async fn iams_conflict_answers_are_retried_like_throttling() {
    let conflict = error(
        409,
        "ConcurrentModification",
        "The request was rejected because multiple requests to change this object were submitted simultaneously. Wait a few minutes and submit your request again.",
    );
    let h = Harness::new().await;
    action("CreateServiceLinkedRole")
        .respond_with(conflict)
        .up_to_n_times(2)
        .mount(&h.iam)
        .await;
    mount_created(&h.iam).await;
    h.create(ecs_props()).await;
    let a = h.answer().await;
    assert_eq!(a["Status"], "SUCCESS", "{a}");
    assert_eq!(
        h.iam_actions()
            .await
            .iter()
            .filter(|c| *c == "CreateServiceLinkedRole")
            .count(),
        3
    );

    let unmodifiable = error(
        409,
        "EntityTemporarilyUnmodifiable",
        "Cannot perform the operation on role AWSServiceRoleForECS while it is being modified.",
    );
    let h = Harness::new().await;
    mount(&h.iam, "GetRole", created_by_this_resource()).await;
    mount(
        &h.iam,
        "DescribeStacks",
        stack_in(STACK, "DELETE_IN_PROGRESS"),
    )
    .await;
    action("DeleteServiceLinkedRole")
        .respond_with(unmodifiable)
        .up_to_n_times(1)
        .mount(&h.iam)
        .await;
    mount_deletion_succeeds(&h, "9").await;
    h.invoke(delete_event(&h, "Delete")).await.unwrap();
    assert_answer(&h.answer().await, "SUCCESS", "deleted AWSServiceRoleForECS");
}

#[tokio::test]
async fn a_tag_role_applied_though_unanswered_is_confirmed_from_the_roles_tags() {
    for (tags_seen, status) in [(true, "SUCCESS"), (false, "FAILED")] {
        let h = Harness::new().await;
        let created = role_xml(ECS, ECS_ROLE, &[]);
        mount(
            &h.iam,
            "CreateServiceLinkedRole",
            ok("CreateServiceLinkedRole", &created),
        )
        .await;
        // IAM applies the tags but the answer is an error; asked again, the policy refuses to
        // tag a role that carries the mark.
        action("TagRole")
            .respond_with(error(500, "ServiceFailure", "Service Failure"))
            .up_to_n_times(1)
            .mount(&h.iam)
            .await;
        mount(
            &h.iam,
            "TagRole",
            access_denied("iam:TagRole", &arn(ECS, ECS_ROLE)),
        )
        .await;
        let mine = [
            ("upsert-slr:stack-id", STACK),
            ("upsert-slr:logical-id", "EcsRole"),
            ("upsert-slr:request-id", "b6a3c1d2-0001"),
            ("upsert-slr:removal-policy", "Delete"),
        ];
        let seen: &[(&str, &str)] = if tags_seen { &mine } else { &[] };
        mount(
            &h.iam,
            "GetRole",
            ok("GetRole", &role_xml(ECS, ECS_ROLE, seen)),
        )
        .await;

        h.create(json!({"AWSServiceName": ECS, "PropagationWaitSeconds": "0", "RemovalPolicy": "Delete"}))
            .await;

        let a = h.answer().await;
        assert_eq!(a["Status"], status, "tags seen: {tags_seen}: {a}");
        assert_eq!(a["PhysicalResourceId"], ECS_ROLE);
        if tags_seen {
            assert_eq!(a["Data"]["Created"], "true");
        } else {
            assert!(
                reason(&a).ends_with(
                    "so RemovalPolicy Delete could not remove it later (allow iam:TagRole)"
                ),
                "{a}"
            );
        }
        assert_eq!(
            h.iam_actions()
                .await
                .iter()
                .filter(|c| *c == "TagRole")
                .count(),
            2
        );
    }
}

// What an adopter learns, and what the owner records.

#[tokio::test]
async fn an_adopter_learns_whose_role_it_is_and_whether_their_delete_removes_it() {
    let cases = [
        (
            vec![("upsert-slr:stack-id", OTHER_STACK), ("upsert-slr:logical-id", "EcsRole"), ("upsert-slr:removal-policy", "Delete")],
            format!("adopted existing AWSServiceRoleForECS (created by EcsRole of stack {OTHER_STACK}, RemovalPolicy Delete: deleting that resource or its stack deletes the role, whatever this stack needs)"),
        ),
        (
            vec![("upsert-slr:stack-id", OTHER_STACK), ("upsert-slr:logical-id", "EcsRole"), ("upsert-slr:removal-policy", "Retain")],
            format!("adopted existing AWSServiceRoleForECS (created by EcsRole of stack {OTHER_STACK}, RemovalPolicy Retain: its delete keeps the role)"),
        ),
        (
            vec![("upsert-slr:stack-id", STACK), ("upsert-slr:logical-id", "Other")],
            "adopted existing AWSServiceRoleForECS (created by Other of this stack, whose delete keeps it while this resource holds it)".to_string(),
        ),
        (vec![], "adopted existing AWSServiceRoleForECS".to_string()),
    ];
    for (tags, expected) in cases {
        let h = Harness::new().await;
        mount(&h.iam, "CreateServiceLinkedRole", taken(ECS_ROLE)).await;
        mount(
            &h.iam,
            "GetRole",
            ok("GetRole", &role_xml(ECS, ECS_ROLE, &tags)),
        )
        .await;
        h.create(ecs_props()).await;
        assert_answer(&h.answer().await, "SUCCESS", &expected);
    }
}
