//! The macro's transform, replayed: each file in `tests/macro/` is a macro event as
//! CloudFormation sends it and the exact answer it must get; and docs/macro.md shows every row
//! of `slr-needs.json` as the table has it. (Each row's cases are replayed in `tests/needs.rs`.)

use serde_json::Value;
use std::collections::BTreeSet;
use upsert_slr::config::Settings;
use upsert_slr::needs::{self, Clause, Test, Tier};
use upsert_slr::protocol::macro_event;
use upsert_slr::template::Itself;
use upsert_slr::transform;

/// Invoked through an alias: the roles' ServiceToken is the function itself, unqualified.
const INVOKED_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:upsert-slr:live";

fn settings() -> Settings {
    // As template.yaml sets it, from TimeoutSeconds' default.
    Settings::from_lookup(|name| (name == "UPSERT_SLR_FUNCTION_TIMEOUT").then(|| "300".into()))
}

fn answer(event: &Value) -> Value {
    let settings = settings();
    let itself = Itself {
        function_arn: INVOKED_ARN,
        settings: &settings,
    };
    transform(event, itself).to_json()
}

#[test]
fn replayed_events_get_their_recorded_answers() {
    let dir = format!("{}/tests/macro", env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 8, "{files:?}");
    for path in files {
        let case: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let got = answer(&case["event"]);
        assert_eq!(
            got,
            case["answer"],
            "{}: got\n{}",
            path.display(),
            serde_json::to_string_pretty(&got).unwrap()
        );
    }
}

#[test]
fn a_sample_event_is_answered() {
    let path = format!("{}/events/macro.json", env!("CARGO_MANIFEST_DIR"));
    let event: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert!(macro_event::is_macro_event(&event));
    let got = answer(&event);
    assert_eq!(got["status"], "success", "{got}");
    assert_eq!(got["requestId"], event["requestId"]);
}

/// A condition as docs/macro.md writes it.
fn clause_text(clause: &Clause) -> String {
    let path = |p: &[String]| format!("`{}`", p.join("."));
    let values = |v: &[String]| {
        v.iter()
            .map(|v| format!("`{v}`"))
            .collect::<Vec<_>>()
            .join(" or ")
    };
    let joined = |clauses: &[Clause], with: &str| {
        clauses
            .iter()
            .map(clause_text)
            .collect::<Vec<_>>()
            .join(with)
    };
    let (p, test) = match clause {
        Clause::Any(clauses) => return format!("({})", joined(clauses, " or ")),
        Clause::All(clauses) => return format!("({})", joined(clauses, " and ")),
        Clause::At { path: p, test } => (path(p), test),
    };
    match test {
        Test::Is(true) => format!("{p} given"),
        Test::Is(false) => format!("no {p}"),
        Test::OneOf(v) => format!("{p} = {}", values(v)),
        Test::NotOneOf(v) => format!("{p} absent or not {}", values(v)),
        Test::Prefix(prefix) => format!("{p} starts with `{prefix}`"),
        Test::Contains(needle) => format!("{p} contains `{needle}`"),
        Test::Some(clauses) => format!("some item of {p} with ({})", joined(clauses, ", ")),
        Test::None(clauses) => format!("no item of {p} with ({})", joined(clauses, ", ")),
    }
}

/// Text in a table cell: a `|` would end the cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

/// The table as docs/macro.md shows it, between its two markers: the counts, then the rows of
/// each tier with every field of the row.
fn rendered_table() -> String {
    let rows = needs::table().unwrap();
    let count = |tier: Tier| rows.iter().filter(|r| r.tier == tier).count();
    let services: BTreeSet<String> = rows
        .iter()
        .map(|r| r.service.to_ascii_lowercase())
        .collect();
    let mut out = format!(
        "{} rows, {} services: {} must-exist, {} propagation.\n",
        rows.len(),
        services.len(),
        count(Tier::MustExist),
        count(Tier::Propagation)
    );
    for (tier, heading) in [
        (Tier::MustExist, "The role must exist first: `must-exist`"),
        (
            Tier::Propagation,
            "The service creates the role: `propagation`",
        ),
    ] {
        out += &format!(
            "\n### {heading}\n\n{} rows.\n\n\
             | resource type | when | `AWSServiceName` | role | also waiting | source | evidence | reports |\n\
             |---|---|---|---|---|---|---|---|\n",
            count(tier)
        );
        for row in rows.iter().filter(|r| r.tier == tier) {
            let when = if row.when.is_empty() {
                "always".to_string()
            } else {
                row.when
                    .iter()
                    .map(clause_text)
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let mut role = format!("`{}`", row.role_name);
            for other in &row.satisfied_by {
                role += &format!(
                    ", or an existing `{}` (`{}`)",
                    other.role_name, other.service
                );
            }
            let waiting: Vec<String> = row.dependents.iter().map(|d| format!("`{d}`")).collect();
            let page = row
                .source
                .trim_start_matches("https://docs.aws.amazon.com/");
            let mut evidence = row.evidence.clone();
            if let Some(principal) = &row.principal_source {
                evidence += &format!(" Principal: {principal}");
            }
            if let Some(note) = &row.note {
                evidence += &format!(" Note: {note}");
            }
            let reports: Vec<String> = row
                .reports
                .iter()
                .map(|r| {
                    let (repository, number) = r.reference.split_once('#').unwrap();
                    format!(
                        "[{}](https://github.com/{repository}/issues/{number}): {}",
                        r.reference, r.summary
                    )
                })
                .collect();
            out += &format!(
                "| `{}` | {} | `{}` | {} | {} | [{page}]({}) | {} | {} |\n",
                row.resource_type,
                cell(&when),
                row.service,
                role,
                waiting.join(", "),
                row.source,
                cell(&evidence),
                cell(&reports.join("; "))
            );
        }
    }
    out
}

#[test]
fn the_docs_show_the_table_as_slr_needs_json_has_it() {
    const BEGIN: &str = "<!-- slr-needs.json table: begin -->\n";
    const END: &str = "<!-- slr-needs.json table: end -->";
    let page =
        std::fs::read_to_string(format!("{}/docs/macro.md", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let start = page
        .find(BEGIN)
        .expect("docs/macro.md has no table begin marker")
        + BEGIN.len();
    let end = page[start..]
        .find(END)
        .expect("docs/macro.md has no table end marker")
        + start;
    let expected = rendered_table();
    assert!(
        page[start..end] == expected,
        "docs/macro.md's table differs from slr-needs.json; it should read:\n{expected}"
    );
}
