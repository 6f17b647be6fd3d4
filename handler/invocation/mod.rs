//! One invocation from start to finish. The payload says which protocol it speaks: a Lambda
//! Hook's input (`hook`), a macro event (`transform`), a Terraform `aws_lambda_invocation`'s
//! input (`terraform`), an isComplete check from CDK's Provider framework, or a custom resource
//! request (`custom_resource`), sent by CloudFormation or passed on by the framework. Each ends
//! in an answer and one log line (`logline`); `guard` keeps the role work from outliving the
//! time to answer.

mod custom_resource;
mod guard;
mod hook;
mod logline;
mod terraform;
mod transform;

pub use transform::transform;

use crate::adapters::clients;
use crate::adapters::cloudformation::CloudFormation;
use crate::config::{self, ResponseMode, Settings};
use crate::error::InvocationError;
use crate::protocol::custom_resource::{Request, parse_request};
use crate::protocol::{self, macro_event, provider, terraform as tf};
use crate::role::progress::Progress;
use crate::role::work::{KnownNames, Owner, Work};
use crate::template::Itself;
use lambda_runtime::{Diagnostic, LambdaEvent};
use logline::LogLine;
use serde_json::Value;
use std::sync::Arc;
use tokio::time::Instant;

/// What the handler needs, built once at init and cloned (cheaply) into each event.
#[derive(Clone, Debug)]
pub struct Deps {
    pub iam: aws_sdk_iam::Client,
    /// What a Delete asks before removing a role.
    pub stacks: CloudFormation,
    pub http: reqwest::Client,
    pub settings: Arc<Settings>,
    /// Shared by the events this process handles.
    pub known_names: KnownNames,
}

impl Deps {
    /// Standard AWS configuration from the environment. Makes no network call: credentials
    /// are resolved on the first IAM request.
    pub async fn from_env() -> Result<Self, lambda_runtime::Error> {
        let http = clients::http_client()?;
        let sdk = clients::sdk_config(&http).await;
        Ok(Deps {
            iam: aws_sdk_iam::Client::new(&sdk),
            stacks: CloudFormation::from_sdk(http.clone(), &sdk),
            http,
            settings: Arc::new(Settings::from_env()),
            known_names: KnownNames::default(),
        })
    }

    /// The role work done for `owner`, whose progress goes to `progress`: the one place a
    /// `Work` is made.
    fn work<'a>(&'a self, owner: Owner<'a>, progress: &'a Progress) -> Work<'a> {
        Work {
            iam: &self.iam,
            stacks: &self.stacks,
            known: &self.known_names,
            owner,
            progress,
        }
    }

    /// The role work of one custom resource request.
    fn request_work<'a>(&'a self, request: &'a Request, progress: &'a Progress) -> Work<'a> {
        let owner = Owner::Stack {
            stack_id: &request.stack_id,
            logical_id: &request.logical_resource_id,
            request_id: &request.request_id,
        };
        self.work(owner, progress)
    }
}

/// The Lambda handler.
pub async fn handle(deps: Deps, invocation: LambdaEvent<Value>) -> Result<Value, Diagnostic> {
    let started = Instant::now();
    let (payload, lambda) = invocation.into_parts();
    if protocol::hook::is_hook_event(&payload) {
        let deadline = guard::deadline_instant(lambda.deadline);
        return Ok(hook::run(&deps, &payload, deadline, started).await);
    }
    if macro_event::is_macro_event(&payload) {
        let itself = Itself {
            function_arn: &lambda.invoked_function_arn,
            settings: &deps.settings,
        };
        let answer = transform(&payload, itself);
        LogLine::of_transform(&answer, started);
        return Ok(answer.to_json());
    }
    if tf::is_terraform_input(&payload) {
        let guard_at = guard::guard_time(guard::deadline_instant(lambda.deadline));
        return Ok(terraform::run(&deps, payload, &lambda.request_id, guard_at, started).await?);
    }
    let is_complete = provider::is_complete_request(&payload);
    let request =
        parse_request(payload).map_err(|e| InvocationError::InvalidEvent(e.to_string()))?;
    let mode = config::resolve_mode(
        deps.settings.mode,
        request.service_token.as_deref(),
        &lambda.invoked_function_arn,
        &lambda.env_config.function_name,
    );
    tracing::debug!(deadline_ms = lambda.deadline, invoked_function_arn = %lambda.invoked_function_arn, ?mode, "event received");
    let deadline = guard::deadline_instant(lambda.deadline);
    let guard_at = guard::guard_time(deadline);

    let answered = match is_complete.filter(|_| mode == ResponseMode::Provider) {
        Some(check) => custom_resource::check(&deps, &request, check, guard_at, started).await,
        None => custom_resource::run(&deps, request, mode, deadline, guard_at, started).await,
    };
    Ok(answered?)
}
