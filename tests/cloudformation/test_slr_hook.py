"""The SAM application registered as a CloudFormation Lambda Hook (RegisterHook=true), on the
rig's emulation of hooks (localstack-plugins: hooks.py): a plain template that names neither
a role nor a transform deploys in an account without the role, and the role exists, old enough,
before its resource is created; check mode reports the missing role, blocking with FAIL and not
with WARN; a stack that declares the role as well (a Custom::ServiceLinkedRole, or through
the macro) ends with exactly one.

A hook applies to every stack of its account and region, so each case has an account of its own."""

import json
import time

import pytest

from rig import templates
from rig.localstack_cfn import fallbacks

REDSHIFT = "AWSServiceRoleForRedshift"
REDSHIFT_PATH = "/aws-service-role/redshift.amazonaws.com/"
ALIAS = "UpsertSlr::IAM::ServiceLinkedRoles"
WAIT = 4


def warehouse(**resources) -> str:
    """A plain template with one Redshift cluster: no role, no transform."""
    return templates.warehouse(resources)


def with_hook(new_cloud, bootstrap, **parameters):
    """A fresh account with the SAM app deployed as a hook; returns (cloud, deployment)."""
    cloud = new_cloud()
    params = cloud.sam_parameters(RegisterHook="true", HookWaitSeconds=str(WAIT), **parameters)
    deployment = cloud.deploy("upsert-slr", cloud.sam_template(cloud.upload_function(bootstrap)), params)
    assert deployment.status == "CREATE_COMPLETE", deployment
    assert deployment.outputs["HookArn"].endswith(":type/hook/UpsertSlr-IAM-ServiceLinkedRoles"), deployment.outputs
    assert cloud.role(REDSHIFT) is None, "the account must start without the role"
    return cloud, deployment


def hook_events(cloud, stack):
    stack_id = cloud.cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackId"]
    events = cloud.cfn.describe_stack_events(StackName=stack_id)["StackEvents"][::-1]
    return [e for e in events if e.get("HookType")]


def hook_log_lines(cloud, function, count, timeout=30):
    """The function's `hook answered` lines (their JSON fields), once there are `count`: its
    log reaches CloudWatch Logs a little after it answers."""
    deadline = time.monotonic() + timeout
    while True:
        found = []
        for page in cloud.logs.get_paginator("filter_log_events").paginate(logGroupName=f"/aws/lambda/{function}"):
            for event in page["events"]:
                for line in event["message"].splitlines():
                    try:
                        fields = json.loads(line).get("fields", {})
                    except (ValueError, AttributeError):
                        continue
                    if fields.get("message") == "hook answered":
                        found.append(fields)
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.5)


def redshift_roles(cloud):
    return [r["RoleName"] for r in cloud.iam.list_roles(PathPrefix=REDSHIFT_PATH)["Roles"]]


def test_a_plain_template_deploys_with_its_role_made_and_propagated_first(new_cloud, bootstrap):
    cloud, app = with_hook(new_cloud, bootstrap)
    started = time.time()
    stack = cloud.deploy("warehouse", warehouse())
    assert stack.status == "CREATE_COMPLETE", stack
    assert not fallbacks(stack.events), stack.events
    assert stack.resource("Warehouse").status == "CREATE_COMPLETE"

    role = cloud.role(REDSHIFT)
    assert role and role["Path"] == REDSHIFT_PATH, role
    assert redshift_roles(cloud) == [REDSHIFT]
    # The hook created the role, asked to be called back after the wait, then let it proceed.
    events = hook_events(cloud, "warehouse")
    statuses = [(e["LogicalResourceId"], e["HookType"], e["HookStatus"]) for e in events]
    assert statuses == [
        ("Warehouse", ALIAS, "HOOK_IN_PROGRESS"),
        ("Warehouse", ALIAS, "HOOK_COMPLETE_SUCCEEDED"),
    ], events
    assert "created AWSServiceRoleForRedshift" in events[0]["HookStatusReason"], events[0]
    assert "may proceed" in events[1]["HookStatusReason"], events[1]
    # The cluster's creation starts after SUCCESS, at least the wait after the role's creation.
    cluster = cloud.redshift.describe_clusters()["Clusters"]
    [created] = [c["ClusterCreateTime"] for c in cluster]
    succeeded = events[1]["Timestamp"]
    assert succeeded <= created, (succeeded, created)
    assert succeeded.timestamp() - role["CreateDate"].timestamp() >= WAIT - 1, (role["CreateDate"], succeeded)
    assert role["CreateDate"].timestamp() >= started - 1

    # One log line per invocation names the target, the role and the outcome.
    lines = hook_log_lines(cloud, app.outputs["FunctionName"], 2)
    assert [(f["target"], f["role_name"], f["outcome"]) for f in lines] == [
        ("AWS::Redshift::Cluster Warehouse", REDSHIFT, "IN_PROGRESS"),
        ("AWS::Redshift::Cluster Warehouse", REDSHIFT, "SUCCESS"),
    ], lines

    # A second cluster finds the role old enough at once.
    again = cloud.deploy("warehouse-2", warehouse())
    assert again.status == "CREATE_COMPLETE", again
    [event] = hook_events(cloud, "warehouse-2")
    assert event["HookStatus"] == "HOOK_COMPLETE_SUCCEEDED", event
    assert "AWSServiceRoleForRedshift exists" in event["HookStatusReason"], event
    assert redshift_roles(cloud) == [REDSHIFT]


@pytest.mark.parametrize("mode", ["FAIL", "WARN"])
def test_check_mode_reports_the_missing_role(new_cloud, bootstrap, mode):
    cloud, _ = with_hook(new_cloud, bootstrap, HookMode="check", HookFailureMode=mode)
    stack = cloud.deploy("warehouse", warehouse())
    [event] = hook_events(cloud, "warehouse")
    message = event["HookStatusReason"]
    assert (event["HookStatus"], event["HookFailureMode"]) == ("HOOK_COMPLETE_FAILED", mode), event
    assert "AWSServiceRoleForRedshift (redshift.amazonaws.com)" in message, message
    assert "aws iam create-service-linked-role --aws-service-name redshift.amazonaws.com" in message, message
    if mode == "FAIL":
        assert stack.status == "CREATE_FAILED", stack
        reason = stack.resource("Warehouse").reason
        assert reason.startswith(f"The following hook(s) failed: [{ALIAS}]. {ALIAS}: "), reason
        assert "AWSServiceRoleForRedshift" in reason, reason
    else:
        assert stack.status == "CREATE_COMPLETE", stack
    assert cloud.role(REDSHIFT) is None, "check mode created the role"


@pytest.mark.parametrize("declared_by", ["Custom::ServiceLinkedRole", "Transform: UpsertSlr"])
def test_a_stack_that_declares_the_role_too_gets_exactly_one(new_cloud, bootstrap, declared_by):
    cloud, deployment = with_hook(new_cloud, bootstrap)
    if declared_by == "Custom::ServiceLinkedRole":
        role = {
            "Type": "Custom::ServiceLinkedRole",
            "Properties": {
                "ServiceToken": deployment.outputs["ServiceToken"],
                "AWSServiceName": "redshift.amazonaws.com",
                "PropagationWaitSeconds": 1,
            },
        }
        body = json.loads(warehouse(Role=role))
        body["Resources"]["Warehouse"]["DependsOn"] = "Role"
        role_id = "Role"
    else:
        # The app's macro adds the role (UpsertSlrRedshift) and the cluster's DependsOn.
        body = json.loads(warehouse())
        body["Transform"] = "UpsertSlr"
        body["Metadata"] = {"UpsertSlr": {"PropagationWaitSeconds": 1}}
        role_id = "UpsertSlrRedshift"
    stack = cloud.deploy("warehouse", json.dumps(body))
    assert stack.status == "CREATE_COMPLETE", stack
    assert stack.resource(role_id).status == "CREATE_COMPLETE"
    assert redshift_roles(cloud) == [REDSHIFT]
    # The custom resource is no hook target; the cluster's hook found the role it made.
    events = hook_events(cloud, "warehouse")
    assert {e["LogicalResourceId"] for e in events} == {"Warehouse"}, events
    assert events[-1]["HookStatus"] == "HOOK_COMPLETE_SUCCEEDED", events
    assert not any("created" in e["HookStatusReason"] for e in events), events
