#!/usr/bin/env bash
# Every example in README.md, CONTRIBUTING.md and docs/*.md (tests/checks/doc_snippets.py):
# YAML and JSON templates through cfn-lint and the ServiceTimeout and property checks, commands
# whose tools, files, make targets and test names exist, repository paths and links that
# resolve. First the checker's self-test: each check fails on a bad example. The TypeScript and
# Python snippets are synthesized against the packed library by make cdk-test; the Mermaid
# diagrams are parsed by the mermaid library (Node.js, tests/checks/mermaid). Offline once npm
# has the packages.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$ROOT"
use_tools
python -m checks.doc_snippets selftest
python -m checks.doc_snippets check

say "the Mermaid diagrams, parsed by the mermaid library (tests/checks/mermaid, pinned)"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# npm writes node_modules/.package-lock.json after an install: newer than the lock, it is current.
[ tests/checks/mermaid/node_modules/.package-lock.json -nt tests/checks/mermaid/package-lock.json ] ||
    (cd tests/checks/mermaid && npm ci --no-audit --no-fund --loglevel=error)
python -m checks.doc_snippets mermaid "$work/diagrams"
# The parse means something only if it can fail: the first diagram with its first `end` gone.
first=$(find "$work/diagrams" -mindepth 1 -maxdepth 1 -printf '%f\n' | sort | head -1)
sed '0,/^ *end$/{/^ *end$/d}' "$work/diagrams/$first" >"$work/broken.mmd"
cmp -s "$work/diagrams/$first" "$work/broken.mmd" && die "could not break a copy of $first"
if node tests/checks/mermaid/check.mjs "$work/broken.mmd" >/dev/null 2>&1; then
    die "tests/checks/mermaid/check.mjs parsed a diagram with an unclosed block"
fi
node tests/checks/mermaid/check.mjs "$work"/diagrams/*.mmd
