//! The handler in-process against IAM's and CloudFormation's exact wire answers, replayed by
//! wiremock, with a second wiremock server standing in for the presigned ResponseURL: what
//! LocalStack cannot produce. One module per concern: `create` (Create and Update), `delete`,
//! `delivery` (the answer's way to CloudFormation, the Provider) and `lookup` (remembered names,
//! propagation, the roles that serve instead).

// The suites' one shared module; this suite is a folder, so the module is named by path.
#[path = "../support/mod.rs"]
mod support;

mod create;
mod delete;
mod delivery;
mod lookup;
