"""CloudFormation Lambda Hooks, emulated for resource operations: the hooks each account and
region has (registered by AWS::CloudFormation::LambdaHook resources, lambda_hook.py), which of
them target an operation, and the exchange with a hook's function as the CloudFormation Hooks
User Guide describes it ("Create Lambda functions to evaluate resources for Lambda Hooks").
hook_point.py asks `evaluate` before each resource's create, update or delete in LocalStack's
deploy loop; nothing here knows LocalStack's engine.

The exchange, per hook and target:
- the function is invoked synchronously through LocalStack's Lambda API with the documented
  input; the properties are the template's as resolved, every scalar a string (as
  CloudFormation hands them to hooks and custom resources);
- each invocation gets at most INVOCATION_TIMEOUT seconds;
- the answer must be a JSON object echoing clientRequestToken, with hookStatus SUCCESS, FAILED
  or IN_PROGRESS; IN_PROGRESS is invoked again after callbackDelaySeconds with its
  callbackContext and the invocation count one higher, at most MAX_IN_PROGRESS times;
- anything else (a function error, no answer in time, a bad answer, one IN_PROGRESS too many)
  fails the hook as FAILED does; what that does to the resource is the hook's FailureMode.
"""

import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ReadTimeoutError
from localstack.aws.connect import connect_to

from .custom_resource import as_strings, json_object

LOG = logging.getLogger(__name__)

INVOCATION_TIMEOUT = 30
MAX_IN_PROGRESS = 3
MAX_MESSAGE = 4096
# The version CloudFormation reports for the hook type; AWS's own numbering is not known here.
HOOK_TYPE_VERSION = "00000001"
INVOCATION_POINT = "PRE_PROVISION"

# Hook statuses, as stack events report them.
IN_PROGRESS = "HOOK_IN_PROGRESS"
SUCCEEDED = "HOOK_COMPLETE_SUCCEEDED"
COMPLETE_FAILED = "HOOK_COMPLETE_FAILED"
FAILED = "HOOK_FAILED"


@dataclass(frozen=True)
class Hook:
    """An active hook's configuration, as its LambdaHook resource's properties give it."""

    arn: str
    alias: str
    function: str
    failure_mode: str
    enabled: bool
    target_operations: tuple[str, ...]
    target_filters: dict
    stack_filters: dict
    execution_role: str


@dataclass(frozen=True)
class Target:
    """One resource operation a hook may be asked about."""

    account_id: str
    region: str
    stack_name: str
    stack_id: str
    stack_role: str | None
    change_set_id: str | None
    logical_id: str
    type_name: str
    action: str  # CREATE, UPDATE or DELETE
    properties: dict
    previous_properties: dict | None = None


@dataclass(frozen=True)
class Outcome:
    hook: Hook
    status: str
    reason: str

    @property
    def failed(self) -> bool:
        return self.status != SUCCEEDED


class Registry:
    """The hooks of each account and region, by ARN. In memory: they live as long as LocalStack."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._hooks: dict[tuple[str, str], dict[str, Hook]] = {}

    def put(self, account_id: str, region: str, hook: Hook) -> None:
        with self._lock:
            self._hooks.setdefault((account_id, region), {})[hook.arn] = hook

    def remove(self, account_id: str, region: str, arn: str) -> None:
        with self._lock:
            self._hooks.get((account_id, region), {}).pop(arn, None)

    def get(self, account_id: str, region: str, arn: str) -> Hook | None:
        with self._lock:
            return self._hooks.get((account_id, region), {}).get(arn)

    def has_any(self, account_id: str, region: str) -> bool:
        with self._lock:
            return bool(self._hooks.get((account_id, region)))

    def matching(self, target: Target) -> list[Hook]:
        """The hooks that target this operation, in the order of their ARNs."""
        with self._lock:
            hooks = list(self._hooks.get((target.account_id, target.region), {}).values())
        return sorted((h for h in hooks if targets(h, target)), key=lambda h: h.arn)


REGISTRY = Registry()


# Which operations a hook targets.


def targets(hook: Hook, target: Target) -> bool:
    return (
        hook.enabled
        and "RESOURCE" in hook.target_operations
        and _targets_type_and_action(hook.target_filters, target)
        and _targets_stack(hook.stack_filters, target)
    )


def _targets_type_and_action(filters: dict, target: Target) -> bool:
    if not filters:
        return True
    if "Targets" in filters:
        return any(
            _wildcard(t.get("TargetName", ""), target.type_name)
            and t.get("Action") == target.action
            and t.get("InvocationPoint", INVOCATION_POINT) == INVOCATION_POINT
            for t in filters["Targets"]
        )
    names = filters.get("TargetNames")
    actions = filters.get("Actions")
    points = filters.get("InvocationPoints")
    return (
        (not names or any(_wildcard(n, target.type_name) for n in names))
        and (not actions or target.action in actions)
        and (not points or INVOCATION_POINT in points)
    )


def _targets_stack(filters: dict, target: Target) -> bool:
    checks = []
    if names := filters.get("StackNames"):
        checks.append(_included(names, target.stack_name))
    if roles := filters.get("StackRoles"):
        checks.append(_included(roles, target.stack_role or ""))
    if not checks:
        return True
    return any(checks) if filters.get("FilteringCriteria") == "ANY" else all(checks)


def _included(filter_: dict, value: str) -> bool:
    if any(_wildcard(p, value) for p in filter_.get("Exclude") or []):
        return False
    include = filter_.get("Include")
    return not include or any(_wildcard(p, value) for p in include)


def _wildcard(pattern: str, value: str) -> bool:
    """`*` and `?` as in the hook's filters; nothing else is special (fnmatch's [] would be)."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value) is not None


# The exchange with the hook's function.


class HookError(Exception):
    """The hook did not complete: its function failed, answered badly, or not in time."""


def evaluate(hook: Hook, target: Target, report: Callable[[str, str], None]) -> Outcome:
    """Asks the hook about the target until it answers SUCCESS or FAILED, or fails; each
    IN_PROGRESS answer is passed to `report` (status, reason) as it comes."""
    token = str(uuid.uuid4())
    context = None
    invocation = 0
    while True:
        invocation += 1
        event = hook_input(hook, target, token, invocation, context)
        try:
            answer = _answer(_invoke(hook, target, event), token)
        except HookError as e:
            return Outcome(hook, FAILED, str(e))
        message = answer["message"]
        status = answer["hookStatus"]
        LOG.info(
            "hook %s on %s %s of %s/%s, invocation %d: %s %s",
            hook.alias,
            target.type_name,
            target.action,
            target.stack_name,
            target.logical_id,
            invocation,
            status,
            message,
        )
        if status == "SUCCESS":
            return Outcome(hook, SUCCEEDED, message or "Hook succeeded")
        if status == "FAILED":
            return Outcome(hook, COMPLETE_FAILED, message or answer.get("errorCode") or "Hook failed")
        if invocation > MAX_IN_PROGRESS:
            return Outcome(
                hook,
                FAILED,
                f"the hook answered IN_PROGRESS {invocation} times; at most {MAX_IN_PROGRESS} are allowed",
            )
        report(IN_PROGRESS, message or f"invocation {invocation} answered IN_PROGRESS")
        context = answer.get("callbackContext")
        time.sleep(answer["callbackDelaySeconds"])


def hook_input(hook: Hook, target: Target, token: str, invocation: int, context) -> dict:
    model = {"resourceProperties": as_strings(target.properties)}
    if target.action == "UPDATE":
        model["previousResourceProperties"] = as_strings(target.previous_properties or {})
    return {
        "clientRequestToken": token,
        "awsAccountId": target.account_id,
        "stackId": target.stack_id,
        "changeSetId": target.change_set_id,
        "hookTypeName": hook.alias,
        "hookTypeVersion": HOOK_TYPE_VERSION,
        "hookModel": {"LambdaFunction": hook.function},
        "actionInvocationPoint": f"{target.action}_{INVOCATION_POINT}",
        "requestData": {
            "targetName": target.type_name,
            "targetType": target.type_name,
            "targetLogicalId": target.logical_id,
            "targetModel": model,
        },
        "requestContext": {"invocation": invocation, "callbackContext": context},
    }


def _invoke(hook: Hook, target: Target, event: dict) -> bytes:
    account_id, region = _home_of(hook.function, target)
    client = connect_to(
        aws_access_key_id=account_id,
        region_name=region,
        config=Config(read_timeout=INVOCATION_TIMEOUT, connect_timeout=5, retries={"total_max_attempts": 1}),
    ).lambda_
    try:
        response = client.invoke(
            FunctionName=hook.function, InvocationType="RequestResponse", Payload=json.dumps(event).encode()
        )
    except ReadTimeoutError:
        raise HookError(
            f"the hook's function {hook.function} did not answer within {INVOCATION_TIMEOUT} seconds"
        ) from None
    except ClientError as e:
        raise HookError(
            f"invoking the hook's function {hook.function} failed: {e.response['Error'].get('Message', e)}"
        ) from None
    except BotoCoreError as e:
        raise HookError(f"invoking the hook's function {hook.function} failed: {e}") from None
    payload = response["Payload"].read()
    if response.get("FunctionError"):
        raise HookError(f"the hook's function {hook.function} failed: {_error_text(payload)}")
    return payload


def _home_of(function: str, target: Target) -> tuple[str, str]:
    """The account and region of the function: its ARN's, or the target's for a name."""
    parts = function.split(":")
    if function.startswith("arn:") and len(parts) >= 7:
        return parts[4] or target.account_id, parts[3] or target.region
    return target.account_id, target.region


def _error_text(payload: bytes) -> str:
    try:
        error = json.loads(payload)
        return f"{error['errorType']}: {error['errorMessage']}"
    except (ValueError, KeyError, TypeError):
        return payload[:MAX_MESSAGE].decode("utf-8", "replace")


def _answer(payload: bytes, token: str) -> dict:
    """The answer, checked; its message cut as CloudFormation cuts it, its delay a number."""
    try:
        answer = json_object(payload)
    except ValueError as e:
        raise HookError(f"the hook's answer is {e}") from None
    if answer.get("clientRequestToken") != token:
        raise HookError(
            f"the hook's answer has clientRequestToken {answer.get('clientRequestToken')!r}, "
            f"not the request's {token!r}"
        )
    if answer.get("hookStatus") not in ("SUCCESS", "FAILED", "IN_PROGRESS"):
        raise HookError(
            f"the hook's answer has hookStatus {answer.get('hookStatus')!r}, not SUCCESS, FAILED or IN_PROGRESS"
        )
    delay = answer.get("callbackDelaySeconds") or 0
    if isinstance(delay, bool) or not isinstance(delay, int) or delay < 0:
        raise HookError(f"the hook's answer has callbackDelaySeconds {delay!r}, not a whole number of seconds")
    message = answer.get("message")
    return {**answer, "callbackDelaySeconds": delay, "message": str(message)[:MAX_MESSAGE] if message else ""}
