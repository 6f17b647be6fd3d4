//! What the test crates share, one module each: a test crate says `mod support;` and uses the
//! parts it needs, so no copy of any part is compiled in through `#[path]`.
//!
//! - `cfn`: CloudFormation's side of a request (its events, the bucket behind ResponseURL).
//! - `evidence`: the reliability evidence the suites record for RELIABILITY.md.
//! - `fault_rig`: the binary behind a fault-injecting IAM, for the fault suites.
//! - `http_server`: the loopback HTTP server the stand-ins below run on.
//! - `iam_gate`: the shipped policy judged as IAM judges it, in front of LocalStack.
//! - `iam_wire`: IAM's and CloudFormation's exact wire answers, for replays.
//! - `localstack`: LocalStack's IAM and S3, fresh accounts, presigned URLs.
//! - `replay_harness`: the handler in-process against replayed wire answers (custom resource
//!   and hook).
//! - `runtime_api`: the Lambda Runtime API, driving the built binary as Lambda does.

// Each test crate uses a part.
#![allow(dead_code)]

pub mod cfn;
pub mod evidence;
pub mod fault_rig;
pub mod http_server;
pub mod iam_gate;
pub mod iam_wire;
pub mod localstack;
pub mod replay_harness;
pub mod runtime_api;
