"""The CDK example app (examples/cdk) deployed with cdklocal: upsert-slr-cdk as the app installs
it, with the release function bundled in the package. The functions run under the local-process
executor; LocalStack's Step Functions runs the Provider's waiter state machine. Needs LocalStack
on Python 3.13 and `make cdk-lib`.

The app is deployed through cdk/local-app.js: the example's stacks with the package's defaults,
as a user deploys them (an arm64 function, which the rig runs under qemu-user on an x86_64
host, answering CloudFormation itself at LocalStack's ResponseURL, which the rig's executor
lets it PUT to), plus outputs naming the roles the aspect adds. The shared-function stack's
synthesized template is deployed with plain CreateStack: in the account of the
ServiceLinkedRoleFunction cdklocal deployed, and in an account never bootstrapped that has the
SAM app."""

import json
import os
import subprocess
import time

import pytest

from rig.localstack_cfn import ROOT

APP = ROOT / "examples/cdk"
LOCAL_APP = ROOT / "tests/cloudformation/cdk/local-app.js"
STACK = "UpsertSlrExample"
PROVIDER_STACK = "UpsertSlrExampleProvider"
FUNCTION_STACK = "UpsertSlrExampleFunction"
SHARED_STACK = "UpsertSlrExampleShared"
EXPORT = "upsert-slr-ServiceToken"
ELB = "AWSServiceRoleForElasticLoadBalancing"
AUTOSCALING = "AWSServiceRoleForAutoScaling_example"
ECS = "AWSServiceRoleForECS"
WAREHOUSES = ["UpsertSlrExampleWarehouse", "UpsertSlrExampleWarehouse2"]
REDSHIFT = "AWSServiceRoleForRedshift"


@pytest.fixture(scope="module")
def assembly(tmp_path_factory, cdklocal_cli):
    """The example app compiled and synthesized (as local-app.js builds it); its cloud assembly."""
    done = subprocess.run(["npm", "run", "--silent", "build"], cwd=APP, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"the example app does not compile:\n{done.stdout}\n{done.stderr}"
    out = tmp_path_factory.mktemp("cdk") / "cdk.out"
    env = {
        **os.environ,
        "CDK_OUTDIR": str(out),
        "NODE_PATH": str(APP / "node_modules"),
        "UPSERT_SLR_EXAMPLE_APP": str(APP / "dist/bin/app.js"),
    }
    done = subprocess.run(["node", str(LOCAL_APP)], cwd=APP, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"the example app does not synthesize:\n{done.stdout}\n{done.stderr}"
    return out


@pytest.fixture(scope="module")
def cdklocal(new_cloud, assembly, cdklocal_cli):
    """Runs cdklocal on the example app against a fresh, bootstrapped account; returns (cloud, run)."""
    cli = str(cdklocal_cli)
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
        # For local-app.js, which is outside the example app.
        "NODE_PATH": str(APP / "node_modules"),
        "UPSERT_SLR_EXAMPLE_APP": str(APP / "dist/bin/app.js"),
    }

    def run(*args):
        # The assembly synthesized once: every deploy and destroy reads it rather than running
        # the app again (the stacks name no account or region, so one synth serves them all).
        command = [cli, *args, "--app", str(assembly), "--no-notices"]
        done = subprocess.run(command, cwd=APP, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"{' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        return done

    run("bootstrap", f"aws://{cloud.account}/us-east-1")
    return cloud, run


def outputs_of(cloud, stack_name):
    stack = cloud.cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack
    return {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}


def resource_events(cloud, logical_prefix, stack_name):
    events = cloud.cfn.describe_stack_events(StackName=stack_name)["StackEvents"]
    return {e["ResourceStatus"]: e["Timestamp"] for e in events if e["LogicalResourceId"].startswith(logical_prefix)}


# The CDK CLI adds it to every stack it synthesizes (version reporting); not the library's.
METADATA = "AWS::CDK::Metadata"


def resource_types(cloud, stack_name):
    resources = cloud.cfn.describe_stack_resources(StackName=stack_name)["StackResources"]
    return sorted(r["ResourceType"] for r in resources if r["ResourceType"] != METADATA)


def deploy_and_destroy_the_app_roles(cloud, run, stack_name, deployed):
    """Deploys a stack with the example's two roles: the ECS one adopted, the AutoScaling one
    created and complete only after its 30 s propagation wait; calls deployed(resource types);
    destroys it."""
    # The ECS role exists already (a console click, another stack): the app adopts it.
    ecs = cloud.role(ECS) or cloud.iam.create_service_linked_role(AWSServiceName="ecs.amazonaws.com")["Role"]

    started = time.monotonic()
    run("deploy", "--require-approval", "never", stack_name)
    outputs = outputs_of(cloud, stack_name)
    assert outputs["EcsRoleArn"] == ecs["Arn"]
    assert outputs["EcsRoleCreated"] == "false", "adopted, not created"
    role = cloud.role(AUTOSCALING)
    assert role and role["Path"] == "/aws-service-role/autoscaling.amazonaws.com/"
    autoscaling = resource_events(cloud, "AutoScalingRole", stack_name)
    waited = (autoscaling["CREATE_COMPLETE"] - autoscaling["CREATE_IN_PROGRESS"]).total_seconds()
    assert 30 <= waited < 120, waited
    print(
        f"cdklocal deploy of {stack_name} took {time.monotonic() - started:.0f} s; the AutoScaling role waited {waited:.0f} s"
    )
    deployed(resource_types(cloud, stack_name))

    run("destroy", "--force", stack_name)
    assert cloud.role(AUTOSCALING) is None, "DESTROY did not remove the role the stack created"
    assert cloud.role(ECS), "the adopted, retained ECS role was removed"


def test_default_deploy_and_destroy(cdklocal):
    """The default backing: the stack's one function answered CloudFormation itself, and spent
    the propagation wait inside its invocation."""
    cloud, run = cdklocal

    def deployed(types):
        assert types == [
            "AWS::IAM::Policy",
            "AWS::IAM::Role",
            "AWS::Lambda::Function",
            "Custom::ServiceLinkedRole",
            "Custom::ServiceLinkedRole",
        ], types

    deploy_and_destroy_the_app_roles(cloud, run, STACK, deployed)


def test_provider_deploy_and_destroy(cdklocal):
    """Behind the Provider: the wait was spent by the waiter state machine asking the function
    through isComplete."""
    cloud, run = cdklocal

    def deployed(types):
        assert types.count("AWS::Lambda::Function") == 4 and types.count("AWS::StepFunctions::StateMachine") == 1, types
        machines = cloud.sfn.list_state_machines()["stateMachines"]
        assert len(machines) == 1 and "waiter" in machines[0]["name"], machines
        executions = cloud.sfn.list_executions(stateMachineArn=machines[0]["stateMachineArn"])["executions"]
        assert executions and all(e["status"] == "SUCCEEDED" for e in executions), executions

    deploy_and_destroy_the_app_roles(cloud, run, PROVIDER_STACK, deployed)


def shared_template(assembly) -> str:
    """The shared-function stack's template as cdk synthesized it: only its role."""
    text = (assembly / f"{SHARED_STACK}.template.json").read_text()
    template = json.loads(text)
    types = [r["Type"] for r in template["Resources"].values() if r["Type"] != METADATA]
    assert types == ["Custom::ServiceLinkedRole"], template
    assert "Parameters" not in template and "Rules" not in template, "it needs nothing of cdk bootstrap"
    assets = json.loads((assembly / f"{SHARED_STACK}.assets.json").read_text())["files"]
    assert [a["source"]["path"] for a in assets.values()] == [f"{SHARED_STACK}.template.json"], assets
    return text


def create_and_delete_shared_stack(cloud, template, function_arn):
    """CreateStack of the shared stack's template: the role created through the exported
    function, the outputs right; DeleteStack: the role removed (DESTROY)."""
    assert cloud.role(ELB) is None
    deployment = cloud.deploy(SHARED_STACK, template)
    assert deployment.status == "CREATE_COMPLETE", deployment
    role = cloud.role(ELB)
    assert role, "no role was created"
    assert outputs_of(cloud, SHARED_STACK) == {"ElbRoleArn": role["Arn"], "ElbRoleName": ELB, "ElbRoleCreated": "true"}
    assert resource_types(cloud, SHARED_STACK) == ["Custom::ServiceLinkedRole"]
    resources = cloud.cfn.describe_stack_resources(StackName=SHARED_STACK)["StackResources"]
    [slr] = [r for r in resources if r["ResourceType"] == "Custom::ServiceLinkedRole"]
    assert slr["PhysicalResourceId"] == ELB, slr
    token = json.loads(template)["Resources"][slr["LogicalResourceId"]]["Properties"]["ServiceToken"]
    assert token == {"Fn::ImportValue": EXPORT}, token
    assert function_arn.startswith(f"arn:aws:lambda:us-east-1:{cloud.account}:function:"), function_arn
    deleted = cloud.delete(SHARED_STACK)
    assert deleted.status == "DELETE_COMPLETE", deleted
    assert cloud.role(ELB) is None, "DESTROY did not remove the role the stack created"


def test_function_construct_then_a_shared_stack_with_plain_cloudformation(cdklocal, assembly):
    """ServiceLinkedRoleFunction deployed with cdklocal, as the SAM app deploys the function; then
    a stack that holds only its role, created with CreateStack from its synthesized template."""
    cloud, run = cdklocal
    run("deploy", "--require-approval", "never", FUNCTION_STACK)
    assert resource_types(cloud, FUNCTION_STACK) == ["AWS::IAM::Role", "AWS::Lambda::Function", "AWS::Logs::LogGroup"]
    exports = {e["Name"]: e["Value"] for e in cloud.cfn.list_exports()["Exports"]}
    arn = exports[EXPORT]
    config = cloud.lambda_.get_function_configuration(FunctionName=arn)
    assert (config["Runtime"], config["Handler"], config["MemorySize"], config["Timeout"]) == (
        "provided.al2023",
        "bootstrap",
        128,
        300,
    )
    # The package's default architecture, and no ResponseURL prefix of the stack's own: the rig
    # runs it under qemu-user and lets it answer LocalStack's ResponseURLs.
    assert config["Architectures"] == ["arm64"], config["Architectures"]
    assert config["Environment"]["Variables"]["UPSERT_SLR_ALLOWED_SERVICES"] == "elasticloadbalancing.amazonaws.com"
    assert "UPSERT_SLR_EXTRA_RESPONSE_URL_PREFIXES" not in config["Environment"]["Variables"], config
    assert config["LoggingConfig"]["LogFormat"] == "JSON", config["LoggingConfig"]
    role = config["Role"].split("/")[-1]
    assert sorted(cloud.iam.list_role_policies(RoleName=role)["PolicyNames"]) == ["logs", "service-linked-roles"]
    assert cloud.iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"] == []

    create_and_delete_shared_stack(cloud, shared_template(assembly), arn)


def test_shared_stack_in_an_account_never_bootstrapped(app, assembly):
    """The same template, with plain CreateStack, in an account that has the SAM app and no
    trace of cdk bootstrap."""
    cloud, _deployment = app
    names = [s["StackName"] for s in cloud.cfn.describe_stacks()["Stacks"]]
    assert "CDKToolkit" not in names, names
    assert not any(b["Name"].startswith("cdk-") for b in cloud.s3.list_buckets()["Buckets"])
    exports = {e["Name"]: e["Value"] for e in cloud.cfn.list_exports()["Exports"]}
    create_and_delete_shared_stack(cloud, shared_template(assembly), exports[EXPORT])


def test_aspect_adds_the_role_to_two_stacks_one_creating_it_the_other_adopting_it(cdklocal):
    """The example's two stacks with a Redshift cluster and no role named: the ServiceLinkedRoles
    aspect declared Redshift's role in each. The first deploy created it, the second adopted it,
    and each cluster's creation began only once its stack's role was complete."""
    cloud, run = cdklocal
    assert cloud.role(REDSHIFT) is None
    started = time.monotonic()
    for name in WAREHOUSES:
        run(
            "deploy", "--require-approval", "never", "--parameters", f"{name}:MasterUserPassword=Example-Passw0rd", name
        )
    print(f"cdklocal deploy of {', '.join(WAREHOUSES)} took {time.monotonic() - started:.0f} s")
    outputs = [outputs_of(cloud, name) for name in WAREHOUSES]
    assert [o["RoleCreated"] for o in outputs] == ["true", "false"], outputs
    assert {o["RoleName"] for o in outputs} == {REDSHIFT}, outputs
    role = cloud.role(REDSHIFT)
    assert role and role["Path"] == "/aws-service-role/redshift.amazonaws.com/", role
    for name in WAREHOUSES:
        types = resource_types(cloud, name)
        assert types.count("Custom::ServiceLinkedRole") == 1 and "AWS::Redshift::Cluster" in types, types
        # Oldest first.
        events = cloud.cfn.describe_stack_events(StackName=name)["StackEvents"][::-1]
        order = [(e["LogicalResourceId"], e["ResourceStatus"]) for e in events]
        role_done = order.index(
            next(e for e in order if e[0].startswith("UpsertSlrRedshift") and e[1] == "CREATE_COMPLETE")
        )
        cluster_started = order.index(("Warehouse", "CREATE_IN_PROGRESS"))
        assert role_done < cluster_started, order

    run("destroy", "--force", WAREHOUSES[1])
    assert cloud.role(REDSHIFT), "the stack that adopted the role removed it"
    run("destroy", "--force", WAREHOUSES[0])
    assert cloud.role(REDSHIFT) is None, "DESTROY did not remove the role the stack created"
