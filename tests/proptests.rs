//! Properties that hold for any input, checked with generated inputs: property parsing never
//! panics and always explains a refusal; request parsing never panics; every answer is valid
//! JSON within CloudFormation's limits, with a Reason on FAILED and a stable physical id.

mod support;

use support::evidence;

use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Value, json};
use upsert_slr::protocol::custom_resource::{self, MAX_BODY_BYTES, MAX_PHYSICAL_ID_BYTES, Request};
use upsert_slr::protocol::provider;
use upsert_slr::role::answer::{Answer, Outcome, RoleData};
use upsert_slr::role::properties::{self, MAX_WAIT_SECONDS};

const CASES: u32 = 1000;

const NAMES: [&str; 10] = [
    "AWSServiceName",
    "awsServiceName",
    "CustomSuffix",
    "customSuffix",
    "Description",
    "description",
    "PropagationWaitSeconds",
    "waitTimeSeconds",
    "RemovalPolicy",
    "ServiceToken",
];

/// Strings from plausible to hostile: valid names, any unicode, control characters, long runs.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9.@_+=,-]{0,140}",
        select(
            &[
                "ecs.amazonaws.com",
                "autoscaling.amazonaws.com",
                "Retain",
                "delete",
                "60",
                "-1",
                "900",
                "901",
                ""
            ][..]
        )
        .prop_map(String::from),
        any::<String>(),
        "\\PC{0,300}",
        "[\"\\\\\u{0}-\u{1f}é🚀]{0,1200}",
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        (-1e6f64..1e6).prop_map(|f| json!(f)),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 5, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..5).prop_map(Value::Array),
            btree_map(key(), inner, 0..5).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![select(&NAMES[..]).prop_map(String::from), "[A-Za-z]{1,12}"]
}

/// Resource properties: mostly objects keyed by the real names, sometimes anything at all.
fn resource_properties() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => btree_map(key(), prop_oneof![text().prop_map(Value::String), (0u64..2000).prop_map(|n| json!(n)), json_value()], 0..8)
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        1 => json_value(),
    ]
}

fn run<S: Strategy>(strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>) {
    let mut runner = TestRunner::new(Config {
        cases: CASES,
        failure_persistence: None,
        ..Config::default()
    });
    if let Err(e) = runner.run(&strategy, test) {
        panic!("{e}");
    }
}

#[test]
fn property_parsing_accepts_only_valid_roles_and_explains_every_refusal() {
    run(resource_properties(), |raw| {
        match properties::parse(Some(&raw)) {
            Ok(p) => {
                prop_assert!((1..=128).contains(&p.service.len()));
                prop_assert!(
                    p.service
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c))
                );
                prop_assert!(
                    p.suffix
                        .as_ref()
                        .is_none_or(|s| (1..=64).contains(&s.len()))
                );
                prop_assert!(
                    p.description
                        .as_ref()
                        .is_none_or(|d| !d.is_empty() && d.chars().count() <= 1000)
                );
                prop_assert!(p.propagation_wait.as_secs() <= MAX_WAIT_SECONDS);
            }
            Err(reason) => {
                prop_assert!(!reason.is_empty());
                let named = NAMES
                    .iter()
                    .chain(&["ResourceProperties"])
                    .any(|n| reason.contains(n));
                prop_assert!(named, "the Reason names no property: {reason}");
            }
        }
        Ok(())
    });
    evidence::record(
        "Properties",
        "property parsing on generated ResourceProperties (any JSON, hostile strings)",
        CASES as usize,
        "never panics; accepted values meet IAM's constraints; every refusal names the property",
    );
}

#[test]
fn numbers_and_their_strings_are_the_same_value() {
    run(0u64..2000, |n| {
        let as_number = properties::parse(Some(
            &json!({"AWSServiceName": "ecs.amazonaws.com", "PropagationWaitSeconds": n}),
        ));
        let as_string = properties::parse(Some(
            &json!({"AWSServiceName": "ecs.amazonaws.com", "PropagationWaitSeconds": n.to_string()}),
        ));
        prop_assert_eq!(&as_number, &as_string);
        prop_assert_eq!(as_number.is_ok(), n <= MAX_WAIT_SECONDS);
        Ok(())
    });
    evidence::record(
        "Properties",
        "PropagationWaitSeconds given as a number and as its string",
        CASES as usize,
        "same result for both forms",
    );
}

#[test]
fn request_parsing_never_panics() {
    let payload = prop_oneof![
        json_value(),
        btree_map(
            select(
                &[
                    "RequestType",
                    "ResponseURL",
                    "StackId",
                    "RequestId",
                    "LogicalResourceId",
                    "PhysicalResourceId",
                    "ResourceProperties",
                    "OldResourceProperties",
                    "ServiceToken"
                ][..]
            )
            .prop_map(String::from),
            json_value(),
            0..9
        )
        .prop_map(|m| Value::Object(m.into_iter().collect())),
    ];
    run(payload, |payload| {
        if let Ok(event) = custom_resource::parse_request(payload) {
            prop_assert!(!event.response_url.is_empty());
        }
        Ok(())
    });
    evidence::record(
        "Properties",
        "request parsing on generated payloads",
        CASES as usize,
        "never panics; a parsed event always has a ResponseURL",
    );
}

fn answer() -> impl Strategy<Value = Answer> {
    let outcome = select(
        &[
            Outcome::Created,
            Outcome::Adopted,
            Outcome::Updated,
            Outcome::Retained,
            Outcome::Deleted,
            Outcome::Failed,
        ][..],
    );
    let long = prop_oneof![text(), "\\PC{0,6000}", "[\"\\\\\u{1}]{0,5000}"];
    let data = proptest::option::of((text(), text(), any::<bool>()).prop_map(
        |(role_name, arn, created)| RoleData {
            role_name: role_name.chars().take(64).collect(),
            arn: arn.chars().take(300).collect(),
            created,
            created_at: None,
        },
    ));
    (outcome, prop_oneof![text(), "\\PC{0,2000}"], long, data).prop_map(
        |(outcome, physical_id, reason, data)| Answer {
            outcome,
            physical_id,
            reason,
            data,
        },
    )
}

/// Echo fields as CloudFormation sends them: an ARN, a UUID, a logical id (at most 255).
fn event_with_echo_fields() -> impl Strategy<Value = Request> {
    ("\\PC{0,200}", "\\PC{0,64}", "[A-Za-z0-9]{1,255}").prop_map(
        |(stack_id, request_id, logical_id)| {
            custom_resource::parse_request(json!({
                "RequestType": "Create", "ResponseURL": "https://b.s3.amazonaws.com/k",
                "StackId": stack_id, "RequestId": request_id, "LogicalResourceId": logical_id,
            }))
            .unwrap()
        },
    )
}

#[test]
fn every_answer_is_valid_json_within_cloudformations_limits() {
    run((event_with_echo_fields(), answer()), |(event, answer)| {
        let body = custom_resource::response_body(&event, &answer)
            .expect("echo fields of real size always fit")
            .to_string();
        prop_assert!(body.len() <= MAX_BODY_BYTES, "{} bytes", body.len());
        let v: Value = serde_json::from_str(&body).expect("valid JSON");
        prop_assert_eq!(
            v["Status"].as_str(),
            Some(if answer.is_success() {
                "SUCCESS"
            } else {
                "FAILED"
            })
        );

        let id = v["PhysicalResourceId"].as_str().unwrap();
        prop_assert!(!id.is_empty() && id.len() <= MAX_PHYSICAL_ID_BYTES);
        if !answer.physical_id.is_empty() && answer.physical_id.len() <= MAX_PHYSICAL_ID_BYTES {
            prop_assert_eq!(
                id,
                answer.physical_id.as_str(),
                "a physical id within limits is kept as is"
            );
        }
        let again = custom_resource::response_body(&event, &answer).unwrap();
        prop_assert_eq!(&again, &v, "the same answer twice gives the same body");

        let reason = v["Reason"].as_str().unwrap();
        if !answer.is_success() && !answer.reason.is_empty() {
            prop_assert!(!reason.is_empty(), "FAILED without a Reason");
        }
        let head = reason.strip_suffix('…').unwrap_or(reason);
        prop_assert!(
            answer.reason.starts_with(head),
            "the Reason keeps the head of the original"
        );
        prop_assert_eq!(v["StackId"].as_str(), Some(event.stack_id.as_str()));
        Ok(())
    });
    evidence::record(
        "Properties",
        "CloudFormation answers built from generated answers and echo fields (Reasons up to 6000 characters of unicode, quotes and control characters)",
        CASES as usize,
        "valid JSON ≤ 4096 bytes; PhysicalResourceId non-empty, ≤ 1024 bytes, kept when within limits, same on every call; FAILED always has a Reason that keeps the original's head",
    );
}

#[test]
fn provider_results_fail_with_the_reason_and_succeed_with_the_id() {
    run(answer(), |answer| {
        match provider::result(&answer) {
            Ok(v) => {
                prop_assert!(answer.is_success());
                prop_assert!(
                    v["PhysicalResourceId"].as_str().unwrap().len() <= MAX_PHYSICAL_ID_BYTES
                );
                prop_assert!(v["Data"].is_object());
            }
            Err(d) => {
                prop_assert!(!answer.is_success());
                prop_assert!(d.message().len() <= 3000);
                let head = d.message().strip_suffix('…').unwrap_or(d.message());
                prop_assert!(answer.reason.starts_with(head));
            }
        }
        Ok(())
    });
    evidence::record(
        "Properties",
        "Provider results built from generated answers",
        CASES as usize,
        "SUCCESS returns the id and Data; FAILED fails the invocation with the Reason's head, ≤ 3000 bytes",
    );
}
