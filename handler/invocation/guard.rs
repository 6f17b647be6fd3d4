//! The deadline guard: the work runs in a task of its own, which is dropped when the time to
//! answer comes, and whose panic is caught at the join. Either way the caller still answers.

use crate::error::panic_text;
use crate::role::Failure;
use crate::role::progress::Progress;
use std::fmt;
use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::time::Instant;

/// Kept back from the Lambda deadline to deliver the answer.
const MAX_ANSWER_MARGIN: Duration = Duration::from_secs(3);

/// Why the work did not end by itself.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Interruption {
    /// The guard's time came.
    Deadline,
    /// The work panicked, with this message.
    Panic(String),
}

impl Interruption {
    /// As a Reason: what was being done when the deadline came, or the panic's message.
    pub(crate) fn failure(&self, progress: &Progress) -> Failure {
        match self {
            Interruption::Deadline => Failure::new(format!(
                "timed out while {}, before the Lambda deadline",
                progress.snapshot().0
            )),
            Interruption::Panic(message) => Failure::new(format!("internal error: {message}")),
        }
    }
}

impl fmt::Display for Interruption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Interruption::Deadline => f.write_str("the deadline guard's time came"),
            Interruption::Panic(message) => write!(f, "the work panicked: {message}"),
        }
    }
}

/// Runs `work` in its own task so that neither a hang nor a panic can keep the answer from
/// being sent: past `guard_at` the task is dropped.
pub(crate) async fn guarded<T, F>(work: F, guard_at: Instant) -> Result<T, Interruption>
where
    T: Send + 'static,
    F: Future<Output = T> + Send + 'static,
{
    if Instant::now() >= guard_at {
        // No time left: starting IAM work now could only leave it half done.
        return Err(Interruption::Deadline);
    }
    let mut task = tokio::spawn(work);
    match tokio::time::timeout_at(guard_at, &mut task).await {
        Ok(Ok(done)) => Ok(done),
        Ok(Err(join)) if join.is_panic() => {
            Err(Interruption::Panic(panic_text(join.into_panic().as_ref())))
        }
        Ok(Err(join)) => Err(Interruption::Panic(join.to_string())),
        Err(_) => {
            task.abort();
            Err(Interruption::Deadline)
        }
    }
}

/// Lambda gives the deadline as milliseconds since the epoch. Some local emulators
/// (`cargo lambda watch`) give the function's timeout instead; no real deadline falls before
/// 2001, so such a value is read as milliseconds from now.
pub(crate) fn deadline_instant(deadline_ms: u64) -> Instant {
    const YEAR_2001_MS: u64 = 978_307_200_000;
    if deadline_ms < YEAR_2001_MS {
        return Instant::now() + Duration::from_millis(deadline_ms);
    }
    let deadline = UNIX_EPOCH + Duration::from_millis(deadline_ms);
    Instant::now()
        + deadline
            .duration_since(SystemTime::now())
            .unwrap_or_default()
}

/// When the guard stops the work: a quarter of the time left before `deadline` is kept for the
/// answer, at most `MAX_ANSWER_MARGIN`, enough for a few PUT attempts.
pub(crate) fn guard_time(deadline: Instant) -> Instant {
    deadline - answer_margin(deadline)
}

fn answer_margin(deadline: Instant) -> Duration {
    (deadline.saturating_duration_since(Instant::now()) / 4).min(MAX_ANSWER_MARGIN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_hang_becomes_an_interruption_at_the_guard() {
        let guard_at = Instant::now() + Duration::from_secs(5);
        let interrupted = guarded(std::future::pending::<()>(), guard_at).await;
        assert_eq!(
            interrupted,
            Err(Interruption::Deadline),
            "the caller words the timeout"
        );
        assert!(Instant::now() >= guard_at);
    }

    #[test]
    fn deadlines_are_epoch_milliseconds_or_relative_from_emulators() {
        let in_a_minute = SystemTime::now() + Duration::from_secs(60);
        let epoch_ms = in_a_minute.duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
        let left = deadline_instant(epoch_ms) - Instant::now();
        assert!(
            left > Duration::from_secs(59) && left <= Duration::from_secs(60),
            "{left:?}"
        );
        let left = deadline_instant(600_000) - Instant::now();
        assert!(
            left > Duration::from_secs(599) && left <= Duration::from_secs(600),
            "{left:?}"
        );
        let past = SystemTime::now() - Duration::from_secs(5);
        let past_ms = past.duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
        assert!(deadline_instant(past_ms) <= Instant::now());
    }

    #[test]
    fn margin_is_a_quarter_of_the_time_left_up_to_three_seconds() {
        let now = Instant::now();
        let m = answer_margin(now + Duration::from_secs(4));
        assert!(
            m <= Duration::from_secs(1) && m > Duration::from_millis(900),
            "{m:?}"
        );
        assert_eq!(
            answer_margin(now + Duration::from_secs(300)),
            MAX_ANSWER_MARGIN
        );
    }
}
