//! What each request does to the role: the properties are read and checked, `work` does the
//! IAM work, and the result is a `waiting::Step` — an `Answer`, or an answer still waiting for
//! IAM. The lifecycle around it (guard, delivery, log) is `invocation`'s.

use super::Failure;
use super::answer::Answer;
use super::properties::{self, RemovalPolicy, RoleProperties};
use super::removal::Removal;
use super::waiting::{self, Step};
use super::work::{Updated, Upserted, Work};
use crate::adapters::iam;
use crate::config::{self, Settings};
use crate::reason::quoted;
use serde_json::Value;
use std::time::SystemTime;

/// What CloudFormation asks of the resource, as read from the protocol that carried it.
/// Properties are exactly as received (any JSON type): reading them is the domain's.
#[derive(Clone, Copy, Debug)]
pub enum Change<'a> {
    Create {
        properties: Option<&'a Value>,
    },
    Update {
        physical_id: &'a str,
        properties: Option<&'a Value>,
        old_properties: Option<&'a Value>,
    },
    Delete {
        physical_id: &'a str,
        properties: Option<&'a Value>,
    },
}

/// The request's `Step`, or the Failure that becomes its FAILED answer. `change` is `Err`
/// with a Reason when the request could not be read.
pub(crate) async fn decide(
    settings: &Settings,
    change: Result<Change<'_>, String>,
    work: Work<'_>,
) -> Result<Step, Failure> {
    if let Some(problem) = &settings.problem {
        return Err(Failure::new(format!("function misconfigured: {problem}")));
    }
    match change.map_err(Failure::new)? {
        Change::Create { properties } => {
            let props = requested_properties(settings, properties)?;
            Ok(upserted_step(work.upsert(&props).await?, &props, work))
        }
        Change::Update {
            physical_id,
            properties,
            old_properties,
        } => {
            let new = requested_properties(settings, properties)?;
            let old = properties::parse(old_properties).ok();
            Ok(match work.update(physical_id, old.as_ref(), &new).await? {
                Updated::Upserted(upserted) => upserted_step(upserted, &new, work),
                Updated::Kept(role) => Step::Answered(Answer::updated(physical_id, role)),
                Updated::Untouched(role) => {
                    let reason = format!(
                        "kept {} as it was: this resource adopted it, so its description is not \
                         changed",
                        role.name
                    );
                    Step::Answered(Answer::updated(physical_id, role).because(reason))
                }
            })
        }
        Change::Delete {
            physical_id,
            properties,
        } => delete(physical_id, properties, work).await,
    }
}

async fn delete(
    physical_id: &str,
    properties: Option<&Value>,
    work: Work<'_>,
) -> Result<Step, Failure> {
    // A FAILED Create leaves a marker, not a role: nothing to delete, whatever the properties
    // say.
    if !iam::is_role_name(physical_id) {
        let reason = format!("nothing to delete: {} is not a role", quoted(physical_id));
        return Ok(Step::Answered(Answer::deleted(physical_id, reason)));
    }
    let policy = properties::parse_removal_policy(properties).map_err(Failure::new)?;
    removal_step(physical_id, policy, work).await
}

/// The role named `physical_id` removed as `policy` says, if this resource may remove it.
pub(super) async fn removal_step(
    physical_id: &str,
    policy: RemovalPolicy,
    work: Work<'_>,
) -> Result<Step, Failure> {
    Ok(match work.begin_delete(physical_id, policy).await? {
        Removal::Retained(why) => Step::Answered(Answer::retained(
            physical_id,
            format!("retained {physical_id}: {why}"),
        )),
        Removal::Gone(why) => Step::Answered(Answer::deleted(
            physical_id,
            format!("nothing to delete: {why}"),
        )),
        Removal::Started { role, task_id } => Step::Deleting {
            answer: Answer::deleted(physical_id, format!("deleted {role}")),
            role,
            task_id,
        },
    })
}

pub(super) fn requested_properties(
    settings: &Settings,
    properties: Option<&Value>,
) -> Result<RoleProperties, Failure> {
    let props = properties::parse(properties).map_err(Failure::new)?;
    if !settings.allows_service(&props.service) {
        return Err(Failure::new(format!(
            "AWSServiceName {} is not allowed by this function's {}",
            quoted(&props.service),
            config::ALLOWED_SERVICES_VAR
        )));
    }
    Ok(props)
}

fn upserted_step(upserted: Upserted, props: &RoleProperties, work: Work<'_>) -> Step {
    let now = SystemTime::now();
    match upserted {
        // Just created (or recreated by a redelivery): the whole wait, from now.
        Upserted::Created(role) => Step::Propagate {
            answer: Answer::created(role),
            until: now + props.propagation_wait,
        },
        // Whoever created it, the role needs the wait from its creation: another stack may
        // have made it a second ago.
        Upserted::Adopted(role) => {
            // Across stacks nothing else is known: whose the role is, and whether their delete
            // would take it away from this stack.
            let owner = work
                .ownership(&role)
                .map(|o| format!(" ({o})"))
                .unwrap_or_default();
            let until = waiting::propagated_at(role.created_at, props.propagation_wait, now);
            if until <= now {
                let reason = format!("adopted existing {}{owner}", role.name);
                return Step::Answered(Answer::adopted(role, reason));
            }
            let age = waiting::age_text(role.created_at, now);
            let reason = format!("adopted {}, created {age}{owner}", role.name);
            Step::Propagate {
                answer: Answer::adopted(role, reason),
                until,
            }
        }
    }
}
