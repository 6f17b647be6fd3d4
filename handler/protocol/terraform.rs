//! The input of Terraform's `aws_lambda_invocation` (also OpenTofu's, and Pulumi's
//! `aws.lambda.Invocation`), and the result it stores.
//!
//! The input is an object of the custom resource's properties, with `Owner` (the Terraform
//! resource's stable id) and, with `lifecycle_scope = "CRUD"`, the provider's `tf` key:
//! `{"action": "create" | "update" | "delete", "prev_input": <the input last applied> | null}`.
//! Without `tf` (`CREATE_ONLY`) it is a create. The result, on create and update, is the
//! custom resource's attributes; a refusal is a function error, since the provider stores any
//! result as a success.

use crate::reason::{json_type, quoted};
use crate::role::answer::{Answer, Outcome};
use crate::role::terraform::Change;
use serde_json::{Map, Value, json};

/// The provider's key (`terraform_key`'s default, Pulumi's `terraformKey` too).
const TF_KEY: &str = "tf";
const OWNER_KEY: &str = "Owner";
/// IAM's longest tag value: the Owner is the role's `upsert-slr:logical-id`.
const MAX_OWNER_CHARS: usize = 256;

pub use super::Action;

/// One invocation's input, read.
#[derive(Clone, Debug)]
pub struct Invocation {
    pub action: Action,
    pub owner: Option<String>,
    /// The input, `tf` taken out: the properties.
    pub input: Value,
    pub prev_input: Option<Value>,
}

impl Invocation {
    /// What is asked of the role.
    pub fn change(&self) -> Change<'_> {
        let properties = &self.input;
        match self.action {
            Action::Create => Change::Create { properties },
            Action::Update => Change::Update {
                properties,
                previous: self.prev_input.as_ref(),
            },
            Action::Delete => Change::Delete { properties },
        }
    }
}

/// Whether `payload` is this protocol's: no custom resource envelope, no macro or hook field,
/// and the provider's key or a service named at the top.
pub fn is_terraform_input(payload: &Value) -> bool {
    payload.as_object().is_some_and(|o| {
        let others = [
            "RequestType",
            "ResponseURL",
            "fragment",
            "transformId",
            "clientRequestToken",
            "hookModel",
            "actionInvocationPoint",
        ];
        !others.iter().any(|k| o.contains_key(*k))
            && (o.contains_key(TF_KEY)
                || o.contains_key("AWSServiceName")
                || o.contains_key("awsServiceName"))
    })
}

/// The invocation in `payload`, or what is wrong with its envelope (`tf`, `Owner`).
pub fn parse(payload: Value) -> Result<Invocation, String> {
    let Value::Object(mut input) = payload else {
        return Err(format!(
            "the input is {}, not an object",
            json_type(&payload)
        ));
    };
    let (action, prev_input) = match input.remove(TF_KEY) {
        None => (Action::Create, None),
        Some(Value::Object(tf)) => read_tf(&tf)?,
        Some(other) => {
            return Err(format!(
                "{TF_KEY} is {}; the provider sends an object with action and prev_input",
                json_type(&other)
            ));
        }
    };
    let owner = match input.get(OWNER_KEY) {
        None | Some(Value::Null) => None,
        Some(Value::String(owner)) => Some(checked_owner(owner)?),
        Some(other) => return Err(format!("{OWNER_KEY} is {}, not a string", json_type(other))),
    };
    Ok(Invocation {
        action,
        owner,
        input: Value::Object(input),
        prev_input,
    })
}

fn read_tf(tf: &Map<String, Value>) -> Result<(Action, Option<Value>), String> {
    let action = match tf.get("action") {
        Some(Value::String(a)) if a == "create" => Action::Create,
        Some(Value::String(a)) if a == "update" => Action::Update,
        Some(Value::String(a)) if a == "delete" => Action::Delete,
        Some(Value::String(a)) => {
            return Err(format!(
                "{TF_KEY}.action {} is not one of create, update, delete",
                quoted(a)
            ));
        }
        Some(other) => {
            return Err(format!(
                "{TF_KEY}.action is {}, not a string",
                json_type(other)
            ));
        }
        None => return Err(format!("{TF_KEY}.action is missing")),
    };
    let prev_input = match tf.get("prev_input") {
        None | Some(Value::Null) => None,
        Some(prev @ Value::Object(_)) => Some(without_tf(prev)),
        Some(other) => {
            return Err(format!(
                "{TF_KEY}.prev_input is {}, not an object",
                json_type(other)
            ));
        }
    };
    Ok((action, prev_input))
}

fn without_tf(prev: &Value) -> Value {
    let mut prev = prev.clone();
    if let Some(map) = prev.as_object_mut() {
        map.remove(TF_KEY);
    }
    prev
}

/// An Owner that can be the role's tag value: 1 to 256 of the characters IAM allows in one.
fn checked_owner(owner: &str) -> Result<String, String> {
    let allowed = |c: char| c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(c);
    let chars = owner.chars().count();
    if chars == 0 || chars > MAX_OWNER_CHARS {
        return Err(format!(
            "{OWNER_KEY} has {chars} characters; it is a tag value: 1 to {MAX_OWNER_CHARS}"
        ));
    }
    if let Some(bad) = owner.chars().find(|c| !allowed(*c)) {
        return Err(format!(
            "{OWNER_KEY} {} has {bad:?}, which an IAM tag value cannot hold (letters, digits, \
             spaces and _.:/=+-@)",
            quoted(owner)
        ));
    }
    Ok(owner.to_string())
}

/// The result Terraform stores: the role's attributes, by the custom resource's names, and
/// whether its propagation wait was waited out; for a destroy, whether the role was deleted.
pub fn result(answer: &Answer, propagated: bool) -> Value {
    match &answer.data {
        Some(data) => {
            let mut result: Map<String, Value> = data
                .to_map()
                .into_iter()
                .map(|(k, v)| (k, Value::String(v)))
                .collect();
            result.insert("Propagated".into(), json!(propagated.to_string()));
            Value::Object(result)
        }
        None => json!({
            "Deleted": (answer.outcome == Outcome::Deleted).to_string(),
            "Reason": answer.reason,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shape_tells_this_protocol_from_the_others() {
        let tf = json!({"AWSServiceName": "ecs.amazonaws.com", "tf": {"action": "create"}});
        assert!(is_terraform_input(&tf));
        assert!(is_terraform_input(&json!({"AWSServiceName": "x"})));
        assert!(is_terraform_input(&json!({"tf": 1})));
        for other in [
            json!({"RequestType": "Create", "AWSServiceName": "x"}),
            json!({"ResponseURL": "u", "tf": {}}),
            json!({"fragment": {}, "AWSServiceName": "x"}),
            json!({"clientRequestToken": "t", "tf": {}}),
            json!({"Description": "no service"}),
            json!([1]),
        ] {
            assert!(!is_terraform_input(&other), "{other}");
        }
    }

    #[test]
    fn owners_are_tag_values() {
        assert_eq!(
            checked_owner("prod/network/ecs").unwrap(),
            "prod/network/ecs"
        );
        assert!(checked_owner("").unwrap_err().contains("0 characters"));
        assert!(checked_owner(&"a".repeat(257)).is_err());
        assert!(checked_owner("a,b").unwrap_err().contains("','"));
    }

    #[test]
    fn prev_input_loses_the_providers_key() {
        let read = parse(json!({"AWSServiceName": "x", "tf": {"action": "update",
            "prev_input": {"AWSServiceName": "y", "tf": {"action": "create"}}}}))
        .unwrap();
        assert_eq!(read.action, Action::Update);
        assert_eq!(read.prev_input, Some(json!({"AWSServiceName": "y"})));
        assert_eq!(read.input, json!({"AWSServiceName": "x"}));
    }
}
