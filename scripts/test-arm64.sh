#!/usr/bin/env bash
# The binary-level LocalStack suites, the ones `make test` runs against the built function
# (tests/lambda/ and tests/corpus.rs: the binary under a Lambda Runtime API), against an arm64
# bootstrap run by qemu-user, as Lambda would run it on Graviton:
#   scripts/test-arm64.sh                       the release zip in dist/ (make dist first)
#   scripts/test-arm64.sh BOOTSTRAP_OR_ZIP [cargo test arguments]
# Timings under emulation mean nothing; what the suites assert does. Installs qemu-user and the
# aarch64 C library (Debian's packages) when missing.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$ROOT"
require_cargo
version=$(python3 -c 'import tomllib; print(tomllib.load(open("Cargo.toml", "rb"))["package"]["version"])')
artifact=${1:-dist/upsert-slr-$version-arm64.zip}
[ $# -gt 0 ] && shift
[ -f "$artifact" ] || die "$artifact does not exist: run make dist first"
suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=(--test lambda --test corpus)

dir="$ROOT/target/arm64-under-qemu"
rm -rf "$dir" && mkdir -p "$dir"
if python3 -c 'import sys, zipfile; sys.exit(not zipfile.is_zipfile(sys.argv[1]))' "$artifact"; then
    python3 -m zipfile -e "$artifact" "$dir"
else
    cp "$artifact" "$dir/bootstrap"
fi
chmod +x "$dir/bootstrap"
python3 scripts/elf_arch.py "$dir/bootstrap" arm64
qemu=$(qemu_aarch64)
printf '#!/bin/sh\nexec %s %s "$@"\n' "$qemu" "$dir/bootstrap" >"$dir/run"
chmod +x "$dir/run"
say "$artifact under $qemu: ${suites[*]}"
UPSERT_SLR_BINARY="$dir/run" scripts/test.sh "${suites[@]}"
