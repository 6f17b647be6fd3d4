//! The protocol of CDK's `custom_resources.Provider` framework, when this function is its
//! onEvent (and isComplete) handler.
//!
//! The framework answers CloudFormation itself. onEvent returns `{PhysicalResourceId, Data}`
//! or fails the invocation (its error message becomes the FAILED Reason). When a wait is left
//! (IAM propagation, a deletion task), onEvent's result also carries it under `WAIT_KEY`; the
//! framework then invokes isComplete every few seconds with the request merged with that
//! result, until one answers `{"IsComplete": true}`.

use super::custom_resource::MAX_PHYSICAL_ID_BYTES;
use crate::error::InvocationError;
use crate::reason::cut;
use crate::role::answer::{Answer, RoleData};
use crate::role::waiting::{Checked, Wait};
use serde_json::{Value, json};
use std::time::{Duration, UNIX_EPOCH};

/// The key of onEvent's result that isComplete reads back.
pub const WAIT_KEY: &str = "UpsertSlrWait";
/// The framework adds its own text to the Reason before it answers.
const MAX_REASON_BYTES: usize = 3000;

fn wait_to_json(wait: &Wait) -> Value {
    match wait {
        Wait::Nothing => json!({}),
        Wait::Until(until) => {
            let ms = until
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_millis() as u64;
            json!({ "UntilEpochMs": ms })
        }
        Wait::Deletion { role, task_id } => {
            json!({ "RoleName": role, "DeletionTaskId": task_id })
        }
    }
}

fn wait_from_json(value: &Value) -> Result<Wait, String> {
    if let Some(ms) = value.get("UntilEpochMs").and_then(Value::as_u64) {
        return Ok(Wait::Until(UNIX_EPOCH + Duration::from_millis(ms)));
    }
    let role = value.get("RoleName").and_then(Value::as_str);
    let task = value.get("DeletionTaskId").and_then(Value::as_str);
    match (role, task) {
        (Some(role), Some(task_id)) => Ok(Wait::Deletion {
            role: role.to_string(),
            task_id: task_id.to_string(),
        }),
        _ if value.as_object().is_some_and(|w| w.is_empty()) => Ok(Wait::Nothing),
        _ => Err(format!(
            "isComplete received an unreadable {WAIT_KEY}: {}",
            cut(&value.to_string(), 200)
        )),
    }
}

/// An isComplete invocation: what to wait for (or why that cannot be read), and the `Data` of
/// onEvent's result, which completion hands back.
#[derive(Debug)]
pub struct IsCompleteRequest {
    pub wait: Result<Wait, String>,
    pub data: Value,
}

/// The isComplete invocation in `payload`, if it is one. The framework builds that event from
/// the request and onEvent's result, so it carries a top-level `Data`, which a CloudFormation
/// request never has: without `WAIT_KEY` (this function was not told it has an isComplete
/// handler) onEvent already waited, and there is nothing left to wait for.
pub fn is_complete_request(payload: &Value) -> Option<IsCompleteRequest> {
    let wait = match (payload.get(WAIT_KEY), payload.get("Data")) {
        (Some(wait), _) => wait_from_json(wait),
        (None, Some(_)) => Ok(Wait::Nothing),
        (None, None) => return None,
    };
    let data = payload.get("Data").cloned().unwrap_or_else(|| json!({}));
    Some(IsCompleteRequest { wait, data })
}

/// isComplete's answer to a check: over or not, with the role's attributes once it has
/// propagated (a deletion has none to give).
pub fn is_complete_result(checked: Checked, data: Value) -> Value {
    match checked {
        Checked::Pending => json!({ "IsComplete": false }),
        Checked::Deleted => json!({ "IsComplete": true }),
        Checked::Propagated => json!({ "IsComplete": true, "Data": data }),
    }
}

/// onEvent's result: `{PhysicalResourceId, Data}` on success, a function error carrying the
/// Reason on failure.
pub fn result(answer: &Answer) -> Result<Value, InvocationError> {
    if !answer.is_success() {
        return Err(failure(&answer.reason));
    }
    let data = answer
        .data
        .as_ref()
        .map(RoleData::to_map)
        .unwrap_or_default();
    Ok(json!({
        "PhysicalResourceId": cut(&answer.physical_id, MAX_PHYSICAL_ID_BYTES),
        "Data": data,
    }))
}

/// onEvent's result when isComplete follows: every one carries `WAIT_KEY`, even with nothing
/// left to wait for, so that isComplete can never mistake its event for a new request.
pub fn on_event_result(answer: &Answer, wait: &Wait) -> Result<Value, InvocationError> {
    let mut result = result(answer)?;
    result[WAIT_KEY] = wait_to_json(wait);
    Ok(result)
}

/// A failed invocation, whose message the framework gives CloudFormation as the Reason.
pub fn failure(reason: &str) -> InvocationError {
    InvocationError::ServiceLinkedRoleFailed(cut(reason, MAX_REASON_BYTES))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::role::answer::fixtures::created_ecs_role;

    #[test]
    fn provider_result_shapes() {
        let ok = result(&created_ecs_role()).unwrap();
        assert_eq!(ok["PhysicalResourceId"], "AWSServiceRoleForECS");
        assert_eq!(ok["Data"]["Created"], "true");
        let err = result(&Answer::failed("x".into(), "y".repeat(5000))).unwrap_err();
        assert!(err.message().len() <= MAX_REASON_BYTES);
        assert!(err.message().starts_with("yyy"));
        assert_eq!(err.error_type(), "ServiceLinkedRoleFailed");
    }

    #[test]
    fn on_event_results_carry_what_is_complete_needs() {
        let until = UNIX_EPOCH + Duration::from_millis(1_795_000_000_000);
        let result = on_event_result(&created_ecs_role(), &Wait::Until(until)).unwrap();
        assert_eq!(result["PhysicalResourceId"], "AWSServiceRoleForECS");
        assert_eq!(
            result[WAIT_KEY],
            json!({"UntilEpochMs": 1_795_000_000_000u64})
        );

        let deleting = Wait::Deletion {
            role: "AWSServiceRoleForECS".into(),
            task_id: "task/x".into(),
        };
        let deleted = Answer::deleted("AWSServiceRoleForECS", "deleting".into());
        let result = on_event_result(&deleted, &deleting).unwrap();
        assert_eq!(
            result[WAIT_KEY],
            json!({"RoleName": "AWSServiceRoleForECS", "DeletionTaskId": "task/x"})
        );
        assert_eq!(result["PhysicalResourceId"], "AWSServiceRoleForECS");

        let failed = Answer::failed("x".into(), "InvalidInput: no".into());
        assert_eq!(
            on_event_result(&failed, &Wait::Nothing)
                .unwrap_err()
                .message(),
            "InvalidInput: no"
        );
    }

    #[test]
    fn is_complete_hands_back_the_data_after_propagation_only() {
        let data = json!({"Arn": "a"});
        assert_eq!(
            is_complete_result(Checked::Pending, data.clone()),
            json!({"IsComplete": false})
        );
        assert_eq!(
            is_complete_result(Checked::Propagated, data.clone()),
            json!({"IsComplete": true, "Data": {"Arn": "a"}})
        );
        assert_eq!(
            is_complete_result(Checked::Deleted, data),
            json!({"IsComplete": true})
        );
    }

    #[test]
    fn waits_read_back_what_on_event_wrote() {
        let until = UNIX_EPOCH + Duration::from_millis(1_795_000_000_123);
        for wait in [
            Wait::Nothing,
            Wait::Until(until),
            Wait::Deletion {
                role: "R".into(),
                task_id: "t".into(),
            },
        ] {
            assert_eq!(wait_from_json(&wait_to_json(&wait)), Ok(wait));
        }
        let err = wait_from_json(&json!({"Until": "soon"})).unwrap_err();
        assert!(
            err.starts_with("isComplete received an unreadable UpsertSlrWait"),
            "{err}"
        );
    }

    #[test]
    fn is_complete_requests_are_told_by_the_wait_key_or_a_top_level_data() {
        let request = json!({"RequestType": "Create", "ResourceProperties": {}});
        assert!(is_complete_request(&request).is_none());
        let mut merged = request.clone();
        merged["Data"] = json!({"Arn": "a"});
        let found = is_complete_request(&merged).unwrap();
        assert_eq!(found.wait, Ok(Wait::Nothing));
        assert_eq!(found.data, json!({"Arn": "a"}));
        merged[WAIT_KEY] = json!({"UntilEpochMs": 5});
        let found = is_complete_request(&merged).unwrap();
        assert_eq!(
            found.wait,
            Ok(Wait::Until(UNIX_EPOCH + Duration::from_millis(5)))
        );
    }
}
