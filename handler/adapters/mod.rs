//! The outside world the function talks to, each behind plain types: IAM (`iam`), the
//! presigned ResponseURL (`sender`), and the HTTP client and AWS configuration both use
//! (`clients`), built once at init.

pub mod api_error;
pub mod clients;
pub mod cloudformation;
pub mod iam;
pub mod sender;
