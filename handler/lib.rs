//! upsert-slr: a CloudFormation custom resource that creates an IAM service-linked role, or
//! adopts it when it already exists.
//!
//! `lifecycle` runs each event; it reads the request with `event` and `properties`, does the
//! work with `slr` (over `iam`), and answers with `response` and `sender`. `clients` builds
//! the HTTP client and the AWS configuration once, at init.

pub mod clients;
pub mod config;
pub mod event;
pub mod iam;
pub mod lifecycle;
pub mod progress;
pub mod properties;
pub mod response;
pub mod sender;
pub mod slr;
pub mod waiting;

pub use lifecycle::{Deps, handle};
