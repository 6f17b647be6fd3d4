#!/usr/bin/env bash
# Deploys the SAM app and stacks using Custom::ServiceLinkedRole to LocalStack's CloudFormation
# engine on loopback (no AWS account, no Docker), and prints their events and outputs
# (tests/rig/demo.py). Installs LocalStack and the project's plugins (pinned) on first use.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$ROOT"
require_cargo

work=$(mktemp -d)
trap 'scripts/localstack.sh stop cfn; rm -rf "$work"' EXIT
say "building the function"
cargo build --quiet --bin upsert-slr
strip -o "$work/bootstrap" target/debug/upsert-slr
endpoint=$(scripts/localstack.sh start cfn)
"$LOCALSTACK_VENV/bin/python" -m rig.demo "$endpoint" "$work/bootstrap"
