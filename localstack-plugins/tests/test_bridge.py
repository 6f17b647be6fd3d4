"""The custom-resource bridge against CloudFormation's contract, with the scripted runtime as
the ServiceToken function: it answers what each resource's properties tell it to (Answer,
Answer<RequestType>, Silent) and returns the event it received as Data, so the tests see both
sides; with Observe it also logs what DescribeStacks and ListStackResources said when each
request arrived, which is what a function that reads them before deleting would see."""

import json
import time

import pytest

from rig.scripted_runtime import create_scripted_function

FAILED = "Received response status [FAILED] from custom resource. Message returned: "


@pytest.fixture(scope="module")
def token(cloud):
    return create_scripted_function(cloud, "custom-resource", timeout=10)


def stack_with(token, **properties):
    resource = {"Type": "Custom::Scripted", "Properties": {"ServiceToken": token, **properties}}
    return json.dumps(
        {
            "Resources": {"Thing": resource},
            "Outputs": {
                "Ref": {"Value": {"Ref": "Thing"}},
                "Event": {"Value": {"Fn::GetAtt": ["Thing", "Event"]}},
            },
        }
    )


def test_event_and_answer(cloud, token):
    created = cloud.deploy(
        "bridge-event",
        stack_with(token, PhysicalId="thing-1", Number=5, Flag=True, List=[1, "a", False], Map={"K": 2}),
    )
    assert created.status == "CREATE_COMPLETE", created
    assert created.outputs["Ref"] == "thing-1"
    event = json.loads(created.outputs["Event"])
    stack_id = cloud.cfn.describe_stacks(StackName="bridge-event")["Stacks"][0]["StackId"]
    assert event["RequestType"] == "Create"
    assert event["StackId"] == stack_id
    assert event["LogicalResourceId"] == "Thing"
    assert event["ResourceType"] == "Custom::Scripted"
    assert event["ServiceToken"] == token
    assert "PhysicalResourceId" not in event and "OldResourceProperties" not in event
    assert event["ResourceProperties"] == {
        "ServiceToken": token,
        "PhysicalId": "thing-1",
        "Number": "5",
        "Flag": "true",
        "List": ["1", "a", "false"],
        "Map": {"K": "2"},
    }

    updated = cloud.deploy("bridge-event", stack_with(token, PhysicalId="thing-1", Number=6))
    assert updated.status == "UPDATE_COMPLETE", updated
    event = json.loads(updated.outputs["Event"])
    assert event["RequestType"] == "Update"
    assert event["PhysicalResourceId"] == "thing-1"
    assert event["ResourceProperties"]["Number"] == "6"
    assert event["OldResourceProperties"]["Number"] == "5"
    assert event["OldResourceProperties"]["Map"] == {"K": "2"}
    assert cloud.delete("bridge-event").status == "DELETE_COMPLETE"


def test_response_url_is_a_presigned_put_to_localstack_s3(cloud, token):
    created = cloud.deploy("bridge-url", stack_with(token))
    assert created.status == "CREATE_COMPLETE", created
    event = json.loads(created.outputs["Event"])
    stack_id = cloud.cfn.describe_stacks(StackName="bridge-url")["Stacks"][0]["StackId"]
    bucket = "cloudformation-custom-resource-response-useast1"
    place, keys = event["ResponseURL"].split("?")
    assert place == f"{cloud.endpoint}/{bucket}/{stack_id}|Thing|{event['RequestId']}"
    assert {"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Expires", "X-Amz-Signature"} <= set(keys.split(","))
    # LocalStack checks presigned signatures here (S3_SKIP_SIGNATURE_VALIDATION=0): the answer
    # is in S3 because the function's PUT was signed as S3 wants.
    assert cloud.s3.get_object(Bucket=bucket, Key=place.split(f"/{bucket}/", 1)[1])["ContentLength"] > 0
    assert cloud.delete("bridge-url").status == "DELETE_COMPLETE"


@pytest.mark.parametrize(
    "answer, reason",
    [
        ({"Status": "FAILED", "Reason": "it broke"}, FAILED + "it broke (RequestId: "),
        ({"Data": {"Big": "x" * 5000}}, "Response object is too long."),
        ({"RequestId": "another"}, "Invalid response object: RequestId 'another' does not match"),
        ({"StackId": "another"}, "Invalid response object: StackId 'another' does not match"),
        ({"LogicalResourceId": "Other"}, "Invalid response object: LogicalResourceId 'Other' does not match"),
        ({"PhysicalResourceId": ""}, "Invalid PhysicalResourceId"),
        ({"Status": "MAYBE"}, "Invalid response object: Status 'MAYBE'"),
    ],
)
def test_bad_or_failed_answers_fail_the_resource(cloud, token, answer, reason):
    failed = cloud.deploy("bridge-fail", stack_with(token, Answer=json.dumps(answer)))
    try:
        assert failed.status == "CREATE_FAILED", failed
        assert failed.resource("Thing").reason.startswith(reason), failed.resource("Thing")
    finally:
        cloud.delete("bridge-fail")


def test_service_timeout_bounds_the_wait(cloud, token):
    silent = cloud.deploy("bridge-silent", stack_with(token, Silent="true", ServiceTimeout=3), timeout=60)
    try:
        assert silent.status == "CREATE_FAILED", silent
        assert silent.resource("Thing").reason.startswith(
            "CloudFormation did not receive a response from your Custom Resource."
        )
    finally:
        cloud.delete("bridge-silent", timeout=60)


def test_changing_the_service_token_is_refused(cloud, token):
    other = create_scripted_function(cloud, "custom-resource-2")
    assert cloud.deploy("bridge-token", stack_with(token)).status == "CREATE_COMPLETE"
    moved = cloud.deploy("bridge-token", stack_with(other))
    # LocalStack's engine then rolls nothing back and reports the stack UPDATE_COMPLETE (AWS:
    # UPDATE_ROLLBACK_COMPLETE); the resource's own event says what happened.
    assert moved.resource("Thing").status == "UPDATE_FAILED", moved
    assert moved.resource("Thing").reason == "Modifying service token is not allowed."


# What CloudFormation shows while it deletes: resources with Observe=true make the scripted
# function log, before each answer, what DescribeStacks and ListStackResources said then.

RECORD = "cfn-record "
CLEANUP = "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"


def observed(token, physical_id, **properties):
    """A scripted resource that records what it saw; a ServiceTimeout well short of an hour, so
    that a function that never answers fails the test instead of holding it."""
    return {
        "Type": "Custom::Scripted",
        "Properties": {
            "ServiceToken": token,
            "PhysicalId": physical_id,
            "Observe": "true",
            "ServiceTimeout": 30,
            **properties,
        },
    }


def template(resources, outputs=None):
    return json.dumps({"Resources": resources, "Outputs": outputs or {}})


def stack_id(cloud, stack):
    return cloud.cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackId"]


def records(cloud, stack_id, count, timeout=30):
    """What the function received for the stack and what it saw then, oldest first, once there are
    `count` of them (the function's log reaches CloudWatch Logs a little after it answers) or
    `timeout` has passed."""
    deadline = time.monotonic() + timeout
    while True:
        found = []
        for page in cloud.logs.get_paginator("filter_log_events").paginate(logGroupName="/aws/lambda/custom-resource"):
            for event in page["events"]:
                for line in event["message"].splitlines():
                    if line.startswith(RECORD):
                        record = json.loads(line[len(RECORD) :])
                        if record["received"]["StackId"] == stack_id:
                            found.append(record)
        if len(found) >= count or time.monotonic() > deadline:
            return sorted(found, key=lambda r: r["seen_at"])
        time.sleep(0.3)


def received(found, request_type, logical_id, physical_id=None):
    """The one record of that request, with its index among `found`."""
    matching = [
        (i, r)
        for i, r in enumerate(found)
        if r["received"]["RequestType"] == request_type
        and r["received"]["LogicalResourceId"] == logical_id
        and (physical_id is None or r["received"].get("PhysicalResourceId") == physical_id)
    ]
    assert len(matching) == 1, (request_type, logical_id, physical_id, found)
    return matching[0]


def stack_events(cloud, stack_id):
    """(logical id, physical id, status, reason) of each of the stack's events, oldest first."""
    raw = cloud.cfn.describe_stack_events(StackName=stack_id)["StackEvents"]
    return [
        (e["LogicalResourceId"], e.get("PhysicalResourceId"), e["ResourceStatus"], e.get("ResourceStatusReason", ""))
        for e in reversed(raw)
    ]


def test_a_replaced_resource_is_deleted_in_the_cleanup_phase(cloud, token):
    first = cloud.deploy(
        "bridge-replace",
        template({"Thing": observed(token, "old-id")}, {"Ref": {"Value": {"Ref": "Thing"}}}),
    )
    assert first.status == "CREATE_COMPLETE", first
    # Second is created after Thing's update, so only a Delete deferred past the whole update
    # can arrive after it.
    second = {**observed(token, "second-id"), "DependsOn": "Thing"}
    updated = cloud.deploy(
        "bridge-replace",
        template({"Thing": observed(token, "new-id"), "Second": second}, {"Ref": {"Value": {"Ref": "Thing"}}}),
    )
    assert updated.status == "UPDATE_COMPLETE", updated
    assert updated.outputs["Ref"] == "new-id"
    sid = stack_id(cloud, "bridge-replace")
    found = records(cloud, sid, 4)

    at_update, update = received(found, "Update", "Thing")
    assert update["received"]["PhysicalResourceId"] == "old-id"
    assert update["stack"]["StackStatus"] == "UPDATE_IN_PROGRESS"
    at_second, _ = received(found, "Create", "Second")
    at_delete, delete = received(found, "Delete", "Thing", "old-id")
    assert at_update < at_second < at_delete, found
    assert delete["stack"] == {
        "StackStatus": CLEANUP,
        "Resources": {
            "Thing": {"PhysicalResourceId": "new-id", "ResourceStatus": "UPDATE_COMPLETE"},
            "Second": {"PhysicalResourceId": "second-id", "ResourceStatus": "CREATE_COMPLETE"},
        },
    }
    # The old resource's properties, as CloudFormation sends them with the cleanup's Delete.
    assert delete["received"]["ResourceProperties"]["PhysicalId"] == "old-id"
    assert "OldResourceProperties" not in delete["received"]

    events = stack_events(cloud, sid)
    cleanup = events.index(("bridge-replace", sid, CLEANUP, ""))
    old_id_events = [(i, e[2]) for i, e in enumerate(events) if e[:2] == ("Thing", "old-id") and i > cleanup]
    assert [status for _, status in old_id_events] == ["DELETE_IN_PROGRESS", "DELETE_COMPLETE"], events
    assert events[-1][2] == "UPDATE_COMPLETE" and old_id_events[-1][0] < len(events) - 1, events
    # The logical id is still the new resource's.
    listed = cloud.cfn.list_stack_resources(StackName=sid)["StackResourceSummaries"]
    assert {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in listed} == {
        "Thing": "new-id",
        "Second": "second-id",
    }
    assert cloud.delete("bridge-replace").status == "DELETE_COMPLETE"


@pytest.mark.parametrize(
    "after, gone, kept",
    [
        # A rename: the same properties under another logical id, so the same physical id.
        ({"Renamed": "same-id"}, "Original", {"Renamed": "same-id"}),
        # A removal.
        ({"Kept": "kept-id"}, "Removed", {"Kept": "kept-id"}),
    ],
    ids=["rename", "removal"],
)
def test_a_resource_renamed_or_removed_is_deleted_in_the_cleanup_phase(cloud, token, after, gone, kept):
    """LocalStack's own order, which the function relies on as it relies on CloudFormation's: a
    LocalStack release that changes it fails here."""
    stack = f"bridge-{next(iter(after)).lower()}"
    before = {"Original": "same-id"} if gone == "Original" else {"Kept": "kept-id", "Removed": "removed-id"}
    created = cloud.deploy(stack, template({k: observed(token, v) for k, v in before.items()}))
    assert created.status == "CREATE_COMPLETE", created
    updated = cloud.deploy(stack, template({k: observed(token, v) for k, v in after.items()}))
    assert updated.status == "UPDATE_COMPLETE", updated
    sid = stack_id(cloud, stack)
    # Two Creates and the Delete.
    found = records(cloud, sid, 3)

    at_delete, delete = received(found, "Delete", gone)
    assert delete["received"]["PhysicalResourceId"] == before[gone]
    assert delete["stack"] == {
        "StackStatus": CLEANUP,
        "Resources": {
            gone: {"PhysicalResourceId": before[gone], "ResourceStatus": "DELETE_IN_PROGRESS"},
            **{k: {"PhysicalResourceId": v, "ResourceStatus": "CREATE_COMPLETE"} for k, v in kept.items()},
        },
    }
    if gone == "Original":
        at_create, _ = received(found, "Create", "Renamed")
        assert at_create < at_delete, found
    listed = cloud.cfn.list_stack_resources(StackName=sid)["StackResourceSummaries"]
    assert {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in listed} == kept
    assert cloud.delete(stack).status == "DELETE_COMPLETE"


def test_a_stack_delete_deletes_while_the_stack_is_delete_in_progress(cloud, token):
    first = observed(token, "first-id")
    then = {**observed(token, "then-id"), "DependsOn": "First"}
    assert cloud.deploy("bridge-delete", template({"First": first, "Then": then})).status == "CREATE_COMPLETE"
    sid = stack_id(cloud, "bridge-delete")
    assert cloud.delete("bridge-delete").status == "DELETE_COMPLETE"
    found = records(cloud, sid, 4)

    at_then, then_delete = received(found, "Delete", "Then", "then-id")
    at_first, first_delete = received(found, "Delete", "First", "first-id")
    # What depends on a resource goes first; each is DELETE_IN_PROGRESS as its Delete arrives,
    # one not yet reached keeps its last status, one deleted is no longer listed.
    assert at_then < at_first, found
    assert then_delete["stack"] == {
        "StackStatus": "DELETE_IN_PROGRESS",
        "Resources": {
            "First": {"PhysicalResourceId": "first-id", "ResourceStatus": "CREATE_COMPLETE"},
            "Then": {"PhysicalResourceId": "then-id", "ResourceStatus": "DELETE_IN_PROGRESS"},
        },
    }
    assert first_delete["stack"] == {
        "StackStatus": "DELETE_IN_PROGRESS",
        "Resources": {"First": {"PhysicalResourceId": "first-id", "ResourceStatus": "DELETE_IN_PROGRESS"}},
    }


def test_a_failed_cleanup_delete_does_not_fail_the_update(cloud, token):
    # Only the old properties refuse a Delete: the new resource's goes with the stack.
    refusing = observed(token, "old-id", AnswerDelete=json.dumps({"Status": "FAILED", "Reason": "still in use"}))
    outputs = {"Ref": {"Value": {"Ref": "Thing"}}}
    created = cloud.deploy("bridge-cleanup-fails", template({"Thing": refusing}, outputs))
    assert created.status == "CREATE_COMPLETE", created
    updated = cloud.deploy("bridge-cleanup-fails", template({"Thing": observed(token, "new-id")}, outputs))
    assert updated.status == "UPDATE_COMPLETE", updated
    assert updated.outputs["Ref"] == "new-id"
    sid = stack_id(cloud, "bridge-cleanup-fails")
    old_id_events = [e for e in stack_events(cloud, sid) if e[:2] == ("Thing", "old-id")]
    assert [e[2] for e in old_id_events][-2:] == ["DELETE_IN_PROGRESS", "DELETE_FAILED"], old_id_events
    assert old_id_events[-1][3].startswith(FAILED + "still in use (RequestId: "), old_id_events
    assert all(e[2] != "UPDATE_FAILED" for e in stack_events(cloud, sid)), stack_events(cloud, sid)
    assert cloud.delete("bridge-cleanup-fails").status == "DELETE_COMPLETE"


def test_an_update_that_fails_later_keeps_the_replaced_resource(cloud, token):
    """CloudFormation would roll the resource back to the old physical id, not delete it;
    LocalStack's engine rolls nothing back, but must not delete it either."""
    created = cloud.deploy("bridge-replace-fails", template({"Thing": observed(token, "old-id")}))
    assert created.status == "CREATE_COMPLETE", created
    failing = observed(token, "later-id", Answer=json.dumps({"Status": "FAILED", "Reason": "no"}))
    later = {**failing, "DependsOn": "Thing"}
    try:
        failed = cloud.deploy("bridge-replace-fails", template({"Thing": observed(token, "new-id"), "Later": later}))
        assert failed.resource("Later").status == "CREATE_FAILED", failed
        sid = stack_id(cloud, "bridge-replace-fails")
        # Create and Update of Thing, Create of Later; a fourth would be the Delete.
        found = records(cloud, sid, 4, timeout=5)
        assert [r["received"]["RequestType"] for r in found] == ["Create", "Update", "Create"], found
        assert not [e for e in stack_events(cloud, sid) if e[:2] == ("Thing", "old-id") and e[2].startswith("DELETE")]
    finally:
        cloud.delete("bridge-replace-fails")
