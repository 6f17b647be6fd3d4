//! The outside world the function talks to, each behind plain types: IAM (`iam`), the
//! presigned ResponseURL (`sender`), and the HTTP client and AWS configuration both use
//! (`clients`), built once at init.

pub mod clients;
pub mod iam;
pub mod sender;
