//! IAM calls made until IAM answers them. IAM throttles an account's bursts (a stack that
//! adds many roles, many stacks deploying into a new account at once) and sometimes fails on
//! its side; both pass. So a call is repeated, with growing jittered pauses, for as long as the
//! deadline guard lets the work run, rather than for a fixed number of attempts that gives up
//! with most of the time unused. When time does run out, the guard's Reason quotes what
//! `progress` says: the call, how often IAM refused it, and IAM's last words.

use super::work::Work;
use crate::adapters::api_error::ApiError;
use crate::backoff::Backoff;
use std::future::Future;
use std::time::Duration;

const FIRST_PAUSE: Duration = Duration::from_millis(250);
const MAX_PAUSE: Duration = Duration::from_secs(8);

impl Work<'_> {
    /// `call`'s answer, once IAM gives one that is not transient. `doing` says what the call
    /// is, for the guard.
    pub(super) async fn patiently<T, F, Fut>(
        &self,
        doing: String,
        mut call: F,
    ) -> Result<T, ApiError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, ApiError>>,
    {
        self.progress.doing(doing.as_str());
        let mut backoff = Backoff::new(FIRST_PAUSE, MAX_PAUSE);
        let mut refused = 0u32;
        loop {
            // Boxed: the SDK's futures nest so deeply that, inline, the layout of the whole
            // invocation's future exceeds the compiler's query depth on a cold build.
            match Box::pin(call()).await {
                Err(err) if err.transient => {
                    refused += 1;
                    tracing::debug!(operation = err.operation, refused, error = %err, "IAM call to be retried");
                    self.progress.doing(format!(
                        "{doing}, retried after {refused} transient refusal{} (the last: {})",
                        if refused == 1 { "" } else { "s" },
                        err.answer()
                    ));
                    tokio::time::sleep(backoff.pause()).await;
                }
                answered => return answered,
            }
        }
    }
}
