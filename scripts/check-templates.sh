#!/usr/bin/env bash
# Checks every template: the SAM app (template.yaml), the release template made from it (plain
# CloudFormation: scripts/release_template.py), and examples/cloudformation/. `sam validate --lint` and cfn-lint must pass, must
# fail on a broken copy (so a pass means something), and tests/checks/templates.py checks what
# linters cannot: the role grants exactly the IAM calls the handler makes, the examples use
# property names the handler reads and the SAM app's export name. Offline, no AWS account.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$ROOT"
use_tools
export SAM_CLI_TELEMETRY=0
export AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-us-east-1}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

templates=(template.yaml examples/cloudformation/*.yaml)
for template in "${templates[@]}"; do
    say "sam validate --lint $template"
    sam validate --lint --template "$template"
done
say "cfn-lint ${templates[*]}"
cfn-lint "${templates[@]}"

say "the release template (the SAM app as plain CloudFormation)"
version=$(python3 -c 'import tomllib; print(tomllib.load(open("Cargo.toml", "rb"))["package"]["version"])')
python scripts/release_template.py template.yaml "$version" "$work/release-template.yaml"
cfn-lint "$work/release-template.yaml"

say "the linters catch a broken template"
sed 's/MemorySize: 128/MemorySize: 64/' template.yaml >"$work/broken.yaml"
cmp -s template.yaml "$work/broken.yaml" && die "could not break a copy of template.yaml"
if cfn-lint "$work/broken.yaml" >"$work/lint.out" 2>&1; then
    die "cfn-lint passed a function with 64 MB"
fi
if sam validate --lint --template "$work/broken.yaml" >"$work/validate.out" 2>&1; then
    die "sam validate --lint passed a function with 64 MB"
fi
for out in lint validate; do
    grep -q "64 is less than the minimum of 128" "$work/$out.out" || die "$out failed for another reason: $(cat "$work/$out.out")"
done

say "templates agree with the handler and with each other"
python -m checks.templates "$work/release-template.yaml"

say "the agreement check catches a release template whose policy differs from the SAM app's"
sed 's/^\( *\)- iam:GetRole$/&\n\1- iam:PassRole/' "$work/release-template.yaml" >"$work/release-broken.yaml"
cmp -s "$work/release-template.yaml" "$work/release-broken.yaml" && die "could not break a copy of the release template"
if python -m checks.templates "$work/release-broken.yaml" >"$work/agree.out" 2>&1; then
    die "checks.templates passed a release template that grants iam:PassRole"
fi
grep -q "role policy differs" "$work/agree.out" || die "checks.templates failed for another reason: $(cat "$work/agree.out")"
