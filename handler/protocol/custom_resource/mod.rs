//! The CloudFormation custom resource protocol: the request CloudFormation sends, and the answer
//! it reads back from the presigned ResponseURL (`adapters::sender` delivers it). CDK's Provider
//! framework passes the same request on to its onEvent handler.

mod request;
mod response;

pub use request::{NotAnEvent, Request, RequestType, parse_request};
pub use response::{
    BodyTooLarge, MAX_BODY_BYTES, MAX_PHYSICAL_ID_BYTES, failed_create_marker, response_body,
};
