#!/usr/bin/env bash
# What a user of upsert-slr-cdk has: the packed artifacts, Node.js and Python, and no Rust
# toolchain. Run by scripts/cdk-test.sh in a directory outside the checkout that holds the
# artifacts, the synth checks, ts/ (a TypeScript app) and py/ (a Python app), with VERSION and
# ARCH set and PYTHONPATH naming the documentation checker. Installs the package in each app,
# runs the library's own synth tests inside the installed package, synthesizes every mode, and
# synthesizes the documentation's snippets against it.
set -euo pipefail
! command -v cargo >/dev/null || { echo "cargo is still on PATH: $(command -v cargo)" >&2; exit 1; }
zip="../upsert-slr-$VERSION-$ARCH.zip"

cd ts
npm ci --no-audit --no-fund --loglevel=error
npm install --no-audit --no-fund --loglevel=error "../upsert-slr-cdk-$VERSION.tgz"
echo "synth tests against aws-cdk-lib $(node -p 'require("aws-cdk-lib/package.json").version'), in the installed package" >&2
mkdir node_modules/upsert-slr-cdk/test
# nag.test.js runs cdk-nag 3 and the last cdk-nag 2 here (the consumer app has both).
cp ../synth.test.js ../aspect.test.js ../nag.test.js node_modules/upsert-slr-cdk/test/
node --test node_modules/upsert-slr-cdk/test/
test -s node_modules/upsert-slr-cdk/API.md || { echo "the package has no API.md" >&2; exit 1; }
npx tsc
CDK_OUTDIR=cdk.out node app.js
roles='[
    {"AWSServiceName": "ecs.amazonaws.com", "Description": "Role for ECS, managed by upsert-slr", "RemovalPolicy": "Retain"},
    {"AWSServiceName": "autoscaling.amazonaws.com", "CustomSuffix": "example", "PropagationWaitSeconds": 30, "RemovalPolicy": "Delete"}]'
python3 ../check_synth.py cdk.out UpsertSlrExample direct "$zip" "$roles"
python3 ../check_synth.py cdk.out UpsertSlrExampleProvider provider "$zip" "$roles"
python3 ../check_synth.py cdk.out UpsertSlrExampleFunction function "$zip" "[]"
python3 ../check_synth.py cdk.out UpsertSlrExampleShared shared - \
    '[{"AWSServiceName": "elasticloadbalancing.amazonaws.com", "RemovalPolicy": "Delete"}]'
start=$SECONDS
python3 -m checks.doc_snippets ts doc-snippets
npx tsc -p doc-snippets
node doc-snippets/run.js
python3 -m checks.doc_snippets ts-selftest
echo "the documentation's TypeScript snippets took $((SECONDS - start)) s" >&2

cd ../py
python3.11 -m venv venv
venv/bin/pip install --quiet --disable-pip-version-check -r requirements.txt "../upsert_slr_cdk-$VERSION-py3-none-any.whl"
CDK_OUTDIR=cdk.out venv/bin/python app.py
ecs='{"AWSServiceName": "ecs.amazonaws.com", "Description": "Service-linked role for Amazon ECS"}'
python3 ../check_synth.py cdk.out UpsertSlrPython direct "$zip" "[$ecs]"
python3 ../check_synth.py cdk.out UpsertSlrPythonProvider provider "$zip" "[$ecs]"
python3 ../check_synth.py cdk.out UpsertSlrPythonFunction function "../upsert-slr-$VERSION-x86_64.zip" "[]"
python3 ../check_synth.py cdk.out UpsertSlrPythonShared shared - \
    '[{"AWSServiceName": "ecs.amazonaws.com"}, {"AWSServiceName": "opensearchservice.amazonaws.com"}]'
# cdk-nag's four packs on every mode, through the Python binding: 3.x, then the last 2.x.
venv/bin/pip install --quiet --disable-pip-version-check -r requirements-nag.txt
CDK_OUTDIR=nag.out venv/bin/python nag_app.py
venv/bin/pip install --quiet --disable-pip-version-check cdk-nag==2.38.2
CDK_OUTDIR=nag2.out venv/bin/python nag_app.py
start=$SECONDS
venv/bin/python -m checks.doc_snippets python
venv/bin/python -m checks.doc_snippets python-selftest
echo "the documentation's Python snippets took $((SECONDS - start)) s" >&2
