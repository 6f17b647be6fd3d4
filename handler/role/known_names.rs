//! The role names a warm function has seen, which spare it a refused creation per request.

use super::properties::RoleProperties;
use crate::adapters::iam::Role;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// Role names IAM reported, by service and suffix. IAM names a service-linked role from a
/// template per service, so a name once seen holds for the life of the process: a warm
/// function finds an existing role with one `GetRole` (which also gives its ARN and tags)
/// instead of a refused `CreateServiceLinkedRole` followed by `GetRole`. Half the IAM calls on
/// the common adopt path, and less of the account's IAM rate limit.
#[derive(Clone, Debug, Default)]
pub struct KnownNames(Arc<Mutex<HashMap<(String, String), String>>>);

impl KnownNames {
    fn key(props: &RoleProperties) -> (String, String) {
        let suffix = props.suffix.as_deref().unwrap_or_default();
        (
            props.service.to_ascii_lowercase(),
            suffix.to_ascii_lowercase(),
        )
    }

    pub(super) fn get(&self, props: &RoleProperties) -> Option<String> {
        let names = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        names.get(&Self::key(props)).cloned()
    }

    pub(super) fn remember(&self, props: &RoleProperties, role: &Role) {
        let mut names = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        names.insert(Self::key(props), role.name.clone());
    }
}
