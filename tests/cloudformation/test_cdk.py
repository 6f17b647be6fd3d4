"""The CDK example app (examples/cdk) deployed with cdklocal: upsert-slr-cdk as the app installs
it, with the release function bundled in the package. The Provider framework functions (Node.js)
and the function run under the local-process executor, and LocalStack's Step Functions runs the
Provider's waiter state machine, which asks the function through isComplete whether the
propagation wait is over. Needs LocalStack on Python 3.13 and `make cdk-lib`.

The direct backing is deployed from cdk/direct-app.js, a stack like the example app's direct
one that also lets the function answer LocalStack's ResponseURL (it accepts only AWS's S3
endpoints otherwise): one function, no framework, the wait spent inside the invocation."""

import os
import subprocess
import time

import pytest
from localstack_cfn import ROOT

APP = ROOT / "examples/cdk"
DIRECT_APP = ROOT / "tests/cloudformation/cdk/direct-app.js"
STACK = "UpsertSlrExample"
DIRECT_STACK = "UpsertSlrDirect"
ELB = "AWSServiceRoleForElasticLoadBalancing"
AUTOSCALING = "AWSServiceRoleForAutoScaling_example"
ECS = "AWSServiceRoleForECS"


@pytest.fixture(scope="module")
def cdklocal(new_cloud):
    """Runs cdklocal in examples/cdk against a fresh account; returns (cloud, run)."""
    cli = os.environ.get("CDKLOCAL")
    if not cli:
        pytest.fail("CDKLOCAL does not name the cdklocal binary: run scripts/cfn-test.sh")
    cloud = new_cloud()
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": cloud.endpoint,
        "AWS_ENDPOINT_URL_S3": cloud.endpoint,
        "AWS_S3_FORCE_PATH_STYLE": "1",
        "AWS_ACCESS_KEY_ID": cloud.account,
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        # cdklocal drops every other AWS_* variable, credentials included, unless listed.
        "AWS_ENVAR_ALLOWLIST": "AWS_ACCESS_KEY_ID,AWS_SECRET_ACCESS_KEY,AWS_REGION,AWS_DEFAULT_REGION",
        "CDK_DISABLE_CLI_TELEMETRY": "true",
        # For direct-app.js, which is outside the example app.
        "NODE_PATH": str(APP / "node_modules"),
        "LOCALSTACK_RESPONSE_URL_PREFIX": f"{cloud.endpoint}/",
    }

    def run(*args):
        command = [cli, *args, "--no-notices"]
        done = subprocess.run(command, cwd=APP, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"{' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        return done

    run("bootstrap", f"aws://{cloud.account}/us-east-1")
    return cloud, run


def outputs_of(cloud, stack_name):
    stack = cloud.cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack
    return {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}


def resource_events(cloud, logical_prefix, stack_name=STACK):
    events = cloud.cfn.describe_stack_events(StackName=stack_name)["StackEvents"]
    return {e["ResourceStatus"]: e["Timestamp"] for e in events if e["LogicalResourceId"].startswith(logical_prefix)}


def test_deploy_and_destroy(cdklocal):
    cloud, run = cdklocal
    # The ECS role exists already (a console click, another stack): the app adopts it.
    ecs = cloud.iam.create_service_linked_role(AWSServiceName="ecs.amazonaws.com")["Role"]

    started = time.monotonic()
    run("deploy", "--require-approval", "never", STACK)
    outputs = outputs_of(cloud, STACK)
    assert outputs["EcsRoleArn"] == ecs["Arn"]
    assert outputs["EcsRoleCreated"] == "false", "adopted, not created"

    # The app's AutoScaling role: created, then complete only after its 30 s propagation wait,
    # which the waiter state machine spent asking the function through isComplete.
    role = cloud.role(AUTOSCALING)
    assert role and role["Path"] == "/aws-service-role/autoscaling.amazonaws.com/"
    autoscaling = resource_events(cloud, "AutoScalingRole")
    waited = (autoscaling["CREATE_COMPLETE"] - autoscaling["CREATE_IN_PROGRESS"]).total_seconds()
    assert 30 <= waited < 120, waited
    machines = cloud.sfn.list_state_machines()["stateMachines"]
    assert len(machines) == 1 and "waiter" in machines[0]["name"], machines
    executions = cloud.sfn.list_executions(stateMachineArn=machines[0]["stateMachineArn"])["executions"]
    assert executions and all(e["status"] == "SUCCEEDED" for e in executions), executions
    print(f"cdklocal deploy took {time.monotonic() - started:.0f} s; the AutoScaling role waited {waited:.0f} s")

    run("destroy", "--force", STACK)
    assert cloud.role(AUTOSCALING) is None, "DESTROY did not remove the role the stack created"
    assert cloud.role(ECS), "the adopted, retained ECS role was removed"


def test_direct_backing_deploy_and_destroy(cdklocal, tmp_path):
    cloud, run = cdklocal
    app = ("--app", f"node {DIRECT_APP}", "--output", str(tmp_path / "cdk.out"))

    run("deploy", *app, "--require-approval", "never", DIRECT_STACK)
    outputs = outputs_of(cloud, DIRECT_STACK)
    role = cloud.role(ELB)
    assert role and outputs["ElbRoleArn"] == role["Arn"], (outputs, role)
    assert outputs["ElbRoleName"] == ELB
    assert outputs["ElbRoleCreated"] == "true"

    # The function answered CloudFormation itself: the stack has it and no framework function.
    resources = cloud.cfn.describe_stack_resources(StackName=DIRECT_STACK)["StackResources"]
    types = [r["ResourceType"] for r in resources]
    assert types.count("AWS::Lambda::Function") == 1, types
    assert "AWS::StepFunctions::StateMachine" not in types, types
    slr = next(r for r in resources if r["LogicalResourceId"].startswith("ElbRole"))
    assert slr["PhysicalResourceId"] == ELB, slr
    # The role's 5 s propagation wait was spent inside the invocation.
    events = resource_events(cloud, "ElbRole", DIRECT_STACK)
    waited = (events["CREATE_COMPLETE"] - events["CREATE_IN_PROGRESS"]).total_seconds()
    assert 5 <= waited < 120, waited

    run("destroy", *app, "--force", DIRECT_STACK)
    assert cloud.role(ELB) is None, "DESTROY did not remove the role the stack created"
