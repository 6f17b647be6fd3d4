#!/usr/bin/env bash
# The CDK construct in examples/cdk: synth tests, the example app through the CDK CLI, and an
# end-to-end test in which the CDK Provider framework's own runtime drives the function (run by
# `cargo lambda watch`) against LocalStack's IAM and S3. Installs the pinned npm packages,
# cargo-lambda and LocalStack on first use; starts LocalStack unless LOCALSTACK_ENDPOINT points
# at one already running.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$ROOT"
require_cargo
command -v npm >/dev/null || die "npm not found: install Node.js 20 or newer"
use_tools
# The CDK CLI would otherwise fetch notices and send telemetry.
export CDK_DISABLE_CLI_TELEMETRY=true

work=$(mktemp -d)
trap 'stop_watch_and_localstack; rm -rf "$work"' EXIT

cd examples/cdk
say "npm ci (examples/cdk)"
npm ci --no-audit --no-fund --loglevel=error
say "synth tests"
npm test

say "cdk synth of the example app (with a stand-in for the function's code)"
mkdir "$work/code"
# An x86_64 ELF header is all the construct reads from the binary at synth time.
printf '\177ELF\002\001\001\000\000\000\000\000\000\000\000\000\002\000\076\000' >"$work/code/bootstrap"
npx cdk synth --quiet --no-notices -c upsertSlrCodePath="$work/code" -o "$work/cdk.out"
grep -q '"Type": "Custom::ServiceLinkedRole"' "$work/cdk.out/UpsertSlrExample.template.json" ||
    die "the example app's template has no Custom::ServiceLinkedRole"
cd "$ROOT"

prepare_watch
say "building the function (debug, as make test does)"
cargo build --quiet --bin upsert-slr
say "starting it under cargo lambda watch (account $ACCOUNT), as the construct configures it"
# It may PUT to LocalStack, so that the test would see it if it answered CloudFormation
# itself behind the Provider.
start_watch "$work/watch.log" UPSERT_SLR_WAIT=is-complete \
    UPSERT_SLR_ALLOWED_SERVICES=autoscaling.amazonaws.com,ecs.amazonaws.com,elasticloadbalancing.amazonaws.com

say "end-to-end: the Provider framework runtime in front of the function"
cd examples/cdk
if ! UPSERT_SLR_FUNCTION_ENDPOINT="http://127.0.0.1:$WATCH_PORT" UPSERT_SLR_ACCOUNT=$ACCOUNT \
    npm run --silent test:e2e; then
    echo "--- function log (cargo lambda watch) ---" >&2
    tail -n 60 "$work/watch.log" >&2
    exit 1
fi
