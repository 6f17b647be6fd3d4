"""AWS::CloudFormation::LambdaHook for LocalStack's CloudFormation engine: creating one activates
the hook in its account and region (hooks.REGISTRY), updating it changes its configuration,
deleting it deactivates it. `Ref` and `!GetAtt .HookArn` give the hook's ARN,
arn:<partition>:cloudformation:<region>:<account>:type/hook/<Alias with - for ::>.

The properties are checked as the resource's schema constrains them (required ones, Alias's
form, the enumerations), so that a template the rig accepts is one AWS would. ExecutionRole is
kept but not assumed: LocalStack does not enforce IAM. Only RESOURCE operations are hooked
(hook_point.py); STACK, CHANGE_SET and CLOUD_CONTROL are accepted and logged as not emulated.
"""

import logging
import re

from localstack.services.cloudformation.resource_provider import (
    OperationStatus,
    ProgressEvent,
    ResourceProvider,
    ResourceRequest,
)
from localstack.utils.aws.arns import get_partition

from .hooks import REGISTRY, Hook

LOG = logging.getLogger(__name__)

ALIAS = re.compile(r"^(?!(?i:aws))[A-Za-z0-9]{2,64}::[A-Za-z0-9]{2,64}::[A-Za-z0-9]{2,64}$")
REQUIRED = ("LambdaFunction", "FailureMode", "Alias", "ExecutionRole", "TargetOperations", "HookStatus")
OPERATIONS = ("RESOURCE", "STACK", "CHANGE_SET", "CLOUD_CONTROL")
ACTIONS = ("CREATE", "UPDATE", "DELETE")


class LambdaHookProvider(ResourceProvider[dict]):
    TYPE = "AWS::CloudFormation::LambdaHook"
    SCHEMA = {  # noqa: RUF012 -- LocalStack reads a provider's schema as this class attribute
        "typeName": TYPE,
        "description": "A Lambda Hook, emulated for resource operations",
        "properties": {
            "Alias": {"type": "string"},
            "LambdaFunction": {"type": "string"},
            "ExecutionRole": {"type": "string"},
            "FailureMode": {"type": "string"},
            "HookStatus": {"type": "string"},
            "TargetOperations": {"type": "array"},
            "TargetFilters": {"type": "object"},
            "StackFilters": {"type": "object"},
            "AutoUpdate": {"type": "boolean"},
            "LoggingConfig": {"type": "object"},
            "HookArn": {"type": "string"},
        },
        "required": list(REQUIRED),
        "primaryIdentifier": ["/properties/HookArn"],
        "readOnlyProperties": ["/properties/HookArn"],
        # As AWS's schema has them: a change to these replaces the hook.
        "createOnlyProperties": ["/properties/Alias", "/properties/AutoUpdate", "/properties/LoggingConfig"],
    }

    def create(self, request: ResourceRequest[dict]) -> ProgressEvent[dict]:
        properties = request.desired_state
        try:
            hook = _hook(properties, _arn(request, properties.get("Alias", "")))
        except InvalidHook as e:
            return _invalid(request, e)
        if REGISTRY.get(request.account_id, request.region_name, hook.arn):
            return ProgressEvent(
                OperationStatus.FAILED,
                properties,
                message=f"Resource of type '{self.TYPE}' with identifier '{hook.arn}' already exists.",
            )
        return self._activate(request, hook)

    def update(self, request: ResourceRequest[dict]) -> ProgressEvent[dict]:
        properties = request.desired_state
        arn = (request.previous_state or {}).get("HookArn") or _arn(request, properties.get("Alias", ""))
        try:
            hook = _hook(properties, arn)
        except InvalidHook as e:
            return _invalid(request, e)
        return self._activate(request, hook)

    def delete(self, request: ResourceRequest[dict]) -> ProgressEvent[dict]:
        state = request.desired_state or {}
        arn = state.get("HookArn") or _arn(request, state.get("Alias", ""))
        REGISTRY.remove(request.account_id, request.region_name, arn)
        LOG.info("hook %s deactivated in %s/%s", arn, request.account_id, request.region_name)
        return ProgressEvent(OperationStatus.SUCCESS, {})

    def _activate(self, request: ResourceRequest[dict], hook: Hook) -> ProgressEvent[dict]:
        REGISTRY.put(request.account_id, request.region_name, hook)
        ignored = [op for op in hook.target_operations if op != "RESOURCE"]
        if ignored:
            LOG.warning(
                "hook %s targets %s as well: only RESOURCE operations are emulated here",
                hook.alias,
                ", ".join(ignored),
            )
        LOG.info(
            "hook %s (%s) active in %s/%s: %s, FailureMode %s, function %s",
            hook.alias,
            hook.arn,
            request.account_id,
            request.region_name,
            "ENABLED" if hook.enabled else "DISABLED",
            hook.failure_mode,
            hook.function,
        )
        return ProgressEvent(OperationStatus.SUCCESS, {**request.desired_state, "HookArn": hook.arn})


class InvalidHook(Exception):
    pass


def _invalid(request: ResourceRequest[dict], error: InvalidHook) -> ProgressEvent[dict]:
    return ProgressEvent(
        OperationStatus.FAILED,
        request.desired_state,
        message=f"Properties validation failed for resource {request.logical_resource_id} with message: {error}",
    )


def _arn(request: ResourceRequest[dict], alias: str) -> str:
    return (
        f"arn:{get_partition(request.region_name)}:cloudformation:{request.region_name}:"
        f"{request.account_id}:type/hook/{alias.replace('::', '-')}"
    )


def _hook(properties: dict, arn: str) -> Hook:
    """The hook the properties describe, or InvalidHook naming what the schema refuses."""
    missing = [name for name in REQUIRED if properties.get(name) in (None, "", [])]
    if missing:
        raise InvalidHook(f"#: required key [{missing[0]}] not found")
    alias = properties["Alias"]
    if not isinstance(alias, str) or not ALIAS.match(alias):
        raise InvalidHook(f"#/Alias: {alias!r} is not of the form Org::Service::Hook (and may not begin with AWS)")
    _one_of("FailureMode", properties["FailureMode"], ("FAIL", "WARN"))
    _one_of("HookStatus", properties["HookStatus"], ("ENABLED", "DISABLED"))
    operations = properties["TargetOperations"]
    if not isinstance(operations, list):
        raise InvalidHook("#/TargetOperations: expected a list")
    for operation in operations:
        _one_of("TargetOperations", operation, OPERATIONS)
    target_filters = _object("TargetFilters", properties.get("TargetFilters"))
    _check_target_filters(target_filters)
    stack_filters = _object("StackFilters", properties.get("StackFilters"))
    unknown = set(stack_filters) - {"FilteringCriteria", "StackNames", "StackRoles"}
    if unknown:
        raise InvalidHook(f"#/StackFilters: extraneous key [{sorted(unknown)[0]}] is not permitted")
    if stack_filters:
        _one_of("StackFilters/FilteringCriteria", stack_filters.get("FilteringCriteria", "ALL"), ("ALL", "ANY"))
    return Hook(
        arn=arn,
        alias=alias,
        function=str(properties["LambdaFunction"]),
        failure_mode=properties["FailureMode"],
        enabled=properties["HookStatus"] == "ENABLED",
        target_operations=tuple(operations),
        target_filters=target_filters,
        stack_filters=stack_filters,
        execution_role=str(properties["ExecutionRole"]),
    )


def _check_target_filters(filters: dict) -> None:
    unknown = set(filters) - {"Targets", "TargetNames", "Actions", "InvocationPoints"}
    if unknown:
        raise InvalidHook(f"#/TargetFilters: extraneous key [{sorted(unknown)[0]}] is not permitted")
    if "Targets" in filters:
        if set(filters) != {"Targets"}:
            raise InvalidHook(
                "#/TargetFilters: Targets cannot be combined with TargetNames, Actions or InvocationPoints"
            )
        for target in filters["Targets"]:
            for key in ("TargetName", "Action", "InvocationPoint"):
                if not isinstance(target, dict) or not target.get(key):
                    raise InvalidHook(f"#/TargetFilters/Targets: required key [{key}] not found")
            _one_of("TargetFilters/Targets/Action", target["Action"], ACTIONS)
            _one_of("TargetFilters/Targets/InvocationPoint", target["InvocationPoint"], ("PRE_PROVISION",))
        return
    for action in filters.get("Actions") or []:
        _one_of("TargetFilters/Actions", action, ACTIONS)
    for point in filters.get("InvocationPoints") or []:
        _one_of("TargetFilters/InvocationPoints", point, ("PRE_PROVISION",))


def _one_of(name: str, value, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise InvalidHook(f"#/{name}: {value!r} is not one of {', '.join(allowed)}")


def _object(name: str, value) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidHook(f"#/{name}: expected an object")
    return value
