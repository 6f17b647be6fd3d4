# Shared by the scripts: paths, pinned tool installs, and checks with a clear message.
# shellcheck shell=bash
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LOCALSTACK_VENV="$ROOT/.venv-localstack"
TOOLS_VENV="$ROOT/.venv-tools"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

require_cargo() {
    command -v cargo >/dev/null || die "cargo not found: install Rust (1.94.1 or newer) with rustup first"
}

# LocalStack 4.13.1 runs on Python 3.11; its pins live in tests/localstack/requirements.txt.
python311() {
    for candidate in python3.11 python3; do
        if command -v "$candidate" >/dev/null &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
            echo "$candidate"
            return
        fi
    done
    die "LocalStack needs Python 3.11 (python3.11 or python3 at 3.11)"
}

# Python 3.13, which LocalStack's Step Functions needs (the CDK Provider's waiter).
python313() {
    if command -v python3.13 >/dev/null && python3.13 -c '' 2>/dev/null; then
        echo python3.13
        return
    fi
    # pyenv's shim only answers for the versions selected; ask for an installed 3.13.
    if command -v pyenv >/dev/null; then
        local version
        version=$(pyenv versions --bare 2>/dev/null | grep -E '^3\.13(\.|$)' | tail -n 1)
        [ -n "$version" ] && { echo "$(pyenv root)/versions/$version/bin/python3.13"; return; }
    fi
    die "the CDK deployment test needs Python 3.13 (LocalStack's Step Functions does not run on 3.11)"
}

# Creates $1 (a venv, with Python $3, default 3.11) from requirements in $2 unless it already
# has exactly those.
venv_with() {
    local venv=$1 requirements=$2 python=${3:-$(python311)} stamp="$1/.installed"
    if [ -f "$stamp" ] && cmp -s "$stamp" "$requirements"; then
        return
    fi
    say "installing $(basename "$requirements") into $(basename "$venv")"
    rm -rf "$venv"
    "$python" -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
    cp "$requirements" "$stamp"
}

install_localstack() { venv_with "$LOCALSTACK_VENV" "$ROOT/tests/localstack/requirements.txt"; }

# LocalStack with the project's plugins (localstack-plugins/) installed into its venv:
# $1 is the venv, $2 the Python. Reinstalled whenever the plugins' files change.
install_localstack_plugins() {
    local venv=$1 stamp="$1/.plugins-installed" digest
    venv_with "$venv" "$ROOT/tests/localstack/requirements.txt" "$2"
    digest=$(cd "$ROOT/localstack-plugins" && find pyproject.toml upsert_slr_localstack -type f \
        ! -path '*/__pycache__/*' -print0 | sort -z | xargs -0 sha256sum | sha256sum)
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$digest" ]; then
        return
    fi
    say "installing localstack-plugins into $(basename "$venv")"
    local build
    build=$(mktemp -d)
    cp -r "$ROOT/localstack-plugins/pyproject.toml" "$ROOT/localstack-plugins/upsert_slr_localstack" "$build/"
    "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps --force-reinstall "$build"
    rm -rf "$build"
    echo "$digest" >"$stamp"
}

# cargo-lambda (with its zig), the SAM CLI and cfn-lint, in one venv, first on PATH: SAM's
# rust-cargolambda builder finds cargo-lambda and zig through the python3 first on PATH.
use_tools() {
    venv_with "$TOOLS_VENV" "$ROOT/scripts/requirements-tools.txt"
    export PATH="$TOOLS_VENV/bin:$PATH"
}

# The Lambda architecture to build for: $ARCH when set (arm64 or x86_64), else arm64 when the
# aarch64 Rust target is installed (Graviton is cheaper), x86_64 otherwise. Nothing is downloaded.
lambda_arch() {
    case "${ARCH:-}" in
    arm64 | x86_64) echo "$ARCH" ;;
    "") if rustup target list --installed 2>/dev/null | grep -q '^aarch64-unknown-linux-gnu$'; then
            echo arm64
        else
            echo x86_64
        fi ;;
    *) die "ARCH=$ARCH: use arm64 or x86_64" ;;
    esac
}

# For scripts that run the function under `cargo lambda watch` against LocalStack: use the
# LocalStack at LOCALSTACK_ENDPOINT, or start one; a fresh LocalStack account (its access key
# is the account id, so no role exists there yet) in ACCOUNT; a free loopback port in
# WATCH_PORT. `stop_watch_and_localstack` undoes what was started.
prepare_watch() {
    if [ -z "${LOCALSTACK_ENDPOINT:-}" ]; then
        STARTED_LOCALSTACK=1
        LOCALSTACK_ENDPOINT=$("$ROOT/scripts/localstack.sh" start)
    fi
    export LOCALSTACK_ENDPOINT
    ACCOUNT=$(python3 -c 'import random; print(random.randrange(10**11, 10**12))')
    WATCH_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
}

# Runs the function under `cargo lambda watch` on 127.0.0.1:WATCH_PORT as ACCOUNT, with the
# extra environment given as NAME=VALUE arguments, its output in $1; returns once it listens.
# The watcher and the function it starts share a process group of their own (WATCH_PID).
start_watch() {
    local log=$1
    shift
    env AWS_ENDPOINT_URL="$LOCALSTACK_ENDPOINT" AWS_ACCESS_KEY_ID="$ACCOUNT" \
        AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 \
        UPSERT_SLR_EXTRA_RESPONSE_URL_PREFIXES="$LOCALSTACK_ENDPOINT/" "$@" \
        setsid cargo lambda watch --ignore-changes --invoke-address 127.0.0.1 \
        --invoke-port "$WATCH_PORT" >"$log" 2>&1 &
    WATCH_PID=$!
    for _ in $(seq 1 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$WATCH_PORT") 2>/dev/null && return
        sleep 0.2
    done
    die "cargo lambda watch did not start listening on $WATCH_PORT (see $log)"
}

stop_watch_and_localstack() {
    [ -n "${WATCH_PID:-}" ] && kill -- "-$WATCH_PID" 2>/dev/null
    [ -n "${STARTED_LOCALSTACK:-}" ] && "$ROOT/scripts/localstack.sh" stop
    return 0
}

