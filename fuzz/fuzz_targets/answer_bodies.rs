//! Any answer to any request: the body PUT to CloudFormation stays within its limits and keeps
//! the head of the Reason, and the Provider's result carries the same answer.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::json;
use upsert_slr::protocol::custom_resource::{self, MAX_BODY_BYTES, MAX_PHYSICAL_ID_BYTES};
use upsert_slr::protocol::provider;
use upsert_slr::role::answer::{Answer, RoleData};

fuzz_target!(|input: (u8, String, String, String, String, String)| {
    let (kind, request_id, logical_id, physical_id, reason, role_name) = input;
    // The role comes from IAM: at most 64 characters, from IAM's set for names.
    let role_name: String = role_name
        .chars()
        .filter(|&c| upsert_slr::is_iam_name_char(c))
        .take(64)
        .collect();
    let request = custom_resource::parse_request(json!({
        "RequestType": "Create",
        "ResponseURL": "https://bucket.s3.amazonaws.com/key",
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/app/1",
        "RequestId": request_id,
        "LogicalResourceId": logical_id,
    }))
    .expect("a request with a ResponseURL");
    let data = RoleData {
        arn: format!("arn:aws:iam::123456789012:role/{role_name}"),
        role_name,
        created: kind & 1 == 1,
        created_at: None,
    };
    let answer = match kind % 4 {
        0 => Answer::failed(physical_id, reason.clone()),
        1 => Answer::retained(&physical_id, reason.clone()),
        2 => Answer::deleted(&physical_id, reason.clone()),
        _ => Answer {
            data: Some(data),
            ..Answer::deleted(&physical_id, reason.clone())
        },
    };

    match custom_resource::response_body(&request, &answer) {
        Ok(body) => {
            assert!(body.to_string().len() <= MAX_BODY_BYTES);
            let status = if answer.is_success() {
                "SUCCESS"
            } else {
                "FAILED"
            };
            assert_eq!(body["Status"], status);
            let sent_id = body["PhysicalResourceId"].as_str().unwrap();
            assert!(!sent_id.is_empty() && sent_id.len() <= MAX_PHYSICAL_ID_BYTES);
            assert_eq!(body["RequestId"], request.request_id.as_str());
            let sent = body["Reason"].as_str().unwrap();
            let head = sent.strip_suffix('…').unwrap_or(sent);
            assert!(
                sent == reason || reason.starts_with(head),
                "the head is kept"
            );
        }
        // Only fields too large for any body can make it fail: the request's echo fields, or a
        // physical id that is not a role's, as JSON escapes them (a control character takes six
        // bytes).
        Err(_) => {
            let sent_id = if answer.physical_id.is_empty() {
                custom_resource::failed_create_marker(&request)
            } else {
                answer.physical_id.clone()
            };
            let data = answer.data.as_ref().map(RoleData::to_map);
            let fields = json!([
                request.request_id,
                request.logical_resource_id,
                sent_id,
                data
            ]);
            let fixed_parts = 400;
            assert!(fields.to_string().len() + fixed_parts > MAX_BODY_BYTES);
        }
    }

    match provider::result(&answer) {
        Ok(result) => {
            assert!(answer.is_success());
            let id = result["PhysicalResourceId"].as_str().unwrap();
            assert!(id.len() <= MAX_PHYSICAL_ID_BYTES);
        }
        Err(failure) => {
            assert!(!answer.is_success());
            let head = failure
                .message()
                .strip_suffix('…')
                .unwrap_or(failure.message());
            assert!(reason.starts_with(head));
        }
    }
});
