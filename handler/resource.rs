//! What each request does to the role: the properties are read and checked, `slr` does the IAM
//! work, and the result is a `waiting::Step` — an `Answer`, or an answer still waiting for IAM.
//! The lifecycle around it (guard, delivery, log) is `lifecycle`'s.

use crate::answer::Answer;
use crate::cloudformation::{Request, RequestType};
use crate::config::{self, Settings};
use crate::iam;
use crate::properties::{self, RoleProperties};
use crate::reason::quoted;
use crate::slr::{Context, Failure, Removal, Updated, Upserted};
use crate::waiting::{self, Step};
use std::time::SystemTime;

/// The request's `Step`, or the Failure that becomes its FAILED answer.
pub(crate) async fn decide(
    settings: &Settings,
    request: &Request,
    work: Context<'_>,
) -> Result<Step, Failure> {
    if let Some(problem) = &settings.problem {
        return Err(Failure::new(format!("function misconfigured: {problem}")));
    }
    if !request.problems.is_empty() {
        return Err(Failure::new(format!(
            "malformed request: {}",
            request.problems.join("; ")
        )));
    }
    // Update and Delete always carry a physical id: its absence is one of `problems`.
    let physical_id = request.physical_resource_id.as_deref().unwrap_or_default();
    match &request.request_type {
        RequestType::Create => {
            let props = requested_properties(settings, request)?;
            Ok(upserted_step(work.upsert(&props).await?, &props))
        }
        RequestType::Update => {
            let new = requested_properties(settings, request)?;
            let old = properties::parse(request.old_properties.as_ref()).ok();
            Ok(match work.update(physical_id, old.as_ref(), &new).await? {
                Updated::Upserted(upserted) => upserted_step(upserted, &new),
                Updated::Kept(role) => Step::Done(Answer::updated(physical_id, role)),
            })
        }
        RequestType::Delete => {
            // A FAILED Create leaves a marker, not a role: nothing to delete, whatever the
            // properties say.
            if !iam::is_role_name(physical_id) {
                let reason = format!("nothing to delete: {} is not a role", quoted(physical_id));
                return Ok(Step::Done(Answer::deleted(physical_id, reason)));
            }
            let policy = properties::parse_removal_policy(request.properties.as_ref())
                .map_err(Failure::new)?;
            Ok(match work.begin_delete(physical_id, policy).await? {
                Removal::Retained(why) => Step::Done(Answer::retained(
                    physical_id,
                    format!("retained {physical_id}: {why}"),
                )),
                Removal::Gone(why) => Step::Done(Answer::deleted(
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
        RequestType::Other(name) => Err(Failure::new(format!("unsupported RequestType {name:?}"))),
    }
}

fn requested_properties(settings: &Settings, request: &Request) -> Result<RoleProperties, Failure> {
    let props = properties::parse(request.properties.as_ref()).map_err(Failure::new)?;
    if !settings.allows_service(&props.service) {
        return Err(Failure::new(format!(
            "AWSServiceName {} is not allowed by this function's {}",
            quoted(&props.service),
            config::ALLOWED_SERVICES_VAR
        )));
    }
    Ok(props)
}

fn upserted_step(upserted: Upserted, props: &RoleProperties) -> Step {
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
            let until = waiting::propagated_at(role.created_at, props.propagation_wait, now);
            if until <= now {
                let reason = format!("adopted existing {}", role.name);
                return Step::Done(Answer::adopted(role, reason));
            }
            let age = waiting::age_text(role.created_at, now);
            let reason = format!("adopted {}, created {age}", role.name);
            Step::Propagate {
                answer: Answer::adopted(role, reason),
                until,
            }
        }
    }
}
