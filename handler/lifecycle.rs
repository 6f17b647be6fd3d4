//! One event from start to finish: read it, choose how to answer, run the work under the
//! deadline guard, wait where IAM needs time, answer, and log one line.
//!
//! Every path that has a usable ResponseURL ends in an answer: bad input, IAM errors, a hang
//! (the guard answers before Lambda's deadline) and a panic (the work runs in its own task,
//! whose panic is caught at the join).

use crate::config::{self, ResponseMode, Settings, WaitSetting};
use crate::event::{self, Event, RequestType};
use crate::iam;
use crate::progress::Progress;
use crate::properties::{self, RoleProperties};
use crate::response::{self, Answer, Outcome, RoleData};
use crate::sender;
use crate::slr::{self, Failure, KnownNames, Owner, Removal, Updated, Upserted};
use crate::waiting::{self, Step};
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde_json::Value;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::time::Instant;

/// Kept back from the Lambda deadline to deliver the answer.
const MAX_ANSWER_MARGIN: Duration = Duration::from_secs(3);
const PUT_SLACK: Duration = Duration::from_millis(250);

/// What the handler needs, built once at init and cloned (cheaply) into each event.
#[derive(Clone, Debug)]
pub struct Deps {
    pub iam: aws_sdk_iam::Client,
    pub http: reqwest::Client,
    pub settings: Arc<Settings>,
    /// Shared by the events this process handles.
    pub known_names: KnownNames,
}

impl Deps {
    /// Standard AWS configuration from the environment. Makes no network call: credentials
    /// are resolved on the first IAM request.
    pub async fn from_env() -> Result<Self, lambda_runtime::Error> {
        let http = crate::clients::http_client()?;
        let sdk = crate::clients::sdk_config(&http).await;
        Ok(Deps {
            iam: aws_sdk_iam::Client::new(&sdk),
            http,
            settings: Arc::new(Settings::from_env()),
            known_names: KnownNames::default(),
        })
    }
}

/// The Lambda handler.
pub async fn handle(deps: Deps, invocation: LambdaEvent<Value>) -> Result<Value, Diagnostic> {
    let started = Instant::now();
    let (payload, ctx) = invocation.into_parts();
    let event = event::parse(payload).map_err(|e| refuse("InvalidEvent", e.to_string()))?;
    let mode = config::resolve_mode(
        deps.settings.mode,
        event.service_token.as_deref(),
        &ctx.invoked_function_arn,
        &ctx.env_config.function_name,
    );
    let response_url = match mode {
        ResponseMode::Direct => Some(
            sender::check_response_url(
                &event.response_url,
                &deps.settings.extra_response_url_prefixes,
            )
            .map_err(|why| refuse("ResponseUrlRefused", why))?,
        ),
        ResponseMode::Provider => None,
    };

    tracing::debug!(deadline_ms = ctx.deadline, invoked_function_arn = %ctx.invoked_function_arn, ?mode, "event received");
    let deadline = deadline_instant(ctx.deadline);
    let guard_at = deadline - answer_margin(deadline);
    let progress = Progress::default();

    if mode == ResponseMode::Provider
        && let Some(wait) = waiting::is_complete_request(&event)
    {
        return is_complete(&deps, event, wait, guard_at, progress, started).await;
    }

    // Behind a Provider with isComplete, waits happen in isComplete invocations instead.
    let waits_here =
        !(mode == ResponseMode::Provider && deps.settings.wait == WaitSetting::IsComplete);
    let work = {
        let (deps, event, progress) = (deps.clone(), event.clone(), progress.clone());
        async move {
            let step = match decide(&deps, &event, &progress).await {
                Ok(step) => step,
                Err(failure) => Step::Done(failed(&event, &progress, failure.0)),
            };
            if waits_here {
                Step::Done(waiting::finish(&deps.iam, step, guard_at, &progress).await)
            } else {
                step
            }
        }
    };
    let step = guarded(work, guard_at, |why| {
        Step::Done(failed(&event, &progress, why))
    })
    .await;
    let (outcome, reason, role_name, role_created_at) = waiting::summary(&step);
    log_event(
        &event,
        outcome.as_str(),
        &reason,
        (&role_name, role_created_at),
        mode,
        started,
    );
    let answer = match step {
        Step::Done(answer) if waits_here => answer,
        // isComplete follows every onEvent: its key goes in even when nothing is left to wait.
        step => return waiting::on_event_result(&step),
    };

    match response_url {
        None => response::provider_result(&answer),
        Some(url) => {
            let body = response::cloudformation_body(&event, &answer)
                .map_err(|why| refuse("AnswerTooLarge", why))?;
            // Stops short of the deadline so that a failed delivery is still reported.
            let put_until = deadline.checked_sub(PUT_SLACK).unwrap_or(deadline);
            let delivered = sender::put(&deps.http, &url, body.clone(), put_until).await;
            delivered.map_err(|why| refuse("ResponseNotDelivered", why))?;
            Ok(serde_json::from_slice(&body).unwrap_or_default())
        }
    }
}

/// An isComplete invocation from CDK's Provider framework: one check, no waiting.
async fn is_complete(
    deps: &Deps,
    event: Event,
    wait: Value,
    guard_at: Instant,
    progress: Progress,
    started: Instant,
) -> Result<Value, Diagnostic> {
    let work = {
        let (iam, event, progress) = (deps.iam.clone(), event.clone(), progress.clone());
        async move { waiting::check(&iam, &event, &wait, &progress).await }
    };
    let checked = guarded(work, guard_at, |why| {
        Err(Failure(failed(&event, &progress, why).reason))
    })
    .await;
    let physical_id = event.physical_resource_id.as_deref().unwrap_or_default();
    let (outcome, reason) = match &checked {
        Ok(result) if result["IsComplete"] == true => ("complete", "the wait is over".to_string()),
        Ok(_) => ("waiting", "the wait goes on".to_string()),
        Err(failure) => ("failed", failure.0.clone()),
    };
    log_event(
        &event,
        outcome,
        &reason,
        (physical_id, None),
        ResponseMode::Provider,
        started,
    );
    checked.map_err(|failure| {
        response::provider_result(&Answer::failed(physical_id.to_string(), failure.0)).unwrap_err()
    })
}

/// Runs `work` in its own task so that neither a hang nor a panic can keep the answer from
/// being sent: past `guard_at` the task is dropped and `fail` answers instead.
async fn guarded<T, F>(work: F, guard_at: Instant, fail: impl FnOnce(String) -> T) -> T
where
    T: Send + 'static,
    F: Future<Output = T> + Send + 'static,
{
    if Instant::now() >= guard_at {
        // No time left: starting IAM work now could only leave it half done.
        return fail(String::new());
    }
    let mut task = tokio::spawn(work);
    match tokio::time::timeout_at(guard_at, &mut task).await {
        Ok(Ok(done)) => done,
        Ok(Err(join)) => fail(format!("internal error: {}", panic_message(join))),
        Err(_) => {
            task.abort();
            fail(String::new())
        }
    }
}

fn panic_message(join: tokio::task::JoinError) -> String {
    if !join.is_panic() {
        return join.to_string();
    }
    let payload = join.into_panic();
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "the handler panicked".into())
}

async fn decide(deps: &Deps, event: &Event, progress: &Progress) -> Result<Step, Failure> {
    if let Some(problem) = &deps.settings.problem {
        return Err(Failure(format!("function misconfigured: {problem}")));
    }
    if !event.problems.is_empty() {
        return Err(Failure(format!(
            "malformed request: {}",
            event.problems.join("; ")
        )));
    }
    let owner = Owner {
        stack_id: &event.stack_id,
        logical_id: &event.logical_resource_id,
        request_id: &event.request_id,
    };
    // Update and Delete always carry a physical id: its absence is one of `problems`.
    let physical_id = event.physical_resource_id.as_deref().unwrap_or_default();
    match &event.request_type {
        RequestType::Create => {
            let props = requested_properties(deps, event)?;
            let upserted =
                slr::upsert(&deps.iam, &deps.known_names, &props, owner, progress).await?;
            Ok(upserted_step(upserted, &props))
        }
        RequestType::Update => {
            let new = requested_properties(deps, event)?;
            let old = properties::parse(event.old_properties.as_ref()).ok();
            let updated = slr::update(
                &deps.iam,
                &deps.known_names,
                physical_id,
                old.as_ref(),
                &new,
                owner,
                progress,
            )
            .await?;
            Ok(match updated {
                Updated::Upserted(upserted) => upserted_step(upserted, &new),
                Updated::Kept(role) => Step::Done(Answer {
                    outcome: Outcome::Updated,
                    physical_id: physical_id.to_string(),
                    reason: format!("updated {}", role.name),
                    data: Some(RoleData::of(role, false)),
                }),
            })
        }
        RequestType::Delete => {
            // A FAILED Create leaves a marker, not a role: nothing to delete, whatever the
            // properties say.
            if !iam::is_role_name(physical_id) {
                return Ok(Step::Done(Answer {
                    outcome: Outcome::Deleted,
                    physical_id: physical_id.to_string(),
                    reason: format!(
                        "nothing to delete: {} is not a role",
                        event::quoted(physical_id)
                    ),
                    data: None,
                }));
            }
            let policy =
                properties::parse_removal_policy(event.properties.as_ref()).map_err(Failure)?;
            let removal =
                slr::begin_delete(&deps.iam, physical_id, policy, owner, progress).await?;
            let done = |outcome, reason| {
                Step::Done(Answer {
                    outcome,
                    physical_id: physical_id.to_string(),
                    reason,
                    data: None,
                })
            };
            Ok(match removal {
                Removal::Retained(why) => {
                    done(Outcome::Retained, format!("retained {physical_id}: {why}"))
                }
                Removal::Gone(why) => done(Outcome::Deleted, format!("nothing to delete: {why}")),
                Removal::Started { role, task_id } => Step::Deleting {
                    physical_id: physical_id.to_string(),
                    role,
                    task_id,
                },
            })
        }
        RequestType::Other(name) => Err(Failure(format!("unsupported RequestType {name:?}"))),
    }
}

fn requested_properties(deps: &Deps, event: &Event) -> Result<RoleProperties, Failure> {
    let props = properties::parse(event.properties.as_ref()).map_err(Failure)?;
    if !deps.settings.allows_service(&props.service) {
        return Err(Failure(format!(
            "AWSServiceName {} is not allowed by this function's {}",
            event::quoted(&props.service),
            config::ALLOWED_SERVICES_VAR
        )));
    }
    Ok(props)
}

fn upserted_step(upserted: Upserted, props: &RoleProperties) -> Step {
    let now = SystemTime::now();
    match upserted {
        // Just created (or recreated by a redelivery): the whole wait, from now.
        Upserted::Created(role) => Step::Propagate {
            until: now + props.propagation_wait,
            answer: Answer {
                outcome: Outcome::Created,
                physical_id: role.name.clone(),
                reason: format!("created {}", role.name),
                data: Some(RoleData::of(role, true)),
            },
        },
        // Whoever created it, the role needs the wait from its creation: another stack may
        // have made it a second ago.
        Upserted::Adopted(role) => {
            let until = waiting::propagated_at(role.created_at, props.propagation_wait, now);
            let answer = |reason| Answer {
                outcome: Outcome::Adopted,
                physical_id: role.name.clone(),
                reason,
                data: Some(RoleData::of(role.clone(), false)),
            };
            if until <= now {
                return Step::Done(answer(format!("adopted existing {}", role.name)));
            }
            let reason = format!(
                "adopted {}, created {}",
                role.name,
                waiting::age_text(role.created_at, now)
            );
            Step::Propagate {
                answer: answer(reason),
                until,
            }
        }
    }
}

/// A FAILED answer. The physical id stays what CloudFormation knows (Update, Delete); a
/// Create gives the role it made before failing, or a marker that is not a role.
fn failed(event: &Event, progress: &Progress, reason: String) -> Answer {
    let (doing, created_role) = progress.snapshot();
    let reason = if reason.is_empty() {
        format!("timed out while {doing}, before the Lambda deadline")
    } else {
        reason
    };
    let physical_id = match (&event.request_type, created_role) {
        (RequestType::Create, Some(role)) => role,
        (RequestType::Create, None) => response::failed_create_marker(event),
        _ => event
            .physical_resource_id
            .clone()
            .unwrap_or_else(|| response::failed_create_marker(event)),
    };
    Answer::failed(physical_id, reason)
}

fn refuse(error_type: &str, message: String) -> Diagnostic {
    tracing::error!(error_type, error = %message, "invocation refused; nothing was answered");
    Diagnostic {
        error_type: error_type.to_string(),
        error_message: message,
    }
}

/// The one log line per event.
fn log_event(
    event: &Event,
    outcome: &str,
    reason: &str,
    (role_name, role_created_at): (&str, Option<SystemTime>),
    mode: ResponseMode,
    started: Instant,
) {
    // The role's age when the event arrived: what the decision to wait was based on.
    let arrived = SystemTime::now() - started.elapsed();
    let role_age_s = role_created_at.map(|created| {
        arrived
            .duration_since(created)
            .unwrap_or_default()
            .as_secs()
    });
    let service = properties::service_hint(event.properties.as_ref()).unwrap_or_default();
    macro_rules! line {
        ($level:ident) => {
            tracing::$level!(
                request_type = event.request_type.as_str(),
                logical_resource_id = %event.logical_resource_id,
                stack_id = %event.stack_id,
                service = %service,
                outcome,
                role_name,
                role_age_s,
                elapsed_ms = started.elapsed().as_millis() as u64,
                mode = ?mode,
                reason,
                "event handled"
            )
        };
    }
    if outcome == Outcome::Failed.as_str() {
        line!(warn);
    } else {
        line!(info);
    }
}

/// Lambda gives the deadline as milliseconds since the epoch. Some local emulators
/// (`cargo lambda watch`) give the function's timeout instead; no real deadline falls before
/// 2001, so such a value is read as milliseconds from now.
fn deadline_instant(deadline_ms: u64) -> Instant {
    const YEAR_2001_MS: u64 = 978_307_200_000;
    if deadline_ms < YEAR_2001_MS {
        return Instant::now() + Duration::from_millis(deadline_ms);
    }
    let deadline = UNIX_EPOCH + Duration::from_millis(deadline_ms);
    Instant::now()
        + deadline
            .duration_since(SystemTime::now())
            .unwrap_or_default()
}

/// A quarter of the time left, at most `MAX_ANSWER_MARGIN`: enough for a few PUT attempts.
fn answer_margin(deadline: Instant) -> Duration {
    (deadline.saturating_duration_since(Instant::now()) / 4).min(MAX_ANSWER_MARGIN)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fallback(why: String) -> Answer {
        Answer::failed("id".into(), why)
    }

    #[tokio::test]
    async fn a_panic_becomes_a_failed_answer() {
        let guard_at = Instant::now() + Duration::from_secs(5);
        let answer = guarded(async { panic!("boom") }, guard_at, fallback).await;
        assert_eq!(answer.outcome, Outcome::Failed);
        assert_eq!(answer.reason, "internal error: boom");
    }

    #[tokio::test(start_paused = true)]
    async fn a_hang_becomes_a_failed_answer_at_the_guard() {
        let guard_at = Instant::now() + Duration::from_secs(5);
        let answer = guarded(std::future::pending(), guard_at, fallback).await;
        assert_eq!(answer.outcome, Outcome::Failed);
        assert_eq!(answer.reason, "", "the caller words the timeout");
        assert!(Instant::now() >= guard_at);
    }

    #[test]
    fn timeouts_say_what_was_interrupted_and_keep_a_created_role() {
        let event = event::parse(serde_json::json!({
            "RequestType": "Create", "ResponseURL": "https://b.s3.amazonaws.com/k",
            "StackId": "s", "RequestId": "r", "LogicalResourceId": "Slr"
        }))
        .unwrap();
        let progress = Progress::default();
        progress.doing("calling iam:CreateServiceLinkedRole for ecs.amazonaws.com");
        let answer = failed(&event, &progress, String::new());
        assert_eq!(
            answer.reason,
            "timed out while calling iam:CreateServiceLinkedRole for ecs.amazonaws.com, before the Lambda deadline"
        );
        assert_eq!(answer.physical_id, "upsert-slr:create-failed:Slr");
        progress.created("AWSServiceRoleForECS");
        assert_eq!(
            failed(&event, &progress, "x".into()).physical_id,
            "AWSServiceRoleForECS"
        );
    }

    #[test]
    fn deadlines_are_epoch_milliseconds_or_relative_from_emulators() {
        let in_a_minute = SystemTime::now() + Duration::from_secs(60);
        let epoch_ms = in_a_minute.duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
        let left = deadline_instant(epoch_ms) - Instant::now();
        assert!(
            left > Duration::from_secs(59) && left <= Duration::from_secs(60),
            "{left:?}"
        );
        let left = deadline_instant(600_000) - Instant::now();
        assert!(
            left > Duration::from_secs(599) && left <= Duration::from_secs(600),
            "{left:?}"
        );
        let past = SystemTime::now() - Duration::from_secs(5);
        let past_ms = past.duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
        assert!(deadline_instant(past_ms) <= Instant::now());
    }

    #[test]
    fn margin_is_a_quarter_of_the_time_left_up_to_three_seconds() {
        let now = Instant::now();
        let m = answer_margin(now + Duration::from_secs(4));
        assert!(
            m <= Duration::from_secs(1) && m > Duration::from_millis(900),
            "{m:?}"
        );
        assert_eq!(
            answer_margin(now + Duration::from_secs(300)),
            MAX_ANSWER_MARGIN
        );
    }
}
