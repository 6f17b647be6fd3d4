"""Deployments to LocalStack's CloudFormation engine, with the project's plugins: run by
scripts/cfn-test.sh (`make cfn-test`), which starts that LocalStack and builds the function.

  LOCALSTACK_CFN_ENDPOINT   the LocalStack (scripts/localstack.sh start cfn)
  UPSERT_SLR_BOOTSTRAP      the function's binary

Each module works in accounts of its own. After the session every stack of every account the
tests used is searched for resources LocalStack "deployed as a fallback" without deploying
them: one fails the run, whatever the tests asserted.
"""

import os
from pathlib import Path

import pytest

from rig.localstack_cfn import FALLBACK, LocalCloud

ACCOUNTS: list[LocalCloud] = []
# The one stack made to show that the canary sees a fallback.
EXPECTED_FALLBACK_STACK = "canary-fallback"


def _endpoint() -> str:
    endpoint = os.environ.get("LOCALSTACK_CFN_ENDPOINT")
    if not endpoint:
        pytest.fail("LOCALSTACK_CFN_ENDPOINT is not set: run scripts/cfn-test.sh")
    return endpoint


@pytest.fixture(scope="module")
def new_cloud():
    """A fresh LocalStack account per call."""

    def make() -> LocalCloud:
        cloud = LocalCloud(_endpoint())
        ACCOUNTS.append(cloud)
        return cloud

    return make


@pytest.fixture(scope="module")
def cloud(new_cloud) -> LocalCloud:
    """A fresh account for the module."""
    return new_cloud()


@pytest.fixture(scope="module")
def bootstrap() -> Path:
    path = Path(os.environ.get("UPSERT_SLR_BOOTSTRAP", ""))
    if not path.is_file():
        pytest.fail("UPSERT_SLR_BOOTSTRAP does not name the function's binary: run scripts/cfn-test.sh")
    return path


@pytest.fixture(scope="module")
def app(new_cloud, bootstrap):
    """A fresh account with the SAM application deployed; returns (cloud, deployment)."""
    cloud = new_cloud()
    deployment = cloud.deploy(
        "upsert-slr", cloud.sam_template(cloud.upload_function(bootstrap)), cloud.sam_parameters()
    )
    assert deployment.status == "CREATE_COMPLETE", deployment
    return cloud, deployment


def pytest_sessionfinish(session, exitstatus):
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
    if found:
        print("canary: NOT DEPLOYED, reported as deployed:\n  " + "\n  ".join(found))
        session.exitstatus = 1
