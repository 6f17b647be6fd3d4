//! What the work for an event is doing now, shared with the deadline guard so that a timeout
//! can say what it interrupted ("timed out while …") and which role it had already created.

use std::sync::{Arc, Mutex, PoisonError};

#[derive(Clone, Debug, Default)]
pub struct Progress(Arc<Mutex<State>>);

#[derive(Debug, Default)]
struct State {
    doing: String,
    created_role: Option<String>,
}

impl Progress {
    pub fn doing(&self, what: impl Into<String>) {
        self.lock(|s| s.doing = what.into());
    }

    pub fn created(&self, role_name: &str) {
        self.lock(|s| s.created_role = Some(role_name.to_string()));
    }

    /// What was being done, and the role created so far (if any).
    pub fn snapshot(&self) -> (String, Option<String>) {
        self.lock(|s| {
            let doing = if s.doing.is_empty() {
                "starting".to_string()
            } else {
                s.doing.clone()
            };
            (doing, s.created_role.clone())
        })
    }

    fn lock<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        // A panic elsewhere must not hide the progress from the guard that reports it.
        f(&mut self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}
