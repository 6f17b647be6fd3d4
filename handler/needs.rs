//! The table of which CloudFormation resources need which service-linked role
//! (`slr-needs.json` at the repository's root, built into the binary): its rows, checked as
//! they are read, and whether a row applies to one resource (`condition`).
//!
//! The table is data, not code, so that the CDK library's aspect reads the same rows; both
//! refuse a table that breaks the rules `parse_table` checks.

mod condition;
mod intrinsic;
mod text;

pub use condition::{Clause, Test, Verdict};
pub use intrinsic::intrinsic;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::sync::LazyLock;

/// The table as shipped.
pub const TABLE_JSON: &str = include_str!("../slr-needs.json");

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TableFile {
    #[serde(rename = "$comment")]
    _comment: String,
    rows: Vec<RowFile>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RowFile {
    resource_type: String,
    service: String,
    role_name: String,
    #[serde(default)]
    when: Vec<Value>,
    tier: Tier,
    source: String,
    #[serde(default)]
    principal_source: Option<String>,
    evidence: String,
    #[serde(default)]
    reports: Vec<Report>,
    #[serde(default)]
    dependents: Vec<String>,
    #[serde(default)]
    satisfied_by: Vec<Alternative>,
    #[serde(default)]
    note: Option<String>,
}

/// One row: a resource type needs `service`'s role when every clause of `when` holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    pub resource_type: String,
    pub service: String,
    pub role_name: String,
    pub when: Vec<Clause>,
    pub tier: Tier,
    /// The AWS documentation page the row rests on.
    pub source: String,
    /// Where the service principal comes from, when `source` does not print it.
    pub principal_source: Option<String>,
    pub evidence: String,
    /// Failures reported without the role.
    pub reports: Vec<Report>,
    /// Resource types made to wait for the role whenever it is added for the service.
    pub dependents: Vec<String>,
    /// Other roles that serve instead of this one.
    pub satisfied_by: Vec<Alternative>,
    pub note: Option<String>,
}

/// Why a row is in the table.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum Tier {
    /// The role must exist before the resource is created: a page says so, or a report shows
    /// a first deployment failing without it.
    MustExist,
    /// The service creates the role itself; the row guards against its use before IAM has
    /// propagated it.
    Propagation,
}

impl Tier {
    pub fn name(self) -> &'static str {
        match self {
            Tier::MustExist => "must-exist",
            Tier::Propagation => "propagation",
        }
    }
}

/// A public report of the failure: `owner/repo#N` and one line.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Report {
    #[serde(rename = "ref")]
    pub reference: String,
    pub summary: String,
}

/// A role that serves instead of a row's own.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Alternative {
    pub service: String,
    pub role_name: String,
}

/// The rows, or why the shipped file cannot be read (a unit test keeps that from shipping).
pub fn table() -> Result<&'static [Row], &'static str> {
    static TABLE: LazyLock<Result<Vec<Row>, String>> = LazyLock::new(|| parse_table(TABLE_JSON));
    TABLE.as_deref().map_err(String::as_str)
}

/// The roles that serve instead of `service`'s own, and the name of its own, when the table
/// says any do: a custom resource adopts whichever of them exists before it creates one.
pub fn serving_roles(service: &str) -> Option<(&'static str, &'static [Alternative])> {
    let row = table()
        .ok()?
        .iter()
        .find(|r| r.service.eq_ignore_ascii_case(service) && !r.satisfied_by.is_empty())?;
    Some((row.role_name.as_str(), row.satisfied_by.as_slice()))
}

/// The name IAM gives the service's role, when the table has a row for the service.
pub fn role_name_of(service: &str) -> Option<&'static str> {
    let row = table()
        .ok()?
        .iter()
        .find(|r| r.service.eq_ignore_ascii_case(service))?;
    Some(row.role_name.as_str())
}

/// Reads the table, refusing a row that breaks its rules.
pub fn parse_table(text: &str) -> Result<Vec<Row>, String> {
    let file: TableFile =
        serde_json::from_str(text).map_err(|e| format!("slr-needs.json is unreadable: {e}"))?;
    let mut rows = Vec::with_capacity(file.rows.len());
    for (i, raw) in file.rows.into_iter().enumerate() {
        let at = format!(
            "slr-needs.json: row {i} ({} {})",
            raw.resource_type, raw.service
        );
        let when = raw
            .when
            .iter()
            .map(Clause::parse)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("{at}: {e}"))?;
        let row = Row {
            resource_type: raw.resource_type,
            service: raw.service,
            role_name: raw.role_name,
            when,
            tier: raw.tier,
            source: raw.source,
            principal_source: raw.principal_source,
            evidence: raw.evidence,
            reports: raw.reports,
            dependents: raw.dependents,
            satisfied_by: raw.satisfied_by,
            note: raw.note,
        };
        check_row(&row).map_err(|e| format!("{at}: {e}"))?;
        rows.push(row);
    }
    check_table(&rows)?;
    Ok(rows)
}

fn check_row(row: &Row) -> Result<(), String> {
    let named = |what: &str, service: &str, role: &str| -> Result<(), String> {
        if !service.ends_with(".amazonaws.com") || service.len() <= ".amazonaws.com".len() {
            return Err(format!("{what} {service:?} is not a service principal"));
        }
        if !role.starts_with("AWSServiceRoleFor") {
            return Err(format!(
                "{what}'s role {role:?} is not a service-linked role's name"
            ));
        }
        Ok(())
    };
    if !row.resource_type.starts_with("AWS::") {
        return Err("resourceType is not an AWS:: type".into());
    }
    named("service", &row.service, &row.role_name)?;
    if !row.source.starts_with("https://docs.aws.amazon.com/") {
        return Err(format!(
            "source {:?} is not an AWS documentation page",
            row.source
        ));
    }
    if row.evidence.trim().is_empty() {
        return Err("evidence is empty".into());
    }
    for report in &row.reports {
        let (repository, number) = report.reference.split_once('#').unwrap_or_default();
        let repository_ok = repository.split('/').count() == 2
            && repository.split('/').all(|part| !part.is_empty());
        if !repository_ok || number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("report {:?} is not owner/repo#N", report.reference));
        }
        if report.summary.trim().is_empty() {
            return Err(format!("report {} has no summary", report.reference));
        }
    }
    if let Some(bad) = row.dependents.iter().find(|d| !d.starts_with("AWS::")) {
        return Err(format!("dependent {bad:?} is not an AWS:: type"));
    }
    for alternative in &row.satisfied_by {
        named("satisfiedBy", &alternative.service, &alternative.role_name)?;
        if alternative.service.eq_ignore_ascii_case(&row.service) {
            return Err("satisfiedBy names the row's own service".into());
        }
    }
    Ok(())
}

/// Across rows: a resource type lists a service once, and a service has one role name (so that
/// `Exclude` and the added role's logical id mean one role) and one list of roles serving
/// instead (so that which role a custom resource adopts does not depend on the rows' order).
fn check_table(rows: &[Row]) -> Result<(), String> {
    let mut pairs = BTreeMap::new();
    let mut names: BTreeMap<String, &str> = BTreeMap::new();
    let mut serving: BTreeMap<String, &[Alternative]> = BTreeMap::new();
    for row in rows {
        let instead = serving
            .entry(row.service.to_ascii_lowercase())
            .or_insert(row.satisfied_by.as_slice());
        if *instead != row.satisfied_by.as_slice() {
            return Err(format!(
                "slr-needs.json: {} has different satisfiedBy in different rows",
                row.service
            ));
        }
        let service = row.service.to_ascii_lowercase();
        if pairs
            .insert((row.resource_type.as_str(), service.clone()), ())
            .is_some()
        {
            return Err(format!(
                "slr-needs.json: {} lists {} twice",
                row.resource_type, row.service
            ));
        }
        let name = names.entry(service).or_insert(row.role_name.as_str());
        if *name != row.role_name {
            return Err(format!(
                "slr-needs.json: {} is named {name} and {} in different rows",
                row.service, row.role_name
            ));
        }
    }
    Ok(())
}

impl Row {
    /// Whether this row applies to a resource with `properties` (None: no Properties), where a
    /// `Ref` to a template parameter reads its value from `parameters`.
    pub fn verdict(
        &self,
        properties: Option<&Map<String, Value>>,
        parameters: &Map<String, Value>,
    ) -> Verdict {
        Verdict::all(self.when.iter().map(|c| c.verdict(properties, parameters)))
    }
}

/// A role one resource needs, as a Lambda Hook sees the resource: its properties resolved,
/// so a condition is decided (one that is not, which resolved properties should never give,
/// counts as needing the role, as in the macro).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NeededRole {
    pub service: String,
    pub role_name: String,
}

/// The roles a resource of `resource_type` with `properties` needs, in the order of their
/// services: the rows of its type that apply, and the role of every row that lists the type
/// among its `dependents` (created before that type, since its creation can need the role too).
pub fn roles_needed_by(
    rows: &[Row],
    resource_type: &str,
    properties: Option<&Map<String, Value>>,
) -> Vec<NeededRole> {
    let no_parameters = Map::new();
    let mut needed: Vec<NeededRole> = Vec::new();
    let applying = rows.iter().filter(|row| {
        (row.resource_type == resource_type
            && row.verdict(properties, &no_parameters) != Verdict::Fails)
            || row.dependents.iter().any(|d| d == resource_type)
    });
    for row in applying {
        if !needed
            .iter()
            .any(|n| n.service.eq_ignore_ascii_case(&row.service))
        {
            needed.push(NeededRole {
                service: row.service.clone(),
                role_name: row.role_name.clone(),
            });
        }
    }
    needed.sort_by_key(|n| n.service.to_ascii_lowercase());
    needed
}

/// Every resource type for which `roles_needed_by` can name a role: what a hook targets.
pub fn hook_target_types(rows: &[Row]) -> Vec<String> {
    let mut types: Vec<String> = rows
        .iter()
        .flat_map(|row| std::iter::once(&row.resource_type).chain(&row.dependents))
        .cloned()
        .collect();
    types.sort();
    types.dedup();
    types
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table_with(row: &str) -> Result<Vec<Row>, String> {
        parse_table(&format!(r#"{{"$comment": "", "rows": [{row}]}}"#))
    }

    fn row_with(extra: &str) -> String {
        format!(
            r#"{{"resourceType": "AWS::X::Y", "service": "x.amazonaws.com", "roleName": "AWSServiceRoleForX",
                "tier": "propagation", "source": "https://docs.aws.amazon.com/x.html", "evidence": "e"{extra}}}"#
        )
    }

    #[test]
    fn a_hook_target_needs_its_rows_roles_and_those_it_is_a_dependent_of() {
        let rows = table().unwrap();
        let redshift = roles_needed_by(rows, "AWS::Redshift::Cluster", Some(&Map::new()));
        assert_eq!(
            redshift,
            vec![NeededRole {
                service: "redshift.amazonaws.com".into(),
                role_name: "AWSServiceRoleForRedshift".into()
            }]
        );
        assert!(roles_needed_by(rows, "AWS::SNS::Topic", None).is_empty());
        let dependent = rows
            .iter()
            .find(|r| !r.dependents.is_empty())
            .expect("a row with dependents");
        let needed = roles_needed_by(rows, &dependent.dependents[0], None);
        assert!(
            needed.iter().any(|n| n.service == dependent.service),
            "{needed:?}"
        );
        let types = hook_target_types(rows);
        assert!(types.contains(&dependent.dependents[0]));
    }

    #[test]
    fn the_shipped_table_reads() {
        let rows = table().unwrap();
        assert!(rows.len() >= 70, "{}", rows.len());
        assert!(rows.iter().any(|r| r.tier == Tier::MustExist));
        assert!(rows.iter().any(|r| !r.dependents.is_empty()));
        assert!(rows.iter().any(|r| !r.satisfied_by.is_empty()));
    }

    #[test]
    fn a_malformed_clause_is_refused_with_its_row() {
        assert!(table_with(&row_with(r#", "when": [{"path": "P", "is": "present"}]"#)).is_ok());
        for (clause, says) in [
            (r#"{"path": "P"}"#, "exactly one"),
            (
                r#"{"path": "P", "is": "absent", "oneOf": ["a"]}"#,
                "exactly one",
            ),
            (r#"{"path": "P", "is": "maybe"}"#, "present or absent"),
            (r#"{"path": "P", "oneOf": []}"#, "non-empty list of strings"),
            (
                r#"{"path": "P", "oneOf": [1]}"#,
                "non-empty list of strings",
            ),
            (r#"{"path": "P", "prefix": ""}"#, "non-empty string"),
            (r#"{"path": "P..Q", "is": "present"}"#, "empty step"),
            (r#"{"is": "present"}"#, "needs a path"),
            (r#"{"property": "P", "is": "present"}"#, "unknown key"),
            (
                r#"{"path": "P", "any": [{"path": "Q", "is": "absent"}]}"#,
                "takes no path",
            ),
            (r#"{"all": []}"#, "non-empty list of clauses"),
            (
                r#"{"path": "L", "some": [{"path": "Q", "oneOf": "x"}]}"#,
                "list of strings",
            ),
        ] {
            let error = table_with(&row_with(&format!(r#", "when": [{clause}]"#))).unwrap_err();
            assert!(
                error.contains(says) && error.contains("row 0 (AWS::X::Y"),
                "{clause}: {error}"
            );
        }
    }

    #[test]
    fn a_row_breaking_the_rules_is_refused() {
        for (extra, says) in [
            (r#", "reports": [{"ref": "o/r#12", "summary": "s"}]"#, ""),
            (
                r#", "reports": [{"ref": "o/r", "summary": "s"}]"#,
                "owner/repo#N",
            ),
            (
                r#", "reports": [{"ref": "o/r#1", "summary": " "}]"#,
                "no summary",
            ),
            (r#", "dependents": ["Custom::X"]"#, "not an AWS:: type"),
            (
                r#", "satisfiedBy": [{"service": "y.amazonaws.com"}]"#,
                "missing field",
            ),
            (
                r#", "satisfiedBy": [{"service": "x.amazonaws.com", "roleName": "AWSServiceRoleForX"}]"#,
                "own service",
            ),
            (r#", "extra": 1"#, "unknown field"),
        ] {
            match table_with(&row_with(extra)) {
                Ok(_) => assert!(says.is_empty(), "{extra} was accepted"),
                Err(error) => assert!(!says.is_empty() && error.contains(says), "{extra}: {error}"),
            }
        }
        let bad_tier = row_with("").replace("propagation", "sometimes");
        assert!(table_with(&bad_tier).is_err());
        let bad_source =
            row_with("").replace("https://docs.aws.amazon.com/", "https://example.com/");
        assert!(
            table_with(&bad_source)
                .unwrap_err()
                .contains("documentation page")
        );
        let twice = format!("{},{}", row_with(""), row_with(""));
        assert!(
            table_with(&twice)
                .unwrap_err()
                .contains("lists x.amazonaws.com twice")
        );
        let renamed = format!(
            "{},{}",
            row_with(""),
            row_with("")
                .replace("AWS::X::Y", "AWS::X::Z")
                .replace("RoleForX", "RoleForZ")
        );
        assert!(
            table_with(&renamed)
                .unwrap_err()
                .contains("in different rows")
        );
        let served = row_with(
            r#", "satisfiedBy": [{"service": "y.amazonaws.com", "roleName": "AWSServiceRoleForY"}]"#,
        );
        let half = format!(
            "{served},{}",
            row_with("").replace("AWS::X::Y", "AWS::X::Z")
        );
        assert!(
            table_with(&half)
                .unwrap_err()
                .contains("different satisfiedBy")
        );
    }

    #[test]
    fn the_opensearch_roles_serve_for_each_other() {
        let (own, instead) = serving_roles("OpenSearchService.amazonaws.com").unwrap();
        assert_eq!(own, "AWSServiceRoleForAmazonOpenSearchService");
        assert_eq!(instead[0].service, "es.amazonaws.com");
        assert_eq!(
            instead[0].role_name,
            "AWSServiceRoleForAmazonElasticsearchService"
        );
        let (own, instead) = serving_roles("es.amazonaws.com").unwrap();
        assert_eq!(own, "AWSServiceRoleForAmazonElasticsearchService");
        assert_eq!(instead[0].service, "opensearchservice.amazonaws.com");
        assert_eq!(serving_roles("ecs.amazonaws.com"), None);
        assert_eq!(serving_roles("unknown.amazonaws.com"), None);
    }
}
