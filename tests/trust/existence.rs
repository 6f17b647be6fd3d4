//! Trust under IAM's real rules, against its exact wire answers: whether a role exists is
//! decided whichever way IAM says it is missing (NoSuchEntity, or AccessDenied for a name that
//! has no path, checked against ListRoles), on every path that asks; and owners no event can
//! forge (a logical id CloudFormation cannot send is refused before any IAM call).

use crate::support::{cfn, iam_wire, replay_harness};

use cfn::*;
use iam_wire::*;
use replay_harness::*;
use serde_json::json;

// Existence, whichever way IAM says "missing".

#[tokio::test]
async fn opensearch_in_a_fresh_account_is_created_however_iam_says_the_roles_are_missing() {
    for absent in ABSENT {
        let h = Harness::new().await;
        mount_absent(&h.iam, absent, OPENSEARCH_ROLE).await;
        mount_absent(&h.iam, absent, ELASTICSEARCH_ROLE).await;
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
        action_on("GetRole", ELASTICSEARCH_ROLE)
            .respond_with(ok(
                "GetRole",
                &role_xml(ELASTICSEARCH, ELASTICSEARCH_ROLE, &[]),
            ))
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
        assert_eq!(a["Data"]["Arn"], arn(ELASTICSEARCH, ELASTICSEARCH_ROLE));
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

        h.invoke(delete_event(&h, "Delete")).await.unwrap();

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

    h.invoke(delete_event(&h, "Delete")).await.unwrap();

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
