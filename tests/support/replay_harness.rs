//! The handler called in-process, as the Lambda runtime calls it, with IAM and CloudFormation
//! played by one wiremock server (their exact wire answers: `iam_wire`) and a second one standing
//! in for the presigned ResponseURL. Shared by the replay suites.

// Shared by several test crates, each using a part.
#![allow(dead_code)]

use super::cfn::{self, FUNCTION_ARN, STACK};
use super::iam_wire::*;
use lambda_runtime::{Context, Diagnostic, LambdaEvent};
use serde_json::Value;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use upsert_slr::KnownNames;
use upsert_slr::{Deps, handle};
use wiremock::MockServer;

pub struct Harness {
    pub iam: MockServer,
    pub s3: MockServer,
    pub settings: Vec<(&'static str, String)>,
    pub deadline: Duration,
    /// One per harness, as in one warm function process.
    pub known_names: KnownNames,
}

impl Harness {
    pub async fn new() -> Self {
        let s3 = MockServer::start().await;
        cfn::mount_response_url(&s3, vec![]).await;
        Harness {
            iam: MockServer::start().await,
            s3,
            settings: Vec::new(),
            deadline: Duration::from_secs(30),
            known_names: KnownNames::default(),
        }
    }

    pub fn deps(&self) -> Deps {
        let mut vars = vec![(
            "UPSERT_SLR_EXTRA_RESPONSE_URL_PREFIXES",
            format!("{}/", self.s3.uri()),
        )];
        vars.extend(self.settings.iter().cloned());
        wire_deps(&self.iam.uri(), vars, self.known_names.clone())
    }

    pub fn response_url(&self) -> String {
        cfn::response_url(&self.s3.uri())
    }

    /// The request for `EcsRole`; anything but a Create names the ECS role as its physical id.
    pub fn event(&self, request_type: &str, properties: Value) -> Value {
        cfn::request(request_type, &self.response_url(), properties)
    }

    /// Invokes a Create with `properties`; its answer is read from the ResponseURL.
    pub async fn create(&self, properties: Value) {
        self.invoke(self.event("Create", properties)).await.unwrap();
    }

    pub async fn invoke(&self, event: Value) -> Result<Value, Diagnostic> {
        let mut ctx = Context::default();
        ctx.invoked_function_arn = FUNCTION_ARN.into();
        ctx.deadline = (SystemTime::now() + self.deadline)
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        handle(self.deps(), LambdaEvent::new(event, ctx)).await
    }

    /// isComplete's answer to onEvent's result for `request`.
    pub async fn is_complete(&self, request: &Value, on_event: &Value) -> Value {
        self.invoke(is_complete_event(request, on_event))
            .await
            .unwrap()
    }

    /// The bodies PUT to the ResponseURL, checking the headers each PUT must carry.
    pub async fn answers(&self) -> Vec<Value> {
        let mut answers = Vec::new();
        for req in self.s3.received_requests().await.unwrap() {
            assert_eq!(req.method.as_str(), "PUT");
            let content_type = req.headers.get("content-type").expect("Content-Type sent");
            assert_eq!(content_type.as_bytes(), b"", "Content-Type must be empty");
            let length: usize = req.headers["content-length"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert_eq!(length, req.body.len());
            assert!(req.body.len() <= 4096, "{} bytes", req.body.len());
            answers.push(serde_json::from_slice(&req.body).unwrap());
        }
        answers
    }

    /// The one answer CloudFormation would read.
    pub async fn answer(&self) -> Value {
        let answers = self.answers().await;
        assert_eq!(answers.len(), 1, "exactly one answer expected: {answers:?}");
        answers.into_iter().next().unwrap()
    }

    pub async fn iam_actions(&self) -> Vec<String> {
        let calls = bodies(&self.iam).await;
        calls
            .iter()
            .filter_map(|b| action_of(b).map(String::from))
            .collect()
    }
}

pub fn owned_tags() -> Vec<(&'static str, &'static str)> {
    vec![
        ("upsert-slr:stack-id", STACK),
        ("upsert-slr:logical-id", "EcsRole"),
        ("upsert-slr:request-id", "an-earlier-request"),
    ]
}

/// The isComplete event: the request merged with onEvent's result, as the framework builds it.
pub fn is_complete_event(request: &Value, on_event: &Value) -> Value {
    let mut event = request.clone();
    for (k, v) in on_event.as_object().unwrap() {
        event[k] = v.clone();
    }
    event
}
