//! What a Terraform `aws_lambda_invocation` (lifecycle scope CRUD) does to a role: the custom
//! resource's work, for an owner that has no physical id. The role is found from the
//! properties; every wait (propagation, a deletion) is spent in the invocation, since nothing
//! calls back.

use super::Failure;
use super::answer::{Answer, RoleData};
use super::decide::{removal_step, requested_properties};
use super::properties::{self, RemovalPolicy, RoleProperties};
use super::waiting::{self, Finished, Step};
use super::work::{Owner, Updated, Upserted, Work};
use crate::adapters::iam::Role;
use crate::config::Settings;
use serde_json::Value;
use std::time::SystemTime;
use tokio::time::Instant;

/// What the invocation asks, its properties exactly as received.
#[derive(Clone, Copy, Debug)]
pub enum Change<'a> {
    Create {
        properties: &'a Value,
    },
    /// `previous` is the input last applied (`prev_input`), when there is one.
    Update {
        properties: &'a Value,
        previous: Option<&'a Value>,
    },
    Delete {
        properties: &'a Value,
    },
}

/// The change carried to its answer within `guard_at`; `Err` is the function error.
pub(crate) async fn run(
    settings: &Settings,
    change: Change<'_>,
    work: Work<'_>,
    guard_at: Instant,
) -> Result<Finished, Failure> {
    if let Some(problem) = &settings.problem {
        return Err(Failure::new(format!("function misconfigured: {problem}")));
    }
    let step = match change {
        Change::Create { properties } => {
            let props = wanted(settings, properties, work)?;
            let upserted = work.upsert(&props).await?;
            ensured(upserted, None, &props, work).await?
        }
        Change::Update {
            properties,
            previous,
        } => {
            let new = wanted(settings, properties, work)?;
            let old = previous.and_then(|p| properties::parse(Some(p)).ok());
            let upserted = work.upsert(&new).await?;
            match &old {
                // Another role: the new one is ensured first, then the old one goes as its
                // own destroy would take it.
                Some(old) if !old.same_role_as(&new) => {
                    remove_replaced(old, work, guard_at).await?;
                    ensured(upserted, None, &new, work).await?
                }
                old => ensured(upserted, Some(old.as_ref()), &new, work).await?,
            }
        }
        Change::Delete { properties } => {
            let props = properties::parse(Some(properties)).map_err(Failure::new)?;
            delete(&props, work).await?
        }
    };
    let finished = waiting::finish_within(work, step, guard_at).await;
    if finished.answer.is_success() {
        Ok(finished)
    } else {
        Err(Failure::new(finished.answer.reason))
    }
}

/// The properties asked for, refused when they ask a deletion nobody could make.
fn wanted(settings: &Settings, raw: &Value, work: Work<'_>) -> Result<RoleProperties, Failure> {
    let props = requested_properties(settings, Some(raw))?;
    if matches!(work.owner, Owner::Nobody) && props.removal_policy == RemovalPolicy::Delete {
        return Err(Failure::new(
            "RemovalPolicy Delete needs an Owner: without one the function never deletes a role",
        ));
    }
    Ok(props)
}

/// The role upserted for `props`, waited for from its creation. `updating` holds the previous
/// properties when the same role is updated: an existing role of this owner is then brought up
/// to date. `Created` says whether the role is this owner's.
async fn ensured(
    upserted: Upserted,
    updating: Option<Option<&RoleProperties>>,
    props: &RoleProperties,
    work: Work<'_>,
) -> Result<Step, Failure> {
    let now = SystemTime::now();
    let (role, adopted) = match upserted {
        Upserted::Created(role) => (role, false),
        Upserted::Adopted(role) => (role, true),
    };
    let made_now = work.progress.snapshot().1.as_deref() == Some(role.name.as_str());
    let until = if made_now {
        now + props.propagation_wait
    } else {
        waiting::propagated_at(role.created_at, props.propagation_wait, now)
    };
    let role = match updating {
        Some(old) if !made_now => match work.bring_up_to_date(role, old, props).await? {
            Updated::Kept(role) | Updated::Untouched(role) => role,
            Updated::Upserted(Upserted::Created(role) | Upserted::Adopted(role)) => role,
        },
        _ => role,
    };
    let owned = work.owner.owns(&role);
    let answer = if made_now {
        Answer::created(role)
    } else if updating.is_some() {
        with_created(Answer::updated(&role.name.clone(), role), owned)
    } else if !adopted {
        let reason = format!("{} was created for this owner before", role.name);
        Answer::created(role).because(reason)
    } else {
        let owner = work.ownership(&role).map(|o| format!(" ({o})"));
        let reason = format!("adopted {}{}", role.name, owner.unwrap_or_default());
        Answer::adopted(role, reason)
    };
    Ok(Step::Propagate { answer, until })
}

fn with_created(mut answer: Answer, created: bool) -> Answer {
    if let Some(data) = answer.data.as_mut() {
        *data = RoleData {
            created,
            ..data.clone()
        };
    }
    answer
}

/// A destroy: the role this owner created goes when its RemovalPolicy (and the one recorded
/// on it) is Delete, and IAM's deletion is waited for; any other role stays.
async fn delete(props: &RoleProperties, work: Work<'_>) -> Result<Step, Failure> {
    if matches!(work.owner, Owner::Nobody) {
        let reason = format!("kept the role for {}: no Owner was given", props.service);
        return Ok(Step::Answered(Answer::retained("", reason)));
    }
    if props.removal_policy == RemovalPolicy::Retain {
        let reason = format!(
            "kept the role for {}: RemovalPolicy is Retain",
            props.service
        );
        return Ok(Step::Answered(Answer::retained("", reason)));
    }
    match work.find_asked(props).await? {
        Some(Role { name, .. }) => removal_step(&name, props.removal_policy, work).await,
        None => {
            let reason = format!("nothing to delete: {} has no such role", props.service);
            Ok(Step::Answered(Answer::deleted("", reason)))
        }
    }
}

/// The role an update replaced, removed as its destroy would remove it, the deletion waited
/// for.
async fn remove_replaced(
    old: &RoleProperties,
    work: Work<'_>,
    guard_at: Instant,
) -> Result<(), Failure> {
    let step = delete(old, work).await?;
    let removed = waiting::finish(work, step, guard_at).await;
    tracing::info!(reason = %removed.reason, "the replaced role");
    if removed.is_success() {
        Ok(())
    } else {
        Err(Failure::new(format!(
            "the replaced role was not removed: {}",
            removed.reason
        )))
    }
}
