#!/usr/bin/env bash
# Checks every template: the SAM app (template.yaml), the release template made from it (plain
# CloudFormation: scripts/release_template.py), and examples/cloudformation/. `sam validate --lint` and cfn-lint must pass, must
# fail on a broken copy (so a pass means something), and tests/checks/templates.py checks what
# linters cannot: the role grants exactly the IAM and CloudFormation calls the handler makes,
# reads any service-linked role and creates or changes only the allowed services' (read for
# concrete roles and stacks, and failing on a copy whose reads are narrowed), the examples use
# property names the handler reads and the SAM app's export name, and the policy fixture of the
# Rust suites' IAM gate is current. Checkov, the scanner a platform team's pipeline runs,
# must find nothing on any of them beyond the suppressions in the resources' Metadata
# (docs/configuration.md#compliance), and must fail without one.
# Offline, no AWS account.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$ROOT"
use_tools
use_checkov
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

say "the policy check catches a release template whose role reads reach only the allowed services' roles"
python - "$work/release-template.yaml" "$work/release-narrow.yaml" <<'PY'
import sys, yaml
template = yaml.safe_load(open(sys.argv[1]))
[policy] = [p for p in template["Resources"]["FunctionRole"]["Properties"]["Policies"]
            if isinstance(p, dict) and p.get("PolicyName") == "service-linked-roles"]
statements = {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}
# The form the reads had before the hook and OpenSearch's adoption needed any service's role.
statements["ReadServiceLinkedRoles"]["Resource"] = statements["CreateAllowedServiceLinkedRoles"]["Resource"]
yaml.safe_dump(template, open(sys.argv[2], "w"), sort_keys=False, width=100)
PY
if python -m checks.templates "$work/release-narrow.yaml" >"$work/narrow.out" 2>&1; then
    die "checks.templates passed a release template whose iam:GetRole reaches only the allowed services' roles"
fi
grep -q "the release template with {'AllowedServices': 'ecs.amazonaws.com'}: iam:GetRole is not granted on arn:aws:iam::123456789012:role/aws-service-role/es.amazonaws.com/" "$work/narrow.out" ||
    die "checks.templates failed for another reason: $(cat "$work/narrow.out")"

# --skip-download: no guideline download, which would need the network; the checks are in the
# package.
checkov() { "$CHECKOV" --framework cloudformation --compact --quiet --skip-download "$@"; }
say "checkov $("$CHECKOV" --version) on template.yaml, the release template and the examples"
checkov -f template.yaml "$work/release-template.yaml" examples/cloudformation/*.yaml >"$work/checkov.out" 2>&1 ||
    die "checkov found failed checks: $(cat "$work/checkov.out")"
# Four skips in each of template.yaml and the release template, none in the examples.
grep -q "Failed checks: 0, Skipped checks: 8" "$work/checkov.out" || die "checkov did not skip the reviewed checks: $(cat "$work/checkov.out")"
grep "Passed checks" "$work/checkov.out" >&2

say "checkov fails once a suppression is removed (here the VPC one, CKV_AWS_117)"
python3 - template.yaml "$work/unsuppressed.yaml" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
# The skip entry: its id line and the folded comment under it.
out = re.sub(r"\n +- id: CKV_AWS_117\n +comment: >-\n(?: {14,}.*\n)+", "\n", text, count=1)
assert out != text, "could not remove the CKV_AWS_117 skip"
open(sys.argv[2], "w").write(out)
PY
if checkov -f "$work/unsuppressed.yaml" >"$work/checkov-broken.out" 2>&1; then
    die "checkov passed template.yaml without its CKV_AWS_117 skip"
fi
grep -q "CKV_AWS_117" "$work/checkov-broken.out" || die "checkov failed for another reason: $(cat "$work/checkov-broken.out")"
