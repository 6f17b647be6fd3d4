//! Inputs the fuzz targets (fuzz/) found, kept as regular tests.

use serde_json::json;
use upsert_slr::protocol::custom_resource::{self, MAX_BODY_BYTES};
use upsert_slr::role::answer::Answer;

fn request() -> custom_resource::Request {
    custom_resource::parse_request(json!({
        "RequestType": "Delete",
        "ResponseURL": "https://bucket.s3.amazonaws.com/key",
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/app/1",
        "RequestId": "",
        "LogicalResourceId": "",
    }))
    .unwrap()
}

/// answer_bodies: a PhysicalResourceId within its 1024 bytes, but of control characters, which
/// JSON writes as six bytes each. The body cannot fit; the builder says so rather than sending
/// a body CloudFormation would reject.
#[test]
fn a_physical_id_that_escaping_makes_too_large_is_refused_not_sent() {
    let physical_id = "\0".repeat(700);
    let answer = Answer::failed(physical_id.clone(), "x".repeat(5000));

    let refused = custom_resource::response_body(&request(), &answer).unwrap_err();

    assert!(
        refused.to_string().contains("even without a Reason"),
        "{refused}"
    );
    // The same length in characters JSON leaves alone fits, the Reason cut to make room.
    let answer = Answer::failed("é".repeat(500), "x".repeat(5000));
    let body = custom_resource::response_body(&request(), &answer).unwrap();
    assert!(body.to_string().len() <= MAX_BODY_BYTES);
    assert!(body["Reason"].as_str().unwrap().ends_with('…'));
}
