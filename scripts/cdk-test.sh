#!/usr/bin/env bash
# The CDK construct library upsert-slr-cdk (cdk/) and the example app (examples/cdk):
#  1. make dist: the library with the release function inside, packed (scripts/cdk-dist.sh);
#  2. its synth tests against the lowest aws-cdk-lib it supports (cdk/package.json), cdk-nag 2's
#     four packs among them (test/nag.test.ts), and API.md against what jsii-docgen makes of the
#     source;
#  3. from the packed artifacts, outside the checkout, with no cargo on PATH: a TypeScript app
#     (the example app's source) installs the tarball and runs the synth tests against the
#     newest aws-cdk-lib (with cdk-nag 3 and the last cdk-nag 2), a Python venv installs the wheel; both synthesize a stack of each mode
#     (direct, Provider, shared function, the function itself), and the templates are checked;
#     the Python app's ServiceLinkedRoleFunction against template.yaml through the SAM transform;
#     every TypeScript and Python snippet of the documentation synthesizes in these apps
#     (tests/checks/doc_snippets.py), and the bad ones of tests/docs-fixtures/ fail;
#  4. the example app through the CDK CLI, then an end-to-end test in which the CDK Provider
#     framework's own runtime drives the function (under `cargo lambda watch`, with the
#     environment the library synthesized) against LocalStack's IAM and S3.
# Installs the pinned npm and PyPI packages, cargo-lambda and LocalStack on first use; starts
# LocalStack unless LOCALSTACK_ENDPOINT points at one already running.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$ROOT"
# The CDK CLI would otherwise fetch notices and send telemetry.
export CDK_DISABLE_CLI_TELEMETRY=true

work=$(mktemp -d)
trap 'stop_watch_and_localstack; rm -rf "$work"' EXIT
# Runs "$2"... and says how long it took, naming it "$1".
timed() {
    local start=$SECONDS name=$1
    shift
    "$@"
    say "$name took $((SECONDS - start)) s"
}

commit=$(clean_commit)
if [ -n "$commit" ] && [ "$(cat dist/.commit 2>/dev/null)" = "$commit" ] && [ -f cdk/lambda/manifest.json ]; then
    say "dist/ is this commit's, built from a clean tree: reused"
else
    timed "make dist" scripts/cdk-dist.sh
fi
use_tools  # cargo lambda watch, for the end-to-end test
version=$(node -p 'require("./cdk/package.json").version')
arch=$(python3 -c 'import json; a=[f["architecture"] for f in json.load(open("cdk/lambda/manifest.json"))["functions"]]; print("arm64" if "arm64" in a else "x86_64")')

say "synth tests against aws-cdk-lib $(node -p 'require("./cdk/node_modules/aws-cdk-lib/package.json").version') (the lowest supported)"
(cd cdk && npm test)
say "API.md against jsii-docgen's output for this source"
(cd cdk && npm run --silent check:api)

# What a user has: the packed artifacts, Node.js and Python, and no Rust toolchain.
say "the packed artifacts in a TypeScript app and a Python venv, outside the checkout, without cargo"
cp dist/upsert-slr-cdk-"$version".tgz dist/upsert_slr_cdk-"$version"-py3-none-any.whl dist/upsert-slr-"$version"-*.zip \
    cdk/test/check_synth.py cdk/test/synth.test.js cdk/test/aspect.test.js cdk/test/nag.test.js "$work/"
mkdir "$work/ts" "$work/py"
cp cdk/test/consumer-ts/{package.json,package-lock.json,.npmrc,tsconfig.json} "$work/ts/"
cp examples/cdk/bin/app.ts "$work/ts/app.ts"
cp cdk/test/consumer-python/{app.py,nag_app.py,requirements.txt,requirements-nag.txt} "$work/py/"
# The documentation's TypeScript and Python snippets, with the checker (its repository root is
# docs-src, whose tests/ is the PYTHONPATH below) and its fixtures: each snippet is synthesized
# against the packed library.
mkdir -p "$work/docs-src/tests"
cp -r tests/checks tests/docs-fixtures "$work/docs-src/tests/"
cp README.md "$work/docs-src/"
[ ! -f CONTRIBUTING.md ] || cp CONTRIBUTING.md "$work/docs-src/"
[ ! -d docs ] || cp -r docs "$work/docs-src/"
no_cargo_path=$(tr : '\n' <<<"$PATH" | grep -v -e '\.cargo' -e "$TOOLS_VENV" | paste -sd:)
timed "the packed artifacts" env -C "$work" PATH="$no_cargo_path" PYTHONPATH="$work/docs-src/tests" \
    VERSION="$version" ARCH="$arch" bash "$ROOT/scripts/cdk-consumer.sh"
say "ServiceLinkedRoleFunction (from the Python app) against template.yaml through the SAM transform"
AWS_DEFAULT_REGION=us-east-1 "$TOOLS_VENV/bin/python" -m checks.cdk_function "$work/py/cdk.out" UpsertSlrPythonFunction template.yaml \
    '{"AllowedServices": "ecs.amazonaws.com,opensearchservice.amazonaws.com", "Architecture": "x86_64"}'

say "every IAM policy the synthesized stacks grant, linted by parliament"
for template in "$work"/ts/cdk.out/*.template.json "$work"/py/cdk.out/*.template.json; do
    "$TOOLS_VENV/bin/python" -m checks.policies "$template"
done

cd examples/cdk
say "npm ci (examples/cdk, with upsert-slr-cdk from cdk/)"
npm ci --no-audit --no-fund --loglevel=error
say "cdk synth of the example app"
npx cdk synth --quiet --no-notices -o "$work/example.out"
for stack in UpsertSlrExample UpsertSlrExampleProvider UpsertSlrExampleShared; do
    grep -q '"Type": "Custom::ServiceLinkedRole"' "$work/example.out/$stack.template.json" ||
        die "the example app's $stack has no Custom::ServiceLinkedRole"
done
say "the end-to-end test's stack"
CDK_OUTDIR="$work/e2e.out" node dist/test/e2e-stack.js
template="$work/e2e.out/UpsertSlrE2e.template.json"
mapfile -t environment < <(python3 - "$template" <<'PY'
import json, sys
resources = json.load(open(sys.argv[1]))["Resources"]
[function] = [r for r in resources.values() if r["Type"] == "AWS::Lambda::Function" and r["Properties"]["Handler"] == "bootstrap"]
for name, value in function["Properties"]["Environment"]["Variables"].items():
    assert isinstance(value, str), f"{name} is not a plain string: {value}"
    print(f"{name}={value}")
PY
)
cd "$ROOT"

prepare_watch
say "building the function (debug, as make test does)"
cargo build --quiet --bin upsert-slr
say "starting it under cargo lambda watch (account $ACCOUNT) with the synthesized environment: ${environment[*]}"
# It may PUT to LocalStack, so that the test would see it if it answered CloudFormation
# itself behind the Provider.
# CloudFormation is the test's stand-in (LocalStack cannot hold a stack in the phase that
# deletes), which the function asks before a RemovalPolicy Delete removes anything.
CFN_PORT=$(free_port)
start_watch "$work/watch.log" "${environment[@]}" AWS_ENDPOINT_URL_CLOUDFORMATION="http://127.0.0.1:$CFN_PORT"

say "end-to-end: the Provider framework runtime in front of the function"
cd examples/cdk
if ! UPSERT_SLR_FUNCTION_ENDPOINT="http://127.0.0.1:$WATCH_PORT" UPSERT_SLR_ACCOUNT=$ACCOUNT \
    UPSERT_SLR_CLOUDFORMATION_PORT=$CFN_PORT UPSERT_SLR_TEMPLATE="$template" npm run --silent test:e2e; then
    echo "--- function log (cargo lambda watch) ---" >&2
    tail -n 60 "$work/watch.log" >&2
    exit 1
fi
