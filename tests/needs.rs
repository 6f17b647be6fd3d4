//! The cases of `tests/needs-cases.json`, which the CDK aspect's tests run too
//! (`cdk/test/aspect.test.ts`): each case through the table's rows and through the macro, a
//! template holding the one resource replayed to its exact answer. Every row of the table has a
//! case that meets it and, when it has a condition, one that does not.

use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};
use upsert_slr::config::Settings;
use upsert_slr::needs::{self, Verdict};
use upsert_slr::template::Itself;
use upsert_slr::transform;

const INVOKED_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:upsert-slr";

/// Each row's resource type and service with the logical id its role must get
/// (`tests/needs-rows.json`, kept apart from the code as the cases are).
fn expected_rows() -> Vec<(String, String, String)> {
    let path = format!("{}/tests/needs-rows.json", env!("CARGO_MANIFEST_DIR"));
    let file: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    serde_json::from_value(file["rows"].clone()).unwrap()
}

#[derive(Debug)]
struct Case {
    resource_type: String,
    /// None: the resource has no Properties.
    properties: Option<Value>,
    parameters: Map<String, Value>,
    expect: BTreeSet<String>,
    undecided: BTreeSet<String>,
    note: String,
}

fn cases() -> Vec<Case> {
    let path = format!("{}/tests/needs-cases.json", env!("CARGO_MANIFEST_DIR"));
    let file: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let strings = |value: &Value| -> BTreeSet<String> {
        value
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .map(|s| s.as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    let cases: Vec<Case> = file["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|case| Case {
            resource_type: case["resourceType"].as_str().unwrap().to_string(),
            properties: Some(case["properties"].clone()).filter(|p| !p.is_null()),
            parameters: case["parameters"].as_object().cloned().unwrap_or_default(),
            expect: strings(&case["expect"]),
            undecided: strings(&case["undecided"]),
            note: case["note"].as_str().unwrap().to_string(),
        })
        .collect();
    assert!(cases.len() >= 100, "{}", cases.len());
    cases
}

/// The services whose rows apply to `case` (hold or are undecided), and those undecided.
fn decided(case: &Case) -> (BTreeSet<String>, BTreeSet<String>) {
    let (mut apply, mut undecided) = (BTreeSet::new(), BTreeSet::new());
    for row in needs::table().unwrap() {
        if row.resource_type != case.resource_type {
            continue;
        }
        let properties = case.properties.as_ref().and_then(Value::as_object);
        match row.verdict(properties, &case.parameters) {
            Verdict::Fails => {}
            Verdict::Holds => {
                apply.insert(row.service.clone());
            }
            Verdict::Undecided => {
                apply.insert(row.service.clone());
                undecided.insert(row.service.clone());
            }
        }
    }
    (apply, undecided)
}

#[test]
fn the_rows_are_the_ones_listed_here() {
    let listed: Vec<(&str, &str)> = needs::table()
        .unwrap()
        .iter()
        .map(|r| (r.resource_type.as_str(), r.service.as_str()))
        .collect();
    let rows = expected_rows();
    let expected: Vec<(&str, &str)> = rows
        .iter()
        .map(|(t, s, _)| (t.as_str(), s.as_str()))
        .collect();
    assert_eq!(
        listed, expected,
        "the table and this test list different rows"
    );
}

#[test]
fn every_case_is_decided_as_written() {
    for case in cases() {
        let (apply, undecided) = decided(&case);
        assert_eq!(
            (&apply, &undecided),
            (&case.expect, &case.undecided),
            "{} {:?} ({})",
            case.resource_type,
            case.properties,
            case.note
        );
    }
}

#[test]
fn every_row_has_a_case_that_meets_it_and_one_that_does_not() {
    let cases = cases();
    for row in needs::table().unwrap() {
        let verdicts: Vec<Verdict> = cases
            .iter()
            .filter(|c| c.resource_type == row.resource_type)
            .map(|c| {
                row.verdict(
                    c.properties.as_ref().and_then(Value::as_object),
                    &c.parameters,
                )
            })
            .collect();
        assert!(
            verdicts.contains(&Verdict::Holds),
            "no case meets {} {}",
            row.resource_type,
            row.service
        );
        assert!(
            row.when.is_empty() || verdicts.contains(&Verdict::Fails),
            "no case leaves {} {} unmet",
            row.resource_type,
            row.service
        );
    }
}

fn settings() -> Settings {
    Settings::from_lookup(|name| (name == "UPSERT_SLR_FUNCTION_TIMEOUT").then(|| "300".into()))
}

#[test]
fn every_case_gets_its_roles_from_the_macro() {
    let rows = expected_rows();
    let ids: BTreeMap<&str, &str> = rows
        .iter()
        .map(|(_, s, id)| (s.as_str(), id.as_str()))
        .collect();
    let settings = settings();
    let itself = Itself {
        function_arn: INVOKED_ARN,
        settings: &settings,
    };
    for (n, case) in cases().iter().enumerate() {
        let mut needs = json!({"Type": case.resource_type});
        if let Some(properties) = &case.properties {
            needs["Properties"] = properties.clone();
        }
        let event = json!({
            "region": "us-east-1", "accountId": "123456789012",
            "transformId": "123456789012::UpsertSlr", "requestId": format!("case-{n}"),
            "params": {}, "templateParameterValues": case.parameters,
            "fragment": {"Resources": {"Needs": needs}},
        });
        // The roles in the order of their services' names, as the macro adds them.
        let mut services: Vec<&String> = case.expect.iter().collect();
        services.sort_by_key(|s| s.to_ascii_lowercase());
        let roles: Vec<&str> = services.iter().map(|s| ids[s.as_str()]).collect();
        let mut resources = json!({"Needs": needs});
        match &roles[..] {
            [] => {}
            [one] => resources["Needs"]["DependsOn"] = json!(one),
            many => resources["Needs"]["DependsOn"] = json!(many),
        }
        for (service, id) in services.iter().zip(&roles) {
            resources[*id] = json!({
                "Type": "Custom::ServiceLinkedRole",
                "Properties": {
                    "ServiceToken": INVOKED_ARN, "ServiceTimeout": 600, "AWSServiceName": service,
                },
            });
        }
        let expected = json!({
            "requestId": format!("case-{n}"), "status": "success",
            "fragment": {"Resources": resources},
        });
        let got = transform(&event, itself).to_json();
        assert_eq!(
            got, expected,
            "{} {:?} ({})",
            case.resource_type, case.properties, case.note
        );
    }
}
