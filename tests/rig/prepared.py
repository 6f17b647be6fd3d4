"""What the deployment tests need, made when a suite runs on its own (`pytest tests/cloudformation
-k hook` after `make setup`): LocalStack with the project's plugins, the function's binary, the
release template and zip, cdklocal. `make cfn-test` prepares them once itself and names them in
the environment (LOCALSTACK_CFN_ENDPOINT, UPSERT_SLR_BOOTSTRAP, UPSERT_SLR_RELEASE_DIR,
CDKLOCAL); a value given there is used as it is.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from rig.localstack_cfn import ROOT

ARCH = {"x86_64": "x86_64", "aarch64": "arm64"}[os.uname().machine]
# LocalStack's Step Functions, which the CDK Provider's waiter needs, runs on Python 3.13.
CFN_LOCALSTACK = {"LOCALSTACK_PYTHON": "3.13"}
# The PATH the session started with: what is built here is built with it, whatever a test
# takes off PATH meanwhile.
BUILD_PATH = os.environ.get("PATH", "")


def without_rust(path: str) -> str:
    """`path` without cargo's and rustup's directories: what a user without Rust has."""
    return os.pathsep.join(p for p in path.split(os.pathsep) if "/.cargo" not in p and "/.rustup" not in p)


def run(args: list[str], env: dict | None = None, **kwargs) -> str:
    env = {**(env if env is not None else os.environ), "PATH": BUILD_PATH}
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, env=env, **kwargs)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    return done.stdout


def npm_ci(directory: Path) -> None:
    if not (directory / "node_modules/.package-lock.json").is_file():
        run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=directory)


class LocalStackCfn:
    """LocalStack's CloudFormation with the plugins, started here unless one is named."""

    def __init__(self) -> None:
        self.started = False
        self.endpoint = os.environ.get("LOCALSTACK_CFN_ENDPOINT", "")
        if not self.endpoint:
            # The CDK Provider framework's Node functions import the AWS SDK, which Lambda's
            # Node.js runtime provides; here the example app's copy does.
            npm_ci(ROOT / "examples/cdk")
            env = {
                **os.environ,
                **CFN_LOCALSTACK,
                "LOCAL_PROCESS_EXECUTOR_NODE_PATH": str(ROOT / "examples/cdk/node_modules"),
            }
            self.endpoint = run(["scripts/localstack.sh", "start", "cfn"], env=env).strip().splitlines()[-1]
            self.started = True

    def stop(self) -> None:
        if self.started:
            run(["scripts/localstack.sh", "stop", "cfn"], env={**os.environ, **CFN_LOCALSTACK})


def function_binary(directory: Path) -> Path:
    """The function's binary, as CloudFormation's executor runs it: built (debug) and stripped."""
    named = os.environ.get("UPSERT_SLR_BOOTSTRAP")
    if named:
        return Path(named)
    run(["cargo", "build", "--quiet", "--bin", "upsert-slr"], timeout=1800)
    binary = directory / "bootstrap"
    run(["strip", "-o", str(binary), "target/debug/upsert-slr"])
    return binary


def cdk_library() -> None:
    """The construct library with its bundled release functions (make cdk-lib), once."""
    if not (ROOT / "cdk/lambda/manifest.json").is_file():
        run(["scripts/cdk-lib.sh"], timeout=3600)


def release_dir(directory: Path) -> Path:
    """The release as `make dist` writes it, for a user without Rust: the template and this
    host's zip."""
    named = os.environ.get("UPSERT_SLR_RELEASE_DIR")
    if named:
        return Path(named)
    cdk_library()
    version = run(["node", "-p", 'require("./cdk/package.json").version']).strip()
    template = directory / f"upsert-slr-{version}.template.yaml"
    # With the SAM translator the release pins (make setup's tools venv), as make dist makes it.
    tools = ROOT / ".venv-tools/bin/python"
    python = str(tools) if tools.is_file() else sys.executable
    run([python, "scripts/release_template.py", "template.yaml", version, str(template)])
    shutil.copy(ROOT / f"cdk/lambda/{ARCH}/bootstrap.zip", directory / f"upsert-slr-{version}-{ARCH}.zip")
    return directory


def cdklocal() -> Path:
    """cdklocal (tests/cloudformation/cdk), and the example app it deploys, installed."""
    named = os.environ.get("CDKLOCAL")
    if named:
        return Path(named)
    cdk_library()
    npm_ci(ROOT / "examples/cdk")
    npm_ci(ROOT / "tests/cloudformation/cdk")
    return ROOT / "tests/cloudformation/cdk/node_modules/.bin/cdklocal"
