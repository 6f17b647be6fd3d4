#!/usr/bin/env bash
# Every test: unit tests, IAM wire replays, fault injection, the bad-input corpus, generated
# properties, and the built binary under a Lambda Runtime API against LocalStack. Then every
# function log the tests captured is searched for presigned-URL signatures, and the evidence
# the tests recorded becomes target/RELIABILITY.md (`make reliability` publishes it).
#
# Installs LocalStack (pinned) and starts it unless LOCALSTACK_ENDPOINT points at one already
# running (with S3_SKIP_SIGNATURE_VALIDATION=0). Arguments go to `cargo test`.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$ROOT"
require_cargo

if [ -z "${LOCALSTACK_ENDPOINT:-}" ]; then
    trap 'scripts/localstack.sh stop' EXIT
    LOCALSTACK_ENDPOINT=$(scripts/localstack.sh start)
    export LOCALSTACK_ENDPOINT
fi
evidence="$ROOT/target/reliability.jsonl"
logs="$ROOT/target/tmp/function-logs"
rm -rf "$evidence" "$logs"
say "cargo test (LocalStack at $LOCALSTACK_ENDPOINT)"
RELIABILITY_LOG="$evidence" cargo test --features localstack "$@"
say "searching the captured function logs for presigned-URL signatures"
# Only a full run (no cargo test arguments) has every test's logs to search.
full_run=()
[ $# -ne 0 ] || full_run=(--require-logs)
python3 -m rig.reliability "$evidence" "$logs" "$ROOT/target/RELIABILITY.md" "${full_run[@]}"
