//! The function's log: Lambda's log level and format, with one thing held back at every level.
//!
//! The Lambda runtime logs each raw event at TRACE, and a custom resource event carries its
//! presigned ResponseURL, whose query string is a credential. An operator who turns on TRACE
//! to debug must not publish it, so the runtime's TRACE lines are dropped here whatever the
//! level; this function's own lines never show the URL unredacted.

use lambda_runtime::tracing::subscriber::filter::{EnvFilter, LevelFilter, filter_fn};
use lambda_runtime::tracing::subscriber::prelude::*;
use lambda_runtime::tracing::subscriber::{fmt, registry};
use lambda_runtime::tracing::{Level, Metadata};
use std::str::FromStr;

/// Installs the subscriber, as `lambda_runtime::tracing::init_default_subscriber` does:
/// `AWS_LAMBDA_LOG_LEVEL` (else `RUST_LOG`, else INFO), JSON when `AWS_LAMBDA_LOG_FORMAT` is
/// JSON.
pub fn init() {
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .ok()
        .and_then(|level| LevelFilter::from_str(&level).ok())
        .unwrap_or(LevelFilter::INFO);
    let levels = EnvFilter::builder()
        .with_default_directive(level.into())
        .from_env_lossy();
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let lines = fmt::layer().with_target(false).without_time();
    let shown = filter_fn(|metadata| !may_carry_the_event(metadata));
    if json {
        registry()
            .with(lines.json().with_filter(levels).with_filter(shown))
            .init();
    } else {
        registry()
            .with(lines.with_filter(levels).with_filter(shown))
            .init();
    }
}

/// The runtime's TRACE lines, among them "raw JSON event received from Lambda".
fn may_carry_the_event(metadata: &Metadata<'_>) -> bool {
    *metadata.level() == Level::TRACE && metadata.target().starts_with("lambda_runtime")
}
