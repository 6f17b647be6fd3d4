#!/usr/bin/env bash
# Runs the function the way Lambda runs it (cargo lambda watch) against LocalStack's IAM and
# S3, sends it the sample events from events/, and prints what CloudFormation would receive:
# a create, the same role declared by a second stack (adopted), a retained delete, and a
# refused suffix. Installs cargo-lambda and LocalStack (pinned) on first use.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$ROOT"
require_cargo
use_tools

work=$(mktemp -d)
trap 'stop_watch_and_localstack; rm -rf "$work"' EXIT
prepare_watch

say "building the function"
cargo build --quiet --bin upsert-slr
say "starting it under cargo lambda watch (account $ACCOUNT)"
start_watch "$work/watch.log"

step=0
send() {
    local title=$1 file=$2
    shift 2
    step=$((step + 1))
    local key="demo-$ACCOUNT-$step"
    printf '\n\033[1m%s. %s\033[0m  (events/%s %s)\n' "$step" "$title" "$file" "$*"
    python3 -m rig.cfn_response event "events/$file" "$key" "$@" >"$work/event.json"
    cargo lambda invoke upsert-slr --invoke-address 127.0.0.1 --invoke-port "$WATCH_PORT" \
        --data-file "$work/event.json" >"$work/invoke.out" 2>&1 || true
    echo "CloudFormation receives:"
    python3 -m rig.cfn_response fetch "$key" || { cat "$work/invoke.out" "$work/watch.log"; exit 1; }
}

send "Create: the role does not exist yet" create.json \
    RequestId=demo-create Props.PropagationWaitSeconds=2
send "Create from a second stack: the role exists, it is adopted" create.json \
    RequestId=demo-adopt LogicalResourceId=EcsRole \
    StackId=arn:aws:cloudformation:us-east-1:123456789012:stack/other-app/7f3e9a20
send "Delete with RemovalPolicy Retain (the default): the role stays" delete.json \
    RequestId=demo-delete
send "Create with a suffix ECS does not allow: FAILED with IAM's own message" \
    create-suffix-refused.json RequestId=demo-suffix
printf '\nFunction log:\n'
grep -E 'event handled' "$work/watch.log" | sed -E 's/^.*event handled/  event handled/'
