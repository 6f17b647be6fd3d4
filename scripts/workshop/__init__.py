"""The machinery behind `make`: each make target is a nox session (noxfile.py) that calls one
function here. The modules, from the bottom up:

- shell: running commands, `Refused` (one sentence, no traceback), the environment's switches;
- venvs: every venv, made by uv from hashed pins, made again only when they change;
- rust: the toolchain per architecture, the one release build, qemu-user, the debug binary;
- localstack: LocalStack's lifecycle (plain, or CloudFormation with the plugins) and the check
  that no function process outlives it; watch: the function under `cargo lambda watch`;
- the targets: checks (lint, templates, docs), testing (test, test-arm64, fuzz), release
  (build, cdk-lib, dist, verify-release, sam-build), cdk (cdk-test), deploy (setup, demo,
  demo-events, cfn-test, fleet), bench.

The rule: a target checks its inputs before anything slow starts, and a check that passes
must have been able to fail (shell.fails).
"""

import os
import sys

from workshop.shell import PYTHONPATH

# What this process and any Python it starts import by package name (rig, checks, fleet, ...).
os.environ["PYTHONPATH"] = PYTHONPATH
sys.path[:0] = [p for p in PYTHONPATH.split(os.pathsep) if p not in sys.path]
