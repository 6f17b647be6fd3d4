//! The roles a Lambda Hook's target needs, before the target is created: each created or
//! adopted through the same `Work` as a custom resource's (or, in check mode, only looked
//! for), and the moment the youngest of them will have propagated.
//!
//! A role the hook creates is tagged with the target's stack and a logical id no resource can
//! have (`hook:<target>`): no custom resource ever owns it, so no stack's Delete removes it.

use super::Failure;
use super::properties::{RemovalPolicy, RoleProperties};
use super::waiting;
use super::work::{Upserted, Work};
use crate::config::{ALLOWED_SERVICES_VAR, HOOK_MODE_VAR, HookMode, Settings};
use crate::needs::NeededRole;
use std::time::SystemTime;

/// Where the target's roles stand.
#[derive(Debug, PartialEq, Eq)]
pub enum Ensured {
    /// Every role exists; the target may proceed once `propagated_at` has passed.
    Ready {
        /// The roles' names, in the order of their services.
        roles: Vec<String>,
        /// Those this invocation created.
        created: Vec<String>,
        propagated_at: SystemTime,
    },
    /// A role is missing and is not created here: why, and how to create it.
    Missing { roles: Vec<String>, message: String },
}

/// Makes sure every role in `needed` exists, as `settings` allow. `target` names the resource
/// type, for the messages.
pub async fn ensure(
    settings: &Settings,
    needed: &[NeededRole],
    target: &str,
    work: Work<'_>,
) -> Result<Ensured, Failure> {
    let now = SystemTime::now();
    let mut roles = Vec::new();
    let mut created = Vec::new();
    let mut missing = Vec::new();
    let mut propagated_at = now;
    for need in needed {
        let props = RoleProperties {
            service: need.service.clone(),
            suffix: None,
            description: None,
            propagation_wait: settings.hook_wait,
            // Tags are only evidence for a Delete, which no hook sends: an untagged role is fine.
            removal_policy: RemovalPolicy::Retain,
        };
        let may_create =
            settings.hook_mode == HookMode::Create && settings.allows_service(&need.service);
        if !may_create {
            match work.find_or_serving(&props, &need.role_name).await? {
                Some(role) => {
                    // Made by someone else, maybe a moment ago: it needs its wait too.
                    propagated_at = propagated_at.max(waiting::propagated_at(
                        role.created_at,
                        settings.hook_wait,
                        now,
                    ));
                    roles.push(role.name);
                }
                None => missing.push(need),
            }
            continue;
        }
        let until = match work.upsert(&props).await? {
            Upserted::Created(role) => {
                let until = now + settings.hook_wait;
                created.push(role.name.clone());
                roles.push(role.name);
                until
            }
            Upserted::Adopted(role) => {
                let until = waiting::propagated_at(role.created_at, settings.hook_wait, now);
                roles.push(role.name);
                until
            }
        };
        propagated_at = propagated_at.max(until);
    }
    if missing.is_empty() {
        return Ok(Ensured::Ready {
            roles,
            created,
            propagated_at,
        });
    }
    let how = |n: &NeededRole| {
        format!(
            "`aws iam create-service-linked-role --aws-service-name {}`",
            n.service
        )
    };
    let why = match settings.hook_mode {
        HookMode::Check => format!("this hook only checks ({HOOK_MODE_VAR}=check)"),
        HookMode::Create => {
            format!("this function's {ALLOWED_SERVICES_VAR} does not let it create them")
        }
    };
    let names: Vec<String> = missing.iter().map(|n| n.role_name.clone()).collect();
    let message = format!(
        "{target} needs the service-linked role{} {}, which do{} not exist, and {why}: create {} with {}",
        if missing.len() == 1 { "" } else { "s" },
        missing
            .iter()
            .map(|n| format!("{} ({})", n.role_name, n.service))
            .collect::<Vec<_>>()
            .join(", "),
        if missing.len() == 1 { "es" } else { "" },
        if missing.len() == 1 { "it" } else { "them" },
        missing
            .iter()
            .map(|n| how(n))
            .collect::<Vec<_>>()
            .join(" and "),
    );
    Ok(Ensured::Missing {
        roles: names,
        message,
    })
}
