//! An AWS call that failed, whichever API answered: IAM through its SDK, CloudFormation through
//! `cloudformation`'s own requests.

use std::fmt;

/// A failed call, with the service's own code and message when it answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    /// The API's prefix in IAM policies: `iam`, `cloudformation`.
    pub service: &'static str,
    pub operation: &'static str,
    pub code: Option<String>,
    pub message: String,
    /// Asking again may succeed: the service throttled the call, failed on its side or asked
    /// to come back, or no answer came (a timeout, a dropped connection).
    pub transient: bool,
}

/// The codes with which AWS services (and the front door before them) ask callers to slow
/// down or come back. IAM's two 409s mean another change to the same entity is under way.
const TRANSIENT_CODES: [&str; 10] = [
    "Throttling",
    "ThrottlingException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "ServiceFailure",
    "ServiceUnavailable",
    "InternalFailure",
    "RequestTimeout",
    "ConcurrentModification",
    "EntityTemporarilyUnmodifiable",
];

impl ApiError {
    /// An answer with HTTP `status` and the service's code and message.
    pub(crate) fn answered(
        service: &'static str,
        operation: &'static str,
        status: u16,
        code: Option<String>,
        message: String,
    ) -> Self {
        let transient = status == 429
            || status >= 500
            || code
                .as_deref()
                .is_some_and(|c| TRANSIENT_CODES.contains(&c));
        ApiError {
            service,
            operation,
            code,
            message,
            transient,
        }
    }

    /// No answer came: a timeout, a refused or dropped connection.
    pub(crate) fn unanswered(
        service: &'static str,
        operation: &'static str,
        message: String,
    ) -> Self {
        ApiError {
            service,
            operation,
            code: None,
            message,
            transient: true,
        }
    }

    /// An error of this function's own making, not the service's answer.
    pub(crate) fn local(service: &'static str, operation: &'static str, message: String) -> Self {
        ApiError {
            service,
            operation,
            code: None,
            message,
            transient: false,
        }
    }

    pub fn is(&self, code: &str) -> bool {
        self.code.as_deref() == Some(code)
    }

    /// The caller's policy does not allow the call on that resource (or, for IAM, the name
    /// matches no resource whose ARN the policy names).
    pub fn is_access_denied(&self) -> bool {
        self.is("AccessDenied") || self.is("AccessDeniedException")
    }

    /// The action as a policy names it: `iam:GetRole`.
    pub fn action(&self) -> String {
        format!("{}:{}", self.service, self.operation)
    }

    /// The service's code and message, without the operation.
    pub fn answer(&self) -> String {
        match &self.code {
            Some(code) => format!("{code}: {}", self.message),
            None => self.message.clone(),
        }
    }
}

impl std::error::Error for ApiError {}

/// The service's code and message first, so they survive when a Reason has to be shortened.
impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.answer(), self.action())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_read_code_first() {
        let e = ApiError::answered(
            "iam",
            "CreateServiceLinkedRole",
            400,
            Some("InvalidInput".into()),
            "Custom suffix is not allowed for ecs.amazonaws.com".into(),
        );
        assert_eq!(
            e.to_string(),
            "InvalidInput: Custom suffix is not allowed for ecs.amazonaws.com (iam:CreateServiceLinkedRole)"
        );
        assert!(!e.transient);
    }

    #[test]
    fn iams_409s_and_throttling_are_transient_access_denied_is_not() {
        let answered = |status, code: &str| {
            ApiError::answered("iam", "TagRole", status, Some(code.into()), "m".into())
        };
        assert!(answered(409, "ConcurrentModification").transient);
        assert!(answered(409, "EntityTemporarilyUnmodifiable").transient);
        assert!(answered(400, "Throttling").transient);
        assert!(answered(503, "Unknown").transient);
        let denied = answered(403, "AccessDenied");
        assert!(!denied.transient);
        assert!(denied.is_access_denied());
        assert!(!answered(409, "EntityAlreadyExists").transient);
    }
}
