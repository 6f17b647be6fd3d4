//! A Terraform `aws_lambda_invocation` from start to finish: read the input, do the role work
//! under the deadline guard (its waits included), log one line, and return the result or the
//! function error the provider shows.

use super::Deps;
use super::guard::guarded;
use super::logline::LogLine;
use crate::error::InvocationError;
use crate::protocol::terraform::{self, Invocation};
use crate::role::progress::Progress;
use crate::role::terraform::run as run_change;
use crate::role::work::Owner;
use serde_json::Value;
use tokio::time::Instant;

pub(super) async fn run(
    deps: &Deps,
    payload: Value,
    request_id: &str,
    guard_at: Instant,
    started: Instant,
) -> Result<Value, InvocationError> {
    let invocation = terraform::parse(payload).map_err(InvocationError::InvalidEvent)?;
    let progress = Progress::default();
    let task = {
        let (deps, invocation, progress) = (deps.clone(), invocation.clone(), progress.clone());
        let request_id = request_id.to_string();
        async move {
            let work = deps.work(owner(&invocation, &request_id), &progress);
            run_change(&deps.settings, invocation.change(), work, guard_at).await
        }
    };
    let done = guarded(task, guard_at)
        .await
        .unwrap_or_else(|interruption| Err(interruption.failure(&progress)));
    LogLine::of_terraform(&done).emit_terraform(&invocation, started);
    match done {
        Ok(finished) => Ok(terraform::result(&finished.answer, finished.propagated)),
        Err(failure) => Err(InvocationError::ServiceLinkedRoleFailed(
            failure.into_reason(),
        )),
    }
}

/// Whose role this is: the input's Owner, or nobody's.
fn owner<'a>(invocation: &'a Invocation, request_id: &'a str) -> Owner<'a> {
    match &invocation.owner {
        Some(id) => Owner::Terraform { id, request_id },
        None => Owner::Nobody,
    }
}
