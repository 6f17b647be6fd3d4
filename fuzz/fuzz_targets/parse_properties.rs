//! Any JSON as ResourceProperties: parsing never panics, every refusal says why, and what is
//! accepted is within the documented bounds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use upsert_slr::role::properties::{self, MAX_WAIT_SECONDS};

fuzz_target!(|bytes: &[u8]| {
    let Ok(raw) = serde_json::from_slice::<Value>(bytes) else {
        return;
    };
    let hint = properties::service_hint(Some(&raw));
    match properties::parse(Some(&raw)) {
        Err(why) => assert!(!why.is_empty()),
        Ok(props) => {
            assert_eq!(
                hint.as_deref(),
                Some(props.service.as_str()),
                "the log names the service"
            );
            assert!(!props.service.is_empty());
            assert!(props.propagation_wait.as_secs() <= MAX_WAIT_SECONDS);
            assert!(props.same_role_as(&props));
            // The same properties read again give the same role.
            let again = properties::parse(Some(&raw)).expect("parsing is deterministic");
            assert!(again.same_role_as(&props));
        }
    }
    if let Err(why) = properties::parse_removal_policy(Some(&raw)) {
        let names_it = why.contains("RemovalPolicy") || why.contains("ResourceProperties");
        assert!(names_it, "{why}");
    }
});
