"""The custom-resource bridge against CloudFormation's contract, with the scripted runtime as
the ServiceToken function: it answers what each resource's properties tell it to (Answer,
Silent) and returns the event it received as Data, so the tests see both sides."""

import json

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
