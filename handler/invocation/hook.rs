//! A Lambda Hook's invocation from start to finish: read the target, find the roles its type
//! and properties need (`slr-needs.json`), create or adopt them under the deadline guard, then
//! answer SUCCESS once the youngest has had the propagation wait, IN_PROGRESS to be asked again
//! when it has not, FAILED when a role is missing and is not created here. One log line.
//!
//! The limits are CloudFormation's: an invocation gets 30 s, and a hook may answer
//! IN_PROGRESS three times for one target. A wait is spent in callbackDelaySeconds, which
//! costs no Lambda time, not in the function; only the last couple of seconds (less than a
//! callback would round up to) are slept here. On the fourth invocation no IN_PROGRESS is left: the function
//! sleeps the rest when it fits, else what the invocation allows, and answers SUCCESS, saying
//! the wait was cut short (the role
//! exists; a service may still refuse it for a few seconds). CloudFormation re-invokes after
//! the delay it was given, so that only happens when it re-invokes early.

use super::Deps;
use super::guard::{self, guarded};
use crate::protocol::hook::{
    self, ErrorCode, HookAnswer, HookEvent, HookStatus, MAX_IN_PROGRESS, Waiting,
};
use crate::role::ensure::{Ensured, ensure};
use crate::role::hook_decide::{self, Needs, Pace, whole_seconds};
use crate::role::progress::Progress;
use crate::role::work::Owner;
use serde_json::Value;
use std::time::{Duration, SystemTime};
use tokio::time::Instant;

/// CloudFormation waits at most this long for one invocation.
const INVOCATION_LIMIT: Duration = Duration::from_secs(30);
/// Kept back from that limit for the answer to reach CloudFormation.
const ANSWER_MARGIN: Duration = Duration::from_secs(3);

/// The outer guard, which only a panic or a hang past the inner one reaches, comes this long
/// after the inner one, still within the answer margin.
const PANIC_MARGIN: Duration = Duration::from_secs(1);

/// The logical id a role created by the hook is tagged with: no resource can have it.
const OWNER_PREFIX: &str = "hook:";

/// One hook invocation: always an answer, echoing the token.
pub(super) async fn run(
    deps: &Deps,
    payload: &Value,
    deadline: Instant,
    started: Instant,
) -> Value {
    let token = hook::token(payload);
    let cloud_control = hook::is_cloud_control(payload);
    let guard_at = guard::guard_time(deadline).min(started + INVOCATION_LIMIT - ANSWER_MARGIN);
    let (status, message, target, roles) = match hook::parse(payload) {
        Err(why) => (
            HookStatus::Failed(ErrorCode::InternalFailure),
            format!("upsert-slr cannot read the hook's input: {why}"),
            String::new(),
            Vec::new(),
        ),
        Ok(event) => {
            let target = format!("{} {}", event.target_name, event.target_logical_id);
            // In a task of its own, so that a panic (a bug) is still answered with the token.
            let task = {
                let deps = deps.clone();
                async move { evaluate(&deps, event, guard_at).await }
            };
            let (status, message, roles) = match guarded(task, guard_at + PANIC_MARGIN).await {
                Ok(evaluated) => evaluated,
                Err(interruption) => (
                    HookStatus::Failed(ErrorCode::InternalFailure),
                    format!("upsert-slr could not evaluate {target}: {interruption}"),
                    Vec::new(),
                ),
            };
            (status, message, target, roles)
        }
    };
    let answer = HookAnswer {
        token,
        status,
        message,
        cloud_control,
    };
    log(&answer, &target, &roles, started);
    answer.to_json()
}

type Evaluated = (HookStatus, String, Vec<String>);

async fn evaluate(deps: &Deps, event: HookEvent, guard_at: Instant) -> Evaluated {
    let internal = |message: String| {
        (
            HookStatus::Failed(ErrorCode::InternalFailure),
            message,
            Vec::new(),
        )
    };
    if let Some(problem) = &deps.settings.problem {
        return internal(format!("upsert-slr is misconfigured: {problem}"));
    }
    let is_delete = event.action == hook::Action::Delete;
    let needed = match hook_decide::roles_needed(is_delete, &event.target_name, &event.properties) {
        Ok(Needs::Roles(needed)) => needed,
        Ok(Needs::Nothing(why)) => return (HookStatus::Success, why, Vec::new()),
        Err(why) => return internal(why),
    };
    // Asked again after an IN_PROGRESS: the roles exist, only the wait is left.
    if let Some(waiting) = &event.context {
        let until = hook_decide::wait_until(
            waiting.propagated_at,
            SystemTime::now(),
            deps.settings.hook_wait,
        );
        return wait(&event, waiting.roles.clone(), until, "", guard_at).await;
    }
    let progress = Progress::default();
    let task = {
        let (deps, event, progress) = (deps.clone(), event.clone(), progress.clone());
        async move {
            let owner_id = format!("{OWNER_PREFIX}{}", event.target_logical_id);
            let owner = Owner::Stack {
                stack_id: &event.stack_id,
                logical_id: &owner_id,
                request_id: &event.token,
            };
            let work = deps.work(owner, &progress);
            ensure(&deps.settings, &needed, &event.target_name, work).await
        }
    };
    let ensured = match guarded(task, guard_at).await {
        Ok(Ok(ensured)) => ensured,
        Ok(Err(failure)) => return internal(failure.into_reason()),
        Err(interruption) => return internal(interruption.failure(&progress).into_reason()),
    };
    match ensured {
        Ensured::Missing { roles, message } => {
            (HookStatus::Failed(ErrorCode::NonCompliant), message, roles)
        }
        Ensured::Ready {
            roles,
            created,
            propagated_at,
        } => {
            let how = if created.is_empty() {
                format!(
                    "{} exist{}",
                    roles.join(", "),
                    if roles.len() == 1 { "s" } else { "" }
                )
            } else {
                format!("created {}", created.join(", "))
            };
            wait(&event, roles, propagated_at, &how, guard_at).await
        }
    }
}

/// SUCCESS once `until` has passed: at once, after a short wait, or after IN_PROGRESS answers
/// while some are left.
async fn wait(
    event: &HookEvent,
    roles: Vec<String>,
    until: SystemTime,
    done: &str,
    guard_at: Instant,
) -> Evaluated {
    let subject = if done.is_empty() {
        roles.join(", ")
    } else {
        done.to_string()
    };
    let allowed = guard_at.saturating_duration_since(Instant::now());
    let may_ask_again = event.invocation <= MAX_IN_PROGRESS;
    let target = &event.target_name;
    match hook_decide::pace(until, SystemTime::now(), allowed, may_ask_again) {
        Pace::Proceed => {
            let message = format!("{subject}; {target} may proceed");
            (HookStatus::Success, message, roles)
        }
        Pace::SleepThenProceed(sleep) => {
            tokio::time::sleep(sleep).await;
            let message = format!(
                "{subject}; waited {} s for IAM propagation; {target} may proceed",
                whole_seconds(sleep)
            );
            (HookStatus::Success, message, roles)
        }
        Pace::AskAgain {
            delay_seconds,
            propagated_at,
        } => {
            let message =
                format!("{subject}; {target} waits {delay_seconds} s more for IAM propagation");
            let status = HookStatus::InProgress {
                delay_seconds,
                context: Waiting {
                    propagated_at,
                    roles: roles.clone(),
                },
            };
            (status, message, roles)
        }
        Pace::CutShort { sleep, short_by } => {
            tokio::time::sleep(sleep).await;
            tracing::warn!(
                waited_s = whole_seconds(sleep),
                left_s = whole_seconds(sleep + short_by),
                "the hook's propagation wait did not fit in the invocations CloudFormation allows"
            );
            let message = format!(
                "{subject}; {target} may proceed, {} s before the propagation wait is over: \
                 CloudFormation allows {MAX_IN_PROGRESS} IN_PROGRESS answers and they are spent",
                whole_seconds(short_by)
            );
            (HookStatus::Success, message, roles)
        }
    }
}

fn log(answer: &HookAnswer, target: &str, roles: &[String], started: Instant) {
    let elapsed_ms = started.elapsed().as_millis() as u64;
    let outcome = answer.status.as_str();
    let roles = roles.join(",");
    macro_rules! line {
        ($level:ident) => {
            tracing::$level!(
                client_request_token = %answer.token,
                target = %target,
                role_name = %roles,
                outcome,
                elapsed_ms,
                reason = %answer.message,
                "hook answered"
            )
        };
    }
    if matches!(answer.status, HookStatus::Failed(_)) {
        line!(warn);
    } else {
        line!(info);
    }
}
