"""The fixtures of the deployment tests, a pytest plugin (conftest.py at the root loads it) for
every suite that deploys to LocalStack's CloudFormation with the project's plugins: the
product's (tests/cloudformation) and the plugins' own (localstack-plugins/tests). Run alone
(`pytest tests/cloudformation -k hook`, after `make setup`) they start that LocalStack and
build what the tests deploy (rig/prepared.py), as `make cfn-test` does. When the session's
LocalStack stops, no function process it started may outlive it.

Each module works in accounts of its own. Before LocalStack stops, every stack of every account
the tests used is searched for resources LocalStack "deployed as a fallback" without deploying
them: one fails the run, whatever the tests asserted.
"""

from pathlib import Path

import pytest

from rig import prepared
from rig.localstack_cfn import FALLBACK, LocalCloud

ACCOUNTS: list[LocalCloud] = []
# The one stack made to show that the canary sees a fallback.
EXPECTED_FALLBACK_STACK = "canary-fallback"


@pytest.fixture(scope="session")
def localstack_cfn(request):
    """The LocalStack the tests deploy to: the one named, or one started for the session. Before
    it stops, the canary searches every account the tests used."""
    localstack = prepared.LocalStackCfn()
    yield localstack.endpoint
    found = fallbacks_reported()
    # Only the whole suite is sure to leave function processes running for the stop to end.
    option = request.config.option
    whole = not option.keyword and not option.markexpr and "tests/cloudformation" in request.config.args
    try:
        localstack.stop(some_ran=whole)
    except SystemExit as refused:
        pytest.fail(str(refused.code))
    if found:
        pytest.fail("canary: NOT DEPLOYED, reported as deployed:\n  " + "\n  ".join(found))


@pytest.fixture(scope="module")
def new_cloud(localstack_cfn):
    """A fresh LocalStack account per call."""

    def make() -> LocalCloud:
        cloud = LocalCloud(localstack_cfn)
        ACCOUNTS.append(cloud)
        return cloud

    return make


@pytest.fixture(scope="module")
def cloud(new_cloud) -> LocalCloud:
    """A fresh account for the module."""
    return new_cloud()


@pytest.fixture(scope="session")
def bootstrap(tmp_path_factory) -> Path:
    """The function's binary."""
    path = prepared.function_binary(tmp_path_factory.mktemp("function"))
    if not path.is_file():
        pytest.fail(f"{path} is not the function's binary")
    return path


@pytest.fixture(scope="session")
def release_dir(tmp_path_factory) -> Path:
    """The release template and this host's zip, as make dist writes them."""
    return prepared.release_dir(tmp_path_factory.mktemp("release"))


@pytest.fixture(scope="session")
def cdk_library() -> Path:
    """The construct library with its bundled release functions (make cdk-lib); its lambda/."""
    prepared.cdk_library()
    return prepared.ROOT / "cdk/lambda"


@pytest.fixture(scope="session")
def cdklocal_cli() -> Path:
    """cdklocal, with the example app it deploys installed."""
    return prepared.cdklocal()


@pytest.fixture(scope="module")
def app(new_cloud, bootstrap):
    """A fresh account with the SAM application deployed; returns (cloud, deployment)."""
    cloud = new_cloud()
    deployment = cloud.deploy(
        "upsert-slr", cloud.sam_template(cloud.upload_function(bootstrap)), cloud.sam_parameters()
    )
    assert deployment.status == "CREATE_COMPLETE", deployment
    return cloud, deployment


def fallbacks_reported() -> list[str]:
    """Every resource of the tests' stacks that LocalStack reported "deployed as a fallback"."""
    found = []
    for cloud in ACCOUNTS:
        for summary in cloud.cfn.list_stacks()["StackSummaries"]:
            if summary["StackName"] == EXPECTED_FALLBACK_STACK:
                continue
            events = cloud.cfn.describe_stack_events(StackName=summary["StackId"])["StackEvents"]
            found += [
                f"{summary['StackName']}/{e['LogicalResourceId']}: {e['ResourceStatusReason']}"
                for e in events
                if FALLBACK in e.get("ResourceStatusReason", "")
            ]
    print(f"\ncanary: searched the stacks of {len(ACCOUNTS)} accounts for resources {FALLBACK!r}")
    return found
