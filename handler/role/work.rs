//! The work on IAM for one request: create or adopt, and update. Existence is decided in
//! `lookup`, deletion in `removal`.
//!
//! A role this resource creates is tagged with its stack, logical id, request id and removal
//! policy. The stack and logical id are the only evidence Delete trusts: a role without them
//! (made by a console click, another stack, or another resource of this stack) is never
//! deleted. The request id also lets a redelivered Create recognise the role it made the first
//! time and give the same answer; the removal policy tells an adopter in another stack whether
//! the owner's delete would remove the role.

use super::Failure;
pub use super::known_names::KnownNames;
use super::progress::Progress;
use super::properties::{RemovalPolicy, RoleProperties};
use crate::adapters::cloudformation::CloudFormation;
use crate::adapters::iam::{self, CreateOutcome, Role};
use crate::needs;
use aws_sdk_iam::Client;
use std::time::Duration;

pub const STACK_TAG: &str = "upsert-slr:stack-id";
pub const LOGICAL_ID_TAG: &str = "upsert-slr:logical-id";
pub const REQUEST_TAG: &str = "upsert-slr:request-id";
/// The creating resource's RemovalPolicy, kept up to date by its Updates: what an adopter in
/// another stack can learn about whether that resource's delete would remove the role.
pub const REMOVAL_POLICY_TAG: &str = "upsert-slr:removal-policy";

/// Pauses between lookups of a role that IAM says exists but does not show yet (IAM is
/// eventually consistent; another function may have created it a moment ago).
const FIND_RETRY_PAUSES: [Duration; 4] = [
    Duration::from_millis(500),
    Duration::from_secs(1),
    Duration::from_secs(2),
    Duration::from_secs(4),
];

/// The `upsert-slr:stack-id` of a role created for a Terraform owner (an `aws_lambda_invocation`),
/// whose Owner is then its `upsert-slr:logical-id`. No stack's id is this word, so neither
/// kind of owner can claim the other's roles.
pub const TERRAFORM_MARK: &str = "terraform";

/// The resource on whose behalf the work is done, and so whose roles it may change or delete.
#[derive(Clone, Copy, Debug)]
pub enum Owner<'a> {
    /// A CloudFormation resource (or a hook's target): its stack and logical id. Deleting
    /// its role needs CloudFormation's confirmation.
    Stack {
        stack_id: &'a str,
        logical_id: &'a str,
        request_id: &'a str,
    },
    /// A Terraform resource (an `aws_lambda_invocation`), by its `Owner`. Nobody can confirm a
    /// Terraform destroy: whoever may invoke the function speaks for it.
    Terraform { id: &'a str, request_id: &'a str },
    /// A Terraform resource without an `Owner`: it marks no role, so it changes and deletes
    /// none.
    Nobody,
}

impl Owner<'_> {
    /// The tags that mark a role as this owner's: stack (or the Terraform mark), logical id,
    /// request id. `None` for an owner that cannot claim a role: none given, or a stack id
    /// that is the Terraform mark (no stack's is).
    fn mark(&self) -> Option<[&str; 3]> {
        match *self {
            Owner::Stack {
                stack_id,
                logical_id,
                request_id,
            } if stack_id != TERRAFORM_MARK => Some([stack_id, logical_id, request_id]),
            Owner::Stack { .. } | Owner::Nobody => None,
            Owner::Terraform { id, request_id } => Some([TERRAFORM_MARK, id, request_id]),
        }
    }

    pub(super) fn owns(&self, role: &Role) -> bool {
        self.mark().is_some_and(|[stack, logical, _]| {
            role.tag(STACK_TAG) == Some(stack) && role.tag(LOGICAL_ID_TAG) == Some(logical)
        })
    }

    /// Whether the role was created for this very request: a redelivered Create gets the same
    /// answer. A Terraform owner's own role always counts: a re-applied create or a failed
    /// update sent again is the same request to it, and no id tells one apply from another.
    fn created_in_this_request(&self, role: &Role) -> bool {
        match self {
            Owner::Terraform { .. } => self.owns(role),
            _ => {
                self.owns(role)
                    && self
                        .mark()
                        .is_some_and(|[.., request]| role.tag(REQUEST_TAG) == Some(request))
            }
        }
    }

    /// The stack this owner is a resource of, for CloudFormation's confirmation of a delete.
    pub(super) fn stack_id(&self) -> Option<&str> {
        match *self {
            Owner::Stack { stack_id, .. } => Some(stack_id),
            Owner::Terraform { .. } | Owner::Nobody => None,
        }
    }
}

/// One request's work: the IAM and CloudFormation clients, the role names this process has
/// seen, the resource the work is done for, and where it says what it is doing (read by the
/// deadline guard).
#[derive(Clone, Copy, Debug)]
pub struct Work<'a> {
    pub iam: &'a Client,
    pub stacks: &'a CloudFormation,
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
            if let Some(role) = self.look_up(&name, None).await?
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
            if let Some(role) = self.look_up(name, Some(service)).await?
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
            None => self.look_up(name, Some(&props.service)).await,
        }
    }

    /// An existing role: created by this very request (a redelivery) or adopted.
    fn existing(&self, role: Role) -> Upserted {
        if self.owner.created_in_this_request(&role) {
            return Upserted::Created(role);
        }
        if let Some(ownership) = self.ownership(&role) {
            tracing::info!(
                role_name = %role.name,
                owner_stack_id = role.tag(STACK_TAG).unwrap_or_default(),
                owner_logical_id = role.tag(LOGICAL_ID_TAG).unwrap_or_default(),
                owner_removal_policy = role.tag(REMOVAL_POLICY_TAG).unwrap_or("unrecorded"),
                "adopted a role another resource created: {ownership}"
            );
        }
        Upserted::Adopted(role)
    }

    /// Who created an adopted role, and whether that resource's delete would remove it; `None`
    /// for a role no stack marked as its own, or marked as this resource's.
    pub(super) fn ownership(&self, role: &Role) -> Option<String> {
        // This resource's own role, asked for again: nobody else's delete is involved.
        if self.owner.owns(role) {
            return None;
        }
        let stack = role.tag(STACK_TAG)?;
        let logical = role.tag(LOGICAL_ID_TAG).unwrap_or("a resource");
        if stack == TERRAFORM_MARK {
            let whether = match role.tag(REMOVAL_POLICY_TAG) {
                Some(p) if p.eq_ignore_ascii_case(RemovalPolicy::Delete.as_str()) => {
                    "RemovalPolicy Delete: its destroy deletes the role, whatever this resource \
                     needs"
                }
                Some(_) => "RemovalPolicy Retain: its destroy keeps the role",
                None => "no RemovalPolicy recorded: its destroy may remove the role",
            };
            return Some(format!("created by Terraform owner {logical}, {whether}"));
        }
        if Some(stack) == self.owner.stack_id() {
            return Some(format!(
                "created by {logical} of this stack, whose delete keeps it while this resource \
                 holds it"
            ));
        }
        let whether = match role.tag(REMOVAL_POLICY_TAG) {
            Some(p) if p.eq_ignore_ascii_case(RemovalPolicy::Delete.as_str()) => {
                "RemovalPolicy Delete: deleting that resource or its stack deletes the role, \
                 whatever this stack needs"
            }
            Some(_) => "RemovalPolicy Retain: its delete keeps the role",
            None => "no RemovalPolicy recorded: its delete may remove the role",
        };
        Some(format!("created by {logical} of stack {stack}, {whether}"))
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

    async fn mark_as_created(
        &self,
        role: &Role,
        removal_policy: RemovalPolicy,
    ) -> Result<(), Failure> {
        let Some([stack, logical, request]) = self.owner.mark() else {
            // Nobody to mark it for: like a role created without its tags, it is kept.
            return match removal_policy {
                RemovalPolicy::Retain => Ok(()),
                RemovalPolicy::Delete => Err(Failure::new(format!(
                    "created {} but marked it as nobody's, so RemovalPolicy Delete could not \
                     remove it later (give an Owner)",
                    role.name
                ))),
            };
        };
        let tags = [
            (STACK_TAG, stack),
            (LOGICAL_ID_TAG, logical),
            (REQUEST_TAG, request),
            (REMOVAL_POLICY_TAG, removal_policy.as_str()),
        ];
        let doing = format!("calling iam:TagRole for {}", role.name);
        let tagged = self
            .patiently(doing, || iam::tag_role(self.iam, &role.name, &tags))
            .await;
        let Err(err) = tagged else {
            return Ok(());
        };
        // IAM may have applied a TagRole whose answer was lost; asked again, the policy
        // refuses to tag a role that carries the mark. The role's tags say which it was.
        if let Ok(Some(now)) = self.look_up(&role.name, role.service()).await
            && self.owner.created_in_this_request(&now)
        {
            tracing::info!(role_name = %role.name, error = %err, "TagRole failed after its tags were applied");
            return Ok(());
        }
        // Without the tags a later Delete must retain the role: only fatal when the user asked
        // for it to be deleted.
        if removal_policy == RemovalPolicy::Delete {
            return Err(Failure::new(format!(
                "{err}; created {} but could not tag it as created by this resource, so \
                 RemovalPolicy Delete could not remove it later (allow iam:TagRole)",
                role.name
            )));
        }
        tracing::warn!(role_name = %role.name, error = %err, "could not tag the created role; it will be retained on delete");
        Ok(())
    }

    /// The existing role: by the name in IAM's message, else the one the service's path lists
    /// for the asked name. A role of that name under another path is not the service's.
    async fn find_existing(
        &self,
        props: &RoleProperties,
        named: Option<&str>,
    ) -> Result<Role, Failure> {
        let mut pauses = FIND_RETRY_PAUSES.iter();
        loop {
            let role = match named {
                Some(name) => self.look_up(name, Some(&props.service)).await?,
                None => self.find_listed(props).await?,
            };
            if let Some(role) = role {
                if !serves(props, &role) {
                    return Err(Failure::new(format!(
                        "IAM says {} has been taken, but that role is not {}'s service-linked \
                         role (its path is {}): it is not adopted",
                        role.name, props.service, role.path
                    )));
                }
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

    /// The role `props` asks for, if it exists, found without creating anything: by the name
    /// this process saw, a role that serves instead, the name the table gives, or the
    /// service's path.
    pub(super) async fn find_asked(&self, props: &RoleProperties) -> Result<Option<Role>, Failure> {
        if let Some(name) = self.known.get(props)
            && let Some(role) = self.look_up(&name, Some(&props.service)).await?
            && serves(props, &role)
        {
            return Ok(Some(role));
        }
        if let Some(role) = self.find_serving(props).await? {
            return Ok(Some(role));
        }
        // IAM names a role from the service's template, and a suffix after a '_'.
        if let Some(base) = needs::role_name_of(&props.service) {
            let name = match &props.suffix {
                Some(suffix) => format!("{base}_{suffix}"),
                None => base.to_string(),
            };
            return Ok(self
                .look_up(&name, Some(&props.service))
                .await?
                .filter(|role| serves(props, role)));
        }
        self.find_listed(props).await
    }

    /// The role named `name`, if it exists: what a check that creates nothing asks.
    pub async fn find(&self, name: &str) -> Result<Option<Role>, Failure> {
        self.look_up(name, None).await
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
    /// only its description (and, on a role this resource created, its recorded removal
    /// policy) can change.
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
        let Some(role) = self.look_up(physical_id, None).await? else {
            // Deleted behind the stack's back: bring it back.
            return self.upsert(new).await.map(Updated::Upserted);
        };
        self.bring_up_to_date(role, old, new).await
    }

    /// The same role under its new properties: on a role this resource created, its recorded
    /// removal policy and its description; nothing on one it adopted.
    pub(super) async fn bring_up_to_date(
        &self,
        role: Role,
        old: Option<&RoleProperties>,
        new: &RoleProperties,
    ) -> Result<Updated, Failure> {
        // An adopted role belongs to whoever made it: its description and tags are theirs.
        if !self.owner.owns(&role) {
            return Ok(
                if old.and_then(|o| o.description.as_deref()) == new.description.as_deref() {
                    Updated::Kept(role)
                } else {
                    Updated::Untouched(role)
                },
            );
        }
        self.record_removal_policy(&role, new.removal_policy).await;
        if old.and_then(|o| o.description.as_deref()) == new.description.as_deref() {
            return Ok(Updated::Kept(role));
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

    /// Brings the role's removal-policy tag up to what the resource now says. Only what
    /// adopters elsewhere read: a failure is logged, not answered.
    async fn record_removal_policy(&self, role: &Role, policy: RemovalPolicy) {
        if role.tag(REMOVAL_POLICY_TAG) == Some(policy.as_str()) {
            return;
        }
        let tags = [(REMOVAL_POLICY_TAG, policy.as_str())];
        let doing = format!("calling iam:TagRole for {}", role.name);
        let tagged = self
            .patiently(doing, || iam::tag_role(self.iam, &role.name, &tags))
            .await;
        if let Err(err) = tagged {
            tracing::warn!(role_name = %role.name, error = %err, "the role's removal-policy tag was not updated");
        }
    }
}
