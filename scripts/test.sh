#!/usr/bin/env bash
# Every test: unit tests, IAM wire replays, and the built binary under a Lambda Runtime API
# against LocalStack. Installs LocalStack (pinned) and starts it unless LOCALSTACK_ENDPOINT
# points at one already running (with S3_SKIP_SIGNATURE_VALIDATION=0).
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$ROOT"
require_cargo

if [ -z "${LOCALSTACK_ENDPOINT:-}" ]; then
    trap 'scripts/localstack.sh stop' EXIT
    LOCALSTACK_ENDPOINT=$(scripts/localstack.sh start)
    export LOCALSTACK_ENDPOINT
fi
say "cargo test (LocalStack at $LOCALSTACK_ENDPOINT)"
cargo test "$@"
