#!/usr/bin/env bash
# `sam build` of the SAM app (template.yaml, samconfig.toml), then checks what it produced:
# .aws-sam/build/Function/bootstrap is an executable ELF for the architecture built, needs no
# glibc newer than provided.al2023's, and passes the LocalStack integration tests
# (tests/lambda.rs) in place of the binary cargo builds for them: natively, or arm64 under
# qemu-user. arm64 unless ARCH=x86_64, as scripts/build.sh.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$ROOT"
require_cargo
use_tools
export SAM_CLI_TELEMETRY=0
arch=$(lambda_arch)
# SAM's rust-cargolambda builder runs `cargo lambda build --release --arm64` (or --x86-64): the
# same toolchain as the release build, found the same way.
rust_toolchain "$arch"
say "sam build --parameter-overrides Architecture=$arch, with $RUST_TOOLCHAIN"
start=$SECONDS
sam build --parameter-overrides "Architecture=$arch"
say "sam build took $((SECONDS - start)) s"

bootstrap=.aws-sam/build/Function/bootstrap
[ -f "$bootstrap" ] || die "sam build produced no $bootstrap"
[ -x "$bootstrap" ] || die "$bootstrap is not executable"
python3 scripts/elf_arch.py "$bootstrap" "$arch"
python3 scripts/check_glibc.py "$bootstrap"

host=$(uname -m | sed 's/aarch64/arm64/')
if [ "$host" = "$arch" ]; then
    say "the integration tests against $bootstrap"
    UPSERT_SLR_BINARY="$ROOT/$bootstrap" scripts/test.sh --test lambda
elif [ "$arch" = arm64 ]; then
    scripts/test-arm64.sh "$bootstrap" --test lambda
else
    say "not running the $arch bootstrap on this $host host"
fi
