//! The answer CloudFormation reads from the ResponseURL: a JSON body within its limits.
//!
//! CloudFormation rejects a body over 4096 bytes or a PhysicalResourceId over 1024 bytes, and
//! a rejected answer is the same as none: the stack waits for an hour. So the limits are
//! enforced here, on every answer, by shortening the Reason's tail (IAM's message comes first in
//! every Reason, so it survives).

use super::Request;
use crate::reason::cut;
use crate::role::answer::{Answer, RoleData};
use aws_lambda_events::event::cloudformation::{
    CloudFormationCustomResourceResponse, CloudFormationCustomResourceResponseStatus,
};
use serde_json::Value;
use std::fmt;

pub const MAX_BODY_BYTES: usize = 4096;
pub const MAX_PHYSICAL_ID_BYTES: usize = 1024;

/// An answer that cannot be made to fit: only oversized fields from the request can cause it —
/// StackId, RequestId, LogicalResourceId, or a PhysicalResourceId that JSON escaping makes
/// larger than its 1024 bytes (a control character takes six). CloudFormation sends none of
/// these: it echoes what this function answered before.
#[derive(Debug, PartialEq, Eq)]
pub struct BodyTooLarge {
    bytes: usize,
}

impl fmt::Display for BodyTooLarge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the answer is {} bytes even without a Reason; CloudFormation accepts at most \
             {MAX_BODY_BYTES} (are StackId, RequestId or LogicalResourceId oversized?)",
            self.bytes
        )
    }
}

impl std::error::Error for BodyTooLarge {}

/// The PhysicalResourceId of a FAILED Create that made no role. Role names cannot contain
/// ':', so a later Delete can never mistake it for a role.
pub fn failed_create_marker(request: &Request) -> String {
    let id = [&request.logical_resource_id, &request.request_id]
        .into_iter()
        .find(|s| !s.is_empty())
        .map_or("unknown", |s| s.as_str());
    cut(
        &format!("upsert-slr:create-failed:{id}"),
        MAX_PHYSICAL_ID_BYTES,
    )
}

/// The body PUT to the ResponseURL, within CloudFormation's limits, as JSON: its serialisation
/// is what is sent.
pub fn response_body(request: &Request, answer: &Answer) -> Result<Value, BodyTooLarge> {
    let mut response = CloudFormationCustomResourceResponse::default();
    response.status = if answer.is_success() {
        CloudFormationCustomResourceResponseStatus::Success
    } else {
        CloudFormationCustomResourceResponseStatus::Failed
    };
    response.physical_resource_id = if answer.physical_id.is_empty() {
        failed_create_marker(request)
    } else {
        cut(&answer.physical_id, MAX_PHYSICAL_ID_BYTES)
    };
    response.stack_id = request.stack_id.clone();
    response.request_id = request.request_id.clone();
    response.logical_resource_id = request.logical_resource_id.clone();
    response.data = answer
        .data
        .as_ref()
        .map(RoleData::to_map)
        .unwrap_or_default();

    let mut render = |reason: &str| {
        response.reason = Some(reason.to_string());
        let json = serde_json::to_value(&response).expect("the response serialises");
        let bytes = json.to_string().len();
        (json, bytes)
    };
    let (body, bytes) = render(&answer.reason);
    if bytes <= MAX_BODY_BYTES {
        return Ok(body);
    }
    let (_, bare) = render("");
    if bare > MAX_BODY_BYTES {
        return Err(BodyTooLarge { bytes: bare });
    }
    // The longest head of the Reason that fits. JSON escaping makes the body grow unevenly
    // with the Reason, so search rather than compute.
    let (mut fits, mut too_long) = (0, answer.reason.len());
    while too_long - fits > 1 {
        let mid = (fits + too_long) / 2;
        if render(&cut(&answer.reason, mid)).1 <= MAX_BODY_BYTES {
            fits = mid;
        } else {
            too_long = mid;
        }
    }
    Ok(render(&cut(&answer.reason, fits)).0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::custom_resource::parse_request;
    use crate::role::answer::fixtures::created_ecs_role;
    use serde_json::json;

    fn event() -> Request {
        parse_request(json!({
            "RequestType": "Create",
            "ResponseURL": "https://b.s3.amazonaws.com/k?X-Amz-Signature=s",
            "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/s/1",
            "RequestId": "r-1",
            "LogicalResourceId": "Slr",
            "ResourceProperties": {}
        }))
        .unwrap()
    }

    fn body_json(event: &Request, answer: &Answer) -> Value {
        let body = response_body(event, answer).unwrap().to_string();
        assert!(body.len() <= MAX_BODY_BYTES, "{} bytes", body.len());
        serde_json::from_str(&body).unwrap()
    }

    #[test]
    fn success_body_echoes_the_request_and_carries_data() {
        let v = body_json(&event(), &created_ecs_role());
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
        let err = response_body(&e, &created_ecs_role())
            .unwrap_err()
            .to_string();
        assert!(err.contains("even without a Reason"), "{err}");
    }
}
