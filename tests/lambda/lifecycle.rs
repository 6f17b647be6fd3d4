//! A resource's life on the built binary against LocalStack: create, adopt, update, replace,
//! delete (and the deletes CloudFormation did not send), a failed create's rollback.

use super::*;

#[tokio::test(flavor = "multi_thread")]
async fn create_then_adopt_then_retained_delete() {
    let lambda = Lambda::start().await;

    let created = lambda
        .answer(fast(sample("create.json"), "req-create"))
        .await;
    assert_eq!(created["Status"], "SUCCESS", "{created}");
    assert_eq!(created["PhysicalResourceId"], "AWSServiceRoleForECS");
    assert_eq!(created["RequestId"], "req-create");
    assert_eq!(created["LogicalResourceId"], "EcsServiceLinkedRole");
    let arn = format!(
        "arn:aws:iam::{}:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS",
        lambda.account
    );
    assert_eq!(
        created["Data"],
        json!({"RoleName": "AWSServiceRoleForECS", "Arn": arn, "Created": "true"})
    );
    assert_eq!(
        created["Reason"],
        "created AWSServiceRoleForECS; waited 1 s for IAM propagation"
    );
    let role = lambda
        .role("AWSServiceRoleForECS")
        .await
        .expect("role created");
    let tags: Vec<(&str, &str)> = role.tags().iter().map(|t| (t.key(), t.value())).collect();
    assert!(
        tags.contains(&("upsert-slr:logical-id", "EcsServiceLinkedRole")),
        "{tags:?}"
    );
    assert!(
        tags.contains(&("upsert-slr:request-id", "req-create")),
        "{tags:?}"
    );

    // Another stack declaring the same role, with the same wait: the creator already waited it
    // out, so the role is adopted at once, Created "false".
    // Its Reason names the stack that owns the role and what that stack's delete would do.
    let mut adopt = fast(sample("create.json"), "req-adopt");
    let creator = lambda.in_this_account(&created_stack(&adopt));
    adopt["StackId"] = json!(created_stack(&adopt).replace("stack/app/", "stack/other/"));
    adopt["LogicalResourceId"] = json!("SharedEcsRole");
    let adopted = lambda.answer(adopt).await;
    assert_eq!(adopted["Status"], "SUCCESS");
    assert_eq!(adopted["Data"]["Created"], "false");
    assert_eq!(adopted["Data"]["Arn"], arn);
    assert_eq!(
        adopted["Reason"],
        format!(
            "adopted existing AWSServiceRoleForECS (created by EcsServiceLinkedRole of stack \
             {creator}, RemovalPolicy Retain: its delete keeps the role)"
        )
    );

    // The creating resource asking again is told nothing about owners: the role is its own.
    let again = lambda
        .answer(fast(sample("create.json"), "req-again"))
        .await;
    assert_eq!(again["Reason"], "adopted existing AWSServiceRoleForECS");

    let deleted = lambda.answer(sample("delete.json")).await;
    assert_answer(
        &deleted,
        "SUCCESS",
        "retained AWSServiceRoleForECS: RemovalPolicy is Retain",
    );
    assert!(
        lambda.exists("AWSServiceRoleForECS").await,
        "Retain keeps the role"
    );
    lambda.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_suffix_fails_with_iams_message_and_its_delete_succeeds() {
    let lambda = Lambda::start().await;

    let failed = lambda.answer(sample("create-suffix-refused.json")).await;
    assert_answer(
        &failed,
        "FAILED",
        "InvalidInput: Custom suffix is not allowed for ecs.amazonaws.com (iam:CreateServiceLinkedRole)",
    );
    assert_eq!(
        failed["PhysicalResourceId"],
        "upsert-slr:create-failed:EcsServiceLinkedRole"
    );

    // CloudFormation then deletes what the FAILED answer named.
    let mut delete = with(
        sample("delete-remove.json"),
        "req-rollback",
        json!({"CustomSuffix": "team-a"}),
    );
    delete["PhysicalResourceId"] = failed["PhysicalResourceId"].clone();
    let deleted = lambda.answer(delete).await;
    assert_eq!(deleted["Status"], "SUCCESS", "{deleted}");
    assert_eq!(
        deleted["PhysicalResourceId"],
        "upsert-slr:create-failed:EcsServiceLinkedRole"
    );
    lambda.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn construct_property_names_and_an_allowed_suffix() {
    let lambda = Lambda::start().await;
    let created = lambda.answer(sample("create-construct-names.json")).await;
    assert_eq!(created["Status"], "SUCCESS", "{created}");
    assert_eq!(
        created["PhysicalResourceId"],
        "AWSServiceRoleForAutoScaling_team-a"
    );
    assert_eq!(created["Data"]["Created"], "true");
    assert!(lambda.exists("AWSServiceRoleForAutoScaling_team-a").await);
    lambda.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn update_changes_the_description_in_place() {
    let lambda = Lambda::start().await;
    lambda.answer(fast(sample("create.json"), "req-1")).await;

    let updated = lambda.answer(sample("update.json")).await;

    assert_eq!(updated["Status"], "SUCCESS", "{updated}");
    assert_eq!(updated["PhysicalResourceId"], "AWSServiceRoleForECS");
    assert_eq!(updated["Data"]["RoleName"], "AWSServiceRoleForECS");
    let role = lambda.role("AWSServiceRoleForECS").await.unwrap();
    assert_eq!(
        role.description(),
        Some("Role for ECS, description changed")
    );
    lambda.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_suffix_replaces_the_role_and_the_old_one_is_deleted() {
    let lambda = Lambda::start().await;
    let props = |suffix: &str| json!({"awsServiceName": "autoscaling.amazonaws.com", "customSuffix": suffix, "waitTimeSeconds": 0, "RemovalPolicy": "Delete"});
    let mut create = sample("create.json");
    create["ResourceProperties"] = props("a");
    lambda.answer(create).await;

    let mut update = sample("update.json");
    update["OldResourceProperties"] = props("a");
    update["ResourceProperties"] = props("b");
    update["PhysicalResourceId"] = json!("AWSServiceRoleForAutoScaling_a");
    let updated = lambda.answer(update).await;
    assert_eq!(updated["Status"], "SUCCESS", "{updated}");
    assert_eq!(
        updated["PhysicalResourceId"], "AWSServiceRoleForAutoScaling_b",
        "a new physical id means replacement"
    );
    assert_eq!(updated["Data"]["Created"], "true");

    // CloudFormation cleans up the old physical id, the resource now standing for the new one.
    let _cloudformation = lambda
        .cloudformation_shows(
            "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
            &[(
                "EcsServiceLinkedRole",
                "AWSServiceRoleForAutoScaling_b",
                "UPDATE_COMPLETE",
            )],
        )
        .await;
    let mut cleanup = sample("delete-remove.json");
    cleanup["ResourceProperties"] = props("a");
    cleanup["PhysicalResourceId"] = json!("AWSServiceRoleForAutoScaling_a");
    let deleted = lambda.answer(cleanup).await;
    assert_answer(
        &deleted,
        "SUCCESS",
        "deleted AWSServiceRoleForAutoScaling_a",
    );
    assert!(!lambda.exists("AWSServiceRoleForAutoScaling_a").await);
    assert!(lambda.exists("AWSServiceRoleForAutoScaling_b").await);
    lambda.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn removal_policy_delete_removes_only_roles_this_resource_created() {
    let lambda = Lambda::start().await;
    lambda.create_deletable().await;

    // The same role declared by another stack: adopted, and that stack's Delete spares it.
    let mut foreign = with(sample("delete-remove.json"), "req-2", json!({}));
    foreign["StackId"] = json!(STACK_B);
    let retained = lambda.answer(foreign).await;
    assert_answer(
        &retained,
        "SUCCESS",
        "retained AWSServiceRoleForECS: AWSServiceRoleForECS was not created by this resource",
    );
    assert!(lambda.exists("AWSServiceRoleForECS").await);

    let _cloudformation = lambda.cloudformation_shows("DELETE_IN_PROGRESS", &[]).await;
    let deleted = lambda.answer(sample("delete-remove.json")).await;
    assert_answer(&deleted, "SUCCESS", "deleted AWSServiceRoleForECS");
    assert!(!lambda.exists("AWSServiceRoleForECS").await);

    // Already gone: a repeated Delete still succeeds.
    let again = lambda.answer(sample("delete-remove.json")).await;
    assert_answer(
        &again,
        "SUCCESS",
        "nothing to delete: AWSServiceRoleForECS does not exist",
    );
    evidence::record(
        "Never lose a role",
        "Delete with RemovalPolicy Delete from another stack declaring the same role (LocalStack)",
        1,
        "retained; only the creating resource's Delete removed it",
    );
    lambda.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_role_made_outside_the_stack_survives_removal_policy_delete() {
    let lambda = Lambda::start().await;
    lambda.made_outside_the_stack("ecs.amazonaws.com").await;

    let adopted = lambda
        .answer(with(
            sample("create.json"),
            "req-1",
            json!({"RemovalPolicy": "Delete"}),
        ))
        .await;
    assert_eq!(adopted["Data"]["Created"], "false");
    let deleted = lambda.answer(sample("delete-remove.json")).await;

    assert_eq!(deleted["Status"], "SUCCESS");
    assert!(
        deleted["Reason"]
            .as_str()
            .unwrap()
            .starts_with("retained AWSServiceRoleForECS"),
        "{deleted}"
    );
    assert!(
        lambda.exists("AWSServiceRoleForECS").await,
        "a console-made role must survive"
    );
    evidence::record(
        "Never lose a role",
        "Delete with RemovalPolicy Delete of a role made outside the stack (LocalStack)",
        1,
        "retained",
    );
    lambda.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_role_survives_the_rollback_of_a_failed_create() {
    let lambda = Lambda::start().await;
    lambda.made_outside_the_stack("ecs.amazonaws.com").await;

    // The stack's Create fails (here on a Description IAM would refuse)...
    let create = with(
        sample("create.json"),
        "req-1",
        json!({"RemovalPolicy": "Delete", "Description": "ECS 🚀"}),
    );
    let failed = lambda.answer(create).await;
    assert_eq!(failed["Status"], "FAILED");
    // ...and CloudFormation's rollback deletes what the FAILED answer named.
    let mut rollback = with(
        sample("delete-remove.json"),
        "req-2",
        json!({"Description": "ECS 🚀"}),
    );
    rollback["PhysicalResourceId"] = failed["PhysicalResourceId"].clone();
    let deleted = lambda.answer(rollback).await;

    assert_eq!(deleted["Status"], "SUCCESS", "{deleted}");
    assert!(
        lambda.exists("AWSServiceRoleForECS").await,
        "the existing role must survive the rollback"
    );
    evidence::record(
        "Never lose a role",
        "rollback Delete (RemovalPolicy Delete) after a FAILED Create, role already in the account (LocalStack)",
        1,
        "retained",
    );
    lambda.finish();
}

/// A Delete with RemovalPolicy Delete of the role this resource created, which CloudFormation
/// did not send: LocalStack's CloudFormation has no such stack, or holds the stack in a status
/// in which it deletes nothing. The role stays, and the Reason says why.
#[tokio::test(flavor = "multi_thread")]
async fn a_delete_cloudformation_did_not_send_keeps_the_role() {
    let lambda = Lambda::start().await;
    lambda.create_deletable().await;
    let kept = lambda.answer(sample("delete-remove.json")).await;
    assert_answer(
        &kept,
        "SUCCESS",
        &format!(
            "retained AWSServiceRoleForECS: CloudFormation has no stack {}, so this Delete did \
             not come from it",
            lambda.in_this_account(SAMPLE_STACK)
        ),
    );
    assert!(lambda.exists("AWSServiceRoleForECS").await);

    let template =
        r#"{"Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}}}"#;
    let stack = localstack::create_stack(&lambda.account, "settled", template).await;
    let props = json!({"AWSServiceName": "autoscaling.amazonaws.com", "CustomSuffix": "settled", "PropagationWaitSeconds": "0", "RemovalPolicy": "Delete"});
    let mut create = with(sample("create.json"), "req-2", json!({}));
    create["StackId"] = json!(stack);
    create["ResourceProperties"] = props.clone();
    assert_eq!(lambda.answer(create).await["Data"]["Created"], "true");
    let mut delete = with(sample("delete-remove.json"), "req-3", json!({}));
    delete["StackId"] = json!(stack);
    delete["ResourceProperties"] = props;
    delete["PhysicalResourceId"] = json!("AWSServiceRoleForAutoScaling_settled");
    let kept = lambda.answer(delete).await;
    assert_answer(
        &kept,
        "SUCCESS",
        &format!(
            "retained AWSServiceRoleForAutoScaling_settled: stack {stack} is CREATE_COMPLETE, a \
             status in which CloudFormation deletes no resource, so this Delete did not come from it"
        ),
    );
    assert!(lambda.exists("AWSServiceRoleForAutoScaling_settled").await);
    evidence::record(
        "Never lose a role",
        "Delete with RemovalPolicy Delete that CloudFormation did not send: no such stack, a stack not deleting (LocalStack)",
        2,
        "retained, the Reason naming what CloudFormation showed",
    );
    lambda.finish();
}

/// Without the stack reads, CloudFormation cannot confirm a deletion: the role stays, and the
/// Reason names the permission. What a narrowed policy would do on AWS, failing here first.
#[tokio::test(flavor = "multi_thread")]
async fn without_the_stack_reads_a_delete_keeps_the_role_naming_the_permission() {
    let lambda = Lambda::start().await;
    lambda.create_deletable().await;
    let _cloudformation = lambda.cloudformation_shows("DELETE_IN_PROGRESS", &[]).await;
    lambda
        .gate
        .set_policy(Policy::shipped("any-service").without("ReadOwnStacks"));

    let kept = lambda.answer(sample("delete-remove.json")).await;

    assert_eq!(kept["Status"], "SUCCESS", "{kept}");
    let reason = kept["Reason"].as_str().unwrap();
    assert!(
        reason.starts_with("retained AWSServiceRoleForECS: AccessDenied: User: ")
            && reason.ends_with("without it CloudFormation cannot confirm the deletion (allow cloudformation:DescribeStacks on this account's stacks)"),
        "{reason}"
    );
    assert!(lambda.exists("AWSServiceRoleForECS").await);
    let denied = lambda
        .gate
        .take_denied(|d| d.starts_with("cloudformation:DescribeStacks on "));
    assert_eq!(denied.len(), 1, "{denied:?}");
    lambda.finish();
}
