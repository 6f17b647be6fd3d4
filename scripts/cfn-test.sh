#!/usr/bin/env bash
# Deployments to LocalStack's CloudFormation engine as tests (tests/cloudformation, pytest):
# the local-process executor's failure modes, the custom-resource bridge against
# CloudFormation's contract, the SAM app and stacks using it, the baseline through
# Fn::ImportValue, the release template with the release zip as a user without Rust deploys
# them, the emulated CloudFormation Lambda Hooks, and the CDK example app (with the construct
# library and its bundled release function) with cdklocal. Then LocalStack is stopped and no function process may outlive it.
#
# LocalStack runs on Python 3.13 here (its Step Functions, which the CDK Provider's waiter
# needs, does not run on 3.11; `make demo` covers 3.11). Installs LocalStack with the
# project's plugins, cdklocal and the CDK app's npm packages (all pinned) on first use.
# The rig's own unit tests (tests/rig, bench/fleet) run first. Arguments go to pytest.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$ROOT"
require_cargo
command -v npm >/dev/null || die "npm not found: install Node.js 20 or newer"

work=$(mktemp -d)
trap 'LOCALSTACK_PYTHON=3.13 scripts/localstack.sh stop cfn; rm -rf "$work"' EXIT

say "building the function"
cargo build --quiet --bin upsert-slr
strip -o "$work/bootstrap" target/debug/upsert-slr
# The CDK example app installs the construct library from cdk/, with the release function in it.
scripts/cdk-lib.sh
# That function is arm64 by default, as users deploy it: on an x86_64 host the executor runs it
# under qemu-user, installed here when the arm64 build found rustup's target and did not need it.
if [ "$(uname -m)" = x86_64 ]; then
    qemu_aarch64 >/dev/null
fi
# The release as `make dist` writes it, for a user without Rust: the template and this host's zip.
use_tools
version=$(node -p 'require("./cdk/package.json").version')
host_arch=$(uname -m | sed 's/aarch64/arm64/')
mkdir "$work/release"
python scripts/release_template.py template.yaml "$version" "$work/release/upsert-slr-$version.template.yaml"
cp "cdk/lambda/$host_arch/bootstrap.zip" "$work/release/upsert-slr-$version-$host_arch.zip"
say "npm ci (examples/cdk, and cdklocal in tests/cloudformation/cdk)"
(cd examples/cdk && npm ci --no-audit --no-fund --loglevel=error)
(cd tests/cloudformation/cdk && npm ci --no-audit --no-fund --loglevel=error)

# The CDK Provider framework's Node functions import the AWS SDK, which Lambda's Node.js
# runtime provides; here the CDK app's own copy does.
endpoint=$(LOCALSTACK_PYTHON=3.13 LOCAL_PROCESS_EXECUTOR_NODE_PATH="$ROOT/examples/cdk/node_modules" \
    scripts/localstack.sh start cfn)
state="$ROOT/.localstack-cfn-py313"

say "pytest tests/rig bench/fleet localstack-plugins/tests tests/cloudformation (LocalStack at $endpoint), with no cargo on PATH"
start=$SECONDS
# Deploying needs no Rust: what the tests deploy was built above.
no_cargo_path=$(tr : '\n' <<<"$PATH" | grep -v -e '\.cargo' -e "$TOOLS_VENV" | paste -sd:)
PATH=$no_cargo_path LOCALSTACK_CFN_ENDPOINT=$endpoint UPSERT_SLR_BOOTSTRAP="$work/bootstrap" \
    UPSERT_SLR_RELEASE_DIR="$work/release" CDKLOCAL="$ROOT/tests/cloudformation/cdk/node_modules/.bin/cdklocal" \
    "$ROOT/.venv-localstack-py313/bin/python" -m pytest -p no:cacheprovider -v tests/rig bench/fleet localstack-plugins/tests tests/cloudformation "$@"
say "deployment tests took $((SECONDS - start)) s"

if [ $# -gt 0 ]; then
    # A chosen subset may leave no function process running: the check below needs them all.
    LOCALSTACK_PYTHON=3.13 scripts/localstack.sh stop cfn
    exit 0
fi
say "stopping LocalStack: no function process may outlive it"
functions() { python3 -m rig.function_processes "$state/tmp"; }
running=$(functions)
[ -n "$running" ] || die "no function process was running before the stop: nothing would be proven"
LOCALSTACK_PYTHON=3.13 scripts/localstack.sh stop cfn
for _ in $(seq 1 50); do
    left=$(functions)
    [ -z "$left" ] && { say "$(echo "$running" | wc -l) function processes ended with LocalStack"; exit 0; }
    sleep 0.2
done
die "function processes outlived LocalStack: $left"
