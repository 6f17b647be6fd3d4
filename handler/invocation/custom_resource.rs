//! A custom resource request from start to finish, whether CloudFormation sent it or CDK's
//! Provider framework passed it on: choose how the answer leaves, run the role work under the
//! deadline guard, wait where IAM needs time, answer, and log one line.
//!
//! Every path that has a usable ResponseURL ends in an answer: bad input, IAM errors, a hang
//! (the guard answers before Lambda's deadline) and a panic.

use super::Deps;
use super::guard::guarded;
use super::logline::LogLine;
use crate::adapters::sender;
use crate::config::{ResponseMode, Settings, WaitSetting};
use crate::error::InvocationError;
use crate::protocol::custom_resource::{self, Request, RequestType};
use crate::protocol::provider::{self, IsCompleteRequest};
use crate::role::Failure;
use crate::role::answer::Answer;
use crate::role::decide::decide;
use crate::role::progress::Progress;
use crate::role::waiting::{self, Step};
use reqwest::Url;
use serde_json::Value;
use std::time::Duration;
use tokio::time::Instant;

/// The answer's PUT stops this much short of the deadline, so that a failed delivery is still
/// reported.
const PUT_SLACK: Duration = Duration::from_millis(250);

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
    ) -> Result<Self, InvocationError> {
        Ok(match (mode, settings.wait) {
            (ResponseMode::Direct, _) => Delivery::Put(
                sender::check_response_url(
                    &request.response_url,
                    &settings.extra_response_url_prefixes,
                )
                .map_err(InvocationError::ResponseUrlRefused)?,
            ),
            (ResponseMode::Provider, WaitSetting::InFunction) => Delivery::Return,
            (ResponseMode::Provider, WaitSetting::IsComplete) => Delivery::ReturnWithWait,
        })
    }

    fn waits_here(&self) -> bool {
        !matches!(self, Delivery::ReturnWithWait)
    }
}

/// A request (onEvent, behind a Provider): the role work, then the answer.
pub(super) async fn run(
    deps: &Deps,
    request: Request,
    mode: ResponseMode,
    deadline: Instant,
    guard_at: Instant,
    started: Instant,
) -> Result<Value, InvocationError> {
    let delivery = Delivery::resolve(&deps.settings, &request, mode)?;
    let progress = Progress::default();
    let task = {
        let (deps, request, progress) = (deps.clone(), request.clone(), progress.clone());
        let waits_here = delivery.waits_here();
        async move {
            let work = deps.request_work(&request, &progress);
            let step = decide(&deps.settings, request.change(), work)
                .await
                .unwrap_or_else(|failure| Step::Answered(failed(&request, &progress, failure)));
            if waits_here {
                Step::Answered(waiting::finish(work, step, guard_at).await)
            } else {
                step
            }
        }
    };
    let step = guarded(task, guard_at)
        .await
        .unwrap_or_else(|interruption| {
            Step::Answered(failed(&request, &progress, interruption.failure(&progress)))
        });
    LogLine::of_step(&step).emit(&request, mode, started);

    match delivery {
        Delivery::Return => provider::result(step.answer()),
        Delivery::ReturnWithWait => provider::on_event_result(step.answer(), &step.wait()),
        Delivery::Put(url) => {
            let body = custom_resource::response_body(&request, step.answer())
                .map_err(|e| InvocationError::AnswerTooLarge(e.to_string()))?;
            let put_until = deadline.checked_sub(PUT_SLACK).unwrap_or(deadline);
            sender::put(&deps.http, &url, body.to_string().into_bytes(), put_until)
                .await
                .map_err(InvocationError::ResponseNotDelivered)?;
            Ok(body)
        }
    }
}

/// An isComplete invocation from CDK's Provider framework: one check, no waiting.
pub(super) async fn check(
    deps: &Deps,
    request: &Request,
    is_complete: IsCompleteRequest,
    guard_at: Instant,
    started: Instant,
) -> Result<Value, InvocationError> {
    let progress = Progress::default();
    let checked = match is_complete.wait {
        Err(unreadable) => Err(Failure::new(unreadable)),
        Ok(wait) => {
            let task = {
                let (deps, request, progress) = (deps.clone(), request.clone(), progress.clone());
                async move { waiting::check(deps.request_work(&request, &progress), &wait).await }
            };
            guarded(task, guard_at)
                .await
                .unwrap_or_else(|interruption| Err(interruption.failure(&progress)))
        }
    };
    let physical_id = request.physical_resource_id.as_deref().unwrap_or_default();
    LogLine::of_check(&checked, physical_id).emit(request, ResponseMode::Provider, started);
    checked
        .map(|checked| provider::is_complete_result(checked, is_complete.data))
        .map_err(|failure| provider::failure(&failure.to_string()))
}

/// A FAILED answer. The physical id stays what CloudFormation knows (Update, Delete); a
/// Create gives the role it made before failing, or a marker that is not a role.
fn failed(request: &Request, progress: &Progress, failure: Failure) -> Answer {
    let (_, created_role) = progress.snapshot();
    let physical_id = match (&request.request_type, created_role) {
        (RequestType::Create, Some(role)) => role,
        (RequestType::Create, None) => custom_resource::failed_create_marker(request),
        _ => request
            .physical_resource_id
            .clone()
            .unwrap_or_else(|| custom_resource::failed_create_marker(request)),
    };
    Answer::failed(physical_id, failure.into_reason())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::invocation::guard::Interruption;
    use crate::role::answer::Outcome;

    fn event() -> Request {
        custom_resource::parse_request(serde_json::json!({
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
}
