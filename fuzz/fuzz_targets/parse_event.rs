//! Any JSON payload: reading it as a CloudFormation request (and as an isComplete invocation)
//! never panics, and what it reads is what the payload says.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use upsert_slr::protocol::{custom_resource, provider};

fuzz_target!(|bytes: &[u8]| {
    let Ok(payload) = serde_json::from_slice::<Value>(bytes) else {
        return;
    };
    let _ = provider::is_complete_request(&payload);
    match custom_resource::parse_request(payload.clone()) {
        Err(not_an_event) => assert!(!not_an_event.to_string().is_empty()),
        Ok(request) => {
            // Only a payload with a non-empty string ResponseURL can be answered.
            assert_eq!(
                payload["ResponseURL"].as_str(),
                Some(request.response_url.as_str())
            );
            assert!(!request.response_url.is_empty());
            // An echo field is the payload's string, or empty and named in `problems`.
            for (field, read) in [
                ("RequestId", &request.request_id),
                ("StackId", &request.stack_id),
                ("LogicalResourceId", &request.logical_resource_id),
            ] {
                match payload[field].as_str() {
                    Some(given) if !given.is_empty() => assert_eq!(given, read, "{field}"),
                    _ => assert!(
                        read.is_empty() && request.problems.iter().any(|p| p.contains(field)),
                        "{field}: {read:?}, problems {:?}",
                        request.problems
                    ),
                }
            }
            assert_eq!(
                request.properties.as_ref(),
                payload.get("ResourceProperties")
            );
            assert!(request.problems.iter().all(|p| !p.is_empty()));
        }
    }
});
