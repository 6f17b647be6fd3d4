#!/usr/bin/env bash
# The one command before a suite runs on its own (CONTRIBUTING.md): the pinned tools, and
# LocalStack with the project's plugins on Python 3.11 and 3.13 (the deployment tests' one,
# whose pytest runs a suite). What a suite deploys, it builds when it first needs it.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$ROOT"
require_cargo
use_tools
install_localstack_plugins "$LOCALSTACK_VENV" "$(python311)"
install_localstack_plugins "$ROOT/.venv-localstack-py313" "$(python313)"
say "ready: one suite runs with, for example, source .venv-localstack-py313/bin/activate; pytest tests/cloudformation -k hook"
