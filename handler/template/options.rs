//! What a template asks of the macro: its options, from the macro's params and from the
//! template's metadata.

use crate::needs::Row;
use crate::reason::{cut, json_type, quoted};
use serde_json::Value;
use std::collections::BTreeSet;

/// What a template asks of the macro, from params and from its metadata.
#[derive(Debug, Default)]
pub(crate) struct Options {
    /// Lowercased services whose role is not added.
    pub(crate) exclude: BTreeSet<String>,
    /// The roles' PropagationWaitSeconds, when not the default.
    pub(crate) wait: Option<u64>,
}

/// Reads `options` (params, or the template's metadata) into `into`. Lenient in form (a list
/// or a comma-separated string; any case; a service principal or a role name; a number or a
/// numeric string), strict in content: an unknown key, a name no row has or a wait out of range
/// is refused.
pub(crate) fn read_options(
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
