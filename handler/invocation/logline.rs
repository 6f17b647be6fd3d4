//! The one log line per event: what happened, to which role, how long it took.

use crate::adapters::iam;
use crate::config::ResponseMode;
use crate::protocol::custom_resource::Request;
use crate::protocol::macro_event::MacroAnswer;
use crate::protocol::terraform::Invocation;
use crate::role::Failure;
use crate::role::answer::Outcome;
use crate::role::properties;
use crate::role::waiting::{Checked, Finished, Step};
use std::time::SystemTime;
use tokio::time::Instant;

/// What the line reports: an answer's outcome, or an isComplete check's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Logged {
    Answer(Outcome),
    /// isComplete: the wait goes on.
    Waiting,
    /// isComplete: the wait is over.
    Complete,
}

impl Logged {
    fn as_str(self) -> &'static str {
        match self {
            Logged::Answer(outcome) => outcome.as_str(),
            Logged::Waiting => "waiting",
            Logged::Complete => "complete",
        }
    }
}

/// The "event handled" line: the protocol's own fields, then those every protocol's line
/// ends with; a failure at warn, anything else at info (a level must be known where the macro
/// is written, so each has its branch).
macro_rules! event_handled {
    ($line:expr, $started:expr, $service:expr, $($own:tt)*) => {{
        let line: &LogLine = $line;
        let outcome = line.logged.as_str();
        let role_age_s = line.role_age_s($started);
        let elapsed_ms = $started.elapsed().as_millis() as u64;
        if line.logged == Logged::Answer(Outcome::Failed) {
            tracing::warn!($($own)* service = %$service, outcome, role_name = %line.role_name, role_age_s, elapsed_ms, reason = %line.reason, "event handled")
        } else {
            tracing::info!($($own)* service = %$service, outcome, role_name = %line.role_name, role_age_s, elapsed_ms, reason = %line.reason, "event handled")
        }
    }};
}

pub(crate) struct LogLine {
    logged: Logged,
    reason: String,
    role_name: String,
    role_created_at: Option<SystemTime>,
}

impl LogLine {
    /// Where an event's work stands as the invocation ends: answered, or left to isComplete.
    pub(crate) fn of_step(step: &Step) -> Self {
        let answer = step.answer();
        let reason = match step {
            Step::Answered(_) => answer.reason.clone(),
            Step::Propagate { until, .. } => {
                let secs = until
                    .duration_since(SystemTime::now())
                    .unwrap_or_default()
                    .as_secs();
                format!(
                    "{}; isComplete waits {secs} s for IAM propagation",
                    answer.reason
                )
            }
            Step::Deleting { role, task_id, .. } => {
                format!("deletion of {role} started ({task_id}); isComplete waits for it")
            }
        };
        let role_name = match (step, &answer.data) {
            (Step::Deleting { role, .. }, _) => role.clone(),
            (_, Some(data)) => data.role_name.clone(),
            (_, None) if iam::is_role_name(&answer.physical_id) => answer.physical_id.clone(),
            (_, None) => String::new(),
        };
        LogLine {
            logged: Logged::Answer(answer.outcome),
            reason,
            role_name,
            role_created_at: answer.data.as_ref().and_then(|d| d.created_at),
        }
    }

    /// An isComplete invocation's check of the resource `physical_id`.
    pub(crate) fn of_check(checked: &Result<Checked, Failure>, physical_id: &str) -> Self {
        let (logged, reason) = match checked {
            Ok(Checked::Propagated | Checked::Deleted) => {
                (Logged::Complete, "the wait is over".to_string())
            }
            Ok(Checked::Pending) => (Logged::Waiting, "the wait goes on".to_string()),
            Err(failure) => (Logged::Answer(Outcome::Failed), failure.to_string()),
        };
        LogLine {
            logged,
            reason,
            role_name: physical_id.to_string(),
            role_created_at: None,
        }
    }

    /// A Terraform invocation's answer, or its function error.
    pub(crate) fn of_terraform(done: &Result<Finished, Failure>) -> Self {
        match done {
            Ok(Finished { answer, .. }) => LogLine {
                logged: Logged::Answer(answer.outcome),
                reason: answer.reason.clone(),
                role_name: answer
                    .data
                    .as_ref()
                    .map(|d| d.role_name.clone())
                    .unwrap_or_else(|| answer.physical_id.clone()),
                role_created_at: answer.data.as_ref().and_then(|d| d.created_at),
            },
            Err(failure) => LogLine {
                logged: Logged::Answer(Outcome::Failed),
                reason: failure.to_string(),
                role_name: String::new(),
                role_created_at: None,
            },
        }
    }

    fn role_age_s(&self, started: Instant) -> Option<u64> {
        // The role's age when the event arrived: what a decision to wait was based on.
        let arrived = SystemTime::now() - started.elapsed();
        self.role_created_at.map(|created| {
            arrived
                .duration_since(created)
                .unwrap_or_default()
                .as_secs()
        })
    }

    pub(crate) fn emit_terraform(&self, invocation: &Invocation, started: Instant) {
        let service = properties::service_hint(Some(&invocation.input)).unwrap_or_default();
        event_handled!(
            self,
            started,
            service,
            protocol = "terraform",
            action = invocation.action.as_str(),
            owner = invocation.owner.as_deref().unwrap_or_default(),
        );
    }

    pub(crate) fn emit(&self, request: &Request, mode: ResponseMode, started: Instant) {
        let service = properties::service_hint(request.properties.as_ref()).unwrap_or_default();
        event_handled!(
            self,
            started,
            service,
            request_type = request.request_type.as_str(),
            request_id = %request.request_id,
            logical_resource_id = %request.logical_resource_id,
            stack_id = %request.stack_id,
            mode = ?mode,
        );
    }

    /// A macro event: the roles added and the resources wired to them, or why it failed.
    pub(crate) fn of_transform(answer: &MacroAnswer, started: Instant) {
        let elapsed_ms = started.elapsed().as_millis() as u64;
        let (request_id, transform_id) = (&answer.request_id, &answer.transform_id);
        match &answer.result {
            Ok(transformed) => tracing::info!(
                request_id = %request_id,
                transform_id = %transform_id,
                outcome = "transformed",
                roles_added = %transformed.added.join(","),
                resources_wired = %transformed.wired.join(","),
                elapsed_ms,
                "template transformed"
            ),
            Err(reason) => tracing::warn!(
                request_id = %request_id,
                transform_id = %transform_id,
                outcome = "failed",
                reason = %reason,
                elapsed_ms,
                "template transformed"
            ),
        }
    }
}
