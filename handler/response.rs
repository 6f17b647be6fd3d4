//! The answer to CloudFormation, in both shapes: the JSON body PUT to the ResponseURL (direct
//! mode) and the function result read by CDK's Provider framework (provider mode).
//!
//! CloudFormation rejects a body over 4096 bytes or a PhysicalResourceId over 1024 bytes, and
//! a rejected answer is the same as none: the stack waits for an hour. So the limits are
//! enforced here, on every answer, by shortening the Reason's tail (IAM's message comes first in
//! every Reason, so it survives).

use crate::event::Event;
use crate::iam::Role;
use aws_lambda_events::event::cloudformation::{
    CloudFormationCustomResourceResponse, CloudFormationCustomResourceResponseStatus,
};
use lambda_runtime::Diagnostic;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::SystemTime;

pub const MAX_BODY_BYTES: usize = 4096;
pub const MAX_PHYSICAL_ID_BYTES: usize = 1024;
/// The Provider framework adds its own text to the Reason before it answers.
const MAX_PROVIDER_REASON_BYTES: usize = 3000;

/// What happened, for the log line and the answer's status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Created,
    Adopted,
    Updated,
    Retained,
    Deleted,
    Failed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Created => "created",
            Outcome::Adopted => "adopted",
            Outcome::Updated => "updated",
            Outcome::Retained => "retained",
            Outcome::Deleted => "deleted",
            Outcome::Failed => "failed",
        }
    }
}

/// The role the resource stands for: the values `!GetAtt` reads, and its CreateDate for the
/// log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleData {
    pub role_name: String,
    pub arn: String,
    /// This request created the role (rather than adopting an existing one).
    pub created: bool,
    pub created_at: Option<SystemTime>,
}

impl RoleData {
    pub fn of(role: Role, created: bool) -> Self {
        RoleData {
            role_name: role.name,
            arn: role.arn,
            created,
            created_at: role.created_at,
        }
    }

    pub fn to_map(&self) -> HashMap<String, String> {
        HashMap::from([
            ("RoleName".to_string(), self.role_name.clone()),
            ("Arn".to_string(), self.arn.clone()),
            ("Created".to_string(), self.created.to_string()),
        ])
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    pub outcome: Outcome,
    pub physical_id: String,
    /// Always set: on SUCCESS it is shown as the resource's status reason in the console.
    pub reason: String,
    pub data: Option<RoleData>,
}

impl Answer {
    pub fn failed(physical_id: String, reason: String) -> Self {
        Answer {
            outcome: Outcome::Failed,
            physical_id,
            reason,
            data: None,
        }
    }

    pub fn is_success(&self) -> bool {
        self.outcome != Outcome::Failed
    }
}

/// The PhysicalResourceId of a FAILED Create that made no role. Role names cannot contain
/// ':', so a later Delete can never mistake it for a role.
pub fn failed_create_marker(event: &Event) -> String {
    let id = [&event.logical_resource_id, &event.request_id]
        .into_iter()
        .find(|s| !s.is_empty())
        .map_or("unknown", |s| s.as_str());
    cut(
        &format!("upsert-slr:create-failed:{id}"),
        MAX_PHYSICAL_ID_BYTES,
    )
}

/// The body PUT to the ResponseURL, within CloudFormation's limits. `Err` when even an empty
/// Reason cannot make it fit, which only an event with oversized echo fields can cause.
pub fn cloudformation_body(event: &Event, answer: &Answer) -> Result<Vec<u8>, String> {
    let mut response = CloudFormationCustomResourceResponse::default();
    response.status = if answer.is_success() {
        CloudFormationCustomResourceResponseStatus::Success
    } else {
        CloudFormationCustomResourceResponseStatus::Failed
    };
    response.physical_resource_id = if answer.physical_id.is_empty() {
        failed_create_marker(event)
    } else {
        cut(&answer.physical_id, MAX_PHYSICAL_ID_BYTES)
    };
    response.stack_id = event.stack_id.clone();
    response.request_id = event.request_id.clone();
    response.logical_resource_id = event.logical_resource_id.clone();
    response.data = answer
        .data
        .as_ref()
        .map(RoleData::to_map)
        .unwrap_or_default();

    let mut render = |reason: &str| {
        response.reason = Some(reason.to_string());
        serde_json::to_vec(&response).map_err(|e| e.to_string())
    };
    let body = render(&answer.reason)?;
    if body.len() <= MAX_BODY_BYTES {
        return Ok(body);
    }
    let bare = render("")?;
    if bare.len() > MAX_BODY_BYTES {
        return Err(format!(
            "the answer is {} bytes even without a Reason; CloudFormation accepts at most \
             {MAX_BODY_BYTES} (are StackId, RequestId or LogicalResourceId oversized?)",
            bare.len()
        ));
    }
    // The longest head of the Reason that fits. JSON escaping makes the body grow unevenly
    // with the Reason, so search rather than compute.
    let (mut fits, mut too_long) = (0, answer.reason.len());
    while too_long - fits > 1 {
        let mid = (fits + too_long) / 2;
        if render(&cut(&answer.reason, mid))?.len() <= MAX_BODY_BYTES {
            fits = mid;
        } else {
            too_long = mid;
        }
    }
    render(&cut(&answer.reason, fits))
}

/// The function result for CDK's Provider framework: `{PhysicalResourceId, Data}` on success,
/// a function error carrying the Reason on failure.
pub fn provider_result(answer: &Answer) -> Result<Value, Diagnostic> {
    if answer.is_success() {
        let data = answer
            .data
            .as_ref()
            .map(RoleData::to_map)
            .unwrap_or_default();
        Ok(json!({
            "PhysicalResourceId": cut(&answer.physical_id, MAX_PHYSICAL_ID_BYTES),
            "Data": data,
        }))
    } else {
        Err(Diagnostic {
            error_type: "ServiceLinkedRoleFailed".into(),
            error_message: cut(&answer.reason, MAX_PROVIDER_REASON_BYTES),
        })
    }
}

/// `text` cut to at most `max` bytes on a character boundary, marked with "…" when cut.
pub fn cut(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let Some(mut end) = max.checked_sub("…".len()) else {
        return String::new();
    };
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event;
    use serde_json::json;

    fn event() -> Event {
        event::parse(json!({
            "RequestType": "Create",
            "ResponseURL": "https://b.s3.amazonaws.com/k?X-Amz-Signature=s",
            "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/s/1",
            "RequestId": "r-1",
            "LogicalResourceId": "Slr",
            "ResourceProperties": {}
        }))
        .unwrap()
    }

    fn body_json(event: &Event, answer: &Answer) -> Value {
        let body = cloudformation_body(event, answer).unwrap();
        assert!(body.len() <= MAX_BODY_BYTES, "{} bytes", body.len());
        serde_json::from_slice(&body).unwrap()
    }

    fn created() -> Answer {
        Answer {
            outcome: Outcome::Created,
            physical_id: "AWSServiceRoleForECS".into(),
            reason: "created AWSServiceRoleForECS".into(),
            data: Some(RoleData {
                role_name: "AWSServiceRoleForECS".into(),
                arn: "arn:aws:iam::123456789012:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS".into(),
                created: true,
                created_at: None,
            }),
        }
    }

    #[test]
    fn success_body_echoes_the_request_and_carries_data() {
        let v = body_json(&event(), &created());
        assert_eq!(v["Status"], "SUCCESS");
        assert_eq!(v["PhysicalResourceId"], "AWSServiceRoleForECS");
        assert_eq!(
            v["StackId"],
            "arn:aws:cloudformation:us-east-1:123456789012:stack/s/1"
        );
        assert_eq!(v["RequestId"], "r-1");
        assert_eq!(v["LogicalResourceId"], "Slr");
        assert_eq!(v["NoEcho"], false);
        assert_eq!(v["Data"]["RoleName"], "AWSServiceRoleForECS");
        assert_eq!(v["Data"]["Created"], "true");
        assert!(
            v["Data"]["Arn"]
                .as_str()
                .unwrap()
                .ends_with("/AWSServiceRoleForECS")
        );
    }

    #[test]
    fn failed_body_keeps_the_head_of_a_long_reason() {
        let reason = format!("InvalidInput: {}", "x\"\u{1}é".repeat(3000));
        let answer = Answer::failed("AWSServiceRoleForECS".into(), reason);
        let v = body_json(&event(), &answer);
        assert_eq!(v["Status"], "FAILED");
        let r = v["Reason"].as_str().unwrap();
        assert!(r.starts_with("InvalidInput: x\"\u{1}é"), "{r}");
        assert!(r.ends_with('…'));
        assert_eq!(v["Data"], json!({}));
    }

    #[test]
    fn empty_physical_id_becomes_a_marker_that_is_not_a_role_name() {
        let v = body_json(&event(), &Answer::failed(String::new(), "bad".into()));
        assert_eq!(v["PhysicalResourceId"], "upsert-slr:create-failed:Slr");
    }

    #[test]
    fn oversized_physical_id_is_cut_to_1024_bytes() {
        let answer = Answer::failed("é".repeat(2000), "bad".into());
        let v = body_json(&event(), &answer);
        let id = v["PhysicalResourceId"].as_str().unwrap();
        assert!(
            id.len() <= MAX_PHYSICAL_ID_BYTES && id.len() > 1000,
            "{}",
            id.len()
        );
    }

    #[test]
    fn oversized_echo_fields_cannot_be_answered() {
        let mut e = event();
        e.stack_id = "s".repeat(5000);
        let err = cloudformation_body(&e, &created()).unwrap_err();
        assert!(err.contains("even without a Reason"), "{err}");
    }

    #[test]
    fn provider_result_shapes() {
        let ok = provider_result(&created()).unwrap();
        assert_eq!(ok["PhysicalResourceId"], "AWSServiceRoleForECS");
        assert_eq!(ok["Data"]["Created"], "true");
        let err = provider_result(&Answer::failed("x".into(), "y".repeat(5000))).unwrap_err();
        assert!(err.error_message.len() <= MAX_PROVIDER_REASON_BYTES);
        assert!(err.error_message.starts_with("yyy"));
    }

    #[test]
    fn cut_respects_character_boundaries() {
        assert_eq!(cut("abc", 3), "abc");
        assert_eq!(cut("abcdef", 5), "ab…");
        assert_eq!(cut("ééé", 6), "ééé");
        assert_eq!(cut("ééé", 5), "é…");
        assert_eq!(cut("abcdef", 2), "");
    }
}
