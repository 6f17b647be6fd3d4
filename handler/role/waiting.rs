//! Waiting for IAM: for a role to propagate, and for a deletion task to finish.
//!
//! By default the function waits inside the invocation (`finish`). Behind CDK's Provider with
//! an isComplete handler (this same function, `UPSERT_SLR_WAIT=is-complete`) the wait costs no
//! Lambda time instead: onEvent hands back the `Step`'s `Wait`, and each isComplete
//! invocation asks `check` whether it is over.

use super::Failure;
use super::answer::Answer;
use super::work::Work;
use std::time::{Duration, SystemTime};
use tokio::time::Instant;

const DELETION_POLL_INTERVAL: Duration = Duration::from_secs(2);
/// A wait cut short by the deadline ends this much before the guard, so that the answer, not
/// the guard, wins.
const GUARD_SLACK: Duration = Duration::from_millis(200);

/// Where the work for an event stands once IAM has been told what to do.
#[derive(Debug)]
pub enum Step {
    /// Nothing left to wait for.
    Answered(Answer),
    /// The answer, to be given once the role has had time to propagate through IAM.
    Propagate { answer: Answer, until: SystemTime },
    /// IAM is deleting `role`; `answer` is given once it is gone.
    Deleting {
        answer: Answer,
        role: String,
        task_id: String,
    },
}

impl Step {
    /// The answer this step leads to, as far as it is known now.
    pub fn answer(&self) -> &Answer {
        match self {
            Step::Answered(answer)
            | Step::Propagate { answer, .. }
            | Step::Deleting { answer, .. } => answer,
        }
    }

    /// What is left to wait for, for isComplete.
    pub fn wait(&self) -> Wait {
        match self {
            Step::Answered(_) => Wait::Nothing,
            Step::Propagate { until, .. } => Wait::Until(*until),
            Step::Deleting { role, task_id, .. } => Wait::Deletion {
                role: role.clone(),
                task_id: task_id.clone(),
            },
        }
    }
}

/// What an isComplete check waits for: a step's wait, carried between invocations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Wait {
    /// Nothing: the first check completes.
    Nothing,
    /// The role's propagation through IAM, until then.
    Until(SystemTime),
    /// IAM's deletion of the role, task `task_id`.
    Deletion { role: String, task_id: String },
}

/// What one check found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Checked {
    /// The wait goes on.
    Pending,
    /// The wait is over: the role has propagated (or there was nothing to wait for).
    Propagated,
    /// The wait is over: the role is gone.
    Deleted,
}

/// When a role created at `created_at` has propagated: `wait` after its creation. A CreateDate
/// ahead of this clock (skew) or unknown counts as now, so no wait is longer than `wait`.
pub fn propagated_at(
    created_at: Option<SystemTime>,
    wait: Duration,
    now: SystemTime,
) -> SystemTime {
    created_at.map_or(now, |created| created.min(now)) + wait
}

/// "12 s ago", for a Reason: how old the role is by this function's clock.
pub fn age_text(created_at: Option<SystemTime>, now: SystemTime) -> String {
    match created_at.map(|created| now.duration_since(created)) {
        Some(Ok(age)) => format!("{} s ago", age.as_secs()),
        Some(Err(_)) => "0 s ago (its CreateDate is ahead of this function's clock)".into(),
        None => "at an unknown time (IAM gave no CreateDate)".into(),
    }
}

/// A step carried to its answer: `propagated` is false when the deadline cut the propagation
/// wait short.
#[derive(Debug)]
pub struct Finished {
    pub answer: Answer,
    pub propagated: bool,
}

/// Carries a step to its answer inside this invocation, before `guard_at`.
pub async fn finish(work: Work<'_>, step: Step, guard_at: Instant) -> Answer {
    finish_within(work, step, guard_at).await.answer
}

/// `finish`, telling whether the propagation wait was waited out.
pub async fn finish_within(work: Work<'_>, step: Step, guard_at: Instant) -> Finished {
    let mut propagated = true;
    let answer = match step {
        Step::Answered(answer) => answer,
        Step::Propagate { mut answer, until } => {
            let wanted = until.duration_since(SystemTime::now()).unwrap_or_default();
            let allowed = guard_at
                .saturating_duration_since(Instant::now())
                .saturating_sub(GUARD_SLACK);
            work.progress.doing("waiting for IAM propagation");
            tokio::time::sleep(wanted.min(allowed)).await;
            let secs = |d: Duration| d.as_secs_f64().round();
            if wanted > allowed {
                propagated = false;
                // SUCCESS all the same (the role exists), but a role used this early may still
                // be refused: the operator should hear of it.
                tracing::warn!(
                    waited_s = secs(allowed),
                    wanted_s = secs(wanted),
                    "propagation wait cut short by the Lambda deadline; raise the function's timeout"
                );
                answer.reason.push_str(&format!(
                    "; waited {} s of {} s for IAM propagation (cut short by the Lambda deadline)",
                    secs(allowed),
                    secs(wanted)
                ));
            } else if !wanted.is_zero() {
                answer
                    .reason
                    .push_str(&format!("; waited {} s for IAM propagation", secs(wanted)));
            }
            answer
        }
        Step::Deleting {
            answer,
            role,
            task_id,
        } => loop {
            match work.deletion_finished(&role, &task_id).await {
                Ok(true) => break answer,
                Ok(false) => tokio::time::sleep(DELETION_POLL_INTERVAL).await,
                Err(failure) => break Answer::failed(answer.physical_id, failure.into_reason()),
            }
        },
    };
    Finished { answer, propagated }
}

/// One isComplete invocation: whether `wait` is over. `Err` fails the resource (a deletion IAM
/// gave up on).
pub async fn check(work: Work<'_>, wait: &Wait) -> Result<Checked, Failure> {
    Ok(match wait {
        Wait::Nothing => Checked::Propagated,
        Wait::Until(until) if SystemTime::now() >= *until => Checked::Propagated,
        Wait::Until(_) => Checked::Pending,
        Wait::Deletion { role, task_id } => {
            if work.deletion_finished(role, task_id).await? {
                Checked::Deleted
            } else {
                Checked::Pending
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    #[test]
    fn propagation_counts_from_the_creation_and_never_waits_more_than_the_wait_from_now() {
        let now = UNIX_EPOCH + Duration::from_secs(1_795_000_000);
        let wait = Duration::from_secs(60);
        let ago = |s| Some(now - Duration::from_secs(s));
        assert_eq!(
            propagated_at(ago(2), wait, now),
            now + Duration::from_secs(58)
        );
        assert_eq!(
            propagated_at(ago(7200), wait, now),
            now - Duration::from_secs(7140)
        );
        let ahead = Some(now + Duration::from_secs(3600));
        assert_eq!(propagated_at(ahead, wait, now), now + wait, "skew");
        assert_eq!(propagated_at(None, wait, now), now + wait, "unknown");

        assert_eq!(age_text(ago(2), now), "2 s ago");
        assert!(age_text(ahead, now).contains("ahead of this function's clock"));
    }
}
