//! The CloudFormation macro protocol, when this function backs an `AWS::CloudFormation::Macro`:
//! the event (`fragment`, `requestId`, `params`, `templateParameterValues`), the transform, and
//! the answer, `{requestId, status: "success", fragment}` or `{requestId, status: "failure",
//! errorMessage}`.
//!
//! The transform adds a `Custom::ServiceLinkedRole` for each service whose role the template's
//! resources need (`needs`), served by this same function, and makes each such resource
//! `DependsOn` it. It is pure: no AWS call, and the same event always gives the same answer.
//! Every event gets an answer; a malformed one a failure that says what is wrong.

use crate::config::{LambdaArn, Settings};
use crate::needs::{self, Row, Verdict};
use crate::reason::{cut, json_type, quoted};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::panic::{AssertUnwindSafe, catch_unwind};

/// Where a template names its options for the macro (params cannot be given to a macro named
/// in the `Transform` section): `Metadata: {UpsertSlr: {Exclude: [...]}}`.
pub const METADATA_KEY: &str = "UpsertSlr";
/// Added to the function's timeout for the roles' ServiceTimeout, as the CDK library does.
const SERVICE_TIMEOUT_MARGIN: u64 = 300;
const MAX_SERVICE_TIMEOUT: u64 = 3600;
/// Lambda's longest timeout, assumed when the function was not told its own.
const MAX_FUNCTION_TIMEOUT: u64 = 900;
const MAX_ERROR_BYTES: usize = 2000;
/// The types that declare a service-linked role: one of them in the template means the macro
/// adds none for that service.
const ROLE_TYPES: [&str; 3] = [
    "Custom::ServiceLinkedRole",
    "AWS::CloudFormation::CustomResource",
    "AWS::IAM::ServiceLinkedRole",
];

/// Whether `payload` is a macro event. CloudFormation's custom resource requests and CDK's
/// Provider events always carry `RequestType`; a macro event carries `fragment` instead.
pub fn is_macro_event(payload: &Value) -> bool {
    payload.as_object().is_some_and(|o| {
        (o.contains_key("fragment") || o.contains_key("transformId"))
            && !o.contains_key("RequestType")
            && !o.contains_key("ResponseURL")
    })
}

/// What the function knows about itself that the added roles need.
#[derive(Clone, Copy, Debug)]
pub struct Itself<'a> {
    /// The invoked function's ARN (possibly qualified).
    pub function_arn: &'a str,
    pub settings: &'a Settings,
}

/// The outcome of one macro event, for the answer and the log line.
#[derive(Debug, PartialEq)]
pub struct Transformed {
    pub request_id: String,
    pub transform_id: String,
    pub result: Result<Done, String>,
}

#[derive(Debug, PartialEq)]
pub struct Done {
    pub fragment: Value,
    /// Logical ids of the roles added, and the resources made to depend on a role.
    pub added: Vec<String>,
    pub wired: Vec<String>,
}

impl Transformed {
    /// The invocation's result, as CloudFormation reads it.
    pub fn answer(&self) -> Value {
        match &self.result {
            Ok(done) => json!({
                "requestId": self.request_id,
                "status": "success",
                "fragment": done.fragment,
            }),
            // CloudFormation shows it as "Transform <transformId> failed with: <errorMessage>.".
            Err(message) => json!({
                "requestId": self.request_id,
                "status": "failure",
                "errorMessage": cut(message, MAX_ERROR_BYTES),
            }),
        }
    }
}

/// Reads and transforms one macro event. Never panics: a panic becomes a failure.
pub fn transform(event: &Value, itself: Itself) -> Transformed {
    let text = |key: &str| {
        event
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let (request_id, transform_id) = (text("requestId"), text("transformId"));
    let result = catch_unwind(AssertUnwindSafe(|| run(event, itself))).unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        Err(format!("internal error: {message}"))
    });
    Transformed {
        request_id,
        transform_id,
        result,
    }
}

fn run(event: &Value, itself: Itself) -> Result<Done, String> {
    let event = event
        .as_object()
        .ok_or_else(|| format!("the event is {}, not a JSON object", json_type(event)))?;
    match event.get("requestId") {
        Some(Value::String(id)) if !id.is_empty() => {}
        Some(Value::String(_)) => return Err("requestId is empty".into()),
        Some(other) => return Err(format!("requestId is {}, not a string", json_type(other))),
        None => return Err("requestId is missing".into()),
    }
    if let Some(problem) = &itself.settings.problem {
        return Err(format!("the function's settings are unusable: {problem}"));
    }
    let rows = needs::table().map_err(|e| format!("internal error: {e}"))?;
    let token = service_token(itself.function_arn)?;
    let timeout = itself
        .settings
        .function_timeout_seconds
        .unwrap_or(MAX_FUNCTION_TIMEOUT)
        .saturating_add(SERVICE_TIMEOUT_MARGIN)
        .min(MAX_SERVICE_TIMEOUT);

    let parameters = match event.get("templateParameterValues") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(values)) => values.clone(),
        Some(other) => {
            return Err(format!(
                "templateParameterValues is {}, not an object",
                json_type(other)
            ));
        }
    };
    let mut fragment = match event.get("fragment") {
        Some(Value::Object(fragment)) => fragment.clone(),
        Some(other) => {
            return Err(format!(
                "fragment is {}, not a template (a JSON object)",
                json_type(other)
            ));
        }
        None => return Err("fragment is missing".into()),
    };

    let mut options = Options::default();
    read_options(event.get("params"), "params", rows, &mut options)?;
    // The whole template, or (Fn::Transform in the Resources section) the resources alone.
    let whole_template = fragment.contains_key("Resources");
    let resources = if whole_template {
        let metadata = fragment
            .get("Metadata")
            .and_then(|m| m.as_object())
            .and_then(|m| m.get(METADATA_KEY));
        read_options(metadata, "Metadata.UpsertSlr", rows, &mut options)?;
        match fragment.get_mut("Resources") {
            Some(Value::Object(resources)) => resources,
            other => {
                return Err(format!(
                    "fragment.Resources is {}, not an object",
                    other.map_or("missing", |v| json_type(v))
                ));
            }
        }
    } else {
        if fragment.is_empty() || !fragment.values().all(|r| r.get("Type").is_some()) {
            return Err(
                "the fragment has no Resources: name the macro in the template's \
                Transform section, or in Fn::Transform directly under Resources"
                    .into(),
            );
        }
        &mut fragment
    };
    let prefix = if whole_template { "Resources." } else { "" };

    let plan = plan(resources, rows, &parameters, &options.exclude, prefix)?;
    let not_allowed: Vec<&str> = plan
        .iter()
        .map(|(row, _)| row.service.as_str())
        .filter(|service| !itself.settings.allows_service(service))
        .collect();
    if !not_allowed.is_empty() {
        return Err(format!(
            "the template needs the roles of {}, which this function may not create \
             (its AllowedServices); exclude them with Exclude, or allow them",
            not_allowed.join(", ")
        ));
    }
    let existing = declared_roles(resources, &parameters, prefix)?;

    let mut done = Done {
        fragment: Value::Null,
        added: Vec::new(),
        wired: Vec::new(),
    };
    for (row, needers) in &plan {
        let target = match existing.get(&row.service.to_ascii_lowercase()) {
            Some(declared) => match resources[declared].get("Condition") {
                // A DependsOn on a resource that its condition may leave out is an error.
                Some(_) => continue,
                None => declared.clone(),
            },
            None => {
                let id = free_logical_id(resources, &row.role_name);
                let mut role = json!({
                    "Type": "Custom::ServiceLinkedRole",
                    "Properties": {
                        "ServiceToken": token,
                        "ServiceTimeout": timeout,
                        "AWSServiceName": row.service,
                    },
                });
                if let Some(wait) = options.wait {
                    role["Properties"]["PropagationWaitSeconds"] = json!(wait);
                }
                if let Some(condition) = shared_condition(resources, needers) {
                    role["Condition"] = condition;
                }
                resources.insert(id.clone(), role);
                done.added.push(id.clone());
                id
            }
        };
        for needer in needers {
            if depends_on(&resources[&target]).contains(&needer.as_str()) {
                continue; // that role waits for this resource: the user chose the order
            }
            if add_dependency(resources, needer, &target, prefix)? {
                done.wired.push(needer.clone());
            }
        }
    }
    done.wired.sort();
    done.wired.dedup();
    done.fragment = Value::Object(fragment);
    Ok(done)
}

/// The function's ARN without its qualifier: CloudFormation stores the ServiceToken, and a
/// version or alias in it would pin the roles to that version.
fn service_token(arn: &str) -> Result<String, String> {
    LambdaArn::parse(arn)
        .map(|own| own.unqualified())
        .ok_or_else(|| {
            format!(
                "the invocation's function ARN {} is not a Lambda function ARN; the roles this \
                 macro adds need it as their ServiceToken",
                quoted(arn)
            )
        })
}

/// What a template asks of the macro, from params and from its metadata.
#[derive(Debug, Default)]
struct Options {
    /// Lowercased services whose role is not added.
    exclude: BTreeSet<String>,
    /// The roles' PropagationWaitSeconds, when not the default.
    wait: Option<u64>,
}

/// Reads `options` (params, or the template's metadata) into `into`. Lenient in form (a list
/// or a comma-separated string; any case; a service principal or a role name; a number or a
/// numeric string), strict in content: an unknown key, a name no row has or a wait out of range
/// is refused.
fn read_options(
    options: Option<&Value>,
    at: &str,
    rows: &[Row],
    into: &mut Options,
) -> Result<(), String> {
    let options = match options {
        None | Some(Value::Null) => return Ok(()),
        Some(Value::Object(options)) => options,
        Some(other) => return Err(format!("{at} is {}, not an object", json_type(other))),
    };
    for (key, value) in options {
        if key.eq_ignore_ascii_case("PropagationWaitSeconds") {
            let wait = match value {
                Value::Number(n) => n.as_u64(),
                Value::String(s) => s.trim().parse::<u64>().ok(),
                _ => None,
            };
            match wait {
                Some(wait @ 0..=900) if into.wait.is_none_or(|w| w == wait) => {
                    into.wait = Some(wait)
                }
                Some(wait @ 0..=900) => {
                    return Err(format!(
                        "{at}.{key} is {wait}, but {} was given already",
                        into.wait.unwrap_or_default()
                    ));
                }
                _ => {
                    return Err(format!(
                        "{at}.{key} is {}, not a number of seconds from 0 to 900",
                        cut(&value.to_string(), 64)
                    ));
                }
            }
            continue;
        }
        if !key.eq_ignore_ascii_case("Exclude") {
            return Err(format!(
                "{at} has the unknown key {}; the macro reads Exclude (services whose role it \
                 must not add) and PropagationWaitSeconds (the roles' wait)",
                quoted(key)
            ));
        }
        let names: Vec<(String, &str)> = match value {
            Value::Null => Vec::new(),
            Value::String(list) => list
                .split(',')
                .map(|n| (format!("{at}.{key}"), n))
                .collect(),
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, item)| match item {
                    Value::String(name) => Ok((format!("{at}.{key}[{i}]"), name.as_str())),
                    other => Err(format!(
                        "{at}.{key}[{i}] is {}, not a service name",
                        json_type(other)
                    )),
                })
                .collect::<Result<_, _>>()?,
            other => {
                return Err(format!(
                    "{at}.{key} is {}, not a list of service names or a comma-separated string",
                    json_type(other)
                ));
            }
        };
        for (where_, name) in names {
            let name = name.trim();
            if name.is_empty() {
                continue;
            }
            let row = rows.iter().find(|r| {
                r.service.eq_ignore_ascii_case(name) || r.role_name.eq_ignore_ascii_case(name)
            });
            match row {
                Some(row) => into.exclude.insert(row.service.to_ascii_lowercase()),
                None => {
                    return Err(format!(
                        "{where_}: {} is not a service (or role name) this macro adds roles for",
                        quoted(name)
                    ));
                }
            };
        }
    }
    Ok(())
}

/// For each service whose role is needed (in the order of the services' names), its first
/// row and the resources that need it (in the order of their logical ids).
fn plan<'r>(
    resources: &Map<String, Value>,
    rows: &'r [Row],
    parameters: &Map<String, Value>,
    exclude: &BTreeSet<String>,
    prefix: &str,
) -> Result<Vec<(&'r Row, Vec<String>)>, String> {
    let mut by_service: BTreeMap<String, (&'r Row, Vec<String>)> = BTreeMap::new();
    for (id, resource) in resources {
        let (kind, properties) = resource_parts(id, resource, prefix)?;
        for row in rows.iter().filter(|r| r.resource_type == kind) {
            let service = row.service.to_ascii_lowercase();
            if exclude.contains(&service) {
                continue;
            }
            // Undecided: added anyway, since a role that turns out not to be needed is only
            // adopted or created, never harmful.
            if row.verdict(properties, parameters) == Verdict::Fails {
                continue;
            }
            let entry = by_service.entry(service).or_insert((row, Vec::new()));
            if !entry.1.contains(id) {
                entry.1.push(id.clone());
            }
        }
    }
    Ok(by_service.into_values().collect())
}

/// A resource's Properties; None when it has none.
type Properties<'a> = Option<&'a Map<String, Value>>;

fn resource_parts<'a>(
    id: &str,
    resource: &'a Value,
    prefix: &str,
) -> Result<(&'a str, Properties<'a>), String> {
    let resource = resource
        .as_object()
        .ok_or_else(|| format!("{prefix}{id} is {}, not a resource", json_type(resource)))?;
    let kind = match resource.get("Type") {
        Some(Value::String(kind)) => kind.as_str(),
        Some(other) => {
            return Err(format!(
                "{prefix}{id}.Type is {}, not a string",
                json_type(other)
            ));
        }
        None => return Err(format!("{prefix}{id} has no Type")),
    };
    let properties = match resource.get("Properties") {
        None | Some(Value::Null) => None,
        Some(Value::Object(properties)) => Some(properties),
        Some(other) => {
            return Err(format!(
                "{prefix}{id}.Properties is {}, not an object",
                json_type(other)
            ));
        }
    };
    Ok((kind, properties))
}

/// The role each service already has in the template (lowercased service → logical id).
fn declared_roles(
    resources: &Map<String, Value>,
    parameters: &Map<String, Value>,
    prefix: &str,
) -> Result<BTreeMap<String, String>, String> {
    let mut declared = BTreeMap::new();
    for (id, resource) in resources {
        let (kind, properties) = resource_parts(id, resource, prefix)?;
        if !ROLE_TYPES.contains(&kind) {
            continue;
        }
        let service = ["AWSServiceName", "awsServiceName"]
            .iter()
            .find_map(|key| properties.and_then(|p| p.get(*key)))
            .and_then(|value| match needs::intrinsic(value) {
                Some(("Ref", Value::String(name))) => parameters.get(name),
                _ => Some(value),
            })
            .and_then(Value::as_str);
        if let Some(service) = service {
            declared
                .entry(service.trim().to_ascii_lowercase())
                .or_insert_with(|| id.clone());
        }
    }
    Ok(declared)
}

/// `UpsertSlrECS` for AWSServiceRoleForECS; a number is added when the template has it.
fn free_logical_id(resources: &Map<String, Value>, role_name: &str) -> String {
    let stem: String = role_name
        .strip_prefix("AWSServiceRoleFor")
        .unwrap_or(role_name)
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    let base = format!("UpsertSlr{stem}");
    (1..)
        .map(|n| {
            if n == 1 {
                base.clone()
            } else {
                format!("{base}{n}")
            }
        })
        .find(|id| !resources.contains_key(id))
        .unwrap_or(base)
}

/// The `Condition` every needing resource has, if they all have the same one: the role is then
/// made only when they are.
fn shared_condition(resources: &Map<String, Value>, needers: &[String]) -> Option<Value> {
    let mut conditions = needers.iter().map(|id| resources[id].get("Condition"));
    let first = conditions.next()??;
    conditions
        .all(|c| c == Some(first))
        .then(|| first.clone())
        .filter(Value::is_string)
}

fn depends_on(resource: &Value) -> Vec<&str> {
    match resource.get("DependsOn") {
        Some(Value::String(one)) => vec![one.as_str()],
        Some(Value::Array(many)) => many.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// Makes `needer` depend on `target`, merged with what it already depends on. False when it
/// already did.
fn add_dependency(
    resources: &mut Map<String, Value>,
    needer: &str,
    target: &str,
    prefix: &str,
) -> Result<bool, String> {
    let Some(Value::Object(resource)) = resources.get_mut(needer) else {
        return Ok(false);
    };
    let merged = match resource.remove("DependsOn") {
        None | Some(Value::Null) => Value::String(target.to_string()),
        Some(Value::String(one)) if one == target => {
            resource.insert("DependsOn".into(), Value::String(one));
            return Ok(false);
        }
        Some(Value::String(one)) => json!([one, target]),
        Some(Value::Array(mut many)) => {
            if let Some((i, bad)) = many.iter().enumerate().find(|(_, d)| !d.is_string()) {
                return Err(format!(
                    "{prefix}{needer}.DependsOn[{i}] is {}, not a logical id",
                    json_type(bad)
                ));
            }
            let already = many.iter().any(|d| d == target);
            if !already {
                many.push(Value::String(target.to_string()));
            }
            resource.insert("DependsOn".into(), Value::Array(many));
            return Ok(!already);
        }
        Some(other) => {
            return Err(format!(
                "{prefix}{needer}.DependsOn is {}, not a logical id or a list of them",
                json_type(&other)
            ));
        }
    };
    resource.insert("DependsOn".into(), merged);
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

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

    fn run_with(event: &Value, settings: &Settings, arn: &str) -> Result<Done, String> {
        transform(
            event,
            Itself {
                function_arn: arn,
                settings,
            },
        )
        .result
    }

    fn ok(event: &Value) -> Done {
        run_with(event, &settings(&[]), ARN).unwrap()
    }

    fn err(event: &Value) -> String {
        run_with(event, &settings(&[]), ARN).unwrap_err()
    }

    fn template(resources: Value) -> Value {
        json!({"AWSTemplateFormatVersion": "2010-09-09", "Resources": resources})
    }

    #[test]
    fn macro_events_are_told_from_custom_resource_requests() {
        assert!(is_macro_event(&event(json!({}), json!({}))));
        assert!(is_macro_event(&json!({"transformId": "x"})));
        assert!(!is_macro_event(
            &json!({"RequestType": "Create", "fragment": {}})
        ));
        assert!(!is_macro_event(
            &json!({"ResponseURL": "u", "fragment": {}})
        ));
        assert!(!is_macro_event(&json!(["fragment"])));
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
            13
        );
        assert_eq!(r["T"]["DependsOn"].as_array().unwrap().len(), 13);
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
        .answer();
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
