"""Lambda-backed custom resources (Custom::* and AWS::CloudFormation::CustomResource) for
LocalStack's CloudFormation engine, done the way CloudFormation does them:

- the event carries a presigned S3 PUT URL (LocalStack's S3, path style) as ResponseURL;
- the ServiceToken function is invoked asynchronously (InvocationType Event) with the whole
  event: RequestType, ResponseURL, StackId, RequestId, ResourceType, LogicalResourceId,
  ResourceProperties with every scalar as a string, and PhysicalResourceId and
  OldResourceProperties where they apply;
- the answer is polled from S3 until ServiceTimeout (default 3600 s) runs out; it must be at
  most 4096 bytes and name the same StackId, RequestId and LogicalResourceId;
- Data becomes the resource's attributes (!GetAtt) and PhysicalResourceId its !Ref;
- FAILED fails the resource with "Received response status [FAILED] from custom resource.
  Message returned: <Reason> (RequestId: <id>)";
- an Update answered with another physical id replaces the resource: the old id gets a Delete
  (the old properties as ResourceProperties) in the stack's UPDATE_COMPLETE_CLEANUP_IN_PROGRESS
  phase, after every other resource of the update, while the logical id shows the new physical
  id. Its DELETE_IN_PROGRESS and DELETE_COMPLETE or DELETE_FAILED are stack events of the old
  physical id; a failed Delete is logged and the update completes, as on AWS. An update that
  fails later keeps the old resource: LocalStack's engine rolls nothing back, and
  CloudFormation's rollback would return to it, not delete it.

The engine drives this through LocalStack's resource-provider protocol: each call either sends
the request or polls for its answer, and returns IN_PROGRESS until there is one. The state kept
between polls lives in the callback context; what the resource needs later (its physical id,
its properties, its Data) lives in the resource model under BRIDGE_KEY, beside Data's keys,
which is where the engine looks up !GetAtt.

The Delete of a replaced resource cannot be an answer to the engine's call: the engine calls
the provider while it updates the resource, and deletes only what it decided itself to delete.
So the bridge registers it among the engine's own deferred actions (cleanup_phase.py gives it
the running executor) and, when its turn comes, sends it and waits for the answer itself.
Where no executor is within reach, the Delete is sent right after the Update, as the best
remaining order, and the log says why.
"""

import copy
import dataclasses
import json
import logging
import time
import uuid

from botocore.config import Config
from botocore.exceptions import ClientError
from localstack.aws.api.cloudformation import ResourceStatus, StackStatus
from localstack.aws.connect import connect_to
from localstack.services.cloudformation.resource_provider import (
    OperationStatus,
    ProgressEvent,
    ResourceProvider,
    ResourceRequest,
)

from localstack import config

from .cleanup_phase import installed, running_executor
from .gateway import gateway_url
from .presign import presigned_put

LOG = logging.getLogger(__name__)
BRIDGE_KEY = "CustomResourceBridge"
DEFAULT_SERVICE_TIMEOUT = 3600
MAX_RESPONSE_BYTES = 4096
# Between reads of a cleanup Delete's answer: the engine does nothing else meanwhile.
CLEANUP_POLL_SECONDS = 0.5


class CustomResourceProvider(ResourceProvider[dict]):
    TYPE = "AWS::CloudFormation::CustomResource"
    SCHEMA = {  # noqa: RUF012 -- LocalStack reads a provider's schema as this class attribute
        "typeName": TYPE,
        "description": "Lambda-backed custom resource",
        "properties": {"ServiceToken": {"type": "string"}},
        "required": ["ServiceToken"],
        "primaryIdentifier": [f"/properties/{BRIDGE_KEY}/PhysicalResourceId"],
        "additionalProperties": True,
    }

    def create(self, request: ResourceRequest[dict]) -> ProgressEvent[dict]:
        return self._run(request, "Create", _template_properties(request.desired_state), None, None)

    def update(self, request: ResourceRequest[dict]) -> ProgressEvent[dict]:
        old = _bridge_state(request.previous_state)
        old_id = old.get("PhysicalResourceId")
        properties = _template_properties(request.desired_state)
        old_properties = old.get("Properties", _template_properties(request.previous_state or {}))
        if properties.get("ServiceToken") != old_properties.get("ServiceToken"):
            return _failed("Modifying service token is not allowed.", request.desired_state)
        ctx = request.custom_context
        if ctx.get("phase") != "cleanup":
            event = self._run(request, "Update", properties, old_properties, old_id)
            new_id = _bridge_state(event.resource_model).get("PhysicalResourceId")
            if event.status != OperationStatus.SUCCESS or new_id == old_id:
                return event
            # A new physical id means a replacement: the old resource must go, once the whole
            # update is done.
            unreachable = self._defer_cleanup(request, old_properties, old_id)
            if unreachable is None:
                return event
            LOG.warning(
                "%s: the Delete of the replaced resource %s is sent right after its Update, not in "
                "the cleanup phase: %s",
                request.logical_resource_id,
                old_id,
                unreachable,
            )
            ctx.clear()
            ctx.update(phase="cleanup", result=event.resource_model)
        cleanup = self._run(request, "Delete", old_properties, None, old_id)
        if cleanup.status == OperationStatus.IN_PROGRESS:
            return ProgressEvent(OperationStatus.IN_PROGRESS, request.desired_state, custom_context=ctx)
        message = "" if cleanup.status == OperationStatus.SUCCESS else _cleanup_failure(old_id, cleanup.message)
        if message:
            LOG.warning("%s: %s", request.logical_resource_id, message)
        return ProgressEvent(OperationStatus.SUCCESS, ctx["result"], message=message)

    def _defer_cleanup(self, request, old_properties, old_id) -> str | None:
        """Registers the Delete of the replaced resource with the running executor; returns why
        it could not, or None."""
        if not installed():
            return "the engine's executor is out of reach (cleanup_phase was not installed at LocalStack's start)"
        executor = running_executor()
        if executor is None:
            return "no change-set executor runs this update (not LocalStack's v2 engine)"
        stack = executor._change_set.stack
        if stack.stack_id != request.stack_id:
            return f"the running executor deploys another stack, {stack.stack_id}"
        # A request of its own: the old state as the one the Delete is about, and a callback
        # context apart from the Update's, whose keys say that request was answered.
        delete_request = dataclasses.replace(
            request,
            desired_state=copy.deepcopy(request.previous_state),
            previous_state=None,
            custom_context={},
        )
        executor._defer_action(
            f"cleanup-replaced-{request.logical_resource_id}",
            lambda: self._cleanup(stack, delete_request, copy.deepcopy(old_properties), old_id),
        )
        return None

    def _cleanup(self, stack, request, properties, physical_id) -> None:
        """The Delete of a replaced resource, in the cleanup phase. Recorded as events only:
        the logical id's state is the new resource's."""
        logical_id = request.logical_resource_id
        if stack.status != StackStatus.UPDATE_COMPLETE_CLEANUP_IN_PROGRESS:
            # The engine runs its deferred actions after a failed update too (the stack is then
            # ROLLBACK_IN_PROGRESS), with nothing rolled back.
            LOG.warning(
                "%s: the replaced resource %s is kept, as CloudFormation's rollback would keep it: "
                "the update failed (stack %s)",
                logical_id,
                physical_id,
                stack.status,
            )
            return

        def record(status, reason=None):
            stack._store_event(
                resource_id=logical_id,
                resource_type=request.resource_type,
                physical_resource_id=physical_id,
                status=status,
                status_reason=reason,
            )

        record(ResourceStatus.DELETE_IN_PROGRESS)
        try:
            outcome = self._wait_for(request, "Delete", properties, physical_id)
        except Exception as e:
            # Raised out of a deferred action, it would stop the engine's remaining cleanup and
            # fail the stack; CloudFormation completes the update whatever the cleanup met.
            LOG.exception("%s: the Delete of the replaced resource %s could not be sent", logical_id, physical_id)
            outcome = ProgressEvent(OperationStatus.FAILED, {}, message=f"Internal failure: {e}")
        if outcome.status == OperationStatus.SUCCESS:
            record(ResourceStatus.DELETE_COMPLETE)
            return
        record(ResourceStatus.DELETE_FAILED, outcome.message)
        LOG.warning("%s: %s", logical_id, _cleanup_failure(physical_id, outcome.message))

    def _wait_for(self, request, request_type, properties, physical_id) -> ProgressEvent:
        """One request, sent and its answer awaited here rather than across the engine's polls."""
        while True:
            event = self._run(request, request_type, properties, None, physical_id)
            if event.status != OperationStatus.IN_PROGRESS:
                return event
            time.sleep(CLEANUP_POLL_SECONDS)

    def delete(self, request: ResourceRequest[dict]) -> ProgressEvent[dict]:
        state = _bridge_state(request.desired_state)
        properties = state.get("Properties", _template_properties(request.desired_state))
        physical_id = state.get("PhysicalResourceId") or _generated_id(request)
        return self._run(request, "Delete", properties, None, physical_id)

    # One request to the function: send it, then poll for the answer.

    def _run(self, request, request_type, properties, old_properties, physical_id) -> ProgressEvent:
        ctx = request.custom_context
        key = f"{request_type}-request"
        if key not in ctx:
            try:
                ctx[key] = _send(request, request_type, properties, old_properties, physical_id)
            except BridgeError as e:
                return _failed(str(e), request.desired_state, properties, physical_id)
            return ProgressEvent(OperationStatus.IN_PROGRESS, request.desired_state, custom_context=ctx)
        sent = ctx[key]
        answer = _fetch(request, sent)
        if answer is None:
            if time.time() < sent["deadline"]:
                return ProgressEvent(OperationStatus.IN_PROGRESS, request.desired_state, custom_context=ctx)
            return _failed(
                "CloudFormation did not receive a response from your Custom Resource. Please check "
                f"your logs for requestId [{sent['RequestId']}]. If you are using the Python "
                "cfn-response module, you may need to update your Lambda function code so that "
                "CloudFormation can attach the updated version.",
                request.desired_state,
                properties,
                physical_id,
            )
        try:
            response = _validate(answer, sent, request_type)
        except BridgeError as e:
            return _failed(str(e), request.desired_state, properties, physical_id)
        new_id = response.get("PhysicalResourceId") or physical_id
        if response["Status"] == "FAILED":
            return _failed(
                "Received response status [FAILED] from custom resource. Message returned: "
                f"{response.get('Reason', '')} (RequestId: {sent['RequestId']})",
                request.desired_state,
                properties,
                new_id,
            )
        data = response.get("Data") or {}
        model = {**data, BRIDGE_KEY: {"PhysicalResourceId": new_id, "Properties": properties, "Data": data}}
        return ProgressEvent(OperationStatus.SUCCESS, model)


class BridgeError(Exception):
    pass


def _cleanup_failure(physical_id, message) -> str:
    return f"Deleting the replaced resource {physical_id} failed: {message}"


def _failed(message, desired_state, properties=None, physical_id=None) -> ProgressEvent:
    # Keep the physical id of a FAILED answer: CloudFormation sends it with the later Delete.
    model = dict(desired_state or {})
    if physical_id:
        model[BRIDGE_KEY] = {"PhysicalResourceId": physical_id, "Properties": properties or {}, "Data": {}}
    return ProgressEvent(OperationStatus.FAILED, model, message=message)


def _bridge_state(model) -> dict:
    return (model or {}).get(BRIDGE_KEY) or {}


def _template_properties(model) -> dict:
    state = _bridge_state(model)
    if state:
        return state.get("Properties", {})
    return {k: v for k, v in (model or {}).items() if k != BRIDGE_KEY}


def _generated_id(request) -> str:
    return f"{request.stack_name}-{request.logical_resource_id}-{uuid.uuid4().hex[:12].upper()}"


def as_strings(value):
    """CloudFormation hands custom resources every scalar as a string, also inside lists and maps."""
    if isinstance(value, dict):
        return {k: as_strings(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_strings(v) for v in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _bucket(region: str) -> str:
    return f"cloudformation-custom-resource-response-{region.replace('-', '')}"


def _s3(request):
    # The bucket of the ResponseURLs, path style at the gateway's address as the function (a
    # process on this host) reaches it.
    return connect_to(
        aws_access_key_id=request.account_id,
        aws_secret_access_key="test",
        region_name=request.region_name,
        endpoint_url=gateway_url(),
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    ).s3


def _send(request, request_type, properties, old_properties, physical_id) -> dict:
    token = properties.get("ServiceToken")
    if not isinstance(token, str) or not token.startswith("arn:") or ":lambda:" not in token:
        raise BridgeError(
            f"ServiceToken {token!r} is not a Lambda function ARN: only Lambda-backed custom resources are supported here"
        )
    timeout = int(float(properties.get("ServiceTimeout") or DEFAULT_SERVICE_TIMEOUT))
    if timeout > config.CFN_PER_RESOURCE_TIMEOUT:
        raise BridgeError(
            f"ServiceTimeout {timeout} s is longer than LocalStack lets a resource take "
            f"(CFN_PER_RESOURCE_TIMEOUT={config.CFN_PER_RESOURCE_TIMEOUT}): start LocalStack "
            "with CFN_PER_RESOURCE_TIMEOUT=3700 so that CloudFormation's own limit applies"
        )
    request_id = str(uuid.uuid4())
    key = f"{request.stack_id}|{request.logical_resource_id}|{request_id}"
    s3 = _s3(request)
    bucket = _bucket(request.region_name)
    try:
        s3.create_bucket(
            Bucket=bucket,
            **(
                {}
                if request.region_name == "us-east-1"
                else {"CreateBucketConfiguration": {"LocationConstraint": request.region_name}}
            ),
        )
    except ClientError as e:
        if e.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise
    url = presigned_put(
        gateway_url(),
        bucket,
        key,
        timeout + 7200,
        access_key=request.account_id,
        region=request.region_name,
    )
    event = {
        "RequestType": request_type,
        "ServiceToken": token,
        "ResponseURL": url,
        "StackId": request.stack_id,
        "RequestId": request_id,
        "LogicalResourceId": request.logical_resource_id,
        "ResourceType": request.resource_type,
        "ResourceProperties": as_strings(properties),
    }
    if physical_id is not None:
        event["PhysicalResourceId"] = physical_id
    if old_properties is not None:
        event["OldResourceProperties"] = as_strings(old_properties)
    lambda_client = connect_to(
        aws_access_key_id=request.account_id, region_name=_region_of(token, request.region_name)
    ).lambda_
    try:
        lambda_client.invoke(FunctionName=token, InvocationType="Event", Payload=json.dumps(event).encode())
    except ClientError as e:
        raise BridgeError(f"Invoking {token} failed: {e.response['Error'].get('Message', e)}") from e
    LOG.info(
        "%s %s of %s sent to %s (RequestId %s)",
        request_type,
        request.logical_resource_id,
        request.stack_name,
        token,
        request_id,
    )
    return {
        "RequestId": request_id,
        "StackId": request.stack_id,
        "LogicalResourceId": request.logical_resource_id,
        "Bucket": bucket,
        "Key": key,
        "deadline": time.time() + timeout,
    }


def _region_of(arn: str, default: str) -> str:
    parts = arn.split(":")
    return parts[3] if len(parts) > 3 and parts[3] else default


def _fetch(request, sent) -> bytes | None:
    try:
        return _s3(request).get_object(Bucket=sent["Bucket"], Key=sent["Key"])["Body"].read()
    except ClientError as e:
        if e.response["Error"]["Code"] in ("NoSuchKey", "404"):
            return None
        raise


def _validate(body: bytes, sent: dict, request_type: str) -> dict:
    if len(body) > MAX_RESPONSE_BYTES:
        raise BridgeError("Response object is too long.")
    try:
        response = json_object(body)
    except ValueError as e:
        raise BridgeError(f"Invalid response object: {e}") from None
    for field in ("StackId", "RequestId", "LogicalResourceId"):
        if response.get(field) != sent[field]:
            raise BridgeError(
                f"Invalid response object: {field} {response.get(field)!r} does not match the request's {sent[field]!r}"
            )
    if response.get("Status") not in ("SUCCESS", "FAILED"):
        raise BridgeError(f"Invalid response object: Status {response.get('Status')!r} is not SUCCESS or FAILED")
    physical_id = response.get("PhysicalResourceId")
    if physical_id is not None and (
        not isinstance(physical_id, str) or not physical_id or len(physical_id.encode()) > 1024
    ):
        raise BridgeError("Invalid PhysicalResourceId")
    if physical_id is None and request_type == "Create" and response["Status"] == "SUCCESS":
        raise BridgeError("Invalid PhysicalResourceId")
    data = response.get("Data")
    if data is not None and not isinstance(data, dict):
        raise BridgeError("Invalid response object: Data is not a JSON object")
    return response


def json_object(body: bytes) -> dict:
    """The JSON object a function answered, or ValueError saying what the answer is instead."""
    try:
        value = json.loads(body)
    except ValueError:
        raise ValueError(f"not JSON ({body[:200]!r})") from None
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    return value
