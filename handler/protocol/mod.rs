//! The wire formats the function is invoked with: what each caller sends, how to tell them
//! apart, and the answer each reads back. Nothing here calls IAM or waits: the protocols
//! shape the domain's results (`role`, `template`) for their callers.
//!
//! - `custom_resource`: CloudFormation's custom resource request, and the response body PUT
//!   to its presigned ResponseURL.
//! - `provider`: CDK's `custom_resources.Provider` framework: onEvent's result, and the
//!   isComplete invocations that follow it.
//! - `macro_event`: a CloudFormation macro's event (a template fragment) and its answer.
//! - `hook`: a CloudFormation Lambda Hook's input for a resource about to be provisioned, and
//!   its answer (SUCCESS, FAILED or IN_PROGRESS).
//! - `terraform`: the input of Terraform's `aws_lambda_invocation` (CRUD lifecycle scope), and
//!   the result it stores.

pub mod custom_resource;
pub mod hook;
pub mod macro_event;
pub mod provider;
pub mod terraform;

/// What an event does, or is about to do, to its resource: a hook's target action (from its
/// invocation point), a Terraform invocation's `tf.action`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Create,
    Update,
    Delete,
}

impl Action {
    /// As Terraform's `tf.action` spells it, and the log line.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Delete => "delete",
        }
    }
}
