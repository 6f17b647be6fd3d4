#!/usr/bin/env bash
# LocalStack on the host (no Docker) for the tests and the demo.
#   scripts/localstack.sh start [cfn]   install if needed, start on loopback, print the endpoint
#   scripts/localstack.sh stop [cfn]    stop the instance started here
# Without `cfn`: IAM, S3, STS and CloudFormation (no plugins), for the function's own tests.
# With `cfn`: CloudFormation and what its stacks use (Lambda, Logs, SSM, Step Functions), with
# the project's plugins
# (localstack-plugins/) running Lambda functions as local processes and custom resources as
# CloudFormation does; LOCALSTACK_PYTHON=3.13 runs that one on Python 3.13 (Step Functions
# needs it). Listens on 127.0.0.1 only, port 4566 when free (else any free port;
# LOCALSTACK_PORT picks one). Presigned URL signatures are checked, as S3 checks them.
set -euo pipefail
source "$(dirname "$0")/common.sh"
mode=${2:-}
case "$mode" in
"") STATE="$ROOT/.localstack" ;;
cfn)
    case "${LOCALSTACK_PYTHON:-3.11}" in
    3.13)
        STATE="$ROOT/.localstack-cfn-py313"
        venv="$ROOT/.venv-localstack-py313"
        ;;
    3.11)
        STATE="$ROOT/.localstack-cfn"
        venv="$LOCALSTACK_VENV"
        ;;
    *) die "LOCALSTACK_PYTHON=$LOCALSTACK_PYTHON: use 3.11 (the default) or 3.13" ;;
    esac
    ;;
*) die "usage: $0 start|stop [cfn]" ;;
esac

start() {
    # Checked before anything is installed or stopped.
    [ -z "${LOCALSTACK_PORT:-}" ] || LOCALSTACK_PORT=$(whole_number LOCALSTACK_PORT "" 1 65535)
    local python=$LOCALSTACK_VENV/bin/python
    # CloudFormation too: the function asks it before deleting a role, and a stack it does not
    # have must be answered as CloudFormation answers.
    local -a settings=("SERVICES=cloudformation,iam,s3,sts")
    if [ "$mode" = cfn ]; then
        if [ "$venv" = "$LOCALSTACK_VENV" ]; then
            install_localstack_plugins "$venv" "$(python311)"
        else
            install_localstack_plugins "$venv" "$(python313)"
        fi
        python=$venv/bin/python
        # CFN_PER_RESOURCE_TIMEOUT above CloudFormation's longest ServiceTimeout (3600 s), so
        # that the custom resource's own ServiceTimeout is what bounds the wait.
        settings=(
            "SERVICES=cloudformation,iam,lambda,logs,redshift,s3,ssm,stepfunctions,sts"
            LAMBDA_RUNTIME_EXECUTOR=local-process CFN_PER_RESOURCE_TIMEOUT=3700
            XDG_CACHE_HOME="$STATE/cache"
        )
    else
        # The plugins' fixes to the engine (an unknown stack id answered as CloudFormation
        # answers it) hold here too; what they add for Lambda stays off without its service.
        install_localstack_plugins "$LOCALSTACK_VENV" "$(python311)"
    fi
    stop 2>/dev/null || true
    rm -rf "$STATE"
    mkdir -p "$STATE/tmp"
    local port=${LOCALSTACK_PORT:-$(free_port 4566)}
    env GATEWAY_LISTEN="127.0.0.1:$port" GATEWAY_SERVER=hypercorn "${settings[@]}" \
        S3_SKIP_SIGNATURE_VALIDATION=0 DISABLE_EVENTS=1 DNS_ADDRESS=0 OVERRIDE_IN_DOCKER=0 \
        LOCALSTACK_VOLUME_DIR="$STATE" FILESYSTEM_ROOT="$STATE/fs" TMPDIR="$STATE/tmp" \
        nohup "$python" -m localstack.runtime.main >"$STATE/log" 2>&1 &
    echo $! >"$STATE/pid"
    local endpoint="http://127.0.0.1:$port"
    for _ in $(seq 1 120); do
        if "$python" -c "import urllib.request,sys; urllib.request.urlopen('$endpoint/_localstack/health', timeout=1)" 2>/dev/null; then
            echo "$endpoint" >"$STATE/endpoint"
            say "LocalStack ready at $endpoint"
            echo "$endpoint"
            return
        fi
        kill -0 "$(cat "$STATE/pid")" 2>/dev/null || { tail -20 "$STATE/log" >&2; die "LocalStack exited"; }
        sleep 0.5
    done
    tail -20 "$STATE/log" >&2
    die "LocalStack did not become ready"
}

stop() {
    [ -f "$STATE/pid" ] || return 0
    local pid
    pid=$(cat "$STATE/pid")
    rm -f "$STATE/pid" "$STATE/endpoint"
    kill "$pid" 2>/dev/null || return 0
    # It sometimes ignores SIGTERM.
    for _ in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
}

case "${1:-}" in
start) start ;;
stop) stop ;;
*) die "usage: $0 start|stop [cfn]" ;;
esac
