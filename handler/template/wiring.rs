//! Writing the template: the roles added, and each needing resource made to wait for its role.

use crate::reason::json_type;
use serde_json::{Map, Value, json};

/// `UpsertSlrECS` for AWSServiceRoleForECS; a number is added when the template has it.
pub(crate) fn free_logical_id(resources: &Map<String, Value>, role_name: &str) -> String {
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

/// The `Condition` every resource waiting for the role has, if they all have the same one: the
/// role is then made only when they are.
pub(crate) fn shared_condition(
    resources: &Map<String, Value>,
    waiting: &[&String],
) -> Option<Value> {
    let mut conditions = waiting
        .iter()
        .map(|id| resources[id.as_str()].get("Condition"));
    let first = conditions.next()??;
    conditions
        .all(|c| c == Some(first))
        .then(|| first.clone())
        .filter(Value::is_string)
}

pub(crate) fn depends_on(resource: &Value) -> Vec<&str> {
    match resource.get("DependsOn") {
        Some(Value::String(one)) => vec![one.as_str()],
        Some(Value::Array(many)) => many.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// Makes `needer` depend on `target`, merged with what it already depends on. False when it
/// already did.
pub(crate) fn add_dependency(
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
