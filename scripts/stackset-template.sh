#!/usr/bin/env bash
# Prints the SAM app as plain CloudFormation (JSON), for service-managed StackSets, which refuse
# templates with a transform. Offline: the SAM transform runs locally.
#   scripts/stackset-template.sh packaged.yaml             # CodeUri already in S3 (sam package)
#   scripts/stackset-template.sh template.yaml s3://bucket/key.zip
# Lambda reads code only from a bucket in its own region: make one template per region.
set -euo pipefail
source "$(dirname "$0")/common.sh"
[ $# -ge 1 ] && [ $# -le 2 ] || die "usage: $0 TEMPLATE [s3://bucket/key]"
use_tools
AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-us-east-1} "$TOOLS_VENV/bin/python" - "$@" <<'PY'
import json, sys
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

template = yaml_parse(open(sys.argv[1]).read())
function = template["Resources"]["Function"]["Properties"]
if len(sys.argv) > 2:
    function["CodeUri"] = sys.argv[2]
code = function.get("CodeUri")
if not (isinstance(code, str) and code.startswith("s3://")) and not isinstance(code, dict):
    sys.exit(f"error: CodeUri is {code!r}: run `sam package` first, or give the s3:// URI of the zip")


class NoManagedPolicies:
    """The template names no managed policy, so the transform needs no IAM lookup."""

    def load(self):
        raise RuntimeError("the template refers to a managed policy: not supported offline")


json.dump(transform(template, {}, NoManagedPolicies()), sys.stdout, indent=2)
print()
PY
