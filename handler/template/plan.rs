//! Reading the template: which resources need which service's role, and which roles it
//! declares already.

use crate::needs::{self, Row, Verdict};
use crate::reason::json_type;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// The types that declare a service-linked role: one of them in the template means the macro
/// adds none for that service.
const ROLE_TYPES: [&str; 3] = [
    "Custom::ServiceLinkedRole",
    "AWS::CloudFormation::CustomResource",
    "AWS::IAM::ServiceLinkedRole",
];

/// A service whose role the template needs.
#[derive(Debug)]
pub(crate) struct Need<'r> {
    /// The first row that applies: its service and role name.
    pub(crate) row: &'r Row,
    /// The resources that need the role (in the order of their logical ids).
    pub(crate) needers: Vec<String>,
    /// The resources of the service's `dependents` types that are not needers: they wait for
    /// the role too.
    pub(crate) dependents: Vec<String>,
}

/// For each service whose role is needed (in the order of the services' names), what needs it.
pub(crate) fn plan<'r>(
    resources: &Map<String, Value>,
    rows: &'r [Row],
    parameters: &Map<String, Value>,
    exclude: &BTreeSet<String>,
    prefix: &str,
) -> Result<Vec<Need<'r>>, String> {
    let mut by_service: BTreeMap<String, Need<'r>> = BTreeMap::new();
    let mut kinds = BTreeMap::new();
    for (id, resource) in resources {
        let (kind, properties) = resource_parts(id, resource, prefix)?;
        kinds.insert(id.as_str(), kind);
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
            let need = by_service.entry(service).or_insert_with(|| Need {
                row,
                needers: Vec::new(),
                dependents: Vec::new(),
            });
            if !need.needers.contains(id) {
                need.needers.push(id.clone());
            }
        }
    }
    for (service, need) in &mut by_service {
        let waiting: BTreeSet<&str> = rows
            .iter()
            .filter(|r| r.service.eq_ignore_ascii_case(service))
            .flat_map(|r| r.dependents.iter().map(String::as_str))
            .collect();
        need.dependents = kinds
            .iter()
            .filter(|(id, kind)| waiting.contains(*kind) && !need.needers.iter().any(|n| n == *id))
            .map(|(id, _)| id.to_string())
            .collect();
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
pub(crate) fn declared_roles(
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
