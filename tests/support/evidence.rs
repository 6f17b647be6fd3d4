//! What a reliability test tried and what held, appended as one JSON line to the file named by
//! `RELIABILITY_LOG` (set by `make reliability`, which renders RELIABILITY.md from it). A test
//! records only after its assertions passed, so a line is evidence, not a claim.

use serde_json::json;
use std::io::Write;

pub fn record(area: &str, tried: &str, cases: usize, held: &str) {
    let Ok(path) = std::env::var("RELIABILITY_LOG") else {
        return;
    };
    let line = json!({"area": area, "tried": tried, "cases": cases, "held": held}).to_string();
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .expect("open RELIABILITY_LOG");
    writeln!(file, "{line}").expect("write RELIABILITY_LOG");
}
