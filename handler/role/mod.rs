//! What a custom resource request does to a service-linked role: the domain of the custom
//! resource, whichever protocol carried the request (CloudFormation directly, or CDK's Provider
//! framework).
//!
//! `decide` reads the `properties`, does the `work` on IAM and comes to a `waiting::Step`; the
//! step is carried to its `answer` by `waiting`, in the invocation or across isComplete checks.
//! `progress` is what the deadline guard reads when time runs out. `ensure` is the same work
//! for a Lambda Hook: the roles a resource about to be created needs, created or adopted (or,
//! in check mode, only looked for), and when they will have propagated; `hook_decide` is the
//! hook's `decide`: which roles a target needs, and how the wait is spent (proceed, sleep,
//! IN_PROGRESS, or cut short). `terraform` is the same work for a Terraform
//! `aws_lambda_invocation`, whose owner has no physical id and whose waits are all spent in the
//! invocation.

pub mod answer;
pub(crate) mod decide;
pub mod ensure;
pub mod hook_decide;
mod known_names;
mod lookup;
mod patience;
pub mod progress;
pub mod properties;
pub mod removal;
pub mod terraform;
pub mod waiting;
pub mod work;

use crate::adapters::api_error::ApiError;
use std::fmt;

/// Why the work failed: the Reason CloudFormation shows, complete as it stands.
#[derive(Debug, PartialEq, Eq)]
pub struct Failure(String);

impl Failure {
    pub fn new(reason: impl Into<String>) -> Self {
        Failure(reason.into())
    }

    pub fn into_reason(self) -> String {
        self.0
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Failure {}

impl From<ApiError> for Failure {
    fn from(err: ApiError) -> Self {
        Failure(err.to_string())
    }
}
