#!/usr/bin/env bash
# LocalStack on the host (no Docker) as IAM and S3 for the tests and the demo.
#   scripts/localstack.sh start   install if needed, start on loopback, print the endpoint
#   scripts/localstack.sh stop    stop the instance started here
# Listens on 127.0.0.1 only, port 4566 when free (else any free port; LOCALSTACK_PORT picks
# one). Presigned URL signatures are checked, as S3 checks them.
set -euo pipefail
source "$(dirname "$0")/common.sh"
STATE="$ROOT/.localstack"

free_port() {
    "$(python311)" - "$@" <<'PY'
import socket, sys
def free(port):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port)); return s.getsockname()[1]
    except OSError:
        return None
    finally:
        s.close()
print(free(int(sys.argv[1])) or free(0))
PY
}

start() {
    install_localstack
    stop 2>/dev/null || true
    mkdir -p "$STATE"
    local port=${LOCALSTACK_PORT:-$(free_port 4566)}
    GATEWAY_LISTEN="127.0.0.1:$port" GATEWAY_SERVER=hypercorn SERVICES=iam,s3,sts \
        S3_SKIP_SIGNATURE_VALIDATION=0 DISABLE_EVENTS=1 DNS_ADDRESS=0 OVERRIDE_IN_DOCKER=0 \
        LOCALSTACK_VOLUME_DIR="$STATE" FILESYSTEM_ROOT="$STATE/fs" \
        nohup "$LOCALSTACK_VENV/bin/python" -m localstack.runtime.main >"$STATE/log" 2>&1 &
    echo $! >"$STATE/pid"
    local endpoint="http://127.0.0.1:$port"
    for _ in $(seq 1 120); do
        if "$LOCALSTACK_VENV/bin/python" -c "import urllib.request,sys; urllib.request.urlopen('$endpoint/_localstack/health', timeout=1)" 2>/dev/null; then
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
*) die "usage: $0 start|stop" ;;
esac
