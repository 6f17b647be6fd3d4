//! What the work for an event came to, before a protocol shapes it: for CloudFormation
//! (`protocol::custom_resource::response_body`) or for CDK's Provider framework
//! (`protocol::provider`).

use crate::adapters::iam::Role;
use std::collections::HashMap;
use std::time::SystemTime;

/// What happened, for the log line and the answer's status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Created,
    Adopted,
    Updated,
    Retained,
    Deleted,
    Failed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Created => "created",
            Outcome::Adopted => "adopted",
            Outcome::Updated => "updated",
            Outcome::Retained => "retained",
            Outcome::Deleted => "deleted",
            Outcome::Failed => "failed",
        }
    }
}

/// The role the resource stands for: the values `!GetAtt` reads, and its creation time for
/// the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleData {
    pub role_name: String,
    pub arn: String,
    /// This request created the role (rather than adopting an existing one).
    pub created: bool,
    pub created_at: Option<SystemTime>,
}

impl RoleData {
    pub fn of(role: Role, created: bool) -> Self {
        RoleData {
            role_name: role.name,
            arn: role.arn,
            created,
            created_at: role.created_at,
        }
    }

    /// The attributes, by the names `!GetAtt` uses.
    pub fn to_map(&self) -> HashMap<String, String> {
        HashMap::from([
            ("RoleName".to_string(), self.role_name.clone()),
            ("Arn".to_string(), self.arn.clone()),
            ("Created".to_string(), self.created.to_string()),
        ])
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    pub outcome: Outcome,
    pub physical_id: String,
    /// Always set: on SUCCESS it is shown as the resource's status reason in the console.
    pub reason: String,
    pub data: Option<RoleData>,
}

impl Answer {
    /// The role this request created; its name is the physical id.
    pub fn created(role: Role) -> Self {
        Answer {
            outcome: Outcome::Created,
            physical_id: role.name.clone(),
            reason: format!("created {}", role.name),
            data: Some(RoleData::of(role, true)),
        }
    }

    /// A role that already existed; its name is the physical id.
    pub fn adopted(role: Role, reason: String) -> Self {
        Answer {
            outcome: Outcome::Adopted,
            physical_id: role.name.clone(),
            reason,
            data: Some(RoleData::of(role, false)),
        }
    }

    /// The resource's own role, kept under its physical id.
    pub fn updated(physical_id: &str, role: Role) -> Self {
        Answer {
            outcome: Outcome::Updated,
            physical_id: physical_id.to_string(),
            reason: format!("updated {}", role.name),
            data: Some(RoleData::of(role, false)),
        }
    }

    /// The same answer, with another Reason.
    pub fn because(self, reason: String) -> Self {
        Answer { reason, ..self }
    }

    pub fn retained(physical_id: &str, reason: String) -> Self {
        Self::without_data(Outcome::Retained, physical_id, reason)
    }

    pub fn deleted(physical_id: &str, reason: String) -> Self {
        Self::without_data(Outcome::Deleted, physical_id, reason)
    }

    pub fn failed(physical_id: String, reason: String) -> Self {
        Self::without_data(Outcome::Failed, &physical_id, reason)
    }

    fn without_data(outcome: Outcome, physical_id: &str, reason: String) -> Self {
        Answer {
            outcome,
            physical_id: physical_id.to_string(),
            reason,
            data: None,
        }
    }

    pub fn is_success(&self) -> bool {
        self.outcome != Outcome::Failed
    }
}

/// Answers for the unit tests of the modules that shape them.
#[cfg(test)]
pub(crate) mod fixtures {
    use super::*;

    /// The ECS role, created by this request.
    pub(crate) fn created_ecs_role() -> Answer {
        Answer::created(Role {
            name: "AWSServiceRoleForECS".into(),
            arn: "arn:aws:iam::123456789012:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS".into(),
            path: "/aws-service-role/ecs.amazonaws.com/".into(),
            tags: Vec::new(),
            created_at: None,
        })
    }
}
