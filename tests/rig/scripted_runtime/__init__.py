"""A Lambda function whose every move its event scripts (bootstrap, beside this file), for
testing LocalStack's executor and custom-resource bridge without the function under test."""

import io
import os
import zipfile
from pathlib import Path

from rig.localstack_cfn import LocalCloud

BOOTSTRAP = Path(__file__).with_name("bootstrap")


def scripted_zip() -> bytes:
    """The scripted runtime as a function's zip."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        info = zipfile.ZipInfo("bootstrap")
        info.external_attr = 0o755 << 16
        zf.writestr(info, BOOTSTRAP.read_bytes())
    return buffer.getvalue()


def create_scripted_function(cloud: LocalCloud, name: str, timeout: int = 3, env: dict | None = None) -> str:
    return create_zip_function(cloud, name, scripted_zip(), timeout=timeout, env=env)


def create_zip_function(
    cloud: LocalCloud,
    name: str,
    code: bytes,
    architecture: str | None = None,
    timeout: int = 3,
    env: dict | None = None,
) -> str:
    """A provided.al2023 function of the zip `code`, for this host's architecture unless told;
    returns its ARN once it is active."""
    role = cloud.iam.create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    arn = cloud.lambda_.create_function(
        FunctionName=name,
        Runtime="provided.al2023",
        Role=role,
        Handler="bootstrap",
        Code={"ZipFile": code},
        Timeout=timeout,
        Architectures=[architecture or {"x86_64": "x86_64", "aarch64": "arm64"}[os.uname().machine]],
        Environment={"Variables": env or {}},
    )["FunctionArn"]
    cloud.lambda_.get_waiter("function_active_v2").wait(FunctionName=name)
    return arn
