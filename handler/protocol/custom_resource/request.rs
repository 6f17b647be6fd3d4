//! The custom resource request CloudFormation sends, read leniently.
//!
//! The payload is read as a JSON value first, field by field, so that an event with a broken
//! field still yields everything needed to answer it: a typed deserialisation would reject the
//! whole event and leave the stack waiting for an answer that never comes.

use crate::reason::{json_type, quoted};
use crate::role::decide::Change;
use serde_json::Value;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RequestType {
    Create,
    Update,
    Delete,
    /// Anything else, answered FAILED.
    Other(String),
}

impl RequestType {
    pub fn as_str(&self) -> &str {
        match self {
            RequestType::Create => "Create",
            RequestType::Update => "Update",
            RequestType::Delete => "Delete",
            RequestType::Other(s) => s,
        }
    }
}

/// One custom resource request. Echo fields that were missing or not strings are empty here
/// and listed in `problems`.
#[derive(Clone, Debug)]
pub struct Request {
    pub request_type: RequestType,
    pub response_url: String,
    pub request_id: String,
    pub stack_id: String,
    pub logical_resource_id: String,
    pub physical_resource_id: Option<String>,
    pub service_token: Option<String>,
    /// `ResourceProperties` exactly as received (any JSON type).
    pub properties: Option<Value>,
    /// `OldResourceProperties` exactly as received (Update only).
    pub old_properties: Option<Value>,
    /// What is wrong with the envelope, each naming the field. Answered FAILED.
    pub problems: Vec<String>,
}

/// The payload cannot be answered at all: no ResponseURL to answer to.
#[derive(Debug, PartialEq, Eq)]
pub struct NotAnEvent(pub String);

impl std::fmt::Display for NotAnEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NotAnEvent {}

/// The request in `payload`, or why there is nothing to answer.
pub fn parse_request(payload: Value) -> Result<Request, NotAnEvent> {
    let Value::Object(raw) = payload else {
        return Err(NotAnEvent(format!(
            "not a CloudFormation custom resource event: the payload is {}, not a JSON object",
            json_type(&payload)
        )));
    };
    let response_url = match raw.get("ResponseURL") {
        Some(Value::String(url)) if !url.is_empty() => url.clone(),
        Some(Value::String(_)) => return Err(not_an_event("ResponseURL is empty")),
        Some(other) => {
            return Err(not_an_event(&format!(
                "ResponseURL is {}, not a string",
                json_type(other)
            )));
        }
        None => return Err(not_an_event("ResponseURL is missing")),
    };

    let mut problems = Vec::new();
    let mut required = |name: &str| match raw.get(name) {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(Value::String(_)) => {
            problems.push(format!("{name} is empty"));
            String::new()
        }
        Some(other) => {
            problems.push(format!("{name} is {}, not a string", json_type(other)));
            String::new()
        }
        None => {
            problems.push(format!("{name} is missing"));
            String::new()
        }
    };
    let request_type = match required("RequestType").as_str() {
        "Create" => RequestType::Create,
        "Update" => RequestType::Update,
        "Delete" => RequestType::Delete,
        other => RequestType::Other(other.to_string()),
    };
    let request_id = required("RequestId");
    let stack_id = required("StackId");
    let logical_resource_id = required("LogicalResourceId");
    // The logical id is half of the owner a role is tagged with: one outside CloudFormation's
    // rule can only come from an event CloudFormation did not send (the hook's roles carry
    // `hook:<id>`), and is refused before anything is done.
    if !logical_resource_id.is_empty() && !is_logical_id(&logical_resource_id) {
        problems.push(format!(
            "LogicalResourceId {} is not a CloudFormation logical id (letters and digits only, \
             at most {MAX_LOGICAL_ID} characters)",
            quoted(&logical_resource_id)
        ));
    }
    let physical_resource_id = match raw.get("PhysicalResourceId") {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        _ => None,
    };
    if physical_resource_id.is_none()
        && matches!(request_type, RequestType::Update | RequestType::Delete)
    {
        problems.push(format!(
            "PhysicalResourceId is missing from this {} request",
            request_type.as_str()
        ));
    }
    if let RequestType::Other(name) = &request_type
        && !name.is_empty()
    {
        problems.push(format!(
            "RequestType {} is not one of Create, Update, Delete",
            quoted(name)
        ));
    }

    let properties = raw.get("ResourceProperties").cloned();
    let service_token = raw
        .get("ServiceToken")
        .or_else(|| properties.as_ref()?.get("ServiceToken"))
        .and_then(Value::as_str)
        .map(String::from);
    let old_properties = raw.get("OldResourceProperties").cloned();

    Ok(Request {
        request_type,
        response_url,
        request_id,
        stack_id,
        logical_resource_id,
        physical_resource_id,
        service_token,
        properties,
        old_properties,
        problems,
    })
}

impl Request {
    /// What the request asks of the resource, or why it cannot be read (the Reason of its
    /// FAILED answer).
    pub fn change(&self) -> Result<Change<'_>, String> {
        if !self.problems.is_empty() {
            return Err(format!("malformed request: {}", self.problems.join("; ")));
        }
        // Update and Delete always carry a physical id: its absence is one of `problems`.
        let physical_id = self.physical_resource_id.as_deref().unwrap_or_default();
        let properties = self.properties.as_ref();
        match &self.request_type {
            RequestType::Create => Ok(Change::Create { properties }),
            RequestType::Update => Ok(Change::Update {
                physical_id,
                properties,
                old_properties: self.old_properties.as_ref(),
            }),
            RequestType::Delete => Ok(Change::Delete {
                physical_id,
                properties,
            }),
            RequestType::Other(name) => Err(format!("unsupported RequestType {name:?}")),
        }
    }
}

/// CloudFormation's limit on a logical id's length.
const MAX_LOGICAL_ID: usize = 255;

/// CloudFormation's rule for logical ids: alphanumeric (A-Za-z0-9), at most 255 characters.
fn is_logical_id(id: &str) -> bool {
    (1..=MAX_LOGICAL_ID).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

fn not_an_event(why: &str) -> NotAnEvent {
    NotAnEvent(format!(
        "not a CloudFormation custom resource event: {why}; nothing can be answered"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn create() -> Value {
        json!({
            "RequestType": "Create",
            "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:upsert-slr",
            "ResponseURL": "https://bucket.s3.amazonaws.com/key?X-Amz-Signature=abc",
            "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/s/1",
            "RequestId": "r-1",
            "LogicalResourceId": "Slr",
            "ResourceType": "Custom::ServiceLinkedRole",
            "ResourceProperties": {"AWSServiceName": "ecs.amazonaws.com"}
        })
    }

    #[test]
    fn reads_a_well_formed_create() {
        let event = parse_request(create()).unwrap();
        assert_eq!(event.request_type, RequestType::Create);
        assert_eq!(event.request_id, "r-1");
        assert_eq!(event.logical_resource_id, "Slr");
        assert_eq!(
            event.service_token.as_deref(),
            Some("arn:aws:lambda:us-east-1:123456789012:function:upsert-slr")
        );
        assert!(event.problems.is_empty(), "{:?}", event.problems);
    }

    #[test]
    fn payloads_without_a_response_url_are_not_events() {
        for (payload, why) in [
            (json!("text"), "a string, not a JSON object"),
            (json!([1]), "a list, not a JSON object"),
            (json!(null), "null, not a JSON object"),
            (json!({}), "ResponseURL is missing"),
            (json!({"ResponseURL": ""}), "ResponseURL is empty"),
            (
                json!({"ResponseURL": 7}),
                "ResponseURL is a number, not a string",
            ),
        ] {
            let err = parse_request(payload).unwrap_err();
            assert!(err.0.contains(why), "{err} should say {why}");
        }
    }

    #[test]
    fn broken_envelope_fields_are_problems_not_rejections() {
        let mut payload = create();
        payload["RequestId"] = json!(5);
        payload.as_object_mut().unwrap().remove("StackId");
        payload["LogicalResourceId"] = json!("");
        let event = parse_request(payload).unwrap();
        assert_eq!(
            event.problems,
            [
                "RequestId is a number, not a string",
                "StackId is missing",
                "LogicalResourceId is empty"
            ]
        );
        assert_eq!(event.stack_id, "");
    }

    #[test]
    fn a_logical_id_outside_cloudformations_rule_is_a_problem() {
        for forged in [
            "hook:Cluster",
            "Ecs Role",
            "Slr-1",
            "Ünicode",
            &"A".repeat(256),
        ] {
            let mut payload = create();
            payload["LogicalResourceId"] = json!(forged);
            let event = parse_request(payload).unwrap();
            assert_eq!(event.problems.len(), 1, "{forged}: {:?}", event.problems);
            assert!(
                event.problems[0].contains("is not a CloudFormation logical id (letters and digits only, at most 255 characters)"),
                "{:?}",
                event.problems
            );
            assert_eq!(event.logical_resource_id, forged, "echoed as received");
        }
        for fine in ["Slr", "EcsRole2", &"A".repeat(255)] {
            let mut payload = create();
            payload["LogicalResourceId"] = json!(fine);
            assert!(
                parse_request(payload).unwrap().problems.is_empty(),
                "{fine}"
            );
        }
    }

    #[test]
    fn unknown_request_type_is_kept_and_named() {
        let mut payload = create();
        payload["RequestType"] = json!("Upgrade");
        let event = parse_request(payload).unwrap();
        assert_eq!(event.request_type, RequestType::Other("Upgrade".into()));
        assert_eq!(
            event.problems,
            ["RequestType \"Upgrade\" is not one of Create, Update, Delete"]
        );
    }

    #[test]
    fn update_and_delete_need_a_physical_id() {
        let mut payload = create();
        payload["RequestType"] = json!("Delete");
        let event = parse_request(payload).unwrap();
        assert_eq!(
            event.problems,
            ["PhysicalResourceId is missing from this Delete request"]
        );
    }

    #[test]
    fn service_token_falls_back_to_the_properties() {
        let mut payload = create();
        payload.as_object_mut().unwrap().remove("ServiceToken");
        payload["ResourceProperties"]["ServiceToken"] = json!("arn:x");
        assert_eq!(
            parse_request(payload).unwrap().service_token.as_deref(),
            Some("arn:x")
        );
    }
}
