//! The work on IAM for one request: create or adopt, update, and delete only what this
//! resource created.
//!
//! A role this resource creates is tagged with its stack, logical id and request id. The tags
//! are the only evidence Delete trusts: a role without them (made by a console click, another
//! stack, or another resource of this stack) is never deleted. The request id also lets a
//! redelivered Create recognise the role it made the first time and give the same answer.

use super::Failure;
pub use super::known_names::KnownNames;
use super::progress::Progress;
use super::properties::{RemovalPolicy, RoleProperties};
use crate::adapters::iam::{self, CreateOutcome, DeletionStatus, IamError, Role};
use crate::template::needs;
use aws_sdk_iam::Client;
use std::time::Duration;

pub const STACK_TAG: &str = "upsert-slr:stack-id";
pub const LOGICAL_ID_TAG: &str = "upsert-slr:logical-id";
pub const REQUEST_TAG: &str = "upsert-slr:request-id";

/// Pauses between lookups of a role that IAM says exists but does not show yet (IAM is
/// eventually consistent; another function may have created it a moment ago).
const FIND_RETRY_PAUSES: [Duration; 4] = [
    Duration::from_millis(500),
    Duration::from_secs(1),
    Duration::from_secs(2),
    Duration::from_secs(4),
];

/// The custom resource on whose behalf the work is done.
#[derive(Clone, Copy, Debug)]
pub struct Owner<'a> {
    pub stack_id: &'a str,
    pub logical_id: &'a str,
    pub request_id: &'a str,
}

impl Owner<'_> {
    fn owns(&self, role: &Role) -> bool {
        role.tag(STACK_TAG) == Some(self.stack_id)
            && role.tag(LOGICAL_ID_TAG) == Some(self.logical_id)
    }

    fn created_in_this_request(&self, role: &Role) -> bool {
        self.owns(role) && role.tag(REQUEST_TAG) == Some(self.request_id)
    }
}

/// One request's work on IAM: the client, the role names this process has seen, the resource
/// the work is done for, and where it says what it is doing (read by the deadline guard).
#[derive(Clone, Copy, Debug)]
pub struct Work<'a> {
    pub iam: &'a Client,
    pub known: &'a KnownNames,
    pub owner: Owner<'a>,
    pub progress: &'a Progress,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Upserted {
    Created(Role),
    Adopted(Role),
}

impl Work<'_> {
    /// Creates the role, or finds it when IAM says it already exists.
    pub async fn upsert(&self, props: &RoleProperties) -> Result<Upserted, Failure> {
        if let Some(name) = self.known.get(props) {
            // Gone since, or (an odd case) the name now belongs to another service: the full way.
            if let Some(role) = self.get_role(&name).await?
                && serves(props, &role)
            {
                return Ok(self.existing(role));
            }
        }
        let upserted = match self.find_serving(props).await? {
            Some(role) => self.existing(role),
            None => self.create_or_find(props).await?,
        };
        let (Upserted::Created(role) | Upserted::Adopted(role)) = &upserted;
        self.known.remember(props, role);
        Ok(upserted)
    }

    /// For a service whose role another can stand in for (the table's `satisfiedBy`: an
    /// account holding only the legacy Elasticsearch role keeps using it for OpenSearch), the
    /// first of its own role and those others that exists. Looked up before any creation,
    /// since no source says what IAM answers a creation while only the other role exists.
    async fn find_serving(&self, props: &RoleProperties) -> Result<Option<Role>, Failure> {
        // A suffix names one role exactly: nothing else serves for it.
        if props.suffix.is_some() {
            return Ok(None);
        }
        let Some((own, instead)) = needs::serving_roles(&props.service) else {
            return Ok(None);
        };
        let candidates = std::iter::once((props.service.as_str(), own)).chain(
            instead
                .iter()
                .map(|a| (a.service.as_str(), a.role_name.as_str())),
        );
        for (service, name) in candidates {
            if let Some(role) = self.get_role(name).await?
                && role
                    .path
                    .eq_ignore_ascii_case(&iam::service_role_path(service))
            {
                if !service.eq_ignore_ascii_case(&props.service) {
                    tracing::info!(role_name = %role.name, service = %props.service, "adopted a role that serves instead of the service's own");
                }
                return Ok(Some(role));
            }
        }
        Ok(None)
    }

    /// The role `props` asks for, named `name`, or one serving instead of it, when it exists;
    /// nothing is created.
    pub(super) async fn find_or_serving(
        &self,
        props: &RoleProperties,
        name: &str,
    ) -> Result<Option<Role>, Failure> {
        match self.find_serving(props).await? {
            Some(role) => Ok(Some(role)),
            None => self.find(name).await,
        }
    }

    /// An existing role: created by this very request (a redelivery) or adopted.
    fn existing(&self, role: Role) -> Upserted {
        if self.owner.created_in_this_request(&role) {
            Upserted::Created(role)
        } else {
            Upserted::Adopted(role)
        }
    }

    async fn create_or_find(&self, props: &RoleProperties) -> Result<Upserted, Failure> {
        let doing = format!("calling iam:CreateServiceLinkedRole for {}", props.service);
        let outcome = self
            .patiently(doing, || {
                iam::create_service_linked_role(
                    self.iam,
                    &props.service,
                    props.suffix.as_deref(),
                    props.description.as_deref(),
                )
            })
            .await?;
        match outcome {
            CreateOutcome::Created(role) => {
                self.progress.created(&role.name);
                self.mark_as_created(&role, props.removal_policy).await?;
                Ok(Upserted::Created(role))
            }
            CreateOutcome::Taken { name } => {
                let role = self.find_existing(props, name.as_deref()).await?;
                Ok(self.existing(role))
            }
            CreateOutcome::Refused(refusal) => match self.find_listed(props).await {
                Ok(Some(role)) => {
                    tracing::info!(role_name = %role.name, refusal = %refusal, "IAM refused the creation of a role that exists; adopted it");
                    Ok(self.existing(role))
                }
                // Nothing to adopt, or no telling which: IAM's own words say what is wrong.
                Ok(None) | Err(_) => Err(refusal.into()),
            },
        }
    }

    /// The role the service's path lists for the suffix, when exactly one matches and it can
    /// be read.
    async fn find_listed(&self, props: &RoleProperties) -> Result<Option<Role>, Failure> {
        let names = self.list_role_names(&props.service).await?;
        match pick_role(&names, props.suffix.as_deref())? {
            Some(name) => Ok(self.get_role(&name).await?),
            None => Ok(None),
        }
    }

    async fn mark_as_created(
        &self,
        role: &Role,
        removal_policy: RemovalPolicy,
    ) -> Result<(), Failure> {
        let tags = [
            (STACK_TAG, self.owner.stack_id),
            (LOGICAL_ID_TAG, self.owner.logical_id),
            (REQUEST_TAG, self.owner.request_id),
        ];
        let doing = format!("calling iam:TagRole for {}", role.name);
        let tagged = self
            .patiently(doing, || iam::tag_role(self.iam, &role.name, &tags))
            .await;
        match tagged {
            Ok(()) => Ok(()),
            // Without the tags a later Delete must retain the role: only fatal when the user
            // asked for it to be deleted.
            Err(err) if removal_policy == RemovalPolicy::Delete => Err(Failure::new(format!(
                "{err}; created {} but could not tag it as created by this resource, so \
             RemovalPolicy Delete could not remove it later (allow iam:TagRole)",
                role.name
            ))),
            Err(err) => {
                tracing::warn!(role_name = %role.name, error = %err, "could not tag the created role; it will be retained on delete");
                Ok(())
            }
        }
    }

    /// The existing role: by the name in IAM's message, else by listing the service's path.
    async fn find_existing(
        &self,
        props: &RoleProperties,
        named: Option<&str>,
    ) -> Result<Role, Failure> {
        let mut pauses = FIND_RETRY_PAUSES.iter();
        loop {
            let role = match named {
                Some(name) => self.get_role(name).await?,
                None => self.find_listed(props).await?,
            };
            if let Some(role) = role {
                return Ok(role);
            }
            let Some(pause) = pauses.next() else {
                return Err(Failure::new(format!(
                    "IAM says the role for {} exists{} but does not show it after {} lookups",
                    props.service,
                    named.map(|n| format!(" ({n})")).unwrap_or_default(),
                    FIND_RETRY_PAUSES.len() + 1
                )));
            };
            tokio::time::sleep(*pause).await;
        }
    }
}

impl Work<'_> {
    /// The role named `name`, if it exists: what a check that creates nothing asks.
    pub async fn find(&self, name: &str) -> Result<Option<Role>, Failure> {
        Ok(self.get_role(name).await?)
    }

    async fn get_role(&self, name: &str) -> Result<Option<Role>, IamError> {
        let doing = format!("calling iam:GetRole for {name}");
        self.patiently(doing, || iam::get_role(self.iam, name))
            .await
    }

    async fn list_role_names(&self, service: &str) -> Result<Vec<String>, IamError> {
        let doing = format!("calling iam:ListRoles for {service}'s roles");
        self.patiently(doing, || {
            iam::list_service_linked_role_names(self.iam, service)
        })
        .await
    }
}

/// Whether `role` is the requested service's, or (without a suffix) one the table says serves
/// instead.
fn serves(props: &RoleProperties, role: &Role) -> bool {
    let of = |service: &str| {
        role.path
            .eq_ignore_ascii_case(&iam::service_role_path(service))
    };
    of(&props.service)
        || (props.suffix.is_none()
            && needs::serving_roles(&props.service)
                .is_some_and(|(_, instead)| instead.iter().any(|a| of(&a.service))))
}

/// The one listed role that matches the suffix: `<base>_<suffix>`, or the one without a
/// suffix. `None` while nothing matches yet; an error when the choice is ambiguous.
fn pick_role(names: &[String], suffix: Option<&str>) -> Result<Option<String>, Failure> {
    let matching: Vec<&String> = names
        .iter()
        .filter(|name| match suffix {
            Some(suffix) => name
                .to_ascii_lowercase()
                .ends_with(&format!("_{}", suffix.to_ascii_lowercase())),
            None => !name.contains('_') || names.len() == 1,
        })
        .collect();
    match matching.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some((*one).clone())),
        many => Err(Failure::new(format!(
            "IAM says the role exists but several roles could be it: {}",
            many.iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum Updated {
    /// Another role (or the same one, found again): answered like a Create.
    Upserted(Upserted),
    /// The same role, its description brought up to date.
    Kept(Role),
    /// The same role, left as it was although the description changed: this resource adopted
    /// it, and changes nothing on a role it did not create.
    Untouched(Role),
}

impl Work<'_> {
    /// An Update: a changed service or suffix means another role; otherwise the role stays and
    /// only its description can change.
    pub async fn update(
        &self,
        physical_id: &str,
        old: Option<&RoleProperties>,
        new: &RoleProperties,
    ) -> Result<Updated, Failure> {
        let same_role =
            old.is_some_and(|old| old.same_role_as(new)) && iam::is_role_name(physical_id);
        if !same_role {
            return self.upsert(new).await.map(Updated::Upserted);
        }
        let Some(role) = self.get_role(physical_id).await? else {
            // Deleted behind the stack's back: bring it back.
            return self.upsert(new).await.map(Updated::Upserted);
        };
        if old.and_then(|o| o.description.as_deref()) == new.description.as_deref() {
            return Ok(Updated::Kept(role));
        }
        // An adopted role belongs to whoever made it: its description is theirs.
        if !self.owner.owns(&role) {
            return Ok(Updated::Untouched(role));
        }
        let doing = format!("calling iam:UpdateRoleDescription for {}", role.name);
        let description = new.description.as_deref().unwrap_or_default();
        let updated = self
            .patiently(doing, || {
                iam::update_role_description(self.iam, &role.name, description)
            })
            .await;
        match updated {
            Ok(()) => {}
            Err(err) if err.is("UnmodifiableEntity") => {
                tracing::warn!(role_name = %role.name, error = %err, "description not changed: the role is protected");
            }
            Err(err) => return Err(err.into()),
        }
        Ok(Updated::Kept(role))
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum Removal {
    /// Left in place; says why.
    Retained(String),
    /// Nothing to delete; says why.
    Gone(String),
    /// Deletion started; IAM works on it asynchronously.
    Started { role: String, task_id: String },
}

impl Work<'_> {
    /// A Delete of the role named `physical_id`: starts deleting it only when the policy asks for
    /// it and this resource created it.
    pub async fn begin_delete(
        &self,
        physical_id: &str,
        policy: RemovalPolicy,
    ) -> Result<Removal, Failure> {
        if policy == RemovalPolicy::Retain {
            return Ok(Removal::Retained("RemovalPolicy is Retain".into()));
        }
        let Some(role) = self.get_role(physical_id).await? else {
            return Ok(Removal::Gone(format!("{physical_id} does not exist")));
        };
        if !role.is_service_linked() {
            return Ok(Removal::Retained(format!(
                "{} is not a service-linked role",
                role.name
            )));
        }
        if !self.owner.owns(&role) {
            return Ok(Removal::Retained(format!(
                "{} was not created by this resource",
                role.name
            )));
        }
        let doing = format!("calling iam:DeleteServiceLinkedRole for {}", role.name);
        let deletion = self
            .patiently(doing, || {
                iam::delete_service_linked_role(self.iam, &role.name)
            })
            .await?;
        Ok(match deletion {
            Some(task_id) => Removal::Started {
                role: role.name,
                task_id,
            },
            // Deleted by someone else between the look and the deletion.
            None => Removal::Gone(format!("{} was deleted meanwhile", role.name)),
        })
    }

    /// Whether the deletion has finished: `Ok(true)` when the role is gone, `Ok(false)` while IAM
    /// is still working, a Failure naming what still uses the role when IAM gave up.
    pub async fn deletion_finished(&self, role: &str, task_id: &str) -> Result<bool, Failure> {
        let doing = format!(
            "waiting for the deletion of {role} (iam:GetServiceLinkedRoleDeletionStatus {task_id})"
        );
        let status = self
            .patiently(doing, || iam::deletion_status(self.iam, task_id))
            .await?;
        match status {
            DeletionStatus::Running => Ok(false),
            DeletionStatus::Succeeded => Ok(true),
            // The task expired, or IAM has not caught up with it: the role itself decides.
            DeletionStatus::NotFound => match self.get_role(role).await? {
                None => Ok(true),
                Some(_) => {
                    self.progress.doing(format!(
                        "waiting for the deletion of {role}: IAM no longer knows its deletion task \
                     ({task_id}) and the role still exists"
                    ));
                    Ok(false)
                }
            },
            DeletionStatus::Failed { reason, usage } => {
                Err(Failure::new(deletion_failure(role, reason, &usage)))
            }
        }
    }
}

fn deletion_failure(role: &str, reason: Option<String>, usage: &[(String, Vec<String>)]) -> String {
    let mut text = format!(
        "DeletionFailed: {} (iam:GetServiceLinkedRoleDeletionStatus)",
        reason.as_deref().unwrap_or("IAM gave no reason")
    );
    if !usage.is_empty() {
        let places: Vec<String> = usage
            .iter()
            .map(|(region, resources)| format!("in {region} by {}", resources.join(", ")))
            .collect();
        text.push_str(&format!("; {role} is still used {}", places.join("; ")));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn picks_the_role_for_the_suffix() {
        let listed = names(&[
            "AWSServiceRoleForAutoScaling",
            "AWSServiceRoleForAutoScaling_A",
            "AWSServiceRoleForAutoScaling_b",
        ]);
        assert_eq!(
            pick_role(&listed, Some("a")),
            Ok(Some("AWSServiceRoleForAutoScaling_A".into()))
        );
        assert_eq!(
            pick_role(&listed, None),
            Ok(Some("AWSServiceRoleForAutoScaling".into()))
        );
        assert_eq!(pick_role(&listed, Some("c")), Ok(None));
        assert_eq!(
            pick_role(&names(&["AWSServiceRoleFor_Odd"]), None),
            Ok(Some("AWSServiceRoleFor_Odd".into()))
        );
        assert!(pick_role(&names(&["X_a", "Y_a"]), Some("a")).is_err());
    }

    #[test]
    fn deletion_failure_names_reason_and_usage() {
        let text = deletion_failure(
            "AWSServiceRoleForECS",
            Some("Service-linked role deletion failed".into()),
            &[
                (
                    "us-east-1".into(),
                    vec![
                        "arn:aws:ecs:us-east-1:1:cluster/a".into(),
                        "arn:aws:ecs:us-east-1:1:cluster/b".into(),
                    ],
                ),
                (
                    "eu-west-1".into(),
                    vec!["arn:aws:ecs:eu-west-1:1:cluster/c".into()],
                ),
            ],
        );
        assert_eq!(
            text,
            "DeletionFailed: Service-linked role deletion failed (iam:GetServiceLinkedRoleDeletionStatus); \
             AWSServiceRoleForECS is still used in us-east-1 by arn:aws:ecs:us-east-1:1:cluster/a, \
             arn:aws:ecs:us-east-1:1:cluster/b; in eu-west-1 by arn:aws:ecs:eu-west-1:1:cluster/c"
        );
    }
}
