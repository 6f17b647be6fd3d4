//! upsert-slr: a CloudFormation custom resource that creates an IAM service-linked role, or
//! adopts it when it already exists.
//!
//! How an event flows through the crate:
//!
//! - `lifecycle::handle` runs each event: it reads the request (`cloudformation`), decides how
//!   the answer will leave (PUT to the ResponseURL, or returned to CDK's Provider), runs the work
//!   under a deadline guard, and logs one line (`logline`).
//! - `resource` is what each request does to the role: `properties` reads the resource
//!   properties; `slr` does the work over `iam`, the only module that speaks IAM; `progress`
//!   tells the guard what the work was doing when time ran out.
//! - `waiting` carries a role's propagation or a deletion to its end, inside the invocation or
//!   across isComplete invocations (`provider`, the CDK Provider framework's protocol).
//! - The outcome is an `answer::Answer`, shaped by `cloudformation` (the body, within its limits)
//!   and delivered by `sender`, or shaped by `provider` as the invocation's result.
//! - A macro event (`transform`) takes none of the above: the template is read and the roles its
//!   resources need (`needs`, the table in `slr-needs.json`) are added, and the template goes
//!   back as the invocation's result, without any AWS call.
//! - `config` reads the settings and `clients` builds the HTTP client and AWS configuration, once
//!   at init; `reason` words the values a Reason quotes.

pub mod answer;
pub mod clients;
pub mod cloudformation;
pub mod config;
mod iam;
mod lifecycle;
mod logline;
pub mod needs;
mod progress;
pub mod properties;
pub mod provider;
mod reason;
mod resource;
mod sender;
mod slr;
pub mod transform;
mod waiting;

pub use lifecycle::{Deps, handle};
// Public for the fuzz targets, which draw role names from it.
pub use iam::is_name_char as is_iam_name_char;
pub use slr::KnownNames;
