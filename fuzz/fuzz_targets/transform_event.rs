//! Any JSON payload read as a CloudFormation macro event: the answer never panics, echoes the
//! event's requestId, is a success with a template or a failure with a message, is the same
//! when asked twice, keeps every resource it was given, and a transformed template transformed
//! again is left as it is (the roles it added count as declared).
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use upsert_slr::config::Settings;
use upsert_slr::protocol::macro_event;
use upsert_slr::template::Itself;
use upsert_slr::transform;

const ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:upsert-slr";

fuzz_target!(|bytes: &[u8]| {
    let Ok(payload) = serde_json::from_slice::<Value>(bytes) else {
        return;
    };
    let _ = macro_event::is_macro_event(&payload);
    let settings = Settings::from_lookup(|_| None);
    let itself = Itself {
        function_arn: ARN,
        settings: &settings,
    };
    let first = transform(&payload, itself);
    let answer = first.to_json();
    assert_eq!(
        answer["requestId"].as_str(),
        Some(
            payload
                .get("requestId")
                .and_then(Value::as_str)
                .unwrap_or_default()
        )
    );
    assert_eq!(transform(&payload, itself), first, "not deterministic");
    match &first.result {
        Err(message) => {
            assert_eq!(answer["status"], "failure");
            assert!(
                !message.is_empty() && !message.contains("internal error"),
                "{message}"
            );
            assert!(
                answer["errorMessage"]
                    .as_str()
                    .is_some_and(|m| m.len() <= 2000)
            );
        }
        Ok(done) => {
            assert_eq!(answer["status"], "success");
            let given = &payload["fragment"];
            let (before, after) = match given.get("Resources") {
                Some(_) => (&given["Resources"], &done.fragment["Resources"]),
                None => (given, &done.fragment),
            };
            let (before, after) = (before.as_object().unwrap(), after.as_object().unwrap());
            for (id, resource) in before {
                assert_eq!(after[id]["Type"], resource["Type"], "{id}");
                assert_eq!(
                    after[id].get("Properties"),
                    resource.get("Properties"),
                    "{id}"
                );
            }
            for id in &done.added {
                assert!(!before.contains_key(id), "{id} replaced a resource");
                assert_eq!(after[id]["Type"], "Custom::ServiceLinkedRole");
                assert_eq!(after[id]["Properties"]["ServiceToken"], ARN);
            }
            assert_eq!(after.len(), before.len() + done.added.len());
            let mut again = payload.clone();
            again["fragment"] = done.fragment.clone();
            let second = transform(&again, itself)
                .result
                .expect("a transformed template fails");
            assert!(second.added.is_empty(), "added again: {:?}", second.added);
            assert_eq!(second.fragment, done.fragment);
        }
    }
});
