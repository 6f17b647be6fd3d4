//! The failures an operator sees as a Lambda function error, and how a panic is worded.
//!
//! Every other failure becomes an answer (a FAILED custom resource response, a macro's
//! `failure`), which is where users look. An invocation error is reserved for the cases where no
//! answer can be given, or where the protocol's answer *is* a function error (the CDK Provider
//! framework). Its `errorType` is what an operator filters logs and metrics on, so the set is
//! closed here and listed in docs/operating.md.

use lambda_runtime::Diagnostic;
use std::any::Any;
use std::fmt;

/// Why an invocation ended in a function error, with the message Lambda reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InvocationError {
    /// The payload is no event this function can answer: not a macro event, no usable
    /// ResponseURL to send a custom resource answer to, or a Terraform input whose `tf` or
    /// `Owner` is unreadable.
    InvalidEvent(String),
    /// The ResponseURL is not one this function sends to (not HTTPS to an S3 endpoint of an
    /// AWS partition, nor an allowed extra prefix).
    ResponseUrlRefused(String),
    /// The answer cannot be made to fit CloudFormation's 4096 bytes (oversized echo fields).
    AnswerTooLarge(String),
    /// Every attempt to PUT the answer to the ResponseURL failed.
    ResponseNotDelivered(String),
    /// Behind CDK's Provider framework, or for a Terraform `aws_lambda_invocation`: the role
    /// work failed, and the message is the Reason the framework gives CloudFormation, or what
    /// `terraform apply` prints. The only one that is an answer, not a refusal.
    ServiceLinkedRoleFailed(String),
}

impl InvocationError {
    /// Every `errorType`, as docs/operating.md lists them.
    pub const ERROR_TYPES: [&'static str; 5] = [
        "InvalidEvent",
        "ResponseUrlRefused",
        "AnswerTooLarge",
        "ResponseNotDelivered",
        "ServiceLinkedRoleFailed",
    ];

    /// Lambda's `errorType`.
    pub fn error_type(&self) -> &'static str {
        match self {
            InvocationError::InvalidEvent(_) => "InvalidEvent",
            InvocationError::ResponseUrlRefused(_) => "ResponseUrlRefused",
            InvocationError::AnswerTooLarge(_) => "AnswerTooLarge",
            InvocationError::ResponseNotDelivered(_) => "ResponseNotDelivered",
            InvocationError::ServiceLinkedRoleFailed(_) => "ServiceLinkedRoleFailed",
        }
    }

    pub fn message(&self) -> &str {
        match self {
            InvocationError::InvalidEvent(m)
            | InvocationError::ResponseUrlRefused(m)
            | InvocationError::AnswerTooLarge(m)
            | InvocationError::ResponseNotDelivered(m)
            | InvocationError::ServiceLinkedRoleFailed(m) => m,
        }
    }

    /// Whether the invocation ends with nothing answered: the caller (CloudFormation) waits
    /// out its timeout, so this is logged as an error.
    pub fn is_refusal(&self) -> bool {
        !matches!(self, InvocationError::ServiceLinkedRoleFailed(_))
    }
}

impl fmt::Display for InvocationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.error_type(), self.message())
    }
}

impl std::error::Error for InvocationError {}

impl From<InvocationError> for Diagnostic {
    fn from(error: InvocationError) -> Self {
        if error.is_refusal() {
            tracing::error!(
                error_type = error.error_type(),
                error = %error.message(),
                "invocation refused; nothing was answered"
            );
        }
        Diagnostic {
            error_type: error.error_type().to_string(),
            error_message: error.message().to_string(),
        }
    }
}

/// The message a panic carried, for a Reason: panics carry a `&str` or a `String`.
pub fn panic_text(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "the handler panicked".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_type_is_listed_in_the_operating_docs() {
        let docs = include_str!("../docs/operating.md");
        for error_type in InvocationError::ERROR_TYPES {
            assert!(
                docs.contains(&format!("`{error_type}`")),
                "docs/operating.md does not list {error_type}"
            );
        }
        let every = [
            InvocationError::InvalidEvent(String::new()),
            InvocationError::ResponseUrlRefused(String::new()),
            InvocationError::AnswerTooLarge(String::new()),
            InvocationError::ResponseNotDelivered(String::new()),
            InvocationError::ServiceLinkedRoleFailed(String::new()),
        ];
        assert_eq!(every.map(|e| e.error_type()), InvocationError::ERROR_TYPES);
    }

    #[test]
    fn a_diagnostic_carries_the_type_and_message() {
        let diagnostic = Diagnostic::from(InvocationError::ResponseUrlRefused("no".into()));
        assert_eq!(diagnostic.error_type, "ResponseUrlRefused");
        assert_eq!(diagnostic.error_message, "no");
    }

    #[test]
    fn panics_are_worded_from_their_payload() {
        let text = |payload: Box<dyn Any + Send>| panic_text(payload.as_ref());
        assert_eq!(text(Box::new("boom")), "boom");
        assert_eq!(text(Box::new(String::from("bang"))), "bang");
        assert_eq!(text(Box::new(7)), "the handler panicked");
    }
}
