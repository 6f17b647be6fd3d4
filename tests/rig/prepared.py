"""What the deployment tests need, made when a suite first needs it, through the same machinery
as `make` (scripts/workshop): LocalStack with the project's plugins, the function's binary, the
release template and zip, cdklocal. `make cfn-test` builds them first, with Rust on PATH, and
runs the tests with none: then what is built is what is deployed, as a user without Rust has it.
LOCALSTACK_CFN_ENDPOINT names a LocalStack already running, to deploy to that one instead.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from rig.localstack_cfn import ROOT
from workshop import localstack, release, rust
from workshop.shell import crate_version, npm_ci, run, without_rust

__all__ = ["ROOT", "without_rust"]

ARCH = {"x86_64": "x86_64", "aarch64": "arm64"}[os.uname().machine]
# LocalStack's Step Functions, which the CDK Provider's waiter needs, runs on Python 3.13.
KIND = localstack.Kind(cfn=True, python="3.13")


def install(app: Path) -> None:
    """The npm packages of `app`, unless installed (make cfn-test installs them first)."""
    if not (app / "node_modules/.package-lock.json").is_file():
        npm_ci(app)


def rust_on_path() -> bool:
    return shutil.which("cargo") is not None


class LocalStackCfn:
    """LocalStack's CloudFormation with the plugins, started here unless one is named."""

    def __init__(self) -> None:
        self.started = False
        self.endpoint = os.environ.get("LOCALSTACK_CFN_ENDPOINT", "")
        if not self.endpoint:
            # The CDK Provider framework's Node functions import the AWS SDK, which Lambda's
            # Node.js runtime provides; here the example app's copy does.
            install(ROOT / "examples/cdk")
            node_path = {"LOCAL_PROCESS_EXECUTOR_NODE_PATH": str(ROOT / "examples/cdk/node_modules")}
            self.endpoint = localstack.start(KIND, node_path)
            self.started = True

    def stop(self, *, some_ran: bool) -> None:
        """Stops what was started here; no function process may outlive it."""
        if self.started:
            localstack.stop_outliving_nothing(KIND, some_ran=some_ran)


def function_binary(directory: Path) -> Path:
    """The function's binary, as CloudFormation's executor runs it: built (debug) and stripped;
    with no Rust on PATH, the one built before."""
    built = ROOT / "target/debug/upsert-slr"
    if rust_on_path():
        built = rust.debug_binary()
    elif not built.is_file():
        raise RuntimeError(f"no cargo on PATH and no {built}: build it first (make cfn-test does)")
    binary = directory / "bootstrap"
    run(["strip", "-o", binary, built])
    return binary


def cdk_library() -> None:
    """The construct library with its bundled release functions (make cdk-lib), once."""
    if not (ROOT / "cdk/lambda/manifest.json").is_file():
        release.cdk_lib()


def release_dir(directory: Path) -> Path:
    """The release as `make dist` writes it, for a user without Rust: the template and this
    host's zip."""
    cdk_library()
    version = crate_version()
    template = directory / f"upsert-slr-{version}.template.yaml"
    # With the SAM translator the release pins (the tools venv), as make dist makes it.
    tools = ROOT / ".venv-tools/bin/python"
    run([tools if tools.is_file() else "python3", "scripts/release_template.py", "template.yaml", version, template])
    shutil.copy(ROOT / f"cdk/lambda/{ARCH}/bootstrap.zip", directory / f"upsert-slr-{version}-{ARCH}.zip")
    return directory


def cdklocal() -> Path:
    """cdklocal (tests/cloudformation/cdk), and the example app it deploys, installed."""
    cdk_library()
    for app in ("examples/cdk", "tests/cloudformation/cdk"):
        install(ROOT / app)
    return ROOT / "tests/cloudformation/cdk/node_modules/.bin/cdklocal"
