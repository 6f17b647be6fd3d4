"""CloudFormation Lambda Hooks as the rig emulates them (localstack-plugins: lambda_hook.py,
hooks.py, hook_point.py), with the scripted runtime as the hook's function: it answers what
the targeted SSM parameter's Description scripts, and logs what it received and when it
answered (`hook-record` lines), so the tests see both sides.

Every hook here targets only its own stacks (StackFilters), as the hooks of an account and
region apply to all of its stacks: a hook leaking into another test's stack would fail it."""

import json
import time

import pytest

from rig.scripted_runtime import create_scripted_function

PARAMETER = "AWS::SSM::Parameter"
RECORD = "hook-record "


@pytest.fixture(scope="module")
def function(cloud):
    return create_scripted_function(cloud, "hook", timeout=10)


def activate(cloud, function, name, stacks, mode="FAIL", status="ENABLED", filters=None):
    """Deploys stack hook-<name> with a LambdaHook targeting SSM parameters in `stacks` (names or
    patterns); returns the hook's alias."""
    alias = f"Test::Hooks::{name}"
    deployment = cloud.deploy(f"hook-{name}", hook_template(cloud, function, alias, stacks, mode, status, filters))
    assert deployment.status in ("CREATE_COMPLETE", "UPDATE_COMPLETE"), deployment
    assert (
        deployment.outputs["Ref"]
        == deployment.outputs["Arn"]
        == (f"arn:aws:cloudformation:us-east-1:{cloud.account}:type/hook/Test-Hooks-{name}")
    ), deployment.outputs
    return alias


def hook_template(cloud, function, alias, stacks, mode="FAIL", status="ENABLED", filters=None):
    hook = {
        "Type": "AWS::CloudFormation::LambdaHook",
        "Properties": {
            "Alias": alias,
            "LambdaFunction": function,
            "ExecutionRole": f"arn:aws:iam::{cloud.account}:role/hook-invoker",
            "FailureMode": mode,
            "HookStatus": status,
            "TargetOperations": ["RESOURCE"],
            "TargetFilters": filters or {"TargetNames": [PARAMETER], "Actions": ["CREATE", "UPDATE", "DELETE"]},
            "StackFilters": {"FilteringCriteria": "ALL", "StackNames": {"Include": stacks}},
        },
    }
    template = {
        "Resources": {"Hook": hook},
        "Outputs": {"Ref": {"Value": {"Ref": "Hook"}}, "Arn": {"Value": {"Fn::GetAtt": ["Hook", "HookArn"]}}},
    }
    return json.dumps(template)


def target(stack, answers, value="v1", **extra_resources):
    """A stack with one SSM parameter whose hook answers `answers`, one per invocation."""
    parameter = {
        "Type": PARAMETER,
        "Properties": {
            "Name": f"/hooks/{stack}",
            "Type": "String",
            "Value": {"Fn::Sub": f"${{AWS::StackName}}-{value}"},
            "Description": json.dumps({"answers": answers}),
        },
    }
    return json.dumps({"Resources": {"Param": parameter, **extra_resources}})


def stack_id(cloud, stack):
    return cloud.cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackId"]


def events(cloud, stack):
    """The stack's events, oldest first, hook events among them."""
    return cloud.cfn.describe_stack_events(StackName=stack_id(cloud, stack))["StackEvents"][::-1]


def hook_events(cloud, stack):
    return [e for e in events(cloud, stack) if e.get("HookType")]


def records(cloud, stack, count, timeout=30):
    """What the hook's function received and answered for `stack` (a name, or the id of a
    deleted one), oldest first, once there are `count` of them (the function's log reaches
    CloudWatch Logs a little after it answers)."""
    wanted = stack if stack.startswith("arn:") else stack_id(cloud, stack)
    deadline = time.monotonic() + timeout
    while True:
        found = []
        for page in cloud.logs.get_paginator("filter_log_events").paginate(logGroupName="/aws/lambda/hook"):
            for event in page["events"]:
                for line in event["message"].splitlines():
                    if line.startswith(RECORD):
                        record = json.loads(line[len(RECORD) :])
                        if record["received"]["stackId"] == wanted:
                            found.append(record)
        if len(found) >= count or time.monotonic() > deadline:
            return sorted(found, key=lambda r: r["answered_at"])
        time.sleep(0.3)


def parameter(cloud, stack):
    try:
        return cloud.ssm.get_parameter(Name=f"/hooks/{stack}")["Parameter"]
    except cloud.ssm.exceptions.ParameterNotFound:
        return None


@pytest.fixture(scope="module")
def created(cloud, function):
    """A stack with a targeted SSM parameter (its hook answers SUCCESS) and an untargeted log
    group; the hook targets AWS::SSM::* in it."""
    alias = activate(cloud, function, "Success", ["hooked"], filters={"TargetNames": ["AWS::SSM::*"]})
    logs = {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": "/hooks/hooked"}}
    deployment = cloud.deploy("hooked", target("hooked", [{"message": "fine"}], Logs=logs))
    assert deployment.status == "CREATE_COMPLETE", deployment
    return alias, deployment


def test_the_input_carries_the_documented_fields(cloud, function, created):
    alias, _ = created
    [record] = records(cloud, "hooked", 1)
    received = record["received"]
    assert isinstance(received.pop("clientRequestToken"), str)
    assert isinstance(received.pop("hookTypeVersion"), str)
    assert received == {
        "awsAccountId": cloud.account,
        "stackId": stack_id(cloud, "hooked"),
        # CreateStack, not a change set of the user's.
        "changeSetId": None,
        "hookTypeName": alias,
        "hookModel": {"LambdaFunction": function},
        "actionInvocationPoint": "CREATE_PRE_PROVISION",
        "requestData": {
            "targetName": PARAMETER,
            "targetType": PARAMETER,
            "targetLogicalId": "Param",
            "targetModel": {
                # As resolved: the Fn::Sub is a value.
                "resourceProperties": {
                    "Name": "/hooks/hooked",
                    "Type": "String",
                    "Value": "hooked-v1",
                    "Description": json.dumps({"answers": [{"message": "fine"}]}),
                },
            },
        },
        "requestContext": {"invocation": 1, "callbackContext": None},
    }


def test_the_resource_is_created_only_after_the_hook_succeeded(cloud, created):
    alias, deployment = created
    [record] = records(cloud, "hooked", 1)
    [succeeded] = hook_events(cloud, "hooked")
    assert (succeeded["LogicalResourceId"], succeeded["ResourceStatus"]) == ("Param", "CREATE_IN_PROGRESS")
    assert (succeeded["HookType"], succeeded["HookStatus"], succeeded["HookStatusReason"]) == (
        alias,
        "HOOK_COMPLETE_SUCCEEDED",
        "fine",
    )
    assert (succeeded["HookInvocationPoint"], succeeded["HookFailureMode"]) == ("PRE_PROVISION", "FAIL")
    created_at = parameter(cloud, "hooked")["LastModifiedDate"]
    assert record["answered_at"] < succeeded["Timestamp"].timestamp() < created_at.timestamp(), (
        record,
        succeeded,
        created_at,
    )
    assert deployment.resource("Param").status == "CREATE_COMPLETE"


def test_an_untargeted_type_is_not_hooked(cloud, created):
    _, deployment = created
    assert deployment.resource("Logs").status == "CREATE_COMPLETE"
    assert [e["LogicalResourceId"] for e in hook_events(cloud, "hooked")] == ["Param"]
    assert [r["received"]["requestData"]["targetLogicalId"] for r in records(cloud, "hooked", 1)] == ["Param"]


def test_in_progress_is_asked_again_after_its_delay_with_its_context(cloud, function):
    alias = activate(cloud, function, "Progress", ["progress"])
    answers = [
        {"hookStatus": "IN_PROGRESS", "callbackContext": {"step": 1}, "callbackDelaySeconds": 2, "message": "one"},
        {"hookStatus": "IN_PROGRESS", "callbackContext": {"step": 2}, "callbackDelaySeconds": 1},
        {"hookStatus": "SUCCESS", "message": "done"},
    ]
    deployment = cloud.deploy("progress", target("progress", answers))
    assert deployment.status == "CREATE_COMPLETE", deployment
    found = records(cloud, "progress", 3)
    asked = [r["received"]["requestContext"] for r in found]
    assert asked == [
        {"invocation": 1, "callbackContext": None},
        {"invocation": 2, "callbackContext": {"step": 1}},
        {"invocation": 3, "callbackContext": {"step": 2}},
    ]
    assert len({r["received"]["clientRequestToken"] for r in found}) == 1, "one request, asked three times"
    times = [r["answered_at"] for r in found]
    assert times[1] - times[0] >= 2 and times[2] - times[1] >= 1, times
    statuses = [(e["HookType"], e["HookStatus"], e["HookStatusReason"]) for e in hook_events(cloud, "progress")]
    assert statuses == [
        (alias, "HOOK_IN_PROGRESS", "one"),
        (alias, "HOOK_IN_PROGRESS", "invocation 2 answered IN_PROGRESS"),
        (alias, "HOOK_COMPLETE_SUCCEEDED", "done"),
    ]
    assert parameter(cloud, "progress")["LastModifiedDate"].timestamp() > times[2]


def test_a_fourth_in_progress_fails_the_hook(cloud, function):
    alias = activate(cloud, function, "Patience", ["patience"])
    failed = cloud.deploy("patience", target("patience", [{"hookStatus": "IN_PROGRESS"}]))
    assert failed.status == "CREATE_FAILED", failed
    assert failed.resource("Param").status == "CREATE_FAILED"
    assert failed.resource("Param").reason == (
        f"The following hook(s) failed: [{alias}]. {alias}: the hook answered IN_PROGRESS 4 times; at most 3 are allowed"
    )
    assert [r["received"]["requestContext"]["invocation"] for r in records(cloud, "patience", 4)] == [1, 2, 3, 4]
    assert hook_events(cloud, "patience")[-1]["HookStatus"] == "HOOK_FAILED"
    assert parameter(cloud, "patience") is None, "created although its hook failed"


def test_failed_in_fail_mode_fails_the_stack_with_the_hooks_message(cloud, function):
    alias = activate(cloud, function, "Strict", ["strict"])
    answer = {"hookStatus": "FAILED", "errorCode": "NonCompliant", "message": "values must not end in v1"}
    failed = cloud.deploy("strict", target("strict", [answer]))
    assert failed.status == "CREATE_FAILED", failed
    assert (
        failed.resource("Param").reason
        == f"The following hook(s) failed: [{alias}]. {alias}: values must not end in v1"
    )
    [event] = hook_events(cloud, "strict")
    assert (event["HookStatus"], event["HookStatusReason"], event["HookFailureMode"]) == (
        "HOOK_COMPLETE_FAILED",
        "values must not end in v1",
        "FAIL",
    )
    assert parameter(cloud, "strict") is None, "created although its hook failed"


def test_failed_in_warn_mode_deploys_with_the_warning_recorded(cloud, function):
    alias = activate(cloud, function, "Lenient", ["lenient"], mode="WARN")
    answer = {"hookStatus": "FAILED", "errorCode": "NonCompliant", "message": "values should not end in v1"}
    deployment = cloud.deploy("lenient", target("lenient", [answer]))
    assert deployment.status == "CREATE_COMPLETE", deployment
    [event] = hook_events(cloud, "lenient")
    assert (event["HookType"], event["HookStatus"], event["HookStatusReason"], event["HookFailureMode"]) == (
        alias,
        "HOOK_COMPLETE_FAILED",
        "values should not end in v1",
        "WARN",
    )
    assert parameter(cloud, "lenient")["Value"] == "lenient-v1"


def test_a_hook_its_schema_refuses_is_not_activated(cloud, function):
    failed = cloud.deploy("hook-refused", hook_template(cloud, function, "AWS::Hooks::Mine", ["nowhere"]))
    assert failed.status == "CREATE_FAILED", failed
    assert failed.resource("Hook").reason.startswith(
        "Properties validation failed for resource Hook with message: #/Alias: 'AWS::Hooks::Mine'"
    ), failed.resource("Hook")


@pytest.fixture(scope="module")
def broken(cloud, function):
    """A hook for the stacks named broken-*."""
    return activate(cloud, function, "Broken", ["broken-*"])


@pytest.mark.parametrize(
    "stack, answer, reason",
    [
        ("broken-error", {"do": "fail"}, "failed: ScriptedError: the hook failed on purpose"),
        ("broken-token", {"clientRequestToken": "another"}, "the hook's answer has clientRequestToken 'another'"),
        ("broken-status", {"hookStatus": "MAYBE"}, "the hook's answer has hookStatus 'MAYBE'"),
    ],
)
def test_a_function_that_does_not_answer_as_documented_fails_the_hook(cloud, broken, stack, answer, reason):
    failed = cloud.deploy(stack, target(stack, [answer]))
    assert failed.status == "CREATE_FAILED", failed
    assert failed.resource("Param").reason.startswith(f"The following hook(s) failed: [{broken}]. {broken}: "), failed
    assert reason in failed.resource("Param").reason, failed.resource("Param")
    assert hook_events(cloud, stack)[-1]["HookStatus"] == "HOOK_FAILED"
    assert parameter(cloud, stack) is None, "created although its hook failed"


def test_a_disabled_hook_is_not_invoked_until_enabled(cloud, function):
    refusal = [{"hookStatus": "FAILED", "message": "refused"}]
    activate(cloud, function, "Dormant", ["dormant"], status="DISABLED")
    deployment = cloud.deploy("dormant", target("dormant", refusal))
    assert deployment.status == "CREATE_COMPLETE", deployment
    assert hook_events(cloud, "dormant") == []

    alias = activate(cloud, function, "Dormant", ["dormant"], status="ENABLED")
    updated = cloud.deploy("dormant", target("dormant", refusal, value="v2"))
    # LocalStack's engine reports a failed update UPDATE_COMPLETE; the resource's event says it.
    assert updated.resource("Param").status == "UPDATE_FAILED", updated
    assert updated.resource("Param").reason == f"The following hook(s) failed: [{alias}]. {alias}: refused"
    assert parameter(cloud, "dormant")["Value"] == "dormant-v1"


def test_update_and_delete_are_hooked(cloud, created):
    """Last: it changes the stack the tests above read."""
    logs = {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": "/hooks/hooked"}}
    updated = cloud.deploy("hooked", target("hooked", [{"message": "fine"}], value="v2", Logs=logs))
    assert updated.status == "UPDATE_COMPLETE", updated
    [_, update] = records(cloud, "hooked", 2)
    received = update["received"]
    assert received["actionInvocationPoint"] == "UPDATE_PRE_PROVISION"
    model = received["requestData"]["targetModel"]
    assert (model["resourceProperties"]["Value"], model["previousResourceProperties"]["Value"]) == (
        "hooked-v2",
        "hooked-v1",
    )

    hooked = stack_id(cloud, "hooked")
    assert cloud.delete("hooked").status == "DELETE_COMPLETE"
    [_, _, delete] = records(cloud, hooked, 3)
    received = delete["received"]
    assert received["actionInvocationPoint"] == "DELETE_PRE_PROVISION"
    # Not the updated Value: after UpdateStack, LocalStack's DeleteStack works from the template
    # the stack was created with, and the hook is shown what the engine deletes.
    assert list(received["requestData"]["targetModel"]) == ["resourceProperties"]
    assert received["requestData"]["targetModel"]["resourceProperties"]["Name"] == "/hooks/hooked"
    assert parameter(cloud, "hooked") is None


def test_a_stack_with_a_hook_under_a_false_condition_can_be_deleted(cloud):
    """The function's template registers its hook and the hook's role only when asked, the hook
    reading the role's ARN; LocalStack's engine could create such a stack but not delete it
    (localstack-plugins: conditions.py)."""
    template = json.dumps(
        {
            "Parameters": {"RegisterHook": {"Type": "String", "Default": "false"}},
            "Conditions": {"HasHook": {"Fn::Equals": [{"Ref": "RegisterHook"}, "true"]}},
            "Resources": {
                "Kept": {"Type": PARAMETER, "Properties": {"Type": "String", "Value": "kept"}},
                "HookRole": {
                    "Type": "AWS::IAM::Role",
                    "Condition": "HasHook",
                    "Properties": {"AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": []}},
                },
                "ReadsTheRole": {
                    "Type": PARAMETER,
                    "Condition": "HasHook",
                    "Properties": {"Type": "String", "Value": {"Fn::GetAtt": ["HookRole", "Arn"]}},
                },
            },
        }
    )
    for register in ("false", "true"):
        stack = f"conditional-hook-{register}"
        created = cloud.deploy(stack, template, {"RegisterHook": register})
        assert created.status == "CREATE_COMPLETE", created
        deleted = cloud.delete(stack)
        assert deleted.status == "DELETE_COMPLETE", deleted
