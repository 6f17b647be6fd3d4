//! Pauses between attempts: doubling up to a ceiling, each jittered so that retries from many
//! functions at once (a burst of stacks in a new account) spread out instead of arriving
//! together.

use std::hash::{BuildHasher, RandomState};
use std::time::Duration;
use tokio::time::Instant;

#[derive(Clone, Copy, Debug)]
pub(crate) struct Backoff {
    next: Duration,
    max: Duration,
}

impl Backoff {
    pub(crate) fn new(first: Duration, max: Duration) -> Self {
        Backoff { next: first, max }
    }

    /// The next pause, between half and all of the current step; the step then doubles.
    pub(crate) fn pause(&mut self) -> Duration {
        let pause = jitter(self.next);
        self.next = (self.next * 2).min(self.max);
        pause
    }
}

/// Between half and all of `base`.
fn jitter(base: Duration) -> Duration {
    let random = RandomState::new().hash_one(Instant::now());
    let half = base / 2;
    half + Duration::from_nanos(random % (half.as_nanos() as u64 + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_double_up_to_the_ceiling_with_jitter() {
        let mut backoff = Backoff::new(Duration::from_millis(400), Duration::from_secs(1));
        let pauses: Vec<Duration> = (0..4).map(|_| backoff.pause()).collect();
        let within = |d: Duration, step: u64| {
            d >= Duration::from_millis(step / 2) && d <= Duration::from_millis(step)
        };
        assert!(within(pauses[0], 400), "{pauses:?}");
        assert!(within(pauses[1], 800), "{pauses:?}");
        assert!(within(pauses[2], 1000), "{pauses:?}");
        assert!(within(pauses[3], 1000), "{pauses:?}");
    }
}
