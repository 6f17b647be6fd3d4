#!/usr/bin/env bash
# A fleet on one machine (make fleet): the release template and the x86_64 release zip (one
# bucket per region), then examples/cloudformation/slr-baseline.yaml, each deployed through
# LocalStack's self-managed StackSets into FLEET_ACCOUNTS accounts x FLEET_REGIONS regions
# (default 10 x 2; the regions a count or their names), with seeded accounts (a role made long
# ago, one made a second before, a function that refuses one service) and one account whose
# function is also its Lambda Hook, deploying a plain template; what must hold is checked, the fleet torn down, and the cost printed (bench/fleet/__init__.py says what
# LocalStack leaves out and how the rig stands in).
#
#   FLEET_ACCOUNTS=3 scripts/fleet.sh                        one small fleet
#   FLEET_REGIONS=us-east-1,ap-southeast-2 scripts/fleet.sh  in these two regions
#   FLEET_SIZES=3x2,10x2,25x2 FLEET_MARKDOWN=FLEET.md ...    fleets of growing size, one after
#                                                            another; writes FLEET.md
#
# The function is built once (the release build, x86_64: the local-process executor runs the
# bootstrap on this host) and reused by every instance. Then LocalStack is stopped, and no
# function process may outlive the run.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$ROOT"
require_cargo
[ "$(uname -m)" = x86_64 ] || die "the fleet runs the x86_64 release bootstrap as a local process: it needs an x86_64 host"
# The fleets from FLEET_SIZES, or FLEET_ACCOUNTS and FLEET_REGIONS, and FLEET_MARKDOWN checked:
# an input the rig cannot run with is refused now, not after the build.
install_localstack
sizes=$("$LOCALSTACK_VENV/bin/python" -m fleet.plan)

work=$(mktemp -d)
state="$ROOT/.localstack-cfn"
trap 'scripts/localstack.sh stop cfn; rm -rf "$work"' EXIT

use_tools
release_build x86_64 "$ROOT/target/fleet-lambda"
version=$(python3 -c 'import json; print(json.load(open("cdk/package.json"))["version"])')
# The SAM translator asks for a region, though the template names none.
AWS_DEFAULT_REGION=us-east-1 python scripts/release_template.py template.yaml "$version" "$work/upsert-slr-$version.template.yaml"

endpoint=$(scripts/localstack.sh start cfn)
say "fleets $sizes (LocalStack at $endpoint)"
start=$SECONDS
args=(--endpoint "$endpoint" --state "$state" --release-template "$work/upsert-slr-$version.template.yaml"
    --zip "$ROOT/target/fleet-lambda/upsert-slr/bootstrap.zip" --version "$version" --sizes "$sizes"
    --about "LocalStack $("$LOCALSTACK_VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("localstack-core"))'), on Python 3.11"
    --about "upsert-slr $version, the x86_64 release zip ($(stat -c %s target/fleet-lambda/upsert-slr/bootstrap.zip) bytes), built with $RUST_TOOLCHAIN")
[ -n "${FLEET_MARKDOWN:-}" ] && args+=(--markdown "$FLEET_MARKDOWN")
"$LOCALSTACK_VENV/bin/python" -m fleet "${args[@]}"
say "fleets took $((SECONDS - start)) s"

scripts/localstack.sh stop cfn
for _ in $(seq 1 50); do
    left=$(python3 -m rig.function_processes "$state/tmp")
    [ -z "$left" ] && { say "no function process outlived the run"; exit 0; }
    sleep 0.2
done
die "function processes outlived LocalStack: $left"
