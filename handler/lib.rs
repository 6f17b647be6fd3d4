//! upsert-slr: a CloudFormation custom resource that creates an IAM service-linked role, or
//! adopts it when it already exists, a macro that adds such roles to templates, a Lambda
//! Hook that creates them before any stack's resource that needs one, and the same upsert for
//! Terraform's `aws_lambda_invocation`.
//!
//! The crate in layers, each a folder; a layer uses only those below it:
//!
//! - `invocation`: one invocation end to end. It tells which protocol the payload speaks, runs
//!   the work under the deadline guard (a hang or a panic still gets an answer), delivers the
//!   answer and logs one line. `Deps` is built once at init.
//! - `protocol`: every wire format the function is invoked with, and nothing else (no IAM
//!   call, no waiting): the custom resource request and response (`custom_resource`), the CDK
//!   Provider framework's onEvent results and isComplete events (`provider`), the macro's event
//!   and answer (`macro_event`), a CloudFormation Lambda Hook's input and answer (`hook`),
//!   Terraform's `aws_lambda_invocation` input (its `tf` key) and result (`terraform`).
//! - `role`: what a custom resource request does to a role: `decide` reads the `properties`,
//!   does the `work` on IAM, and comes to a `waiting::Step`: an `answer`, or one still waiting
//!   for IAM; `progress` tells the guard what was being done when time ran out; `ensure` does
//!   the same work for a Lambda Hook's target, whose roles come from the `needs` table, and
//!   `hook_decide` the hook's decisions (what a target needs, how its wait is spent);
//!   `terraform` does a Terraform create, update or destroy, every wait in the invocation. The
//!   `work::Owner` says whose roles the work may change: a stack's resource (deleting needs
//!   CloudFormation's word), a Terraform owner (the invoke permission is the boundary), or
//!   nobody.
//! - `template`: what the macro does to a template, pure: the roles its resources need, the
//!   ones it declares, the options, the wiring.
//! - `needs`: the table in `slr-needs.json` (which resources need which role, and its condition
//!   language), read by `template`, and by `role` for the hook's targets and the roles that
//!   serve instead of a service's own.
//! - `adapters`: the outside world: `iam` (the only module that speaks IAM), `sender` (the
//!   answer's PUT to a presigned URL), `clients` (the HTTP client and the SDK's configuration).
//! - Across the layers: `config` (the settings, read once), `error` (the invocation errors
//!   operators see, and panic text), `logging` (the log, with the runtime's raw events held
//!   back), `reason` (how a Reason quotes and cuts values), `backoff` (pauses between
//!   attempts).
//!
//! The error rule: a `String` error, or `role::Failure` which wraps one, is a Reason written for
//! the CloudFormation console (or the function error Terraform prints), complete as it stands;
//! a typed error (`ApiError`, `BodyTooLarge`, `InvocationError`) is kept where a caller tells
//! its cases apart. Nothing panics on input: a
//! panic is a bug, and the guard still turns it into an answer.

#![forbid(unsafe_code)]
#![warn(
    missing_debug_implementations,
    rust_2018_idioms,
    unreachable_pub,
    clippy::dbg_macro,
    clippy::todo,
    clippy::unwrap_used
)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod adapters;
mod backoff;
pub mod config;
pub mod error;
mod invocation;
pub mod logging;
pub mod needs;
pub mod protocol;
mod reason;
pub mod role;
pub mod template;

pub use invocation::{Deps, handle, transform};
// Public for the fuzz targets, which draw role names from it.
pub use adapters::iam::is_name_char as is_iam_name_char;
pub use role::work::KnownNames;
