#!/usr/bin/env bash
# `sam build` of the SAM app (template.yaml, samconfig.toml), then checks what it produced:
# .aws-sam/build/Function/bootstrap is an executable ELF for the architecture built, needs no
# glibc newer than provided.al2023's, and passes the LocalStack integration tests
# (tests/lambda/) in place of the binary cargo builds for them: natively, or arm64 under
# qemu-user. arm64 unless ARCH=x86_64, as scripts/build.sh.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$ROOT"
require_cargo
use_tools
export SAM_CLI_TELEMETRY=0
# sam build runs `make build-Function`, the release build for $ARCH (scripts/build.sh).
export ARCH
ARCH=$(lambda_arch)
say "sam build --parameter-overrides Architecture=$ARCH (the release build, through make build-Function)"
start=$SECONDS
sam build --parameter-overrides "Architecture=$ARCH"
say "sam build took $((SECONDS - start)) s"

bootstrap=.aws-sam/build/Function/bootstrap
[ -f "$bootstrap" ] || die "sam build produced no $bootstrap"
[ -x "$bootstrap" ] || die "$bootstrap is not executable"
python3 scripts/elf_arch.py "$bootstrap" "$ARCH"
python3 scripts/check_glibc.py "$bootstrap"

host=$(uname -m | sed 's/aarch64/arm64/')
if [ "$host" = "$ARCH" ]; then
    say "the integration tests against $bootstrap"
    UPSERT_SLR_BINARY="$ROOT/$bootstrap" scripts/test.sh --test lambda
elif [ "$ARCH" = arm64 ]; then
    scripts/test-arm64.sh "$bootstrap" --test lambda
else
    say "not running the $ARCH bootstrap on this $host host"
fi
