//! The table of which CloudFormation resources need which service-linked role
//! (`slr-needs.json` at the repository's root, built into the binary), and the reading of a
//! row's condition against one resource's properties.
//!
//! The table is data, not code, so that other consumers (the CDK library) read the same rows;
//! its `$comment` states the condition language, which this module implements.

use serde::Deserialize;
use serde_json::{Map, Value};
use std::sync::LazyLock;

/// The table as shipped.
pub const TABLE_JSON: &str = include_str!("../../slr-needs.json");

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TableFile {
    #[serde(rename = "$comment")]
    _comment: String,
    rows: Vec<Row>,
}

/// One row: a resource type needs `service`'s role when every clause of `when` holds.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Row {
    pub resource_type: String,
    #[serde(default)]
    pub when: Vec<Clause>,
    pub service: String,
    pub role_name: String,
    /// The AWS documentation page the row comes from.
    pub source: String,
}

/// A condition on one top-level property: `is` present/absent, or `oneOf` some strings.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Clause {
    pub property: String,
    #[serde(default)]
    pub is: Option<Presence>,
    #[serde(default, rename = "oneOf")]
    pub one_of: Option<Vec<String>>,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Presence {
    Present,
    Absent,
}

/// What a condition says about one resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Holds,
    Fails,
    /// The value is an intrinsic function whose result only the deployment knows.
    Undecided,
}

/// The rows, or why the shipped file cannot be read (a unit test keeps that from shipping).
pub fn table() -> Result<&'static [Row], &'static str> {
    static TABLE: LazyLock<Result<Vec<Row>, String>> = LazyLock::new(|| parse_table(TABLE_JSON));
    TABLE.as_deref().map_err(String::as_str)
}

pub fn parse_table(text: &str) -> Result<Vec<Row>, String> {
    let file: TableFile =
        serde_json::from_str(text).map_err(|e| format!("slr-needs.json is unreadable: {e}"))?;
    for row in &file.rows {
        for clause in &row.when {
            if clause.is.is_some() == clause.one_of.is_some() {
                return Err(format!(
                    "slr-needs.json: a clause of {} on {} needs exactly one of `is` and `oneOf`",
                    row.resource_type, clause.property
                ));
            }
        }
    }
    Ok(file.rows)
}

impl Row {
    /// Whether this row applies to a resource with `properties` (None: no Properties), where a
    /// `Ref` to a template parameter reads its value from `parameters`.
    pub fn verdict(
        &self,
        properties: Option<&Map<String, Value>>,
        parameters: &Map<String, Value>,
    ) -> Verdict {
        let mut verdict = Verdict::Holds;
        for clause in &self.when {
            match clause.verdict(properties, parameters) {
                Verdict::Fails => return Verdict::Fails,
                Verdict::Undecided => verdict = Verdict::Undecided,
                Verdict::Holds => {}
            }
        }
        verdict
    }
}

/// A property's value as far as the template alone tells it.
enum Seen<'a> {
    Absent,
    Known(&'a Value),
    Unknown,
}

fn look<'a>(
    properties: Option<&'a Map<String, Value>>,
    name: &str,
    parameters: &'a Map<String, Value>,
) -> Seen<'a> {
    let Some(value) = properties.and_then(|p| p.get(name)) else {
        return Seen::Absent;
    };
    match intrinsic(value) {
        None if value.is_null() => Seen::Absent,
        None => Seen::Known(value),
        Some(("Ref", Value::String(target))) if target == "AWS::NoValue" => Seen::Absent,
        Some(("Ref", Value::String(target))) => {
            parameters.get(target).map_or(Seen::Unknown, Seen::Known)
        }
        Some(_) => Seen::Unknown,
    }
}

/// `{"Ref": ..}` or `{"Fn::X": ..}`: the function's name and argument.
pub fn intrinsic(value: &Value) -> Option<(&str, &Value)> {
    let object = value.as_object().filter(|o| o.len() == 1)?;
    let (key, argument) = object.iter().next()?;
    (key == "Ref" || key.starts_with("Fn::")).then_some((key.as_str(), argument))
}

impl Clause {
    fn verdict(
        &self,
        properties: Option<&Map<String, Value>>,
        parameters: &Map<String, Value>,
    ) -> Verdict {
        let seen = look(properties, &self.property, parameters);
        let holds = match (&seen, self.is, &self.one_of) {
            (Seen::Unknown, _, _) => return Verdict::Undecided,
            (Seen::Absent, Some(presence), _) => presence == Presence::Absent,
            (Seen::Known(value), Some(presence), _) => {
                // An empty string asks the service for its default, as an omitted value does.
                let empty = value.as_str() == Some("");
                (presence == Presence::Absent) == empty
            }
            (Seen::Known(Value::String(given)), None, Some(allowed)) => allowed.contains(given),
            (_, None, _) => false,
        };
        if holds {
            Verdict::Holds
        } else {
            Verdict::Fails
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row(resource_type: &str) -> &'static Row {
        table()
            .unwrap()
            .iter()
            .find(|r| r.resource_type == resource_type)
            .unwrap()
    }

    fn verdict(row: &Row, properties: Value, parameters: Value) -> Verdict {
        row.verdict(properties.as_object(), parameters.as_object().unwrap())
    }

    #[test]
    fn the_shipped_table_reads_and_every_row_is_sourced() {
        let rows = table().unwrap();
        assert!(rows.len() >= 30, "{}", rows.len());
        for row in rows {
            assert!(
                row.source.starts_with("https://docs.aws.amazon.com/"),
                "{row:?}"
            );
            assert!(row.role_name.starts_with("AWSServiceRoleFor"), "{row:?}");
            assert!(row.service.ends_with(".amazonaws.com"), "{row:?}");
            assert!(row.resource_type.starts_with("AWS::"), "{row:?}");
        }
        let mut pairs: Vec<_> = rows
            .iter()
            .map(|r| (&r.resource_type, &r.service))
            .collect();
        let count = pairs.len();
        pairs.dedup();
        assert_eq!(
            pairs.len(),
            count,
            "a resource type lists one service twice"
        );
    }

    #[test]
    fn a_clause_with_both_or_neither_test_is_refused() {
        let text = |clause: &str| {
            format!(
                r#"{{"$comment": "", "rows": [{{"resourceType": "AWS::X::Y", "when": [{clause}],
              "service": "x.amazonaws.com", "roleName": "AWSServiceRoleForX", "source": "s"}}]}}"#
            )
        };
        assert!(parse_table(&text(r#"{"property": "P", "is": "present"}"#)).is_ok());
        for bad in [
            r#"{"property": "P"}"#,
            r#"{"property": "P", "is": "absent", "oneOf": []}"#,
        ] {
            assert!(
                parse_table(&text(bad)).unwrap_err().contains("exactly one"),
                "{bad}"
            );
        }
        assert!(parse_table(&text(r#"{"property": "P", "is": "maybe"}"#)).is_err());
        assert!(parse_table(r#"{"$comment": "", "rows": [], "extra": 1}"#).is_err());
    }

    #[test]
    fn presence_reads_no_value_null_and_empty_strings_as_absent() {
        let domain = row("AWS::OpenSearchService::Domain");
        let none = json!({});
        assert_eq!(
            verdict(
                domain,
                json!({"VPCOptions": {"SubnetIds": ["s"]}}),
                none.clone()
            ),
            Verdict::Holds
        );
        assert_eq!(
            verdict(
                domain,
                json!({"EngineVersion": "OpenSearch_2.11"}),
                none.clone()
            ),
            Verdict::Fails
        );
        assert_eq!(
            domain.verdict(None, none.as_object().unwrap()),
            Verdict::Fails
        );
        assert_eq!(
            verdict(domain, json!({"VPCOptions": null}), none.clone()),
            Verdict::Fails
        );
        assert_eq!(
            verdict(
                domain,
                json!({"VPCOptions": {"Ref": "AWS::NoValue"}}),
                none.clone()
            ),
            Verdict::Fails
        );
        let conditional = json!({"VPCOptions": {"Fn::If": ["InVpc", {"SubnetIds": ["s"]}, {"Ref": "AWS::NoValue"}]}});
        assert_eq!(verdict(domain, conditional, none), Verdict::Undecided);
    }

    #[test]
    fn batch_needs_managed_and_no_service_role() {
        let batch = row("AWS::Batch::ComputeEnvironment");
        let none = json!({});
        assert_eq!(
            verdict(batch, json!({"Type": "MANAGED"}), none.clone()),
            Verdict::Holds
        );
        assert_eq!(
            verdict(
                batch,
                json!({"Type": "MANAGED", "ServiceRole": ""}),
                none.clone()
            ),
            Verdict::Holds
        );
        assert_eq!(
            verdict(
                batch,
                json!({"Type": "MANAGED", "ServiceRole": "arn:aws:iam::1:role/b"}),
                none.clone()
            ),
            Verdict::Fails
        );
        assert_eq!(
            verdict(batch, json!({"Type": "UNMANAGED"}), none.clone()),
            Verdict::Fails
        );
        assert_eq!(
            verdict(
                batch,
                json!({"Type": "MANAGED", "ServiceRole": {"Fn::GetAtt": ["R", "Arn"]}}),
                none.clone()
            ),
            Verdict::Undecided
        );
        // One failing clause decides, even beside an undecided one.
        assert_eq!(
            verdict(
                batch,
                json!({"Type": "UNMANAGED", "ServiceRole": {"Ref": "Role"}}),
                none
            ),
            Verdict::Fails
        );
    }

    #[test]
    fn one_of_reads_template_parameters_through_ref() {
        let ecs = table()
            .unwrap()
            .iter()
            .find(|r| r.service == "ecs.application-autoscaling.amazonaws.com")
            .unwrap();
        let props = json!({"ServiceNamespace": {"Ref": "Namespace"}});
        assert_eq!(
            verdict(ecs, props.clone(), json!({"Namespace": "ecs"})),
            Verdict::Holds
        );
        assert_eq!(
            verdict(ecs, props.clone(), json!({"Namespace": "dynamodb"})),
            Verdict::Fails
        );
        assert_eq!(verdict(ecs, props, json!({})), Verdict::Undecided);
        assert_eq!(
            verdict(ecs, json!({"ServiceNamespace": 7}), json!({})),
            Verdict::Fails
        );
        assert_eq!(verdict(ecs, json!({}), json!({})), Verdict::Fails);
    }
}
