//! A Delete: the role goes only when the policy asks for it, this resource created it, and
//! CloudFormation itself confirms that nothing in the stack still holds it. A Terraform owner's
//! destroy has nobody to confirm it: the permission to invoke the function is the boundary.
//!
//! The event alone proves nothing: whoever may invoke the function can send a Delete, and a
//! rename makes CloudFormation create the new resource (which adopts the role) before it deletes
//! the old one, whose tags still match. So the stack's status must be one in which
//! CloudFormation deletes resources, and no resource of the stack that is not itself being
//! deleted may have this role as its physical id. Anything CloudFormation cannot confirm keeps
//! the role, and the Reason says why.

use super::Failure;
use super::properties::RemovalPolicy;
use super::work::{REMOVAL_POLICY_TAG, Work};
use crate::adapters::cloudformation::{StackArn, StackResource};
use crate::adapters::iam::{self, DeletionStatus};

#[derive(Debug, PartialEq, Eq)]
pub enum Removal {
    /// Left in place; says why.
    Retained(String),
    /// Nothing to delete; says why.
    Gone(String),
    /// Deletion started; IAM works on it asynchronously.
    Started { role: String, task_id: String },
}

/// Stack statuses in which CloudFormation deletes every resource of the stack: its delete, and
/// the rollback of its failed creation.
const WHOLE_STACK_GOES: [&str; 2] = ["DELETE_IN_PROGRESS", "ROLLBACK_IN_PROGRESS"];
/// Stack statuses in which CloudFormation deletes some resources: those an update removed,
/// renamed or replaced, or those a failed update had created.
const SOME_RESOURCES_GO: [&str; 3] = [
    "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
    "UPDATE_ROLLBACK_IN_PROGRESS",
    "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS",
];
/// A resource in these states no longer holds its physical id.
const LETTING_GO: [&str; 3] = ["DELETE_IN_PROGRESS", "DELETE_COMPLETE", "DELETE_SKIPPED"];

/// What CloudFormation says of the resource being deleted.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Confirmation {
    Confirmed,
    /// Not confirmed, and why: the role is kept.
    Unconfirmed(String),
}

impl Work<'_> {
    /// A Delete of the role named `physical_id`: starts deleting it only when the policy asks for
    /// it, this resource created it, and CloudFormation confirms the deletion.
    pub async fn begin_delete(
        &self,
        physical_id: &str,
        policy: RemovalPolicy,
    ) -> Result<Removal, Failure> {
        if policy == RemovalPolicy::Retain {
            return Ok(Removal::Retained("RemovalPolicy is Retain".into()));
        }
        let Some(role) = self.look_up(physical_id, None).await? else {
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
        // CloudFormation sends a stack delete the properties it last applied, which the owner
        // recorded on the role: an event saying otherwise did not come from that stack delete.
        if role.tag(REMOVAL_POLICY_TAG) == Some(RemovalPolicy::Retain.as_str()) {
            return Ok(Removal::Retained(format!(
                "its owner recorded RemovalPolicy Retain (tag {REMOVAL_POLICY_TAG}), which a \
                 Delete cannot overrule"
            )));
        }
        // A stack's resource goes on CloudFormation's word; a Terraform owner's on the
        // invocation's, since nobody else can confirm a destroy.
        if let Some(stack) = self.owner.stack_id()
            && let Confirmation::Unconfirmed(why) =
                self.cloudformation_confirms(stack, &role.name).await?
        {
            return Ok(Removal::Retained(why));
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

    /// Whether CloudFormation is deleting this resource and nothing else in its stack holds
    /// `role`.
    async fn cloudformation_confirms(
        &self,
        stack: &str,
        role: &str,
    ) -> Result<Confirmation, Failure> {
        let unconfirmed = |why: String| Ok(Confirmation::Unconfirmed(why));
        if StackArn::parse(stack).is_none() {
            return unconfirmed(format!(
                "StackId {stack:?} is not a stack's ARN, so CloudFormation cannot confirm the deletion"
            ));
        }
        let doing = format!("calling cloudformation:DescribeStacks for {stack}");
        let status = match self
            .patiently(doing, || self.stacks.stack_status(stack))
            .await
        {
            Ok(Some(status)) => status,
            Ok(None) => {
                return unconfirmed(format!(
                    "CloudFormation has no stack {stack}, so this Delete did not come from it"
                ));
            }
            Err(err) if err.is_access_denied() => {
                return unconfirmed(format!(
                    "{err}; without it CloudFormation cannot confirm the deletion (allow \
                     cloudformation:DescribeStacks on this account's stacks)"
                ));
            }
            Err(err) => {
                return unconfirmed(format!(
                    "{err}; CloudFormation did not confirm the deletion"
                ));
            }
        };
        if WHOLE_STACK_GOES.contains(&status.as_str()) {
            return Ok(Confirmation::Confirmed);
        }
        if !SOME_RESOURCES_GO.contains(&status.as_str()) {
            return unconfirmed(format!(
                "stack {stack} is {status}, a status in which CloudFormation deletes no resource, \
                 so this Delete did not come from it"
            ));
        }
        let doing = format!("calling cloudformation:ListStackResources for {stack}");
        match self
            .patiently(doing, || self.stacks.stack_resources(stack))
            .await
        {
            Ok(resources) => Ok(judge_holders(&resources, role, &status)),
            Err(err) => unconfirmed(format!(
                "{err}; without it CloudFormation cannot confirm that nothing in stack {stack} \
                 still holds {role} (allow cloudformation:ListStackResources on this account's \
                 stacks)"
            )),
        }
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
            DeletionStatus::NotFound => match self.look_up(role, None).await? {
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

/// In a phase where only some resources go: confirmed when no resource that is not itself
/// being deleted has `role` as its physical id. The renamed resource (created first, and
/// adopting the role) holds it; a replaced resource's logical id shows its new role.
fn judge_holders(resources: &[StackResource], role: &str, status: &str) -> Confirmation {
    let holder = resources.iter().find(|r| {
        r.physical_id
            .as_deref()
            .is_some_and(|id| id.eq_ignore_ascii_case(role))
            && !LETTING_GO.contains(&r.status.as_str())
    });
    match holder {
        None => Confirmation::Confirmed,
        Some(r) => Confirmation::Unconfirmed(format!(
            "the stack ({status}) still holds {role} as {} ({}), so this Delete does not remove it",
            r.logical_id, r.status
        )),
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

    fn resource(logical: &str, physical: Option<&str>, status: &str) -> StackResource {
        StackResource {
            logical_id: logical.into(),
            physical_id: physical.map(String::from),
            status: status.into(),
        }
    }

    const ROLE: &str = "AWSServiceRoleForECS";
    const CLEANUP: &str = "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS";

    #[test]
    fn a_rename_keeps_the_role_the_new_name_holds() {
        let resources = [
            resource("EcsRole", Some(ROLE), "DELETE_IN_PROGRESS"),
            resource("Renamed", Some(ROLE), "CREATE_COMPLETE"),
        ];
        assert_eq!(
            judge_holders(&resources, ROLE, CLEANUP),
            Confirmation::Unconfirmed(format!(
                "the stack ({CLEANUP}) still holds {ROLE} as Renamed (CREATE_COMPLETE), so this \
                 Delete does not remove it"
            ))
        );
    }

    #[test]
    fn a_replacement_or_a_removal_lets_the_role_go() {
        // The replaced resource's logical id now shows the new role; nothing else holds the old.
        let replaced = [
            resource(
                "EcsRole",
                Some("AWSServiceRoleForAutoScaling_b"),
                "UPDATE_COMPLETE",
            ),
            resource("Cluster", Some("my-cluster"), "UPDATE_COMPLETE"),
            resource("Pending", None, "CREATE_IN_PROGRESS"),
        ];
        assert_eq!(
            judge_holders(&replaced, "AWSServiceRoleForAutoScaling_a", CLEANUP),
            Confirmation::Confirmed
        );
        let removed = [
            resource("EcsRole", Some(ROLE), "DELETE_IN_PROGRESS"),
            resource(
                "Other",
                Some("awsservicerolefor-something"),
                "DELETE_COMPLETE",
            ),
        ];
        assert_eq!(
            judge_holders(&removed, ROLE, CLEANUP),
            Confirmation::Confirmed
        );
    }

    #[test]
    fn a_resource_that_failed_to_delete_still_holds_the_role() {
        // IAM names are case-insensitive: so is the comparison.
        let resources = [resource(
            "Adopter",
            Some("awsserviceroleforecs"),
            "DELETE_FAILED",
        )];
        assert!(matches!(
            judge_holders(&resources, ROLE, CLEANUP),
            Confirmation::Unconfirmed(_)
        ));
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
