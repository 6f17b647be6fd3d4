//! Waiting for IAM: for a new role to propagate, and for a deletion task to finish.
//!
//! By default the function waits inside the invocation. Behind CDK's Provider with an
//! isComplete handler (this same function, `UPSERT_SLR_WAIT=is-complete`) the wait costs no
//! Lambda time instead: onEvent returns at once, carrying under `UpsertSlrWait` what the check
//! needs, and the framework invokes isComplete every few seconds with that event until one
//! answers `{"IsComplete": true}`.

use crate::event::Event;
use crate::iam;
use crate::progress::Progress;
use crate::response::{self, Answer, Outcome};
use crate::slr::{self, Failure};
use lambda_runtime::Diagnostic;
use serde_json::{Value, json};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::time::Instant;

/// The key of onEvent's result that isComplete reads back; its presence in an event marks an
/// isComplete invocation.
pub const WAIT_KEY: &str = "UpsertSlrWait";

const DELETION_POLL_INTERVAL: Duration = Duration::from_secs(2);
/// A wait cut short by the deadline ends this much before the guard, so that the answer, not
/// the guard, wins.
const GUARD_SLACK: Duration = Duration::from_millis(200);

/// Where the work for an event stands once IAM has been told what to do.
#[derive(Debug)]
pub enum Step {
    Done(Answer),
    /// The answer, to be given once the new role has had time to propagate through IAM.
    Propagate {
        answer: Answer,
        until: SystemTime,
    },
    /// IAM is deleting the role; the answer waits for the outcome.
    Deleting {
        physical_id: String,
        role: String,
        task_id: String,
    },
}

/// When a role created at `created_at` has propagated: `wait` after its creation. A CreateDate
/// ahead of this clock (skew) or unknown counts as now, so no wait is longer than `wait`.
pub fn propagated_at(
    created_at: Option<SystemTime>,
    wait: Duration,
    now: SystemTime,
) -> SystemTime {
    created_at.map_or(now, |created| created.min(now)) + wait
}

/// "12 s ago", for a Reason: how old the role is by this function's clock.
pub fn age_text(created_at: Option<SystemTime>, now: SystemTime) -> String {
    match created_at.map(|created| now.duration_since(created)) {
        Some(Ok(age)) => format!("{} s ago", age.as_secs()),
        Some(Err(_)) => "0 s ago (its CreateDate is ahead of this function's clock)".into(),
        None => "at an unknown time (IAM gave no CreateDate)".into(),
    }
}

/// Carries a step to its answer inside this invocation, before `guard_at`.
pub async fn finish(
    iam: &aws_sdk_iam::Client,
    step: Step,
    guard_at: Instant,
    progress: &Progress,
) -> Answer {
    match step {
        Step::Done(answer) => answer,
        Step::Propagate { mut answer, until } => {
            let wanted = until.duration_since(SystemTime::now()).unwrap_or_default();
            let allowed = guard_at
                .saturating_duration_since(Instant::now())
                .saturating_sub(GUARD_SLACK);
            progress.doing("waiting for IAM propagation");
            tokio::time::sleep(wanted.min(allowed)).await;
            let secs = |d: Duration| d.as_secs_f64().round();
            if wanted > allowed {
                answer.reason.push_str(&format!(
                    "; waited {} s of {} s for IAM propagation (cut short by the Lambda deadline)",
                    secs(allowed),
                    secs(wanted)
                ));
            } else if !wanted.is_zero() {
                answer
                    .reason
                    .push_str(&format!("; waited {} s for IAM propagation", secs(wanted)));
            }
            answer
        }
        Step::Deleting {
            physical_id,
            role,
            task_id,
        } => loop {
            match slr::deletion_finished(iam, &role, &task_id, progress).await {
                Ok(true) => break deleted(physical_id, &role),
                Ok(false) => tokio::time::sleep(DELETION_POLL_INTERVAL).await,
                Err(failure) => break Answer::failed(physical_id, failure.0),
            }
        },
    }
}

fn deleted(physical_id: String, role: &str) -> Answer {
    Answer {
        outcome: Outcome::Deleted,
        physical_id,
        reason: format!("deleted {role}"),
        data: None,
    }
}

/// onEvent's result when isComplete does the waiting: the Provider result plus `WAIT_KEY`.
pub fn on_event_result(step: &Step) -> Result<Value, Diagnostic> {
    let (answer, wait) = match step {
        Step::Done(answer) => (answer, json!({})),
        Step::Propagate { answer, until } => {
            let until_ms = until
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_millis() as u64;
            (answer, json!({ "UntilEpochMs": until_ms }))
        }
        Step::Deleting {
            physical_id,
            role,
            task_id,
        } => {
            return Ok(json!({
                "PhysicalResourceId": physical_id,
                WAIT_KEY: { "RoleName": role, "DeletionTaskId": task_id },
            }));
        }
    };
    let mut result = response::provider_result(answer)?;
    result[WAIT_KEY] = wait;
    Ok(result)
}

/// The wait to check when `event` is an isComplete invocation. The framework builds that event
/// from the request and onEvent's result, so it carries a top-level `Data`, which a
/// CloudFormation request never has: without `WAIT_KEY` (this function was not told it has an
/// isComplete handler) onEvent already waited, and there is nothing left to wait for.
pub fn is_complete_request(event: &Event) -> Option<Value> {
    match event.raw.get(WAIT_KEY) {
        Some(wait) => Some(wait.clone()),
        None => event.raw.contains_key("Data").then(|| json!({})),
    }
}

/// Outcome, reason, role name and when the role was created, for the log line.
pub fn summary(step: &Step) -> (Outcome, String, String, Option<SystemTime>) {
    let (outcome, reason, role) = match step {
        Step::Done(answer) => {
            let role = match &answer.data {
                Some(data) => data.role_name.clone(),
                None if iam::is_role_name(&answer.physical_id) => answer.physical_id.clone(),
                None => String::new(),
            };
            (answer.outcome, answer.reason.clone(), role)
        }
        Step::Propagate { answer, until } => {
            let secs = until
                .duration_since(SystemTime::now())
                .unwrap_or_default()
                .as_secs();
            let role = answer
                .data
                .as_ref()
                .map(|d| d.role_name.clone())
                .unwrap_or_default();
            let reason = format!(
                "{}; isComplete waits {secs} s for IAM propagation",
                answer.reason
            );
            (answer.outcome, reason, role)
        }
        Step::Deleting { role, task_id, .. } => (
            Outcome::Deleted,
            format!("deletion of {role} started ({task_id}); isComplete waits for it"),
            role.clone(),
        ),
    };
    let created_at = match step {
        Step::Done(answer) | Step::Propagate { answer, .. } => {
            answer.data.as_ref().and_then(|data| data.created_at)
        }
        Step::Deleting { .. } => None,
    };
    (outcome, reason, role, created_at)
}

/// An isComplete invocation: whether the wait onEvent described under `WAIT_KEY` is over.
/// `Err` fails the resource (a deletion IAM gave up on).
pub async fn check(
    iam: &aws_sdk_iam::Client,
    event: &Event,
    wait: &Value,
    progress: &Progress,
) -> Result<Value, Failure> {
    let done = || {
        let data = event.raw.get("Data").cloned().unwrap_or_else(|| json!({}));
        json!({ "IsComplete": true, "Data": data })
    };
    if let Some(until_ms) = wait.get("UntilEpochMs").and_then(Value::as_u64) {
        let until = UNIX_EPOCH + Duration::from_millis(until_ms);
        return Ok(if SystemTime::now() >= until {
            done()
        } else {
            json!({ "IsComplete": false })
        });
    }
    let role = wait.get("RoleName").and_then(Value::as_str);
    let task = wait.get("DeletionTaskId").and_then(Value::as_str);
    match (role, task) {
        (Some(role), Some(task)) => {
            if slr::deletion_finished(iam, role, task, progress).await? {
                Ok(json!({ "IsComplete": true }))
            } else {
                Ok(json!({ "IsComplete": false }))
            }
        }
        _ if wait.as_object().is_some_and(|w| w.is_empty()) => Ok(done()),
        _ => Err(Failure(format!(
            "isComplete received an unreadable {WAIT_KEY}: {}",
            response::cut(&wait.to_string(), 200)
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer() -> Answer {
        Answer {
            outcome: Outcome::Created,
            physical_id: "AWSServiceRoleForECS".into(),
            reason: "created AWSServiceRoleForECS".into(),
            data: None,
        }
    }

    #[test]
    fn propagation_counts_from_the_creation_and_never_waits_more_than_the_wait_from_now() {
        let now = UNIX_EPOCH + Duration::from_secs(1_795_000_000);
        let wait = Duration::from_secs(60);
        let ago = |s| Some(now - Duration::from_secs(s));
        assert_eq!(
            propagated_at(ago(2), wait, now),
            now + Duration::from_secs(58)
        );
        assert_eq!(
            propagated_at(ago(7200), wait, now),
            now - Duration::from_secs(7140)
        );
        let ahead = Some(now + Duration::from_secs(3600));
        assert_eq!(propagated_at(ahead, wait, now), now + wait, "skew");
        assert_eq!(propagated_at(None, wait, now), now + wait, "unknown");

        assert_eq!(age_text(ago(2), now), "2 s ago");
        assert!(age_text(ahead, now).contains("ahead of this function's clock"));
    }

    #[test]
    fn on_event_results_carry_what_is_complete_needs() {
        let until = UNIX_EPOCH + Duration::from_millis(1_795_000_000_000);
        let result = on_event_result(&Step::Propagate {
            answer: answer(),
            until,
        })
        .unwrap();
        assert_eq!(result["PhysicalResourceId"], "AWSServiceRoleForECS");
        assert_eq!(
            result[WAIT_KEY],
            json!({"UntilEpochMs": 1_795_000_000_000u64})
        );

        let deleting = Step::Deleting {
            physical_id: "AWSServiceRoleForECS".into(),
            role: "AWSServiceRoleForECS".into(),
            task_id: "task/x".into(),
        };
        let result = on_event_result(&deleting).unwrap();
        assert_eq!(
            result[WAIT_KEY],
            json!({"RoleName": "AWSServiceRoleForECS", "DeletionTaskId": "task/x"})
        );
        assert_eq!(result["PhysicalResourceId"], "AWSServiceRoleForECS");

        let failed = Step::Done(Answer::failed("x".into(), "InvalidInput: no".into()));
        assert_eq!(
            on_event_result(&failed).unwrap_err().error_message,
            "InvalidInput: no"
        );
    }
}
