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

# Creates $1 (a venv) from requirements in $2 unless it already has exactly those.
venv_with() {
    local venv=$1 requirements=$2 stamp="$1/.installed"
    if [ -f "$stamp" ] && cmp -s "$stamp" "$requirements"; then
        return
    fi
    say "installing $(basename "$requirements") into $(basename "$venv")"
    rm -rf "$venv"
    "$(python311)" -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
    cp "$requirements" "$stamp"
}

install_localstack() { venv_with "$LOCALSTACK_VENV" "$ROOT/tests/localstack/requirements.txt"; }

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
