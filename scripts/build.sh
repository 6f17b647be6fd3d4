#!/usr/bin/env bash
# Builds the Lambda artifact with cargo lambda: target/lambda/upsert-slr/bootstrap (and a zip).
# arm64 when the aarch64 Rust target is installed (Graviton is cheaper), x86_64 otherwise;
# ARCH=x86_64 or ARCH=arm64 forces one.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$ROOT"
require_cargo
use_tools
arch=$(lambda_arch)
say "cargo lambda build --release --$arch"
cargo lambda build --release "--$arch" --output-format zip
ls -l target/lambda/upsert-slr/
