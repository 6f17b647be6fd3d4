"""The release as a user without Rust deploys it: the release template (plain CloudFormation,
no transform) and the release zip in a bucket of the region, then a stack that takes the
function through `!ImportValue upsert-slr-ServiceToken` and creates a role with it; with a
permissions boundary its SCPs require, and with a role of the platform team's instead of its own.

The release_dir fixture holds the release files (the template and the zip for this host's
architecture, as `make dist` writes them); `make cfn-test` runs these tests without cargo on
PATH."""

import base64
import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest
import yaml

from rig import prepared
from rig.localstack_cfn import EXPORT, Deployment, fallbacks, template

ARCH = {"x86_64": "x86_64", "aarch64": "arm64"}[os.uname().machine]


@pytest.fixture(scope="module")
def release(release_dir) -> tuple[str, Path]:
    """The release template's text and the zip of this host's architecture."""
    directory = release_dir
    templates = sorted(directory.glob("upsert-slr-*.template.yaml")) if directory.is_dir() else []
    if len(templates) != 1:
        pytest.fail(f"{directory} holds no release template")
    version = templates[0].name.removeprefix("upsert-slr-").removesuffix(".template.yaml")
    return templates[0].read_text(), directory / f"upsert-slr-{version}-{ARCH}.zip"


def deploy_the_ecs_role(cloud) -> None:
    """A stack of the example template, using the function through its export: the ECS role
    created, its outputs IAM's."""
    deployment = cloud.deploy(
        "ecs-role",
        template("service-linked-role.yaml"),
        {"AWSServiceName": "ecs.amazonaws.com", "PropagationWaitSeconds": 1},
    )
    assert deployment.status == "CREATE_COMPLETE", deployment
    assert not fallbacks(deployment.events)
    role = cloud.role("AWSServiceRoleForECS")
    assert role, "the stack reported a role IAM does not have"
    assert deployment.outputs == {"RoleName": "AWSServiceRoleForECS", "RoleArn": role["Arn"], "Created": "true"}


def upload(cloud, zip_path: Path, key: str) -> str:
    bucket = f"upsert-slr-releases-{cloud.account}"
    cloud.s3.create_bucket(Bucket=bucket)
    cloud.s3.put_object(Bucket=bucket, Key=key, Body=zip_path.read_bytes())
    return bucket


def local_parameters(cloud, zip_path: Path, **parameters) -> dict:
    """The function stack's parameters for this LocalStack: the zip under its release name at
    the bucket's top (CodeS3Key may then be left empty), the local ResponseURL prefix, and
    `parameters`."""
    return {
        "CodeS3Bucket": upload(cloud, zip_path, zip_path.name),
        "Architecture": ARCH,
        "ExtraResponseUrlPrefixes": f"{cloud.endpoint}/",
        **parameters,
    }


def deploy_function(cloud, text: str, parameters: dict) -> Deployment:
    """The release template as the stack `upsert-slr`: created, nothing in it a fallback."""
    function = cloud.deploy("upsert-slr", text, parameters)
    assert function.status == "CREATE_COMPLETE", function
    assert not fallbacks(function.events)
    return function


def workloads_boundary(cloud) -> str:
    """The permissions boundary an SCP requires on every role a stack creates: its ARN."""
    document = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["iam:*", "logs:*"], "Resource": "*"}],
    }
    policy = cloud.iam.create_policy(PolicyName="workloads", Path="/boundaries/", PolicyDocument=json.dumps(document))
    return policy["Policy"]["Arn"]


def platform_role(cloud) -> dict:
    """The platform team's role `platform/upsert-slr`, for Lambda, allowed what the function does."""
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    allowed = ["iam:CreateServiceLinkedRole", "iam:GetRole", "iam:TagRole", "iam:ListRoles"]
    allowed += ["logs:CreateLogStream", "logs:PutLogEvents"]
    role = cloud.iam.create_role(RoleName="upsert-slr", Path="/platform/", AssumeRolePolicyDocument=json.dumps(trust))
    cloud.iam.put_role_policy(
        RoleName="upsert-slr",
        PolicyName="service-linked-roles",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": allowed, "Resource": "*"}]}
        ),
    )
    return role["Role"]


@pytest.fixture(scope="module", autouse=True)
def no_rust(release):
    """What this module deploys was built before it: from here on, no Rust on PATH, as a user
    of the release has none (make cfn-test takes it off before pytest starts)."""
    with pytest.MonkeyPatch.context() as patched:
        patched.setenv("PATH", prepared.without_rust(os.environ.get("PATH", "")))
        yield


def test_nothing_here_needs_rust():
    assert shutil.which("cargo") is None, f"cargo is on PATH: {shutil.which('cargo')}"


def test_the_release_template_has_no_transform(release):
    text, _ = release
    assert "Transform" not in yaml.safe_load(text)


def test_release_zip_and_template_deploy_the_function(new_cloud, release):
    text, zip_path = release
    cloud = new_cloud()
    function = deploy_function(cloud, text, local_parameters(cloud, zip_path))
    token = function.outputs["ServiceToken"]
    exports = {e["Name"]: e["Value"] for e in cloud.cfn.list_exports()["Exports"]}
    assert exports[EXPORT] == token
    config = cloud.lambda_.get_function_configuration(FunctionName=token)
    assert config["Runtime"] == "provided.al2023" and config["Architectures"] == [ARCH]
    # The function runs the very zip that was uploaded.
    assert config["CodeSha256"] == base64.b64encode(hashlib.sha256(zip_path.read_bytes()).digest()).decode()

    deploy_the_ecs_role(cloud)


def test_a_key_of_ones_own_and_no_local_parameters(new_cloud, release):
    text, zip_path = release
    cloud = new_cloud()
    bucket = upload(cloud, zip_path, "artifacts/upsert-slr/function.zip")
    parameters = {"CodeS3Bucket": bucket, "CodeS3Key": "artifacts/upsert-slr/function.zip", "Architecture": ARCH}
    function = cloud.deploy("upsert-slr", text, parameters)
    assert function.status == "CREATE_COMPLETE", function
    config = cloud.lambda_.get_function_configuration(FunctionName=function.outputs["ServiceToken"])
    # Without the local-runs parameter the variable is not set at all.
    assert "UPSERT_SLR_EXTRA_RESPONSE_URL_PREFIXES" not in config["Environment"].get("Variables", {})


def stack_resources(cloud, stack: str) -> dict[str, dict]:
    """The stack's resources by logical id, as CloudFormation reports them."""
    summaries = cloud.cfn.list_stack_resources(StackName=stack)["StackResourceSummaries"]
    return {s["LogicalResourceId"]: s for s in summaries}


def test_a_permissions_boundary_reaches_the_function_role(new_cloud, release):
    """An SCP requiring a boundary on every role a stack creates: the role carries it."""
    text, zip_path = release
    cloud = new_cloud()
    boundary = workloads_boundary(cloud)
    parameters = local_parameters(cloud, zip_path, PermissionsBoundary=boundary)
    deploy_function(cloud, text, parameters)
    role_name = stack_resources(cloud, "upsert-slr")["FunctionRole"]["PhysicalResourceId"]
    role = cloud.iam.get_role(RoleName=role_name)["Role"]
    assert role.get("PermissionsBoundary", {}).get("PermissionsBoundaryArn") == boundary, role

    # The same policy by name, as a StackSet gives it to every account.
    named = cloud.deploy(
        "upsert-slr-named",
        text,
        {
            **parameters,
            "PermissionsBoundary": "boundaries/workloads",
            "ServiceTokenExportName": "upsert-slr-named",
            "MacroName": "",
        },
    )
    assert named.status == "CREATE_COMPLETE", named
    role_name = stack_resources(cloud, "upsert-slr-named")["FunctionRole"]["PhysicalResourceId"]
    assert cloud.iam.get_role(RoleName=role_name)["Role"]["PermissionsBoundary"]["PermissionsBoundaryArn"] == boundary


def test_a_role_of_ones_own_creates_no_role_and_still_creates_a_service_linked_role(new_cloud, release):
    """Roles only from a platform team: the stack takes one by name, creates none, and works."""
    text, zip_path = release
    cloud = new_cloud()
    platform = platform_role(cloud)
    roles_before = {r["RoleName"] for r in cloud.iam.list_roles()["Roles"]}
    function = deploy_function(cloud, text, local_parameters(cloud, zip_path, RoleArn="platform/upsert-slr"))
    kinds = {r["ResourceType"] for r in stack_resources(cloud, "upsert-slr").values()}
    assert "AWS::IAM::Role" not in kinds, kinds
    assert {r["RoleName"] for r in cloud.iam.list_roles()["Roles"]} == roles_before
    config = cloud.lambda_.get_function_configuration(FunctionName=function.outputs["ServiceToken"])
    assert config["Role"] == platform["Arn"]

    deploy_the_ecs_role(cloud)
