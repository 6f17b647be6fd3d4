//! Trust under CloudFormation's everyday stack changes, against the exact wire answers: a
//! RemovalPolicy Delete removes a role only when CloudFormation confirms that nothing in the
//! stack still holds it (renames, adopters, deletes sent by hand keep it), never a role the hook
//! created, and never against the removal policy the owner recorded.

use crate::support::{cfn, iam_wire, replay_harness};

use cfn::*;
use iam_wire::*;
use replay_harness::*;
use serde_json::{Value, json};
use wiremock::ResponseTemplate;
use wiremock::matchers::body_string_contains;

// What is deleted: CloudFormation says, not the event.

struct StackView {
    status: &'static str,
    resources: &'static [(&'static str, &'static str, &'static str)],
}

/// A Delete of this resource's own role (RemovalPolicy Delete) while CloudFormation answers
/// DescribeStacks with `describe` and ListStackResources with `listing`: whether the role was
/// deleted, the answer, and the calls made.
async fn delete_while_cloudformation_shows(
    describe: ResponseTemplate,
    listing: ResponseTemplate,
) -> (bool, Value, Vec<String>) {
    delete_of(created_by_this_resource(), describe, listing).await
}

/// A Delete (RemovalPolicy Delete) of the role GetRole answers with `role`, CloudFormation
/// answering with `describe` and `listing`: whether the role was deleted, the answer, the calls.
async fn delete_of(
    role: ResponseTemplate,
    describe: ResponseTemplate,
    listing: ResponseTemplate,
) -> (bool, Value, Vec<String>) {
    let h = Harness::new().await;
    mount(&h.iam, "GetRole", role).await;
    mount(&h.iam, "DescribeStacks", describe).await;
    mount(&h.iam, "ListStackResources", listing).await;
    mount_deletion_succeeds(&h, "5e1").await;

    h.invoke(delete_event(&h, "Delete")).await.unwrap();

    let calls = h.iam_actions().await;
    let deleted = calls.contains(&"DeleteServiceLinkedRole".to_string());
    (deleted, h.answer().await, calls)
}

#[tokio::test]
async fn a_delete_removes_the_role_only_when_cloudformation_confirms_nothing_holds_it() {
    let renamed = StackView {
        status: "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
        resources: &[
            ("EcsRole", ECS_ROLE, "DELETE_IN_PROGRESS"),
            ("Renamed", ECS_ROLE, "CREATE_COMPLETE"),
        ],
    };
    let adopter_stays = StackView {
        status: "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
        resources: &[
            ("EcsRole", ECS_ROLE, "DELETE_IN_PROGRESS"),
            ("Adopter", ECS_ROLE, "UPDATE_COMPLETE"),
        ],
    };
    let replaced = StackView {
        status: "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
        resources: &[
            ("EcsRole", "AWSServiceRoleForECS_blue", "UPDATE_COMPLETE"),
            ("Cluster", "prod", "UPDATE_COMPLETE"),
        ],
    };
    let removed = StackView {
        status: "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
        resources: &[
            ("EcsRole", ECS_ROLE, "DELETE_IN_PROGRESS"),
            ("Cluster", "prod", "UPDATE_COMPLETE"),
        ],
    };
    let update_rolled_back = StackView {
        status: "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS",
        resources: &[("EcsRole", ECS_ROLE, "DELETE_IN_PROGRESS")],
    };
    let cases = [
        ("stack delete", StackView { status: "DELETE_IN_PROGRESS", resources: &[("Other", ECS_ROLE, "CREATE_COMPLETE")] }, None),
        ("a failed create's rollback", StackView { status: "ROLLBACK_IN_PROGRESS", resources: &[] }, None),
        ("a replacement's cleanup", replaced, None),
        ("a removal's cleanup", removed, None),
        ("an update rollback's cleanup", update_rolled_back, None),
        (
            "a rename's cleanup",
            renamed,
            Some("retained AWSServiceRoleForECS: the stack (UPDATE_COMPLETE_CLEANUP_IN_PROGRESS) still holds AWSServiceRoleForECS as Renamed (CREATE_COMPLETE), so this Delete does not remove it".to_string()),
        ),
        (
            "the creator removed while an adopter stays",
            adopter_stays,
            Some("retained AWSServiceRoleForECS: the stack (UPDATE_COMPLETE_CLEANUP_IN_PROGRESS) still holds AWSServiceRoleForECS as Adopter (UPDATE_COMPLETE), so this Delete does not remove it".to_string()),
        ),
        (
            "a Delete sent by hand",
            StackView { status: "CREATE_COMPLETE", resources: &[("EcsRole", ECS_ROLE, "CREATE_COMPLETE")] },
            Some(format!("retained AWSServiceRoleForECS: stack {STACK} is CREATE_COMPLETE, a status in which CloudFormation deletes no resource, so this Delete did not come from it")),
        ),
        (
            "a Delete sent by hand during an update",
            StackView { status: "UPDATE_IN_PROGRESS", resources: &[] },
            Some(format!("retained AWSServiceRoleForECS: stack {STACK} is UPDATE_IN_PROGRESS, a status in which CloudFormation deletes no resource, so this Delete did not come from it")),
        ),
    ];
    for (case, view, kept) in cases {
        let (deleted, answer, calls) = delete_while_cloudformation_shows(
            stack_in(STACK, view.status),
            stack_resources(view.resources),
        )
        .await;
        match kept {
            None => {
                assert!(deleted, "{case}: {answer}");
                assert_answer(&answer, "SUCCESS", "deleted AWSServiceRoleForECS");
            }
            Some(why) => {
                assert!(!deleted, "{case}: {answer}");
                assert_answer(&answer, "SUCCESS", &why);
            }
        }
        // Only a phase in which some resources go needs to know which.
        let listed = calls.contains(&"ListStackResources".to_string());
        assert_eq!(listed, view.status.contains("CLEANUP"), "{case}: {calls:?}");
    }
}

#[tokio::test]
async fn a_delete_cloudformation_cannot_confirm_keeps_the_role_saying_why() {
    let denied = |action: &str| {
        cfn_error(
            403,
            "AccessDenied",
            &format!(
                "User: arn:aws:sts::123456789012:assumed-role/r/f is not authorized to perform: {action} on resource: {STACK} because no identity-based policy allows the {action} action"
            ),
        )
    };
    let cases = [
        (no_such_stack(STACK), stack_resources(&[]), format!("retained AWSServiceRoleForECS: CloudFormation has no stack {STACK}, so this Delete did not come from it")),
        (
            denied("cloudformation:DescribeStacks"),
            stack_resources(&[]),
            "without it CloudFormation cannot confirm the deletion (allow cloudformation:DescribeStacks on this account's stacks)".to_string(),
        ),
        (
            stack_in(STACK, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"),
            denied("cloudformation:ListStackResources"),
            "(allow cloudformation:ListStackResources on this account's stacks)".to_string(),
        ),
    ];
    for (describe, listing, why) in cases {
        let (deleted, answer, _) = delete_while_cloudformation_shows(describe, listing).await;
        assert!(!deleted, "{answer}");
        assert_eq!(
            answer["Status"], "SUCCESS",
            "a Delete that keeps the role never blocks the stack: {answer}"
        );
        assert!(
            reason(&answer).starts_with("retained AWSServiceRoleForECS: "),
            "{answer}"
        );
        assert!(
            reason(&answer).ends_with(&why),
            "{answer} should end with {why}"
        );
    }
}

#[tokio::test]
async fn a_stack_id_that_is_not_a_stacks_arn_keeps_the_role_without_asking() {
    let h = Harness::new().await;
    let tags = [
        ("upsert-slr:stack-id", "app"),
        ("upsert-slr:logical-id", "EcsRole"),
    ];
    mount(
        &h.iam,
        "GetRole",
        ok("GetRole", &role_xml(ECS, ECS_ROLE, &tags)),
    )
    .await;
    let mut event = delete_event(&h, "Delete");
    event["StackId"] = json!("app");

    h.invoke(event).await.unwrap();

    assert_answer(
        &h.answer().await,
        "SUCCESS",
        "retained AWSServiceRoleForECS: StackId \"app\" is not a stack's ARN, so CloudFormation cannot confirm the deletion",
    );
    assert_eq!(h.iam_actions().await, ["GetRole"]);
}

#[tokio::test]
async fn a_role_the_hook_created_is_never_deleted_by_a_custom_resource() {
    // The hook tags its roles `hook:<target>`: the target's own logical id does not own it, and
    // `hook:<target>` is not a logical id any event may carry.
    let h = Harness::new().await;
    let by_hook = [
        ("upsert-slr:stack-id", STACK),
        ("upsert-slr:logical-id", "hook:EcsRole"),
    ];
    mount(
        &h.iam,
        "GetRole",
        ok("GetRole", &role_xml(ECS, ECS_ROLE, &by_hook)),
    )
    .await;
    mount(
        &h.iam,
        "DescribeStacks",
        stack_in(STACK, "DELETE_IN_PROGRESS"),
    )
    .await;

    h.invoke(delete_event(&h, "Delete")).await.unwrap();

    assert_answer(
        &h.answer().await,
        "SUCCESS",
        "retained AWSServiceRoleForECS: AWSServiceRoleForECS was not created by this resource",
    );
    assert_eq!(h.iam_actions().await, ["GetRole"]);
}

#[tokio::test]
async fn the_owner_records_its_removal_policy_and_its_updates_keep_it_current() {
    let h = Harness::new().await;
    mount_created(&h.iam).await;
    h.create(
        json!({"AWSServiceName": ECS, "PropagationWaitSeconds": "0", "RemovalPolicy": "Delete"}),
    )
    .await;
    let bodies = bodies(&h.iam).await;
    let tagging = bodies
        .iter()
        .find(|b| b.contains("Action=TagRole"))
        .unwrap();
    assert!(
        tagging.contains("upsert-slr%3Aremoval-policy") && tagging.contains("=Delete"),
        "{tagging}"
    );

    for (recorded, asked, retagged) in [("Delete", "Retain", true), ("Retain", "Retain", false)] {
        let h = Harness::new().await;
        let mut tags = owned_tags();
        tags.push(("upsert-slr:removal-policy", recorded));
        mount(
            &h.iam,
            "GetRole",
            ok("GetRole", &role_xml(ECS, ECS_ROLE, &tags)),
        )
        .await;
        action("TagRole")
            .and(body_string_contains(
                "Tags.member.1.Key=upsert-slr%3Aremoval-policy",
            ))
            .and(body_string_contains(format!("Tags.member.1.Value={asked}")))
            .respond_with(ok_empty("TagRole"))
            .expect(u64::from(retagged))
            .mount(&h.iam)
            .await;
        let mut event = h.event(
            "Update",
            json!({"AWSServiceName": ECS, "RemovalPolicy": asked}),
        );
        event["OldResourceProperties"] = json!({"AWSServiceName": ECS, "RemovalPolicy": recorded});

        h.invoke(event).await.unwrap();

        assert_answer(&h.answer().await, "SUCCESS", "updated AWSServiceRoleForECS");
        let tag_calls = bodies_of(&h, "TagRole").await;
        assert_eq!(
            tag_calls.len(),
            usize::from(retagged),
            "{recorded} -> {asked}"
        );
        if let Some(body) = tag_calls.first() {
            assert!(
                !body.contains("Tags.member.2"),
                "only the removal policy changes: {body}"
            );
        }
    }
}

/// A stack delete sends the properties CloudFormation last applied, which the owner recorded on
/// the role: a Delete saying `RemovalPolicy: Delete` for a role recorded as Retain (an event
/// sent by hand while the stack happens to be deleting) keeps it. A role from before the record
/// existed follows the event.
#[tokio::test]
async fn a_delete_cannot_overrule_the_removal_policy_the_owner_recorded() {
    for (recorded, deleted) in [
        (Some("Retain"), false),
        (Some("Delete"), true),
        (None, true),
    ] {
        let mut tags = owned_tags();
        if let Some(policy) = recorded {
            tags.push(("upsert-slr:removal-policy", policy));
        }
        let (_, answer, calls) = delete_of(
            ok("GetRole", &role_xml(ECS, ECS_ROLE, &tags)),
            stack_in(STACK, "DELETE_IN_PROGRESS"),
            stack_resources(&[]),
        )
        .await;
        assert_eq!(
            calls.contains(&"DeleteServiceLinkedRole".to_string()),
            deleted,
            "recorded {recorded:?}: {answer}"
        );
        if deleted {
            assert_answer(&answer, "SUCCESS", "deleted AWSServiceRoleForECS");
        } else {
            assert_answer(
                &answer,
                "SUCCESS",
                "retained AWSServiceRoleForECS: its owner recorded RemovalPolicy Retain \
                 (tag upsert-slr:removal-policy), which a Delete cannot overrule",
            );
            assert!(
                !calls.contains(&"DescribeStacks".to_string()),
                "kept before asking CloudFormation: {calls:?}"
            );
        }
    }
}
