//! What the macro does to a template, pure: for each service whose role the template's
//! resources need (the `needs` table), a `Custom::ServiceLinkedRole` served by this same
//! function is added, unless the template declares one, and each
//! needing resource, and each resource of the table's dependent types, is made to `DependsOn`
//! it. No AWS call: the same fragment always gives the same template.
//!
//! `plan` reads the template, `options` what it asks of the macro, `wiring` writes the roles
//! and the dependencies.

mod options;
mod plan;
mod wiring;

use crate::config::{LambdaArn, Settings};
use crate::needs;
use crate::reason::{json_type, quoted};
use options::{Options, read_options};
use plan::{declared_roles, plan};
use serde_json::{Map, Value, json};
use wiring::{add_dependency, depends_on, free_logical_id, shared_condition};

/// Where a template names its options for the macro (params cannot be given to a macro named
/// in the `Transform` section): `Metadata: {UpsertSlr: {Exclude: [...]}}`.
pub const METADATA_KEY: &str = "UpsertSlr";
/// Added to the function's timeout for the roles' ServiceTimeout, as the CDK library does.
const SERVICE_TIMEOUT_MARGIN: u64 = 300;
const MAX_SERVICE_TIMEOUT: u64 = 3600;
/// Lambda's longest timeout, assumed when the function was not told its own.
const MAX_FUNCTION_TIMEOUT: u64 = 900;

/// What the function knows about itself that the added roles need.
#[derive(Clone, Copy, Debug)]
pub struct Itself<'a> {
    /// The invoked function's ARN (possibly qualified).
    pub function_arn: &'a str,
    pub settings: &'a Settings,
}

/// A template, or its Resources section, and what the macro was given with it.
#[derive(Clone, Debug)]
pub struct Fragment<'a> {
    pub fragment: Map<String, Value>,
    /// The macro's params (`Fn::Transform`'s Parameters), unread.
    pub params: Option<&'a Value>,
    /// The template's parameter values, which a `Ref` in a condition reads.
    pub parameters: Map<String, Value>,
}

/// The template with the roles it needs.
#[derive(Debug, PartialEq)]
pub struct Transformed {
    pub fragment: Value,
    /// Logical ids of the roles added, and the resources made to depend on a role.
    pub added: Vec<String>,
    pub wired: Vec<String>,
}

/// Adds the roles `input`'s resources need, or says why it cannot.
pub fn add_roles(mut input: Fragment<'_>, itself: Itself<'_>) -> Result<Transformed, String> {
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

    let mut options = Options::default();
    read_options(input.params, "params", rows, &mut options)?;
    // The whole template, or (Fn::Transform in the Resources section) the resources alone.
    let whole_template = input.fragment.contains_key("Resources");
    let resources = if whole_template {
        let metadata = input
            .fragment
            .get("Metadata")
            .and_then(|m| m.as_object())
            .and_then(|m| m.get(METADATA_KEY));
        read_options(metadata, "Metadata.UpsertSlr", rows, &mut options)?;
        match input.fragment.get_mut("Resources") {
            Some(Value::Object(resources)) => resources,
            other => {
                return Err(format!(
                    "fragment.Resources is {}, not an object",
                    other.map_or("missing", |v| json_type(v))
                ));
            }
        }
    } else {
        if input.fragment.is_empty() || !input.fragment.values().all(|r| r.get("Type").is_some()) {
            return Err(
                "the fragment has no Resources: name the macro in the template's \
                Transform section, or in Fn::Transform directly under Resources"
                    .into(),
            );
        }
        &mut input.fragment
    };
    let prefix = if whole_template { "Resources." } else { "" };

    let plan = plan(resources, rows, &input.parameters, &options.exclude, prefix)?;
    let not_allowed: Vec<&str> = plan
        .iter()
        .map(|need| need.row.service.as_str())
        .filter(|service| !itself.settings.allows_service(service))
        .collect();
    if !not_allowed.is_empty() {
        return Err(format!(
            "the template needs the roles of {}, which this function may not create \
             (its AllowedServices); exclude them with Exclude, or allow them",
            not_allowed.join(", ")
        ));
    }
    // The roles declared, and then those added, by lowercased service.
    let mut existing = declared_roles(resources, &input.parameters, prefix)?;

    let mut done = Transformed {
        fragment: Value::Null,
        added: Vec::new(),
        wired: Vec::new(),
    };
    for need in &plan {
        let waiting: Vec<&String> = need.needers.iter().chain(&need.dependents).collect();
        let service = need.row.service.to_ascii_lowercase();
        // A role the table says serves instead (the legacy Elasticsearch role for OpenSearch),
        // declared or added already: the function adopts that one for either service anyway.
        let instead = || {
            need.row.satisfied_by.iter().find_map(|a| {
                existing
                    .get(&a.service.to_ascii_lowercase())
                    .filter(|id| resources[id.as_str()].get("Condition").is_none())
            })
        };
        let target = match existing.get(&service).or_else(instead) {
            Some(declared) => match resources[declared].get("Condition") {
                // A DependsOn on a resource that its condition may leave out is an error.
                Some(_) => continue,
                None => declared.clone(),
            },
            None => {
                let row = need.row;
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
                if let Some(condition) = shared_condition(resources, &waiting) {
                    role["Condition"] = condition;
                }
                resources.insert(id.clone(), role);
                done.added.push(id.clone());
                existing.insert(service, id.clone());
                id
            }
        };
        for needer in waiting {
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
    done.fragment = Value::Object(input.fragment);
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
