#!/usr/bin/env bash
# `sam build` of the SAM app (template.yaml, samconfig.toml), then checks what it produced:
# .aws-sam/build/Function/bootstrap is an executable ELF for the architecture built, and, when
# this host can run it, it passes the LocalStack integration tests (tests/lambda.rs) in place
# of the binary cargo builds for them. Architecture as scripts/build.sh picks it (ARCH forces).
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$ROOT"
require_cargo
use_tools
export SAM_CLI_TELEMETRY=0
arch=$(lambda_arch)

say "sam build --parameter-overrides Architecture=$arch"
start=$SECONDS
sam build --parameter-overrides "Architecture=$arch"
say "sam build took $((SECONDS - start)) s"

bootstrap=.aws-sam/build/Function/bootstrap
[ -f "$bootstrap" ] || die "sam build produced no $bootstrap"
[ -x "$bootstrap" ] || die "$bootstrap is not executable"
# ELF header: magic, 64-bit, little-endian, executable or PIE, e_machine of the architecture.
python3 - "$bootstrap" "$arch" <<'PY'
import struct, sys
path, arch = sys.argv[1], sys.argv[2]
with open(path, "rb") as f:
    head = f.read(20)
machine = {"x86_64": 0x3E, "arm64": 0xB7}[arch]
assert head[:4] == b"\x7fELF", f"{path} is not an ELF file"
assert head[4] == 2 and head[5] == 1, f"{path} is not a 64-bit little-endian ELF"
e_type, e_machine = struct.unpack_from("<HH", head, 16)
assert e_type in (2, 3), f"{path} is not an executable (e_type {e_type})"
assert e_machine == machine, f"{path} is for machine {e_machine:#x}, not {arch} ({machine:#x})"
print(f"{path}: ELF executable for {arch}")
PY

host=$(uname -m)
[ "$host" = aarch64 ] && host=arm64
if [ "$host" != "$arch" ]; then
    say "not running the $arch bootstrap on this $host host"
    exit 0
fi
say "the integration tests against $bootstrap"
UPSERT_SLR_BINARY="$ROOT/$bootstrap" scripts/test.sh --test lambda
