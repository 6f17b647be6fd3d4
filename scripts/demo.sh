#!/usr/bin/env bash
# Runs the function the way Lambda runs it (cargo lambda watch) against LocalStack's IAM and
# S3, sends it the sample events from events/, and prints what CloudFormation would receive:
# a create, the same role declared by a second stack (adopted), a retained delete, and a
# refused suffix. Installs cargo-lambda and LocalStack (pinned) on first use.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$ROOT"
require_cargo
install_tools
export PATH="$TOOLS_VENV/bin:$PATH"

work=$(mktemp -d)
watch_pid=""
cleanup() {
    # The watcher and the function it started share a process group of their own.
    [ -n "$watch_pid" ] && kill -- "-$watch_pid" 2>/dev/null || true
    [ -n "${started_localstack:-}" ] && scripts/localstack.sh stop
    rm -rf "$work"
}
trap cleanup EXIT

if [ -z "${LOCALSTACK_ENDPOINT:-}" ]; then
    started_localstack=1
    LOCALSTACK_ENDPOINT=$(scripts/localstack.sh start)
fi
export LOCALSTACK_ENDPOINT

# A fresh LocalStack account (its access key is the account id): the role does not exist yet.
account=$(python3 -c 'import random; print(random.randrange(10**11, 10**12))')
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

say "building the function"
cargo build --quiet --bin upsert-slr
say "starting it under cargo lambda watch (account $account)"
AWS_ENDPOINT_URL=$LOCALSTACK_ENDPOINT AWS_ACCESS_KEY_ID=$account AWS_SECRET_ACCESS_KEY=test \
    AWS_REGION=us-east-1 UPSERT_SLR_EXTRA_RESPONSE_URL_PREFIXES="$LOCALSTACK_ENDPOINT/" \
    setsid cargo lambda watch --ignore-changes --invoke-address 127.0.0.1 --invoke-port "$port" \
    >"$work/watch.log" 2>&1 &
watch_pid=$!
for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.2
done

step=0
send() {
    local title=$1 file=$2
    shift 2
    step=$((step + 1))
    local key="demo-$account-$step"
    printf '\n\033[1m%s. %s\033[0m  (events/%s %s)\n' "$step" "$title" "$file" "$*"
    python3 scripts/cfn_response.py event "events/$file" "$key" "$@" >"$work/event.json"
    cargo lambda invoke upsert-slr --invoke-address 127.0.0.1 --invoke-port "$port" \
        --data-file "$work/event.json" >"$work/invoke.out" 2>&1 || true
    echo "CloudFormation receives:"
    python3 scripts/cfn_response.py fetch "$key" || { cat "$work/invoke.out" "$work/watch.log"; exit 1; }
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
