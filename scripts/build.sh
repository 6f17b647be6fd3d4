#!/usr/bin/env bash
# Builds the Lambda artifact, the release build every artifact comes from (common.sh's
# release_build): target/lambda/upsert-slr/bootstrap and bootstrap.zip. arm64 by default
# (Graviton is cheaper), with rustup's aarch64 target or else Debian's Rust for aarch64;
# ARCH=x86_64 builds x86_64. Says which toolchain built it.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$ROOT"
require_cargo
use_tools
release_build "$(lambda_arch)" target/lambda
ls -l target/lambda/upsert-slr/
