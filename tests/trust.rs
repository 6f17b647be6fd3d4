//! Trust under IAM's real rules and CloudFormation's everyday stack changes, against their exact
//! wire answers: existence decided whichever way IAM says a role is missing (NoSuchEntity, or
//! AccessDenied for a name that has no path), owners no event can forge, deletes that only
//! CloudFormation can confirm, adoption of exactly the name asked for, and IAM's transient
//! conflicts retried.

#[path = "support/cfn.rs"]
mod cfn;
#[path = "support/iam_wire.rs"]
mod iam_wire;
#[path = "support/replay_harness.rs"]
mod replay_harness;

use cfn::{ECS, ECS_ROLE, STACK, assert_answer, ecs_props};
use iam_wire::*;
use replay_harness::{Harness, owned_tags};
use serde_json::{Value, json};
use wiremock::ResponseTemplate;
use wiremock::matchers::body_string_contains;

const OPENSEARCH: &str = "opensearchservice.amazonaws.com";
const OPENSEARCH_ROLE: &str = "AWSServiceRoleForAmazonOpenSearchService";
const ES: &str = "es.amazonaws.com";
const ES_ROLE: &str = "AWSServiceRoleForAmazonElasticsearchService";
const ASG: &str = "autoscaling.amazonaws.com";
const OTHER_STACK: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/other-app/0c1d2e3f";

fn created_by_this_resource() -> ResponseTemplate {
    ok("GetRole", &role_xml(ECS, ECS_ROLE, &owned_tags()))
}

fn delete_event(h: &Harness) -> Value {
    h.event(
        "Delete",
        json!({"AWSServiceName": ECS, "RemovalPolicy": "Delete"}),
    )
}

fn reason(answer: &Value) -> &str {
    answer["Reason"].as_str().unwrap()
}

// Existence, whichever way IAM says "missing".

#[tokio::test]
async fn opensearch_in_a_fresh_account_is_created_however_iam_says_the_roles_are_missing() {
    for absent in ABSENT {
        let h = Harness::new().await;
        mount_absent(&h.iam, absent, OPENSEARCH_ROLE).await;
        mount_absent(&h.iam, absent, ES_ROLE).await;
        let created = role_xml(OPENSEARCH, OPENSEARCH_ROLE, &[]);
        mount(
            &h.iam,
            "CreateServiceLinkedRole",
            ok("CreateServiceLinkedRole", &created),
        )
        .await;
        mount(&h.iam, "TagRole", ok_empty("TagRole")).await;

        h.create(json!({"AWSServiceName": OPENSEARCH, "PropagationWaitSeconds": "0"}))
            .await;

        let a = h.answer().await;
        assert_eq!(a["Status"], "SUCCESS", "{absent:?}: {a}");
        assert_eq!(a["PhysicalResourceId"], OPENSEARCH_ROLE);
        assert_eq!(a["Data"]["Created"], "true", "{absent:?}");
        let calls = h.iam_actions().await;
        let listed = calls.iter().filter(|c| *c == "ListRoles").count();
        assert_eq!(
            listed,
            if absent == Absent::AccessDenied { 2 } else { 0 },
            "{absent:?}: {calls:?}"
        );
    }
}

#[tokio::test]
async fn the_legacy_elasticsearch_role_serves_opensearch_however_iam_says_its_own_is_missing() {
    for absent in ABSENT {
        let h = Harness::new().await;
        mount_absent(&h.iam, absent, OPENSEARCH_ROLE).await;
        action_on("GetRole", ES_ROLE)
            .respond_with(ok("GetRole", &role_xml(ES, ES_ROLE, &[])))
            .mount(&h.iam)
            .await;

        h.create(json!({"AWSServiceName": OPENSEARCH, "PropagationWaitSeconds": "0"}))
            .await;

        let a = h.answer().await;
        assert_answer(
            &a,
            "SUCCESS",
            "adopted existing AWSServiceRoleForAmazonElasticsearchService",
        );
        assert_eq!(a["Data"]["Arn"], arn(ES, ES_ROLE));
        assert!(
            !h.iam_actions()
                .await
                .contains(&"CreateServiceLinkedRole".into())
        );
    }
}

#[tokio::test]
async fn the_delete_of_a_gone_role_succeeds_however_iam_says_it_is_gone() {
    for absent in ABSENT {
        let h = Harness::new().await;
        mount_absent(&h.iam, absent, ECS_ROLE).await;

        h.invoke(delete_event(&h)).await.unwrap();

        assert_answer(
            &h.answer().await,
            "SUCCESS",
            "nothing to delete: AWSServiceRoleForECS does not exist",
        );
        let calls = h.iam_actions().await;
        assert!(
            !calls.contains(&"DeleteServiceLinkedRole".into()),
            "{calls:?}"
        );
        assert!(!calls.contains(&"DescribeStacks".into()), "{calls:?}");
    }
}

#[tokio::test]
async fn a_warm_function_recreates_a_role_deleted_since_however_iam_says_it_is_gone() {
    for absent in ABSENT {
        let h = Harness::new().await;
        // The first Create adopts the role and remembers its name.
        action("CreateServiceLinkedRole")
            .respond_with(taken(ECS_ROLE))
            .up_to_n_times(1)
            .mount(&h.iam)
            .await;
        action_on("GetRole", ECS_ROLE)
            .respond_with(ok("GetRole", &role_xml(ECS, ECS_ROLE, &[])))
            .up_to_n_times(1)
            .mount(&h.iam)
            .await;
        h.create(ecs_props()).await;
        // Then someone deletes it.
        mount_absent(&h.iam, absent, ECS_ROLE).await;
        mount_created(&h.iam).await;

        h.create(ecs_props()).await;

        let answers = h.answers().await;
        assert_eq!(answers[0]["Data"]["Created"], "false");
        assert_eq!(
            answers[1]["Status"], "SUCCESS",
            "{absent:?}: {}",
            answers[1]
        );
        assert_eq!(answers[1]["Data"]["Created"], "true", "{absent:?}");
    }
}

#[tokio::test]
async fn an_update_brings_back_a_role_deleted_behind_the_stacks_back_however_iam_says_so() {
    for absent in ABSENT {
        let h = Harness::new().await;
        mount_absent(&h.iam, absent, ECS_ROLE).await;
        mount_created(&h.iam).await;
        let mut event = h.event(
            "Update",
            json!({"AWSServiceName": ECS, "PropagationWaitSeconds": "0"}),
        );
        event["OldResourceProperties"] = json!({"AWSServiceName": ECS});

        h.invoke(event).await.unwrap();

        let a = h.answer().await;
        assert_eq!(a["Status"], "SUCCESS", "{absent:?}: {a}");
        assert_eq!(a["Data"]["Created"], "true");
        assert_eq!(a["PhysicalResourceId"], ECS_ROLE);
    }
}

#[tokio::test]
async fn a_role_that_exists_but_may_not_be_read_fails_naming_the_missing_permission() {
    let h = Harness::new().await;
    mount(&h.iam, "CreateServiceLinkedRole", taken(ECS_ROLE)).await;
    mount(&h.iam, "GetRole", get_role_denied(ECS_ROLE)).await;
    mount(&h.iam, "ListRoles", roles_listed(&[(ECS, ECS_ROLE)])).await;

    h.create(ecs_props()).await;

    let a = h.answer().await;
    assert_eq!(a["Status"], "FAILED", "{a}");
    let text = reason(&a);
    assert!(
        text.starts_with("AccessDenied: User: arn:aws:sts::123456789012:assumed-role/"),
        "IAM's words first: {text}"
    );
    assert!(
        text.ends_with(&format!(
            "(iam:GetRole); AWSServiceRoleForECS exists ({}), so this function's role needs \
             iam:GetRole on it",
            arn(ECS, ECS_ROLE)
        )),
        "{text}"
    );
}

#[tokio::test]
async fn with_list_roles_denied_too_nothing_is_decided() {
    let h = Harness::new().await;
    mount(&h.iam, "GetRole", get_role_denied(ECS_ROLE)).await;
    mount(
        &h.iam,
        "ListRoles",
        access_denied(
            "iam:ListRoles",
            "arn:aws:iam::123456789012:role/aws-service-role/",
        ),
    )
    .await;

    h.invoke(delete_event(&h)).await.unwrap();

    let a = h.answer().await;
    assert_eq!(a["Status"], "FAILED", "{a}");
    assert!(
        reason(&a).ends_with("(iam:ListRoles), so whether AWSServiceRoleForECS exists cannot be told: allow iam:ListRoles"),
        "{a}"
    );
    assert!(
        !h.iam_actions()
            .await
            .contains(&"DeleteServiceLinkedRole".into())
    );
}

// Owners no event can forge.

#[tokio::test]
async fn a_logical_id_cloudformation_cannot_send_is_refused_before_any_iam_call() {
    for (request_type, logical_id) in [
        ("Delete", "hook:Warehouse"),
        ("Create", "Ecs-Role"),
        ("Update", "Ecs Role"),
    ] {
        let h = Harness::new().await;
        let mut event = h.event(
            request_type,
            json!({"AWSServiceName": ECS, "RemovalPolicy": "Delete"}),
        );
        event["LogicalResourceId"] = json!(logical_id);
        event["OldResourceProperties"] = json!({"AWSServiceName": ECS});

        h.invoke(event).await.unwrap();

        let a = h.answer().await;
        assert_answer(
            &a,
            "FAILED",
            &format!(
                "malformed request: LogicalResourceId \"{logical_id}\" is not a CloudFormation \
                 logical id (letters and digits only, at most 255 characters)"
            ),
        );
        assert_eq!(
            a["LogicalResourceId"], logical_id,
            "echoed, so CloudFormation reads it"
        );
        assert_eq!(
            h.iam_actions().await,
            Vec::<String>::new(),
            "{request_type}"
        );
    }
}

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
    let h = Harness::new().await;
    mount(&h.iam, "GetRole", created_by_this_resource()).await;
    mount(&h.iam, "DescribeStacks", describe).await;
    mount(&h.iam, "ListStackResources", listing).await;
    let task = "<DeletionTaskId>task/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS/5e1</DeletionTaskId>";
    mount(
        &h.iam,
        "DeleteServiceLinkedRole",
        ok("DeleteServiceLinkedRole", task),
    )
    .await;
    mount(
        &h.iam,
        "GetServiceLinkedRoleDeletionStatus",
        deletion_status("SUCCEEDED", ""),
    )
    .await;

    h.invoke(delete_event(&h)).await.unwrap();

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
    let mut event = delete_event(&h);
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

    h.invoke(delete_event(&h)).await.unwrap();

    assert_answer(
        &h.answer().await,
        "SUCCESS",
        "retained AWSServiceRoleForECS: AWSServiceRoleForECS was not created by this resource",
    );
    assert_eq!(h.iam_actions().await, ["GetRole"]);
}

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
    let task = "<DeletionTaskId>task/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS/9</DeletionTaskId>";
    mount(
        &h.iam,
        "DeleteServiceLinkedRole",
        ok("DeleteServiceLinkedRole", task),
    )
    .await;
    mount(
        &h.iam,
        "GetServiceLinkedRoleDeletionStatus",
        deletion_status("SUCCEEDED", ""),
    )
    .await;
    h.invoke(delete_event(&h)).await.unwrap();
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

async fn bodies_of(h: &Harness, action: &str) -> Vec<String> {
    bodies(&h.iam)
        .await
        .into_iter()
        .filter(|b| action_of(b) == Some(action))
        .collect()
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
        let h = Harness::new().await;
        let mut tags = owned_tags();
        if let Some(policy) = recorded {
            tags.push(("upsert-slr:removal-policy", policy));
        }
        mount(
            &h.iam,
            "GetRole",
            ok("GetRole", &role_xml(ECS, ECS_ROLE, &tags)),
        )
        .await;
        mount(
            &h.iam,
            "DescribeStacks",
            stack_in(STACK, "DELETE_IN_PROGRESS"),
        )
        .await;
        let task = "<DeletionTaskId>task/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS/5e2</DeletionTaskId>";
        mount(
            &h.iam,
            "DeleteServiceLinkedRole",
            ok("DeleteServiceLinkedRole", task),
        )
        .await;
        mount(
            &h.iam,
            "GetServiceLinkedRoleDeletionStatus",
            deletion_status("SUCCEEDED", ""),
        )
        .await;

        h.invoke(delete_event(&h)).await.unwrap();

        let calls = h.iam_actions().await;
        let answer = h.answer().await;
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
