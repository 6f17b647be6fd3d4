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
watch_pid=""
cleanup() {
    # The watcher and the function it started share a process group of their own.
    [ -n "$watch_pid" ] && kill -- "-$watch_pid" 2>/dev/null || true
    [ -n "${started_localstack:-}" ] && "$ROOT/scripts/localstack.sh" stop
    rm -rf "$work"
}
trap cleanup EXIT

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

if [ -z "${LOCALSTACK_ENDPOINT:-}" ]; then
    started_localstack=1
    LOCALSTACK_ENDPOINT=$(scripts/localstack.sh start)
fi
export LOCALSTACK_ENDPOINT

# A fresh LocalStack account (its access key is the account id): no role exists there yet.
account=$(python3 -c 'import random; print(random.randrange(10**11, 10**12))')
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

say "building the function (debug, as make test does)"
cargo build --quiet --bin upsert-slr
say "starting it under cargo lambda watch (account $account), as the construct configures it"
# UPSERT_SLR_EXTRA_RESPONSE_URL_PREFIXES lets the function PUT to LocalStack, so that the test
# would see it if it answered CloudFormation itself behind the Provider.
AWS_ENDPOINT_URL=$LOCALSTACK_ENDPOINT AWS_ACCESS_KEY_ID=$account AWS_SECRET_ACCESS_KEY=test \
    AWS_REGION=us-east-1 UPSERT_SLR_WAIT=is-complete \
    UPSERT_SLR_ALLOWED_SERVICES=autoscaling.amazonaws.com,ecs.amazonaws.com,elasticloadbalancing.amazonaws.com \
    UPSERT_SLR_EXTRA_RESPONSE_URL_PREFIXES="$LOCALSTACK_ENDPOINT/" \
    setsid cargo lambda watch --ignore-changes --invoke-address 127.0.0.1 --invoke-port "$port" \
    >"$work/watch.log" 2>&1 &
watch_pid=$!
for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.2
done

say "end-to-end: the Provider framework runtime in front of the function"
cd examples/cdk
if ! UPSERT_SLR_FUNCTION_ENDPOINT="http://127.0.0.1:$port" UPSERT_SLR_ACCOUNT=$account \
    npm run --silent test:e2e; then
    echo "--- function log (cargo lambda watch) ---" >&2
    tail -n 60 "$work/watch.log" >&2
    exit 1
fi
