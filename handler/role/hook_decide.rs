//! What a Lambda Hook decides for its target, as `decide` does for a custom resource: which
//! roles the target needs (none for a delete), until when a re-invocation still waits (never
//! longer than the setting from now, whatever its context says), and how the rest of the wait
//! is spent. No IAM call and no clock of its own: the invocation brings the time and carries
//! the decision out.

use crate::needs::{self, NeededRole};
use serde_json::{Map, Value};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A wait this short is slept rather than answered IN_PROGRESS: callbackDelaySeconds is whole
/// seconds, and each IN_PROGRESS spends one of the few CloudFormation allows.
pub const SLEEP_AT_MOST: Duration = Duration::from_secs(2);

/// The roles a hook's target needs.
#[derive(Debug, PartialEq, Eq)]
pub enum Needs {
    /// None: the target proceeds, and the text says why.
    Nothing(String),
    Roles(Vec<NeededRole>),
}

/// What a target needs: nothing for a delete (nothing is created), else the table's roles for
/// its type and properties. An unreadable table is the error.
pub fn roles_needed(
    is_delete: bool,
    target_type: &str,
    properties: &Map<String, Value>,
) -> Result<Needs, String> {
    if is_delete {
        return Ok(Needs::Nothing(format!(
            "{target_type}: a delete needs no service-linked role"
        )));
    }
    let rows = needs::table().map_err(|why| format!("upsert-slr's table cannot be read: {why}"))?;
    let needed = needs::roles_needed_by(rows, target_type, Some(properties));
    Ok(if needed.is_empty() {
        Needs::Nothing(format!("{target_type} needs no service-linked role here"))
    } else {
        Needs::Roles(needed)
    })
}

/// Until when a re-invocation waits: the time its context carries (seconds since the epoch),
/// but never past `longest` from `now`. The context is input: a time past SystemTime's range
/// is the longest wait, not a panic.
pub fn wait_until(propagated_at: u64, now: SystemTime, longest: Duration) -> SystemTime {
    let latest = now + longest;
    UNIX_EPOCH
        .checked_add(Duration::from_secs(propagated_at))
        .map_or(latest, |at| at.min(latest))
}

/// How the rest of a propagation wait is spent.
#[derive(Debug, PartialEq, Eq)]
pub enum Pace {
    /// The wait is over: SUCCESS.
    Proceed,
    /// Sleep this long in the invocation, then SUCCESS.
    SleepThenProceed(Duration),
    /// IN_PROGRESS: be invoked again after `delay_seconds`, the roles propagated at
    /// `propagated_at` (seconds since the epoch).
    AskAgain {
        delay_seconds: u64,
        propagated_at: u64,
    },
    /// No IN_PROGRESS is left and the rest does not fit: sleep what the invocation allows,
    /// then SUCCESS, `short_by` before the wait is over (the role exists; a service may
    /// refuse it for a moment).
    CutShort { sleep: Duration, short_by: Duration },
}

/// The wait until `until`, seen at `now`, with `allowed` left of the invocation and whether
/// CloudFormation still accepts an IN_PROGRESS answer.
pub fn pace(until: SystemTime, now: SystemTime, allowed: Duration, may_ask_again: bool) -> Pace {
    let left = until.duration_since(now).unwrap_or_default();
    if left.is_zero() {
        return Pace::Proceed;
    }
    // With no IN_PROGRESS left, all the invocation allows may be slept; before, only a wait
    // too short for a callback.
    let sleep_at_most = if may_ask_again {
        SLEEP_AT_MOST.min(allowed)
    } else {
        allowed
    };
    if left <= sleep_at_most {
        return Pace::SleepThenProceed(left);
    }
    if may_ask_again {
        return Pace::AskAgain {
            delay_seconds: whole_seconds(left),
            propagated_at: until
                .duration_since(UNIX_EPOCH)
                .map(whole_seconds)
                .unwrap_or_default(),
        };
    }
    Pace::CutShort {
        sleep: allowed,
        short_by: left - allowed,
    }
}

/// Rounded up: a callback must not come before the wait is over.
pub fn whole_seconds(d: Duration) -> u64 {
    d.as_secs_f64().ceil() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn a_delete_needs_nothing_and_a_type_outside_the_table_neither() {
        let none = Map::new();
        assert_eq!(
            roles_needed(true, "AWS::ECS::Cluster", &none),
            Ok(Needs::Nothing(
                "AWS::ECS::Cluster: a delete needs no service-linked role".into()
            ))
        );
        assert_eq!(
            roles_needed(false, "AWS::S3::Bucket", &none),
            Ok(Needs::Nothing(
                "AWS::S3::Bucket needs no service-linked role here".into()
            ))
        );
        let Ok(Needs::Roles(roles)) = roles_needed(false, "AWS::ECS::Cluster", &none) else {
            panic!("an ECS cluster needs the ECS role")
        };
        assert!(
            roles.iter().any(|r| r.role_name == "AWSServiceRoleForECS"),
            "{roles:?}"
        );
    }

    #[test]
    fn a_context_never_stretches_the_wait_past_the_setting() {
        let now = UNIX_EPOCH + S(1_000_000);
        assert_eq!(wait_until(1_000_030, now, S(60)), now + S(30));
        assert_eq!(wait_until(1_000_900, now, S(60)), now + S(60));
        assert_eq!(wait_until(u64::MAX, now, S(60)), now + S(60));
        assert_eq!(wait_until(0, now, S(60)), UNIX_EPOCH);
    }

    #[test]
    fn the_wait_is_proceeded_slept_asked_again_or_cut_short() {
        let until = UNIX_EPOCH + S(2_000);
        assert_eq!(
            pace(until, until - Duration::ZERO, S(25), true),
            Pace::Proceed
        );
        assert_eq!(
            pace(until, until - Duration::from_millis(1500), S(25), true),
            Pace::SleepThenProceed(Duration::from_millis(1500))
        );
        // Not slept when the invocation has less time than the wait left.
        assert_eq!(
            pace(until, until - Duration::from_millis(1500), S(1), true),
            Pace::AskAgain {
                delay_seconds: 2,
                propagated_at: 2_000
            }
        );
        assert_eq!(
            pace(until, until - Duration::from_millis(40_200), S(25), true),
            Pace::AskAgain {
                delay_seconds: 41,
                propagated_at: 2_000
            }
        );
        // The last invocation sleeps what is left when it fits, and no longer.
        assert_eq!(
            pace(until, until - S(10), S(25), false),
            Pace::SleepThenProceed(S(10))
        );
        assert_eq!(
            pace(until, until - S(40), S(25), false),
            Pace::CutShort {
                sleep: S(25),
                short_by: S(15)
            }
        );
    }
}
