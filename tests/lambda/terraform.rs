//! The built binary answering Terraform's `aws_lambda_invocation` (lifecycle scope CRUD) with
//! the provider's documented inputs (the `tf` key on create, update and delete; none under
//! CREATE_ONLY), against LocalStack's IAM behind the shipped policy: the role created and
//! marked, the same create answered again, an adopted role kept on destroy, an owned one
//! deleted, and a function error for an action the provider never sends.

use super::*;
use runtime_api::Outcome;

const ECS: &str = "ecs.amazonaws.com";
const ECS_ROLE: &str = "AWSServiceRoleForECS";
const OWNER: &str = "prod/network/ecs";

/// The module's input for the ECS role, with the provider's `tf` key (`prev` its prev_input).
fn tf_input(action: &str, removal_policy: &str, prev: Value) -> Value {
    json!({
        "AWSServiceName": ECS,
        "Description": "Role for ECS",
        "RemovalPolicy": removal_policy,
        "PropagationWaitSeconds": 1,
        "Owner": OWNER,
        "tf": {"action": action, "prev_input": prev},
    })
}

fn without_tf(input: &Value) -> Value {
    let mut input = input.clone();
    input.as_object_mut().unwrap().remove("tf");
    input
}

impl Lambda {
    /// The invocation's result, which must not be a function error.
    async fn result(&self, input: &Value) -> Value {
        match self.api.invoke(input, INVOKE_TIMEOUT).await {
            Outcome::Result(result) => result,
            error => panic!("{error:?}\n{}", self.function.logs()),
        }
    }

    async fn tag(&self, name: &str, key: &str) -> Option<String> {
        let tags = self
            .iam
            .list_role_tags()
            .role_name(name)
            .send()
            .await
            .unwrap();
        tags.tags()
            .iter()
            .find(|t| t.key() == key)
            .map(|t| t.value().to_string())
    }
}

#[tokio::test]
async fn create_then_destroy_deletes_the_role_the_owner_created() {
    let lambda = Lambda::start().await;
    let create = tf_input("create", "Delete", Value::Null);

    let result = lambda.result(&create).await;

    assert_eq!(result["RoleName"], ECS_ROLE, "{result}");
    assert_eq!(result["Created"], "true");
    assert_eq!(result["Propagated"], "true");
    assert!(
        result["Arn"]
            .as_str()
            .unwrap()
            .ends_with(":role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS")
    );
    assert_eq!(
        lambda.tag(ECS_ROLE, "upsert-slr:stack-id").await.as_deref(),
        Some("terraform")
    );
    assert_eq!(
        lambda
            .tag(ECS_ROLE, "upsert-slr:logical-id")
            .await
            .as_deref(),
        Some(OWNER)
    );
    assert_eq!(
        lambda
            .tag(ECS_ROLE, "upsert-slr:removal-policy")
            .await
            .as_deref(),
        Some("Delete")
    );

    // A re-applied create (or a failed update sent again): the same answer.
    assert_eq!(lambda.result(&create).await, result);

    let last = without_tf(&create);
    let mut destroy = last.clone();
    destroy["tf"] = json!({"action": "delete", "prev_input": last});
    let deleted = lambda.result(&destroy).await;
    assert_eq!(deleted["Deleted"], "true", "{deleted}");
    assert!(!lambda.exists(ECS_ROLE).await, "the owned role is gone");
    lambda.finish();
}

#[tokio::test]
async fn an_update_changes_the_description_and_a_retain_destroy_keeps_the_role() {
    let lambda = Lambda::start().await;
    let create = tf_input("create", "Retain", Value::Null);
    lambda.result(&create).await;

    let mut update = tf_input("update", "Retain", without_tf(&create));
    update["Description"] = json!("Role for ECS, reworded");
    let updated = lambda.result(&update).await;
    assert_eq!(updated["Created"], "true", "still this owner's: {updated}");
    let role = lambda.role(ECS_ROLE).await.unwrap();
    assert_eq!(role.description(), Some("Role for ECS, reworded"));

    let destroy = tf_input("delete", "Retain", without_tf(&update));
    assert_eq!(lambda.result(&destroy).await["Deleted"], "false");
    assert!(lambda.exists(ECS_ROLE).await);
    lambda.finish();
}

#[tokio::test]
async fn a_role_made_outside_is_adopted_and_kept_on_destroy() {
    let lambda = Lambda::start().await;
    lambda.made_outside_the_stack(ECS).await;
    // CREATE_ONLY: no tf key.
    let create = without_tf(&tf_input("create", "Delete", Value::Null));

    let result = lambda.result(&create).await;
    assert_eq!(result["RoleName"], ECS_ROLE, "{result}");
    assert_eq!(result["Created"], "false");
    assert_eq!(lambda.tag(ECS_ROLE, "upsert-slr:stack-id").await, None);

    let destroy = tf_input("delete", "Delete", create.clone());
    assert_eq!(lambda.result(&destroy).await["Deleted"], "false");
    assert!(
        lambda.exists(ECS_ROLE).await,
        "an adopted role is never deleted"
    );
    lambda.finish();
}

#[tokio::test]
async fn an_action_the_provider_never_sends_is_a_function_error() {
    let lambda = Lambda::start().await;
    let outcome = lambda
        .api
        .invoke(&tf_input("destroy", "Delete", Value::Null), INVOKE_TIMEOUT)
        .await;
    assert_eq!(
        outcome.error_message(),
        "tf.action \"destroy\" is not one of create, update, delete"
    );
    assert!(!lambda.exists(ECS_ROLE).await);

    let outcome = lambda
        .api
        .invoke(
            &json!({"Owner": OWNER, "tf": {"action": "create", "prev_input": null}}),
            INVOKE_TIMEOUT,
        )
        .await;
    assert!(
        outcome
            .error_message()
            .starts_with("AWSServiceName is required"),
        "{outcome:?}"
    );
    lambda.finish();
}
