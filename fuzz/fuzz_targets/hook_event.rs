//! Any JSON payload read as a CloudFormation Lambda Hook's input: reading never panics, an
//! input that reads has a non-empty token and an invocation CloudFormation can send, the token
//! echoed is the payload's (or empty), and any answer built for it keeps the message within
//! CloudFormation's and Cloud Control API's limits.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use upsert_slr::protocol::hook::{
    self, ErrorCode, HookAnswer, HookStatus, MAX_CLOUD_CONTROL_MESSAGE_BYTES, MAX_IN_PROGRESS,
    MAX_MESSAGE_BYTES,
};

fuzz_target!(|bytes: &[u8]| {
    let Ok(payload) = serde_json::from_slice::<Value>(bytes) else {
        return;
    };
    let _ = hook::is_hook_event(&payload);
    let token = hook::token(&payload);
    assert_eq!(
        token,
        payload
            .get("clientRequestToken")
            .and_then(Value::as_str)
            .unwrap_or_default()
    );
    let message = match hook::parse(&payload) {
        Ok(event) => {
            assert_eq!(event.token, token);
            assert!(!event.token.is_empty());
            assert!((1..=MAX_IN_PROGRESS + 1).contains(&event.invocation));
            assert!(!event.target_name.is_empty() && !event.target_logical_id.is_empty());
            // The longest message the handler builds quotes the type and logical id.
            format!("{} {}", event.target_name, event.target_logical_id).repeat(100)
        }
        Err(why) => {
            assert!(!why.is_empty());
            why.repeat(100)
        }
    };
    let cloud_control = hook::is_cloud_control(&payload);
    let answer = HookAnswer {
        token: token.clone(),
        status: HookStatus::Failed(ErrorCode::InternalFailure),
        message,
        cloud_control,
    }
    .to_json();
    assert_eq!(answer["clientRequestToken"].as_str(), Some(token.as_str()));
    let limit = if cloud_control {
        MAX_CLOUD_CONTROL_MESSAGE_BYTES
    } else {
        MAX_MESSAGE_BYTES
    };
    assert!(answer["message"].as_str().is_some_and(|m| m.len() <= limit));
});
