#!/usr/bin/env bash
# Builds the Lambda artifact with cargo lambda: target/lambda/upsert-slr/bootstrap (and a zip).
# arm64 when the aarch64 Rust target is installed (Graviton is cheaper), x86_64 otherwise;
# ARCH=x86_64 or ARCH=arm64 forces one.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$ROOT"
require_cargo
use_tools
arch=${ARCH:-}
if [ -z "$arch" ]; then
    if rustup target list --installed 2>/dev/null | grep -q '^aarch64-unknown-linux-gnu$'; then
        arch=arm64
    else
        arch=x86_64
    fi
fi
say "cargo lambda build --release --$arch"
cargo lambda build --release "--$arch" --output-format zip
ls -l target/lambda/upsert-slr/
