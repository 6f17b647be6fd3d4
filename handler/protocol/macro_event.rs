//! The CloudFormation macro protocol, when this function backs an `AWS::CloudFormation::Macro`:
//! the event (`fragment`, `requestId`, `transformId`, `params`, `templateParameterValues`) and
//! the answer, `{requestId, status: "success", fragment}` or `{requestId, status: "failure",
//! errorMessage}`, returned as the invocation's result.

use crate::reason::{cut, json_type};
use crate::template::{Fragment, Transformed};
use serde_json::{Map, Value, json};

/// CloudFormation shows at most this much of a failure's message.
const MAX_ERROR_BYTES: usize = 2000;

/// Whether `payload` is a macro event. CloudFormation's custom resource requests and CDK's
/// Provider events always carry `RequestType`; a macro event carries `fragment` instead.
pub fn is_macro_event(payload: &Value) -> bool {
    payload.as_object().is_some_and(|o| {
        (o.contains_key("fragment") || o.contains_key("transformId"))
            && !o.contains_key("RequestType")
            && !o.contains_key("ResponseURL")
    })
}

/// The ids an answer echoes, read from any payload (empty when missing), so that even an
/// unreadable event is answered.
pub fn ids(event: &Value) -> (String, String) {
    let text = |key: &str| {
        event
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    (text("requestId"), text("transformId"))
}

/// The template fragment and what came with it, or why the event cannot be read.
pub fn parse(event: &Value) -> Result<Fragment<'_>, String> {
    let event = event
        .as_object()
        .ok_or_else(|| format!("the event is {}, not a JSON object", json_type(event)))?;
    match event.get("requestId") {
        Some(Value::String(id)) if !id.is_empty() => {}
        Some(Value::String(_)) => return Err("requestId is empty".into()),
        Some(other) => return Err(format!("requestId is {}, not a string", json_type(other))),
        None => return Err("requestId is missing".into()),
    }
    let parameters = match event.get("templateParameterValues") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(values)) => values.clone(),
        Some(other) => {
            return Err(format!(
                "templateParameterValues is {}, not an object",
                json_type(other)
            ));
        }
    };
    let fragment = match event.get("fragment") {
        Some(Value::Object(fragment)) => fragment.clone(),
        Some(other) => {
            return Err(format!(
                "fragment is {}, not a template (a JSON object)",
                json_type(other)
            ));
        }
        None => return Err("fragment is missing".into()),
    };
    Ok(Fragment {
        fragment,
        params: event.get("params"),
        parameters,
    })
}

/// The outcome of one macro event, for the answer and the log line.
#[derive(Debug, PartialEq)]
pub struct MacroAnswer {
    pub request_id: String,
    pub transform_id: String,
    pub result: Result<Transformed, String>,
}

impl MacroAnswer {
    /// The invocation's result, as CloudFormation reads it.
    pub fn to_json(&self) -> Value {
        match &self.result {
            Ok(transformed) => json!({
                "requestId": self.request_id,
                "status": "success",
                "fragment": transformed.fragment,
            }),
            // CloudFormation shows it as "Transform <transformId> failed with: <errorMessage>.".
            Err(message) => json!({
                "requestId": self.request_id,
                "status": "failure",
                "errorMessage": cut(message, MAX_ERROR_BYTES),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macro_events_are_told_from_custom_resource_requests() {
        assert!(is_macro_event(
            &json!({"requestId": "r", "transformId": "t", "fragment": {}})
        ));
        assert!(is_macro_event(&json!({"transformId": "x"})));
        assert!(!is_macro_event(
            &json!({"RequestType": "Create", "fragment": {}})
        ));
        assert!(!is_macro_event(
            &json!({"ResponseURL": "u", "fragment": {}})
        ));
        assert!(!is_macro_event(&json!(["fragment"])));
    }
}
