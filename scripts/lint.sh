#!/usr/bin/env bash
# Every language in the repository, linted: Rust (rustfmt, clippy with warnings as errors, the
# fuzz crate's formatting), the bash (shellcheck, settings in .shellcheckrc) and the Python
# (ruff's lint and format, settings in ruff.toml). Fixes nothing: `cargo fmt` and
# `ruff format` / `ruff check --fix` do.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$ROOT"
require_cargo
use_tools  # ruff, shellcheck
say "rustfmt"
cargo fmt --check
(cd fuzz && cargo fmt --check)
say "clippy"
cargo clippy --all-targets --all-features -- -D warnings
say "shellcheck"
mapfile -t shell < <(git ls-files -co --exclude-standard '*.sh' .ci/run)
shellcheck "${shell[@]}"
say "ruff"
ruff check .
ruff format --check .
