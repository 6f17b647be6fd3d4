//! Every event in `tests/corpus/` through one running binary, against LocalStack behind the
//! IAM gate (the shipped policy). Each file
//! holds the payload (`event`, or `raw` bytes) and, next to it, what must happen:
//! - `failed`: an answer with Status FAILED whose Reason contains `says`;
//! - `success`: an answer with Status SUCCESS whose Reason contains `says`;
//! - `invocation_error`: nothing can be answered; the invocation fails with an errorMessage
//!   containing `says`, and nothing is PUT.
//!
//! In strings, `{{RESPONSE_URL}}` becomes a fresh presigned URL and `{{REPEAT:c:n}}` the
//! character c n times. Whatever the case, the process must neither panic, hang nor die, and
//! no answer may exceed 4096 bytes.

mod support;

use support::{evidence, iam_gate, localstack, runtime_api};

use runtime_api::{Function, Outcome, RuntimeApi};
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

const DEADLINE: Duration = Duration::from_secs(20);

struct Case {
    name: String,
    expect: String,
    says: String,
    payload: Vec<u8>,
    answer_key: String,
}

fn load_cases() -> Vec<Case> {
    let dir = format!("{}/tests/corpus", env!("CARGO_MANIFEST_DIR"));
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let doc: Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            let answer_key = localstack::new_key();
            let payload = match (&doc["raw"], &doc["event"]) {
                (Value::String(raw), _) => raw.clone().into_bytes(),
                (_, event) => serde_json::to_vec(&expand(event.clone(), &answer_key)).unwrap(),
            };
            Case {
                name: path.file_stem().unwrap().to_string_lossy().into(),
                expect: doc["expect"].as_str().unwrap().into(),
                says: doc["says"].as_str().unwrap().into(),
                payload,
                answer_key,
            }
        })
        .collect()
}

fn expand(value: Value, answer_key: &str) -> Value {
    match value {
        Value::String(s) => Value::String(expand_str(&s, answer_key)),
        Value::Array(items) => items.into_iter().map(|v| expand(v, answer_key)).collect(),
        Value::Object(map) => map
            .into_iter()
            .map(|(k, v)| (k, expand(v, answer_key)))
            .collect(),
        other => other,
    }
}

fn expand_str(s: &str, answer_key: &str) -> String {
    let mut s = s.replace(
        "{{RESPONSE_URL}}",
        &localstack::presigned_put(answer_key, Duration::from_secs(900)),
    );
    while let Some(start) = s.find("{{REPEAT:") {
        let end = start + s[start..].find("}}").expect("closed placeholder");
        let spec = &s[start + "{{REPEAT:".len()..end];
        let (c, n) = spec.rsplit_once(':').unwrap();
        let repeated = c.repeat(n.parse().unwrap());
        s.replace_range(start..end + 2, &repeated);
    }
    s
}

#[tokio::test(flavor = "multi_thread")]
async fn every_corpus_event_gets_its_expected_outcome() {
    localstack::require().await;
    let cases = load_cases();
    assert!(cases.len() >= 40, "the corpus has {} events", cases.len());
    let account = localstack::fresh_account();
    let api = RuntimeApi::start().await;
    let gate = iam_gate::Gate::start(
        &localstack::endpoint(),
        iam_gate::Policy::shipped("any-service"),
    )
    .await;
    let mut function = Function::start(&api, &localstack::function_env_at(&account, &gate.url));

    let mut mismatches = Vec::new();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for case in &cases {
        let rx = api.invoke_raw(case.payload.clone(), DEADLINE);
        let outcome = runtime_api::await_outcome(rx, DEADLINE).await;
        let answer = localstack::answer(&case.answer_key).await;
        let seen = match (&outcome, &answer) {
            (Outcome::Error(e), None) => (
                "invocation_error".to_string(),
                e["errorMessage"].as_str().unwrap_or_default().to_string(),
            ),
            (Outcome::Result(_), Some(a)) => (
                a["Status"]
                    .as_str()
                    .unwrap_or_default()
                    .to_ascii_lowercase(),
                a["Reason"].as_str().unwrap_or_default().to_string(),
            ),
            other => ("inconsistent".to_string(), format!("{other:?}")),
        };
        if seen.0 != case.expect || !seen.1.contains(&case.says) {
            mismatches.push(format!(
                "{}: expected {} saying {:?}, got {} saying {:?}",
                case.name, case.expect, case.says, seen.0, seen.1
            ));
        }
        if !function.is_alive() {
            panic!("the process died on {}\n{}", case.name, function.logs());
        }
        *counts.entry(case.expect.clone()).or_default() += 1;
    }
    function.assert_sound();
    assert!(
        mismatches.is_empty(),
        "{} of {} cases differ:\n{}",
        mismatches.len(),
        cases.len(),
        mismatches.join("\n")
    );

    let breakdown: Vec<String> = counts
        .iter()
        .map(|(k, n)| format!("{n} {}", k.replace('_', " ")))
        .collect();
    evidence::record(
        "Bad input",
        "tests/corpus/: malformed payloads, ResponseURLs, envelope fields and properties (1 MB, 5000 characters, unicode, conflicting aliases)",
        cases.len(),
        &format!(
            "each got its expected outcome ({}); Reasons name the problem; no panic, hang or dead process; answers ≤ 4096 bytes",
            breakdown.join(", ")
        ),
    );
}
