//! CloudFormation's side, for the suites that build their own events: the request it sends for
//! the resource `EcsRole` of one stack, the bucket behind its ResponseURL (played by wiremock),
//! and the checks on the answer it reads back.

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub const FUNCTION_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:upsert-slr";
pub const STACK: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/app/6d3a5f40";
pub const ECS: &str = "ecs.amazonaws.com";
pub const ECS_ROLE: &str = "AWSServiceRoleForECS";

/// A ResponseURL at `base` with a presigned query, which the function must never show.
pub fn response_url(base: &str) -> String {
    format!("{base}/cfn/answer?AWSAccessKeyId=AKID&Expires=1&Signature=c2VjcmV0")
}

/// The bucket behind `response_url(&s3.uri())`: each of `replies` up to its count of times, in
/// turn, then 200.
pub async fn mount_response_url(s3: &MockServer, replies: Vec<(ResponseTemplate, u64)>) {
    for (reply, times) in replies {
        let put = Mock::given(method("PUT")).and(path("/cfn/answer"));
        put.respond_with(reply).up_to_n_times(times).mount(s3).await;
    }
    Mock::given(method("PUT"))
        .and(path("/cfn/answer"))
        .respond_with(ResponseTemplate::new(200))
        .mount(s3)
        .await;
}

/// What S3 says to a PUT at a presigned URL that has expired.
pub fn expired() -> ResponseTemplate {
    ResponseTemplate::new(403).set_body_string(
        "<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>",
    )
}

/// The request for `EcsRole`; anything but a Create names the ECS role as its physical id.
pub fn request(request_type: &str, response_url: &str, properties: Value) -> Value {
    let mut request = json!({
        "RequestType": request_type,
        "ServiceToken": FUNCTION_ARN,
        "ResponseURL": response_url,
        "StackId": STACK,
        "RequestId": "b6a3c1d2-0001",
        "LogicalResourceId": "EcsRole",
        "ResourceType": "Custom::ServiceLinkedRole",
        "ResourceProperties": properties,
    });
    if request_type != "Create" {
        request["PhysicalResourceId"] = json!(ECS_ROLE);
    }
    request
}

/// The ECS role with no propagation wait, as CloudFormation sends it (ServiceToken included).
pub fn ecs_props() -> Value {
    json!({"ServiceToken": FUNCTION_ARN, "AWSServiceName": ECS, "PropagationWaitSeconds": "0"})
}

/// The answer's Status and Reason.
pub fn assert_answer(answer: &Value, status: &str, reason: &str) {
    assert_eq!(answer["Status"], status, "{answer}");
    assert_eq!(answer["Reason"], reason, "{answer}");
}

/// OpenSearch's role, and the legacy Elasticsearch one that serves instead of it.
pub const OPENSEARCH: &str = "opensearchservice.amazonaws.com";
pub const OPENSEARCH_ROLE: &str = "AWSServiceRoleForAmazonOpenSearchService";
pub const ELASTICSEARCH: &str = "es.amazonaws.com";
pub const ELASTICSEARCH_ROLE: &str = "AWSServiceRoleForAmazonElasticsearchService";
