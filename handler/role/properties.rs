//! Resource properties: the names of `AWS::IAM::ServiceLinkedRole`, with the upsert-slr
//! construct's names as aliases, checked against IAM's documented constraints before any IAM
//! call so that a typo fails in a second with a Reason that says what is accepted.
//!
//! CloudFormation sends every scalar as a string, so `"60"` and `60` are the same value.

use crate::adapters::iam;
use crate::reason::{json_type, quoted};
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RemovalPolicy {
    Retain,
    Delete,
}

impl RemovalPolicy {
    /// As the property and the role's tag spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            RemovalPolicy::Retain => "Retain",
            RemovalPolicy::Delete => "Delete",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleProperties {
    pub service: String,
    pub suffix: Option<String>,
    pub description: Option<String>,
    pub propagation_wait: Duration,
    pub removal_policy: RemovalPolicy,
}

impl RoleProperties {
    /// Service and suffix decide which role this is; changing them means another role.
    pub fn same_role_as(&self, other: &RoleProperties) -> bool {
        self.service.eq_ignore_ascii_case(&other.service)
            && match (&self.suffix, &other.suffix) {
                (None, None) => true,
                (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
                _ => false,
            }
    }
}

const SERVICE: [&str; 2] = ["AWSServiceName", "awsServiceName"];
const SUFFIX: [&str; 2] = ["CustomSuffix", "customSuffix"];
const DESCRIPTION: [&str; 2] = ["Description", "description"];
const WAIT: [&str; 2] = ["PropagationWaitSeconds", "waitTimeSeconds"];
const REMOVAL: [&str; 1] = ["RemovalPolicy"];

pub use crate::config::{DEFAULT_WAIT_SECONDS, MAX_WAIT_SECONDS};

/// Reads all properties. The error lists every problem found, separated by "; ".
pub fn parse(raw: Option<&Value>) -> Result<RoleProperties, String> {
    let empty = Map::new();
    let map = object(raw, &empty)?;
    let mut problems = Vec::new();

    let service = take(
        &mut problems,
        scalar(map, &SERVICE).and_then(|v| match v.as_deref() {
            None => Err(
                "AWSServiceName is required: the service principal, e.g. \"ecs.amazonaws.com\""
                    .into(),
            ),
            Some(v) => iam_name(&SERVICE, v, 128).map(|()| v.to_string()),
        }),
    );
    let suffix = take(
        &mut problems,
        scalar(map, &SUFFIX).and_then(|v| match v.as_deref() {
            None => Ok(None),
            Some(v) => iam_name(&SUFFIX, v, 64).map(|()| Some(v.to_string())),
        }),
    );
    let description = take(
        &mut problems,
        scalar(map, &DESCRIPTION).and_then(|v| match v.as_deref() {
            None => Ok(None),
            Some(v) => description(v).map(|()| Some(v.to_string())),
        }),
    );
    let propagation_wait = take(
        &mut problems,
        scalar(map, &WAIT).and_then(|v| match v.as_deref() {
            None => Ok(Duration::from_secs(DEFAULT_WAIT_SECONDS)),
            Some(v) => wait_seconds(v).map(Duration::from_secs),
        }),
    );
    let removal_policy = take(&mut problems, removal(map));

    match (
        service,
        suffix,
        description,
        propagation_wait,
        removal_policy,
    ) {
        (Some(service), Some(suffix), Some(description), Some(wait), Some(removal))
            if problems.is_empty() =>
        {
            Ok(RoleProperties {
                service,
                suffix,
                description,
                propagation_wait: wait,
                removal_policy: removal,
            })
        }
        _ => Err(problems.join("; ")),
    }
}

fn take<T>(problems: &mut Vec<String>, result: Result<T, String>) -> Option<T> {
    result.map_err(|e| problems.push(e)).ok()
}

/// Reads only RemovalPolicy: a Delete must not fail because of a property it does not use.
pub fn parse_removal_policy(raw: Option<&Value>) -> Result<RemovalPolicy, String> {
    let empty = Map::new();
    removal(object(raw, &empty)?)
}

/// Reads only the service principal, for logs; `None` when it is not usable.
pub fn service_hint(raw: Option<&Value>) -> Option<String> {
    let map = raw?.as_object()?;
    scalar(map, &SERVICE).ok().flatten().map(Cow::into_owned)
}

fn object<'a>(
    raw: Option<&'a Value>,
    empty: &'a Map<String, Value>,
) -> Result<&'a Map<String, Value>, String> {
    match raw {
        None | Some(Value::Null) => Ok(empty),
        Some(Value::Object(map)) => Ok(map),
        Some(other) => Err(format!(
            "ResourceProperties is {}; it must be an object of properties",
            json_type(other)
        )),
    }
}

fn removal(map: &Map<String, Value>) -> Result<RemovalPolicy, String> {
    match scalar(map, &REMOVAL)?.as_deref() {
        None => Ok(RemovalPolicy::Retain),
        Some(v) if v.eq_ignore_ascii_case("retain") => Ok(RemovalPolicy::Retain),
        Some(v) if v.eq_ignore_ascii_case("delete") => Ok(RemovalPolicy::Delete),
        Some(v) => Err(format!(
            "RemovalPolicy must be Retain or Delete, got {}",
            quoted(v)
        )),
    }
}

/// A scalar under any of its names, as the string CloudFormation would send. `null` counts
/// as absent. Aliases given together must agree.
fn scalar<'a>(map: &'a Map<String, Value>, names: &[&str]) -> Result<Option<Cow<'a, str>>, String> {
    let mut found: Option<(&str, Cow<'a, str>)> = None;
    for &name in names {
        let text = match map.get(name) {
            None | Some(Value::Null) => continue,
            Some(Value::String(s)) => Cow::Borrowed(s.as_str()),
            Some(v @ (Value::Number(_) | Value::Bool(_))) => Cow::Owned(v.to_string()),
            Some(other) => {
                return Err(format!(
                    "{name} is {}; it must be a single value",
                    json_type(other)
                ));
            }
        };
        match &found {
            Some((first, seen)) if *seen != text => {
                return Err(format!(
                    "{first} and {name} are aliases but have different values ({} and {}); give one",
                    quoted(seen),
                    quoted(&text)
                ));
            }
            Some(_) => {}
            None => found = Some((name, text)),
        }
    }
    Ok(found.map(|(_, text)| text))
}

/// IAM's pattern for service principals and suffixes: `[\w+=,.@-]`, 1 to `max` characters.
fn iam_name(names: &[&str], value: &str, max: usize) -> Result<(), String> {
    let name = names[0];
    if value.is_empty() {
        return Err(format!(
            "{name} is empty; omit it or give 1-{max} characters of letters, digits and +=,.@_-"
        ));
    }
    let bad = value.chars().find(|c| !iam::is_name_char(*c));
    if let Some(c) = bad {
        return Err(format!(
            "{name} {} contains {c:?}; only letters, digits and +=,.@_- are allowed",
            quoted(value)
        ));
    }
    if value.len() > max {
        return Err(format!(
            "{name} is {} characters long; at most {max} are allowed",
            value.len()
        ));
    }
    Ok(())
}

/// IAM's constraint for role descriptions: at most 1000 characters from a Latin-1 subset.
fn description(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err("Description is empty; omit it or give up to 1000 characters".into());
    }
    let allowed =
        |c: char| matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{7e}' | '\u{a1}'..='\u{ff}');
    if let Some(c) = value.chars().find(|c| !allowed(*c)) {
        return Err(format!(
            "Description contains {c:?}, which IAM does not accept; use printable Latin-1 characters"
        ));
    }
    let chars = value.chars().count();
    if chars > 1000 {
        return Err(format!(
            "Description is {chars} characters long; at most 1000 are allowed"
        ));
    }
    Ok(())
}

fn wait_seconds(value: &str) -> Result<u64, String> {
    match value.parse::<u64>() {
        Ok(n) if n <= MAX_WAIT_SECONDS => Ok(n),
        _ => Err(format!(
            "PropagationWaitSeconds must be a whole number of seconds from 0 to {MAX_WAIT_SECONDS}, got {}",
            quoted(value)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ok(props: Value) -> RoleProperties {
        parse(Some(&props)).unwrap_or_else(|e| panic!("{props} should parse: {e}"))
    }

    fn err(props: Value) -> String {
        match parse(Some(&props)) {
            Ok(p) => panic!("{props} should be refused, got {p:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn defaults() {
        let p = ok(
            json!({"AWSServiceName": "ecs.amazonaws.com", "ServiceToken": "arn:x", "ServiceTimeout": "300", "Unknown": [1]}),
        );
        assert_eq!(
            p,
            RoleProperties {
                service: "ecs.amazonaws.com".into(),
                suffix: None,
                description: None,
                propagation_wait: Duration::from_secs(60),
                removal_policy: RemovalPolicy::Retain,
            }
        );
    }

    #[test]
    fn native_names_and_strings() {
        let p = ok(json!({
            "AWSServiceName": "autoscaling.amazonaws.com",
            "CustomSuffix": "team-a",
            "Description": "Scaling for team A",
            "PropagationWaitSeconds": "15",
            "RemovalPolicy": "Delete"
        }));
        assert_eq!(p.suffix.as_deref(), Some("team-a"));
        assert_eq!(p.description.as_deref(), Some("Scaling for team A"));
        assert_eq!(p.propagation_wait, Duration::from_secs(15));
        assert_eq!(p.removal_policy, RemovalPolicy::Delete);
    }

    #[test]
    fn construct_aliases_and_numbers() {
        let p = ok(json!({
            "awsServiceName": "autoscaling.amazonaws.com",
            "customSuffix": "b",
            "description": "d",
            "waitTimeSeconds": 0
        }));
        assert_eq!(p.service, "autoscaling.amazonaws.com");
        assert_eq!(p.suffix.as_deref(), Some("b"));
        assert_eq!(p.description.as_deref(), Some("d"));
        assert_eq!(p.propagation_wait, Duration::ZERO);
    }

    #[test]
    fn wait_accepts_string_and_number_alike_up_to_900() {
        for v in [json!("900"), json!(900)] {
            let p = ok(json!({"AWSServiceName": "ecs.amazonaws.com", "PropagationWaitSeconds": v}));
            assert_eq!(p.propagation_wait, Duration::from_secs(900));
        }
    }

    #[test]
    fn removal_policy_is_case_insensitive() {
        for v in ["delete", "DELETE", "Delete"] {
            let p = ok(json!({"AWSServiceName": "ecs.amazonaws.com", "RemovalPolicy": v}));
            assert_eq!(p.removal_policy, RemovalPolicy::Delete);
        }
        let p = ok(json!({"AWSServiceName": "ecs.amazonaws.com", "RemovalPolicy": "retain"}));
        assert_eq!(p.removal_policy, RemovalPolicy::Retain);
    }

    #[test]
    fn same_alias_twice_with_the_same_value_is_fine() {
        let p = ok(
            json!({"AWSServiceName": "ecs.amazonaws.com", "awsServiceName": "ecs.amazonaws.com",
                          "PropagationWaitSeconds": "5", "waitTimeSeconds": 5}),
        );
        assert_eq!(p.propagation_wait, Duration::from_secs(5));
    }

    #[test]
    fn bad_values_name_the_property_and_what_is_accepted() {
        let cases = [
            (json!({}), "AWSServiceName is required"),
            (json!({"AWSServiceName": ""}), "AWSServiceName is empty"),
            (
                json!({"AWSServiceName": null}),
                "AWSServiceName is required",
            ),
            (
                json!({"AWSServiceName": ["ecs.amazonaws.com"]}),
                "AWSServiceName is a list; it must be a single value",
            ),
            (
                json!({"AWSServiceName": {"a": 1}}),
                "AWSServiceName is an object",
            ),
            (
                json!({"AWSServiceName": "ecs amazonaws"}),
                "AWSServiceName \"ecs amazonaws\" contains ' '; only letters, digits and +=,.@_- are allowed",
            ),
            (
                json!({"AWSServiceName": "ecs.amazonaws.cöm"}),
                "contains 'ö'",
            ),
            (
                json!({"AWSServiceName": "a".repeat(129)}),
                "AWSServiceName is 129 characters long; at most 128",
            ),
            (
                json!({"AWSServiceName": "ecs.amazonaws.com", "CustomSuffix": ""}),
                "CustomSuffix is empty; omit it",
            ),
            (
                json!({"AWSServiceName": "ecs.amazonaws.com", "CustomSuffix": "a/b"}),
                "CustomSuffix \"a/b\" contains '/'",
            ),
            (
                json!({"AWSServiceName": "ecs.amazonaws.com", "customSuffix": "s".repeat(65)}),
                "CustomSuffix is 65 characters long; at most 64",
            ),
            (
                json!({"AWSServiceName": "ecs.amazonaws.com", "Description": ""}),
                "Description is empty",
            ),
            (
                json!({"AWSServiceName": "ecs.amazonaws.com", "Description": "x".repeat(1001)}),
                "Description is 1001 characters long",
            ),
            (
                json!({"AWSServiceName": "ecs.amazonaws.com", "Description": "emoji 🚀"}),
                "Description contains '🚀'",
            ),
            (
                json!({"AWSServiceName": "ecs.amazonaws.com", "PropagationWaitSeconds": "-1"}),
                "PropagationWaitSeconds must be a whole number of seconds from 0 to 900, got \"-1\"",
            ),
            (
                json!({"AWSServiceName": "ecs.amazonaws.com", "PropagationWaitSeconds": -1}),
                "got \"-1\"",
            ),
            (
                json!({"AWSServiceName": "ecs.amazonaws.com", "PropagationWaitSeconds": "soon"}),
                "got \"soon\"",
            ),
            (
                json!({"AWSServiceName": "ecs.amazonaws.com", "PropagationWaitSeconds": "1.5"}),
                "got \"1.5\"",
            ),
            (
                json!({"AWSServiceName": "ecs.amazonaws.com", "PropagationWaitSeconds": 901}),
                "got \"901\"",
            ),
            (
                json!({"AWSServiceName": "ecs.amazonaws.com", "waitTimeSeconds": true}),
                "got \"true\"",
            ),
            (
                json!({"AWSServiceName": "ecs.amazonaws.com", "RemovalPolicy": "Destroy"}),
                "RemovalPolicy must be Retain or Delete, got \"Destroy\"",
            ),
            (
                json!({"AWSServiceName": "ecs.amazonaws.com", "RemovalPolicy": ["Delete"]}),
                "RemovalPolicy is a list",
            ),
            (
                json!({"AWSServiceName": "ecs.amazonaws.com", "awsServiceName": "eks.amazonaws.com"}),
                "AWSServiceName and awsServiceName are aliases but have different values (\"ecs.amazonaws.com\" and \"eks.amazonaws.com\"); give one",
            ),
            (
                json!({"AWSServiceName": "ecs.amazonaws.com", "PropagationWaitSeconds": "5", "waitTimeSeconds": "6"}),
                "PropagationWaitSeconds and waitTimeSeconds are aliases but have different values",
            ),
        ];
        for (props, expected) in cases {
            let e = err(props.clone());
            assert!(
                e.contains(expected),
                "{props}: {e:?} should contain {expected:?}"
            );
        }
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let e = err(
            json!({"CustomSuffix": "", "PropagationWaitSeconds": "x", "RemovalPolicy": "never"}),
        );
        for part in [
            "AWSServiceName is required",
            "CustomSuffix is empty",
            "PropagationWaitSeconds",
            "RemovalPolicy",
        ] {
            assert!(e.contains(part), "{e}");
        }
    }

    #[test]
    fn properties_that_are_not_an_object() {
        for (raw, kind) in [
            (json!("ecs"), "a string"),
            (json!([1, 2]), "a list"),
            (json!(3), "a number"),
        ] {
            let e = parse(Some(&raw)).unwrap_err();
            assert_eq!(
                e,
                format!("ResourceProperties is {kind}; it must be an object of properties")
            );
        }
        assert!(
            parse(None)
                .unwrap_err()
                .contains("AWSServiceName is required")
        );
        assert!(
            parse(Some(&Value::Null))
                .unwrap_err()
                .contains("AWSServiceName is required")
        );
    }

    #[test]
    fn removal_policy_alone_for_deletes() {
        assert_eq!(parse_removal_policy(None), Ok(RemovalPolicy::Retain));
        let props = json!({"RemovalPolicy": "delete", "AWSServiceName": ""});
        assert_eq!(
            parse_removal_policy(Some(&props)),
            Ok(RemovalPolicy::Delete)
        );
        let props = json!({"RemovalPolicy": "sometimes"});
        assert!(
            parse_removal_policy(Some(&props))
                .unwrap_err()
                .starts_with("RemovalPolicy must be")
        );
    }

    #[test]
    fn identity_is_service_and_suffix_case_insensitively() {
        let a = ok(
            json!({"AWSServiceName": "autoscaling.amazonaws.com", "CustomSuffix": "x", "Description": "a"}),
        );
        let b = ok(
            json!({"AWSServiceName": "AutoScaling.amazonaws.com", "CustomSuffix": "X", "PropagationWaitSeconds": 1}),
        );
        let c = ok(json!({"AWSServiceName": "autoscaling.amazonaws.com"}));
        assert!(a.same_role_as(&b));
        assert!(!a.same_role_as(&c));
    }
}
