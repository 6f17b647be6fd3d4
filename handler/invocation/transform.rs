//! A macro event from start to finish: read it, add the roles its template needs, answer.
//! Pure and synchronous; a panic in the transform still gets a failure answer.

use crate::error::panic_text;
use crate::protocol::macro_event::{self, MacroAnswer};
use crate::template::{self, Itself};
use serde_json::Value;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// Reads and transforms one macro event. Every event gets an answer; a malformed one a
/// failure that says what is wrong.
pub fn transform(event: &Value, itself: Itself<'_>) -> MacroAnswer {
    let (request_id, transform_id) = macro_event::ids(event);
    let result = catch_unwind(AssertUnwindSafe(|| {
        template::add_roles(macro_event::parse(event)?, itself)
    }))
    .unwrap_or_else(|panic| Err(format!("internal error: {}", panic_text(panic.as_ref()))));
    MacroAnswer {
        request_id,
        transform_id,
        result,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;
    use crate::template::Transformed;
    use serde_json::json;
    use std::collections::BTreeMap;

    const ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:upsert-slr";

    fn settings(vars: &[(&str, &str)]) -> Settings {
        let vars: BTreeMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(|k| vars.get(k).cloned())
    }

    fn event(fragment: Value, params: Value) -> Value {
        json!({
            "region": "us-east-1", "accountId": "123456789012", "transformId": "123456789012::UpsertSlr",
            "requestId": "r-1", "fragment": fragment, "params": params, "templateParameterValues": {}
        })
    }

    fn run_with(event: &Value, settings: &Settings, arn: &str) -> Result<Transformed, String> {
        transform(
            event,
            Itself {
                function_arn: arn,
                settings,
            },
        )
        .result
    }

    fn ok(event: &Value) -> Transformed {
        run_with(event, &settings(&[]), ARN).unwrap()
    }

    fn err(event: &Value) -> String {
        run_with(event, &settings(&[]), ARN).unwrap_err()
    }

    fn template(resources: Value) -> Value {
        json!({"AWSTemplateFormatVersion": "2010-09-09", "Resources": resources})
    }

    #[test]
    fn the_token_is_the_unqualified_arn_and_the_timeout_follows_the_function() {
        let e = event(
            template(json!({"C": {"Type": "AWS::ECS::Cluster"}})),
            json!({}),
        );
        let done = run_with(
            &e,
            &settings(&[("UPSERT_SLR_FUNCTION_TIMEOUT", "120")]),
            &format!("{ARN}:live"),
        )
        .unwrap();
        let role = &done.fragment["Resources"]["UpsertSlrECS"]["Properties"];
        assert_eq!(role["ServiceToken"], ARN);
        assert_eq!(role["ServiceTimeout"], 420);
        assert_eq!(
            ok(&e).fragment["Resources"]["UpsertSlrECS"]["Properties"]["ServiceTimeout"],
            1200
        );
        for bad in [
            "",
            "function:upsert-slr",
            "arn:aws:lambda:us-east-1:1:layer:x",
        ] {
            assert!(
                run_with(&e, &settings(&[]), bad)
                    .unwrap_err()
                    .contains("not a Lambda function ARN"),
                "{bad}"
            );
        }
    }

    #[test]
    fn services_outside_allowed_services_fail_naming_them() {
        let e = event(
            template(
                json!({"C": {"Type": "AWS::ECS::Cluster"}, "D": {"Type": "AWS::EKS::Cluster"}}),
            ),
            json!({}),
        );
        let s = settings(&[("UPSERT_SLR_ALLOWED_SERVICES", "ecs.amazonaws.com")]);
        let message = run_with(&e, &s, ARN).unwrap_err();
        assert!(
            message.contains("eks.amazonaws.com, which this function may not create"),
            "{message}"
        );
        assert!(!message.contains("ecs.amazonaws.com,"), "{message}");
        let excluded = event(
            e["fragment"].clone(),
            json!({"Exclude": "eks.amazonaws.com"}),
        );
        assert!(run_with(&excluded, &s, ARN).is_ok());
        let broken = settings(&[("UPSERT_SLR_FUNCTION_TIMEOUT", "soon")]);
        assert!(
            run_with(&e, &broken, ARN)
                .unwrap_err()
                .contains("UPSERT_SLR_FUNCTION_TIMEOUT")
        );
    }

    #[test]
    fn depends_on_is_merged_and_an_intrinsic_condition_adds_the_role() {
        let e = event(
            template(json!({
                "A": {"Type": "AWS::ECS::Service", "DependsOn": "Other"},
                "B": {"Type": "AWS::ECS::Cluster", "DependsOn": ["Other", "UpsertSlrECS"]},
                "Other": {"Type": "AWS::SNS::Topic"},
                "T": {"Type": "AWS::ApplicationAutoScaling::ScalableTarget",
                      "Properties": {"ServiceNamespace": {"Fn::ImportValue": "ns"}}}
            })),
            json!({}),
        );
        let done = ok(&e);
        let r = &done.fragment["Resources"];
        assert_eq!(r["A"]["DependsOn"], json!(["Other", "UpsertSlrECS"]));
        assert_eq!(r["B"]["DependsOn"], json!(["Other", "UpsertSlrECS"]));
        // Every Application Auto Scaling role, since the namespace is not known before deployment.
        assert_eq!(
            done.added
                .iter()
                .filter(|id| id.starts_with("UpsertSlrApplicationAutoScaling"))
                .count(),
            14
        );
        assert_eq!(r["T"]["DependsOn"].as_array().unwrap().len(), 14);
        assert_eq!(done.wired, vec!["A", "T"]);
        assert_eq!(ok(&e), done, "same input, same output");
    }

    #[test]
    fn ids_avoid_collisions_and_a_shared_condition_carries_over() {
        let e = event(
            template(json!({
                "UpsertSlrECS": {"Type": "AWS::SNS::Topic"},
                "A": {"Type": "AWS::ECS::Cluster", "Condition": "Prod"},
                "B": {"Type": "AWS::ECS::Service", "Condition": "Prod"},
                "R": {"Type": "AWS::Redshift::Cluster", "Condition": "Prod"},
                "S": {"Type": "AWS::Redshift::EndpointAccess"}
            })),
            json!({}),
        );
        let done = ok(&e);
        let r = &done.fragment["Resources"];
        assert_eq!(done.added, vec!["UpsertSlrECS2", "UpsertSlrRedshift"]);
        assert_eq!(r["UpsertSlrECS2"]["Condition"], "Prod");
        assert!(r["UpsertSlrRedshift"].get("Condition").is_none());
        assert_eq!(r["A"]["DependsOn"], "UpsertSlrECS2");
    }

    #[test]
    fn a_declared_role_is_reused_unless_it_is_conditional() {
        for (kind, key) in [
            ("Custom::ServiceLinkedRole", "AWSServiceName"),
            ("AWS::CloudFormation::CustomResource", "awsServiceName"),
            ("AWS::IAM::ServiceLinkedRole", "AWSServiceName"),
        ] {
            let e = event(
                template(json!({
                    "Mine": {"Type": kind, "Properties": {key: "ECS.amazonaws.com"}},
                    "C": {"Type": "AWS::ECS::Cluster"}
                })),
                json!({}),
            );
            let done = ok(&e);
            assert!(done.added.is_empty(), "{kind}: {:?}", done.added);
            assert_eq!(
                done.fragment["Resources"]["C"]["DependsOn"], "Mine",
                "{kind}"
            );
        }
        let conditional = event(
            template(json!({
                "Mine": {"Type": "AWS::IAM::ServiceLinkedRole", "Condition": "X", "Properties": {"AWSServiceName": {"Ref": "Svc"}}},
                "C": {"Type": "AWS::ECS::Cluster"}
            })),
            json!({}),
        );
        let mut with_value = conditional.clone();
        with_value["templateParameterValues"] = json!({"Svc": "ecs.amazonaws.com"});
        let done = ok(&with_value);
        assert!(done.added.is_empty() && done.wired.is_empty(), "{done:?}");
        assert_eq!(done.fragment, conditional["fragment"]);
        // Without the parameter's value the declared service is unknown: a role is added.
        assert_eq!(ok(&conditional).added, vec!["UpsertSlrECS"]);
    }

    #[test]
    fn exclude_is_lenient_in_form_and_strict_in_content() {
        let fragment = template(
            json!({"C": {"Type": "AWS::ECS::Cluster"}, "R": {"Type": "AWS::Redshift::Cluster"}}),
        );
        for params in [
            json!({"Exclude": "ecs.amazonaws.com"}),
            json!({"exclude": " ECS.amazonaws.com , "}),
            json!({"Exclude": ["AWSServiceRoleForECS"]}),
        ] {
            assert_eq!(
                ok(&event(fragment.clone(), params.clone())).added,
                vec!["UpsertSlrRedshift"],
                "{params}"
            );
        }
        let mut in_metadata = fragment.clone();
        in_metadata["Metadata"] = json!({"UpsertSlr": {"Exclude": ["redshift.amazonaws.com"]}});
        assert_eq!(
            ok(&event(in_metadata, json!(null))).added,
            vec!["UpsertSlrECS"]
        );
        for (params, expected) in [
            (
                json!({"Exclude": "ecs.amazonaws.co"}),
                "params.Exclude: \"ecs.amazonaws.co\" is not a service",
            ),
            (
                json!({"Exclude": [1]}),
                "params.Exclude[0] is a number, not a service name",
            ),
            (
                json!({"Exclude": {"a": 1}}),
                "params.Exclude is an object, not a list",
            ),
            (
                json!({"Exclud": []}),
                "params has the unknown key \"Exclud\"",
            ),
            (json!("ecs"), "params is a string, not an object"),
        ] {
            let message = err(&event(fragment.clone(), params.clone()));
            assert!(message.contains(expected), "{params}: {message}");
        }
    }

    #[test]
    fn malformed_events_and_fragments_are_named() {
        let good = template(json!({"C": {"Type": "AWS::ECS::Cluster"}}));
        let mut no_id = event(good.clone(), json!({}));
        no_id.as_object_mut().unwrap().remove("requestId");
        assert_eq!(err(&no_id), "requestId is missing");
        for (fragment, expected) in [
            (json!("x"), "fragment is a string, not a template"),
            (
                json!({"Resources": []}),
                "fragment.Resources is a list, not an object",
            ),
            (json!({"Parameters": {}}), "the fragment has no Resources"),
            (
                template(json!({"C": 3})),
                "Resources.C is a number, not a resource",
            ),
            (
                template(json!({"C": {"Properties": {}}})),
                "Resources.C has no Type",
            ),
            (
                template(json!({"C": {"Type": "AWS::ECS::Cluster", "Properties": []}})),
                "Resources.C.Properties is a list",
            ),
            (
                template(json!({"C": {"Type": "AWS::ECS::Cluster", "DependsOn": 4}})),
                "Resources.C.DependsOn is a number",
            ),
            (
                template(json!({"C": {"Type": "AWS::ECS::Cluster", "DependsOn": [null]}})),
                "Resources.C.DependsOn[0] is null",
            ),
        ] {
            let message = err(&event(fragment.clone(), json!({})));
            assert!(message.contains(expected), "{fragment}: {message}");
        }
        let mut bad_values = event(good, json!({}));
        bad_values["templateParameterValues"] = json!([]);
        assert!(err(&bad_values).contains("templateParameterValues is a list"));
    }

    #[test]
    fn a_resources_section_fragment_is_transformed_in_place() {
        let e = event(
            json!({"C": {"Type": "AWS::ECS::Cluster"}}),
            json!({"Exclude": []}),
        );
        let done = ok(&e);
        assert_eq!(done.fragment["C"]["DependsOn"], "UpsertSlrECS");
        assert_eq!(
            done.fragment["UpsertSlrECS"]["Type"],
            "Custom::ServiceLinkedRole"
        );
    }

    #[test]
    fn answers_carry_the_request_id_and_a_failure_its_message() {
        let e = event(json!("x"), json!({}));
        let answer = transform(
            &e,
            Itself {
                function_arn: ARN,
                settings: &settings(&[]),
            },
        )
        .to_json();
        assert_eq!(answer["requestId"], "r-1");
        assert_eq!(answer["status"], "failure");
        assert!(
            answer["errorMessage"]
                .as_str()
                .unwrap()
                .starts_with("fragment is a string")
        );
        assert!(answer.get("fragment").is_none());
    }
}
