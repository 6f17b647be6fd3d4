//! The CloudFormation Lambda Hook protocol, when this function backs an
//! `AWS::CloudFormation::LambdaHook` (CloudFormation Hooks User Guide, "Create Lambda functions
//! to evaluate resources for Lambda Hooks"): the input for a resource target, and the answer
//! returned as the invocation's result.
//!
//! Input: `clientRequestToken`, `awsAccountId`, `stackId` (empty for Cloud Control API),
//! `hookTypeName`, `actionInvocationPoint` (`CREATE_PRE_PROVISION`, `UPDATE_PRE_PROVISION`,
//! `DELETE_PRE_PROVISION`), `requestData.{targetName, targetType, targetLogicalId,
//! targetModel.resourceProperties}` (resolved: no intrinsic functions) and
//! `requestContext.{invocation, callbackContext}`.
//!
//! Answer: `{hookStatus, errorCode, message, clientRequestToken, callbackContext,
//! callbackDelaySeconds}`. The token is echoed on every answer, even to input that cannot be
//! read, since CloudFormation drops an answer without it.

use crate::reason::{cut, json_type, quoted};
use serde_json::{Map, Value, json};

/// CloudFormation keeps at most this much of a message; Cloud Control API 1024.
pub const MAX_MESSAGE_BYTES: usize = 4096;
pub const MAX_CLOUD_CONTROL_MESSAGE_BYTES: usize = 1024;
/// A hook may answer IN_PROGRESS this many times for one target; the next one fails it.
pub const MAX_IN_PROGRESS: u32 = 3;
/// The key of this function's own state in a callbackContext.
const CONTEXT_KEY: &str = "upsertSlr";

/// Whether `payload` is a hook's input. Custom resource requests carry `RequestType`, macro
/// events `fragment`; only a hook's input carries `clientRequestToken` or `hookModel`.
pub fn is_hook_event(payload: &Value) -> bool {
    payload.as_object().is_some_and(|o| {
        (o.contains_key("clientRequestToken")
            || o.contains_key("hookModel")
            || o.contains_key("actionInvocationPoint"))
            && !o.contains_key("RequestType")
            && !o.contains_key("fragment")
    })
}

/// The token to echo, read from any payload (empty when missing), so that even unreadable
/// input is answered.
pub fn token(event: &Value) -> String {
    event
        .get("clientRequestToken")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// Whether the operation comes through Cloud Control API (no stack), whose messages are
/// shorter.
pub fn is_cloud_control(event: &Value) -> bool {
    matches!(event.get("stackId"), None | Some(Value::Null))
        || event.get("stackId").and_then(Value::as_str) == Some("")
}

/// What CloudFormation is about to do to the target.
pub use super::Action;

/// A resource target's input, read.
#[derive(Clone, Debug, PartialEq)]
pub struct HookEvent {
    pub token: String,
    pub stack_id: String,
    pub action: Action,
    /// The resource type, e.g. `AWS::Redshift::Cluster`.
    pub target_name: String,
    pub target_logical_id: String,
    pub properties: Map<String, Value>,
    /// 1 for the first invocation, one more after each IN_PROGRESS.
    pub invocation: u32,
    /// What this function's previous IN_PROGRESS answer carried, if this is a re-invocation.
    pub context: Option<Waiting>,
}

/// This function's state across invocations: when the roles it saw will have propagated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Waiting {
    /// Seconds since the epoch.
    pub propagated_at: u64,
    pub roles: Vec<String>,
}

impl Waiting {
    pub fn to_json(&self) -> Value {
        json!({CONTEXT_KEY: {"propagatedAt": self.propagated_at, "roles": self.roles}})
    }

    fn parse(value: &Value) -> Result<Option<Self>, String> {
        let state = match value {
            Value::Null => return Ok(None),
            Value::Object(o) if o.is_empty() => return Ok(None),
            Value::Object(o) => o.get(CONTEXT_KEY).ok_or_else(|| {
                "requestContext.callbackContext is not one this function answered".to_string()
            })?,
            other => {
                return Err(format!(
                    "requestContext.callbackContext is {}, not an object",
                    json_type(other)
                ));
            }
        };
        let propagated_at = state
            .get("propagatedAt")
            .and_then(Value::as_u64)
            .ok_or("requestContext.callbackContext has no propagatedAt in seconds")?;
        let roles = match state.get("roles") {
            Some(Value::Array(roles)) => roles
                .iter()
                .map(|r| r.as_str().map(String::from))
                .collect::<Option<Vec<_>>>()
                .ok_or("requestContext.callbackContext.roles is not a list of role names")?,
            _ => return Err("requestContext.callbackContext has no roles".into()),
        };
        Ok(Some(Waiting {
            propagated_at,
            roles,
        }))
    }
}

fn object<'a>(value: &'a Value, name: &str) -> Result<&'a Map<String, Value>, String> {
    value
        .as_object()
        .ok_or_else(|| format!("{name} is {}, not an object", json_type(value)))
}

fn text<'a>(object: &'a Map<String, Value>, key: &str, path: &str) -> Result<&'a str, String> {
    match object.get(key) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s),
        Some(Value::String(_)) => Err(format!("{path} is empty")),
        Some(other) => Err(format!("{path} is {}, not a string", json_type(other))),
        None => Err(format!("{path} is missing")),
    }
}

/// The input of a resource target, or what is wrong with it.
pub fn parse(event: &Value) -> Result<HookEvent, String> {
    let event = object(event, "the hook's input")?;
    let token = text(event, "clientRequestToken", "clientRequestToken")?.to_string();
    let point = text(event, "actionInvocationPoint", "actionInvocationPoint")?;
    let action = match point {
        "CREATE_PRE_PROVISION" => Action::Create,
        "UPDATE_PRE_PROVISION" => Action::Update,
        "DELETE_PRE_PROVISION" => Action::Delete,
        other => {
            return Err(format!(
                "actionInvocationPoint {} is not a resource's CREATE_PRE_PROVISION, \
                 UPDATE_PRE_PROVISION or DELETE_PRE_PROVISION (stack and change set targets are \
                 not evaluated by this function)",
                quoted(other)
            ));
        }
    };
    let stack_id = match event.get("stackId") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => return Err(format!("stackId is {}, not a string", json_type(other))),
    };
    let data = object(
        event.get("requestData").unwrap_or(&Value::Null),
        "requestData",
    )?;
    let target_name = text(data, "targetName", "requestData.targetName")?.to_string();
    let target_logical_id =
        text(data, "targetLogicalId", "requestData.targetLogicalId")?.to_string();
    let model = match data.get("targetModel") {
        None | Some(Value::Null) => Map::new(),
        Some(model) => object(model, "requestData.targetModel")?.clone(),
    };
    let properties = match model.get("resourceProperties") {
        None | Some(Value::Null) => Map::new(),
        Some(p) => object(p, "requestData.targetModel.resourceProperties")?.clone(),
    };
    let context = match event.get("requestContext") {
        None | Some(Value::Null) => Map::new(),
        Some(c) => object(c, "requestContext")?.clone(),
    };
    let invocation = match context.get("invocation") {
        None | Some(Value::Null) => 1,
        Some(n) => n
            .as_u64()
            .filter(|n| (1..=u64::from(MAX_IN_PROGRESS) + 1).contains(n))
            .map(|n| n as u32)
            .ok_or_else(|| {
                format!(
                    "requestContext.invocation is {n}, not 1 to {}",
                    MAX_IN_PROGRESS + 1
                )
            })?,
    };
    let context = Waiting::parse(context.get("callbackContext").unwrap_or(&Value::Null))?;
    Ok(HookEvent {
        token,
        stack_id,
        action,
        target_name,
        target_logical_id,
        properties,
        invocation,
        context,
    })
}

/// Why a hook answers FAILED.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    /// The target does not comply: a role it needs is missing and will not be created here.
    NonCompliant,
    /// The hook could not evaluate the target: unreadable input, IAM errors, a misconfiguration.
    InternalFailure,
}

/// What the hook says about the target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HookStatus {
    Success,
    Failed(ErrorCode),
    /// Ask again in `delay_seconds` with `context`.
    InProgress {
        delay_seconds: u64,
        context: Waiting,
    },
}

impl HookStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            HookStatus::Success => "SUCCESS",
            HookStatus::Failed(_) => "FAILED",
            HookStatus::InProgress { .. } => "IN_PROGRESS",
        }
    }
}

/// One invocation's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HookAnswer {
    pub token: String,
    pub status: HookStatus,
    pub message: String,
    /// Cloud Control API keeps a shorter message.
    pub cloud_control: bool,
}

impl HookAnswer {
    /// The invocation's result, as CloudFormation reads it.
    pub fn to_json(&self) -> Value {
        let limit = if self.cloud_control {
            MAX_CLOUD_CONTROL_MESSAGE_BYTES
        } else {
            MAX_MESSAGE_BYTES
        };
        let mut answer = json!({
            "hookStatus": self.status.as_str(),
            "clientRequestToken": self.token,
            "message": cut(&self.message, limit),
        });
        match &self.status {
            HookStatus::Success => {}
            HookStatus::Failed(code) => {
                answer["errorCode"] = json!(match code {
                    ErrorCode::NonCompliant => "NonCompliant",
                    ErrorCode::InternalFailure => "InternalFailure",
                });
            }
            HookStatus::InProgress {
                delay_seconds,
                context,
            } => {
                answer["callbackDelaySeconds"] = json!(delay_seconds);
                answer["callbackContext"] = context.to_json();
            }
        }
        answer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> Value {
        json!({
            "clientRequestToken": "t-1", "awsAccountId": "123456789012",
            "stackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/s/1",
            "changeSetId": null, "hookTypeName": "UpsertSlr::IAM::ServiceLinkedRoles",
            "hookTypeVersion": "00000001", "hookModel": {"LambdaFunction": "f"},
            "actionInvocationPoint": "CREATE_PRE_PROVISION",
            "requestData": {"targetName": "AWS::Redshift::Cluster", "targetType": "AWS::Redshift::Cluster",
                "targetLogicalId": "Cluster", "targetModel": {"resourceProperties": {"NodeType": "dc2.large"}}},
            "requestContext": {"invocation": 1, "callbackContext": null}
        })
    }

    #[test]
    fn hook_input_is_told_from_the_other_protocols() {
        assert!(is_hook_event(&event()));
        assert!(is_hook_event(&json!({"clientRequestToken": "t"})));
        assert!(!is_hook_event(
            &json!({"RequestType": "Create", "clientRequestToken": "t"})
        ));
        assert!(!is_hook_event(
            &json!({"fragment": {}, "clientRequestToken": "t"})
        ));
        assert!(!is_hook_event(&json!(["clientRequestToken"])));
    }

    #[test]
    fn a_resource_target_is_read() {
        let read = parse(&event()).unwrap();
        assert_eq!(read.action, Action::Create);
        assert_eq!(
            (read.target_name.as_str(), read.target_logical_id.as_str()),
            ("AWS::Redshift::Cluster", "Cluster")
        );
        assert_eq!(read.properties["NodeType"], "dc2.large");
        assert_eq!((read.invocation, read.context), (1, None));
    }

    #[test]
    fn the_context_this_function_gave_comes_back() {
        let waiting = Waiting {
            propagated_at: 1_800_000_000,
            roles: vec!["AWSServiceRoleForRedshift".into()],
        };
        let mut e = event();
        e["requestContext"] = json!({"invocation": 2, "callbackContext": waiting.to_json()});
        let read = parse(&e).unwrap();
        assert_eq!((read.invocation, read.context), (2, Some(waiting)));
    }

    #[test]
    fn malformed_input_is_named() {
        for (change, says) in [
            (
                json!({"clientRequestToken": 3}),
                "clientRequestToken is a number",
            ),
            (
                json!({"actionInvocationPoint": "CREATE_PRE_STACK"}),
                "actionInvocationPoint \"CREATE_PRE_STACK\" is not",
            ),
            (json!({"requestData": []}), "requestData is a list"),
            (
                json!({"requestData": {"targetName": "T"}}),
                "requestData.targetLogicalId is missing",
            ),
            (
                json!({"requestContext": {"invocation": 9}}),
                "requestContext.invocation is 9",
            ),
            (
                json!({"requestContext": {"invocation": 2, "callbackContext": {"other": 1}}}),
                "not one this function answered",
            ),
            (
                json!({"requestContext": {"invocation": 2, "callbackContext": "x"}}),
                "callbackContext is a string",
            ),
        ] {
            let mut e = event();
            for (k, v) in change.as_object().unwrap() {
                e[k] = v.clone();
            }
            let error = parse(&e).unwrap_err();
            assert!(error.contains(says), "{change}: {error}");
        }
        assert!(parse(&json!("x")).unwrap_err().contains("is a string"));
    }

    #[test]
    fn answers_echo_the_token_and_fit_the_message_limits() {
        let long = "x".repeat(5000);
        let answer = HookAnswer {
            token: "t-1".into(),
            status: HookStatus::Failed(ErrorCode::NonCompliant),
            message: long.clone(),
            cloud_control: false,
        }
        .to_json();
        assert_eq!(answer["clientRequestToken"], "t-1");
        assert_eq!(
            (&answer["hookStatus"], &answer["errorCode"]),
            (&json!("FAILED"), &json!("NonCompliant"))
        );
        assert!(answer["message"].as_str().unwrap().len() <= MAX_MESSAGE_BYTES);
        let cloud_control = HookAnswer {
            token: "t-1".into(),
            status: HookStatus::InProgress {
                delay_seconds: 42,
                context: Waiting {
                    propagated_at: 7,
                    roles: vec![],
                },
            },
            message: long,
            cloud_control: true,
        }
        .to_json();
        assert!(
            cloud_control["message"].as_str().unwrap().len() <= MAX_CLOUD_CONTROL_MESSAGE_BYTES
        );
        assert_eq!(cloud_control["callbackDelaySeconds"], 42);
        assert_eq!(
            cloud_control["callbackContext"]["upsertSlr"]["propagatedAt"],
            7
        );
        assert!(cloud_control.get("errorCode").is_none());
    }
}
