//! One event from start to finish: read it, choose how the answer leaves, run the work under
//! the deadline guard, wait where IAM needs time, answer, and log one line.
//!
//! Three protocols arrive here: CloudFormation's custom resource request, the same request
//! behind CDK's Provider (`provider`), and CloudFormation's macro event (`transform`), which is
//! answered as the invocation's result without touching IAM.
//!
//! Every path that has a usable ResponseURL ends in an answer: bad input, IAM errors, a hang
//! (the guard answers before Lambda's deadline) and a panic (the work runs in its own task,
//! whose panic is caught at the join).

use crate::answer::Answer;
use crate::cloudformation::{self, Request, RequestType};
use crate::config::{self, ResponseMode, Settings, WaitSetting};
use crate::logline::LogLine;
use crate::progress::Progress;
use crate::provider::{self, IsCompleteRequest};
use crate::resource;
use crate::sender;
use crate::slr::{Context, Failure, KnownNames, Owner};
use crate::transform::{self, Itself};
use crate::waiting::{self, Step};
use lambda_runtime::{Diagnostic, LambdaEvent};
use reqwest::Url;
use serde_json::Value;
use std::fmt;
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

    /// The work context of one request, whose progress goes to `progress`.
    fn work<'a>(&'a self, request: &'a Request, progress: &'a Progress) -> Context<'a> {
        Context {
            iam: &self.iam,
            known: &self.known_names,
            owner: Owner {
                stack_id: &request.stack_id,
                logical_id: &request.logical_resource_id,
                request_id: &request.request_id,
            },
            progress,
        }
    }
}

/// How the answer to a request leaves the function.
#[derive(Debug)]
enum Delivery {
    /// CloudFormation invoked the function: PUT to the ResponseURL, after any wait.
    Put(Url),
    /// Behind CDK's Provider: returned to the framework, which answers, after any wait.
    Return,
    /// Behind CDK's Provider with isComplete: returned at once, with what is left to wait for.
    ReturnWithWait,
}

impl Delivery {
    fn resolve(
        settings: &Settings,
        request: &Request,
        mode: ResponseMode,
    ) -> Result<Self, Diagnostic> {
        Ok(match (mode, settings.wait) {
            (ResponseMode::Direct, _) => Delivery::Put(
                sender::check_response_url(
                    &request.response_url,
                    &settings.extra_response_url_prefixes,
                )
                .map_err(|why| refuse("ResponseUrlRefused", why))?,
            ),
            (ResponseMode::Provider, WaitSetting::InFunction) => Delivery::Return,
            (ResponseMode::Provider, WaitSetting::IsComplete) => Delivery::ReturnWithWait,
        })
    }

    fn waits_here(&self) -> bool {
        !matches!(self, Delivery::ReturnWithWait)
    }
}

/// The Lambda handler.
pub async fn handle(deps: Deps, invocation: LambdaEvent<Value>) -> Result<Value, Diagnostic> {
    let started = Instant::now();
    let (payload, ctx) = invocation.into_parts();
    if transform::is_macro_event(&payload) {
        let itself = Itself {
            function_arn: &ctx.invoked_function_arn,
            settings: &deps.settings,
        };
        let transformed = transform::transform(&payload, itself);
        LogLine::of_transform(&transformed, started);
        return Ok(transformed.answer());
    }
    let is_complete = provider::is_complete_request(&payload);
    let request = cloudformation::parse_request(payload)
        .map_err(|e| refuse("InvalidEvent", e.to_string()))?;
    let mode = config::resolve_mode(
        deps.settings.mode,
        request.service_token.as_deref(),
        &ctx.invoked_function_arn,
        &ctx.env_config.function_name,
    );
    tracing::debug!(deadline_ms = ctx.deadline, invoked_function_arn = %ctx.invoked_function_arn, ?mode, "event received");
    let deadline = deadline_instant(ctx.deadline);
    let guard_at = deadline - answer_margin(deadline);

    if let Some(check) = is_complete.filter(|_| mode == ResponseMode::Provider) {
        return is_complete_check(&deps, &request, check, guard_at, started).await;
    }
    let delivery = Delivery::resolve(&deps.settings, &request, mode)?;

    let progress = Progress::default();
    let work = {
        let (deps, request, progress) = (deps.clone(), request.clone(), progress.clone());
        let waits_here = delivery.waits_here();
        async move {
            let work = deps.work(&request, &progress);
            let step = resource::decide(&deps.settings, &request, work)
                .await
                .unwrap_or_else(|failure| Step::Done(failed(&request, &progress, failure)));
            if waits_here {
                Step::Done(waiting::finish(work, step, guard_at).await)
            } else {
                step
            }
        }
    };
    let step = guarded(work, guard_at)
        .await
        .unwrap_or_else(|interruption| {
            Step::Done(failed(&request, &progress, interruption.failure(&progress)))
        });
    LogLine::of_step(&step).emit(&request, mode, started);

    match delivery {
        Delivery::Return => provider::result(step.answer()),
        Delivery::ReturnWithWait => provider::on_event_result(step.answer(), &step.wait()),
        Delivery::Put(url) => {
            let body = cloudformation::response_body(&request, step.answer())
                .map_err(|e| refuse("AnswerTooLarge", e.to_string()))?;
            // Stops short of the deadline so that a failed delivery is still reported.
            let put_until = deadline.checked_sub(PUT_SLACK).unwrap_or(deadline);
            sender::put(&deps.http, &url, body.to_string().into_bytes(), put_until)
                .await
                .map_err(|why| refuse("ResponseNotDelivered", why))?;
            Ok(body)
        }
    }
}

/// An isComplete invocation from CDK's Provider framework: one check, no waiting.
async fn is_complete_check(
    deps: &Deps,
    request: &Request,
    check: IsCompleteRequest,
    guard_at: Instant,
    started: Instant,
) -> Result<Value, Diagnostic> {
    let progress = Progress::default();
    let checked = match check.wait {
        Err(unreadable) => Err(Failure::new(unreadable)),
        Ok(wait) => {
            let work = {
                let (deps, request, progress) = (deps.clone(), request.clone(), progress.clone());
                async move {
                    let work = deps.work(&request, &progress);
                    waiting::check(work, &wait, check.data).await
                }
            };
            guarded(work, guard_at)
                .await
                .unwrap_or_else(|interruption| Err(interruption.failure(&progress)))
        }
    };
    let physical_id = request.physical_resource_id.as_deref().unwrap_or_default();
    LogLine::of_check(&checked, physical_id).emit(request, ResponseMode::Provider, started);
    checked
        .map(|done| done.to_json())
        .map_err(|failure| provider::failure(&failure.to_string()))
}

/// Why the work did not end by itself.
#[derive(Debug, PartialEq, Eq)]
enum Interruption {
    /// The guard's time came.
    Deadline,
    /// The work panicked, with this message.
    Panic(String),
}

impl Interruption {
    /// As a Reason: what was being done when the deadline came, or the panic's message.
    fn failure(&self, progress: &Progress) -> Failure {
        match self {
            Interruption::Deadline => Failure::new(format!(
                "timed out while {}, before the Lambda deadline",
                progress.snapshot().0
            )),
            Interruption::Panic(message) => Failure::new(format!("internal error: {message}")),
        }
    }
}

impl fmt::Display for Interruption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Interruption::Deadline => f.write_str("the deadline guard's time came"),
            Interruption::Panic(message) => write!(f, "the work panicked: {message}"),
        }
    }
}

/// Runs `work` in its own task so that neither a hang nor a panic can keep the answer from
/// being sent: past `guard_at` the task is dropped.
async fn guarded<T, F>(work: F, guard_at: Instant) -> Result<T, Interruption>
where
    T: Send + 'static,
    F: Future<Output = T> + Send + 'static,
{
    if Instant::now() >= guard_at {
        // No time left: starting IAM work now could only leave it half done.
        return Err(Interruption::Deadline);
    }
    let mut task = tokio::spawn(work);
    match tokio::time::timeout_at(guard_at, &mut task).await {
        Ok(Ok(done)) => Ok(done),
        Ok(Err(join)) => Err(Interruption::Panic(panic_message(join))),
        Err(_) => {
            task.abort();
            Err(Interruption::Deadline)
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

/// A FAILED answer. The physical id stays what CloudFormation knows (Update, Delete); a
/// Create gives the role it made before failing, or a marker that is not a role.
fn failed(request: &Request, progress: &Progress, failure: Failure) -> Answer {
    let (_, created_role) = progress.snapshot();
    let physical_id = match (&request.request_type, created_role) {
        (RequestType::Create, Some(role)) => role,
        (RequestType::Create, None) => cloudformation::failed_create_marker(request),
        _ => request
            .physical_resource_id
            .clone()
            .unwrap_or_else(|| cloudformation::failed_create_marker(request)),
    };
    Answer::failed(physical_id, failure.into_reason())
}

fn refuse(error_type: &str, message: String) -> Diagnostic {
    tracing::error!(error_type, error = %message, "invocation refused; nothing was answered");
    Diagnostic {
        error_type: error_type.to_string(),
        error_message: message,
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
    use crate::answer::Outcome;

    fn event() -> Request {
        cloudformation::parse_request(serde_json::json!({
            "RequestType": "Create", "ResponseURL": "https://b.s3.amazonaws.com/k",
            "StackId": "s", "RequestId": "r", "LogicalResourceId": "Slr"
        }))
        .unwrap()
    }

    #[tokio::test]
    async fn a_panic_becomes_a_failed_answer() {
        let guard_at = Instant::now() + Duration::from_secs(5);
        let interrupted = guarded(async { panic!("boom") }, guard_at).await;
        assert_eq!(
            interrupted,
            Err::<(), _>(Interruption::Panic("boom".into()))
        );
        let progress = Progress::default();
        let answer = failed(
            &event(),
            &progress,
            interrupted.unwrap_err().failure(&progress),
        );
        assert_eq!(answer.outcome, Outcome::Failed);
        assert_eq!(answer.reason, "internal error: boom");
    }

    #[tokio::test(start_paused = true)]
    async fn a_hang_becomes_a_failed_answer_at_the_guard() {
        let guard_at = Instant::now() + Duration::from_secs(5);
        let interrupted = guarded(std::future::pending::<()>(), guard_at).await;
        assert_eq!(
            interrupted,
            Err(Interruption::Deadline),
            "the caller words the timeout"
        );
        assert!(Instant::now() >= guard_at);
    }

    #[test]
    fn timeouts_say_what_was_interrupted_and_keep_a_created_role() {
        let event = event();
        let progress = Progress::default();
        progress.doing("calling iam:CreateServiceLinkedRole for ecs.amazonaws.com");
        let answer = failed(&event, &progress, Interruption::Deadline.failure(&progress));
        assert_eq!(
            answer.reason,
            "timed out while calling iam:CreateServiceLinkedRole for ecs.amazonaws.com, before the Lambda deadline"
        );
        assert_eq!(answer.physical_id, "upsert-slr:create-failed:Slr");
        progress.created("AWSServiceRoleForECS");
        assert_eq!(
            failed(&event, &progress, Failure::new("x")).physical_id,
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
