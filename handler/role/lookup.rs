//! Whether a role exists, decided right whichever way IAM says it does not.
//!
//! IAM authorizes a request against the resource's ARN, and a name that matches no role has no
//! path: a policy that names only `role/aws-service-role/...` (as this function's does) may be
//! answered `AccessDenied` for a missing role instead of `NoSuchEntity`. ListRoles under the
//! service-linked path answers the same whether or not the role exists, so an AccessDenied is
//! checked against it before anything is decided: no role listed means the role is missing; a
//! role listed means the function's own policy is short of `iam:GetRole`, and the Reason says so.

use super::Failure;
use super::properties::RoleProperties;
use super::work::Work;
use crate::adapters::api_error::ApiError;
use crate::adapters::iam::{self, Listed, Role};
use crate::needs;

impl Work<'_> {
    /// The role named `name`, or `None` when IAM has none. `service` is whose path the role
    /// would be under, when the caller knows it (it narrows the listing an AccessDenied needs).
    pub(super) async fn look_up(
        &self,
        name: &str,
        service: Option<&str>,
    ) -> Result<Option<Role>, Failure> {
        match self.get_role(name).await {
            Ok(found) => Ok(found),
            Err(denied) if denied.is_access_denied() => {
                let path = service.map(iam::service_role_path);
                let prefix = path.as_deref().unwrap_or(iam::SERVICE_ROLES_PATH);
                let listed = self.list_roles(prefix).await.map_err(|err| {
                    Failure::new(format!(
                        "{denied}; and {err}, so whether {name} exists cannot be told: allow \
                         iam:ListRoles"
                    ))
                })?;
                match listed.iter().find(|r| r.name.eq_ignore_ascii_case(name)) {
                    None => {
                        tracing::debug!(
                            role_name = name,
                            path = prefix,
                            "GetRole was denied and ListRoles shows no such role: it does not exist"
                        );
                        Ok(None)
                    }
                    Some(role) => Err(read_denied(&denied, role)),
                }
            }
            Err(err) => Err(err.into()),
        }
    }

    /// The role ListRoles showed, read in full (its tags and creation date).
    pub(super) async fn read_listed(&self, listed: &Listed) -> Result<Option<Role>, Failure> {
        match self.get_role(&listed.name).await {
            Err(denied) if denied.is_access_denied() => Err(read_denied(&denied, listed)),
            answered => Ok(answered?),
        }
    }

    /// The role that is exactly the one `props` asks for, when the service's path lists it.
    pub(super) async fn find_listed(
        &self,
        props: &RoleProperties,
    ) -> Result<Option<Role>, Failure> {
        let listed = self
            .list_roles(&iam::service_role_path(&props.service))
            .await?;
        let base = needs::role_name_of(&props.service);
        match pick_role(&listed, base, props.suffix.as_deref())? {
            Some(role) => self.read_listed(role).await,
            None => Ok(None),
        }
    }

    async fn get_role(&self, name: &str) -> Result<Option<Role>, ApiError> {
        let doing = format!("calling iam:GetRole for {name}");
        self.patiently(doing, || iam::get_role(self.iam, name))
            .await
    }

    async fn list_roles(&self, prefix: &str) -> Result<Vec<Listed>, ApiError> {
        let doing = format!("calling iam:ListRoles under {prefix}");
        self.patiently(doing, || iam::list_roles_under(self.iam, prefix))
            .await
    }
}

/// IAM refused to show a role that exists: the function's policy lacks the read.
fn read_denied(denied: &ApiError, role: &Listed) -> Failure {
    Failure::new(format!(
        "{denied}; {} exists ({}), so this function's role needs iam:GetRole on it",
        role.name, role.arn
    ))
}

/// The listed role whose name is exactly the one asked for: the service's role name with
/// `_<suffix>` when a suffix is asked for. `base` is that name when the table knows the
/// service; otherwise the base is a listed name's part before its first `_` (IAM's role names
/// carry no `_` but the one before a suffix). `None` while no such role is listed; an error
/// when several names could be it.
pub(super) fn pick_role<'l>(
    listed: &'l [Listed],
    base: Option<&str>,
    suffix: Option<&str>,
) -> Result<Option<&'l Listed>, Failure> {
    let is_asked = |name: &str| {
        let (name_base, name_suffix) = match name.split_once('_') {
            Some((b, s)) => (b, Some(s)),
            None => (name, None),
        };
        let base_matches = base.is_none_or(|b| b.eq_ignore_ascii_case(name_base));
        let suffix_matches = match (suffix, name_suffix) {
            (None, None) => true,
            (Some(asked), Some(given)) => asked.eq_ignore_ascii_case(given),
            _ => false,
        };
        base_matches && suffix_matches
    };
    let matching: Vec<&Listed> = listed.iter().filter(|r| is_asked(&r.name)).collect();
    match matching.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(one)),
        many => Err(Failure::new(format!(
            "IAM says the role exists but several roles could be it: {}",
            many.iter()
                .map(|r| r.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(names: &[&str]) -> Vec<Listed> {
        names
            .iter()
            .map(|n| Listed {
                name: n.to_string(),
                arn: format!("arn:aws:iam::1:role/aws-service-role/s/{n}"),
                path: "/aws-service-role/s/".into(),
            })
            .collect()
    }

    fn picked(roles: &[Listed], base: Option<&str>, suffix: Option<&str>) -> Option<String> {
        pick_role(roles, base, suffix)
            .unwrap()
            .map(|r| r.name.clone())
    }

    #[test]
    fn picks_exactly_the_name_asked_for() {
        let roles = listed(&[
            "AWSServiceRoleForAutoScaling",
            "AWSServiceRoleForAutoScaling_A",
            "AWSServiceRoleForAutoScaling_team_a",
        ]);
        let base = Some("AWSServiceRoleForAutoScaling");
        assert_eq!(
            picked(&roles, base, Some("a")).as_deref(),
            Some("AWSServiceRoleForAutoScaling_A")
        );
        assert_eq!(
            picked(&roles, base, None).as_deref(),
            Some("AWSServiceRoleForAutoScaling")
        );
        assert_eq!(
            picked(&roles, base, Some("team_a")).as_deref(),
            Some("AWSServiceRoleForAutoScaling_team_a")
        );
        assert_eq!(picked(&roles, base, Some("c")), None);
        // Without the table's name, the same: a suffix is what follows the first `_`.
        assert_eq!(
            picked(&roles, None, Some("a")).as_deref(),
            Some("AWSServiceRoleForAutoScaling_A")
        );
        assert_eq!(
            picked(&roles, None, None).as_deref(),
            Some("AWSServiceRoleForAutoScaling")
        );
    }

    #[test]
    fn a_lone_role_with_another_suffix_is_not_taken() {
        let only_suffixed = listed(&["AWSServiceRoleForAutoScaling_team-b"]);
        assert_eq!(picked(&only_suffixed, None, None), None);
        assert_eq!(picked(&only_suffixed, None, Some("team-a")), None);
        let only_plain = listed(&["AWSServiceRoleForAutoScaling"]);
        assert_eq!(picked(&only_plain, None, Some("team-a")), None);
        // Another base under the same path is not the service's role.
        let other = listed(&["AWSServiceRoleForSomethingElse"]);
        assert_eq!(
            picked(&other, Some("AWSServiceRoleForAutoScaling"), None),
            None
        );
    }

    #[test]
    fn two_candidates_are_ambiguous() {
        let roles = listed(&["X_a", "Y_a"]);
        assert!(pick_role(&roles, None, Some("a")).is_err());
        assert_eq!(picked(&roles, Some("X"), Some("a")).as_deref(), Some("X_a"));
    }
}
