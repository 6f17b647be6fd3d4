#!/usr/bin/env bash
# Every example in README.md, CONTRIBUTING.md and docs/*.md (scripts/doc_snippets.py): YAML and
# JSON templates through cfn-lint and the ServiceTimeout and property checks, commands whose
# tools, files, make targets and test names exist, repository paths and links that resolve.
# First the checker's self-test: each check fails on a bad example. The TypeScript and Python
# snippets are synthesized against the packed library by make cdk-test. Offline.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$ROOT"
use_tools
python scripts/doc_snippets.py selftest
python scripts/doc_snippets.py check
