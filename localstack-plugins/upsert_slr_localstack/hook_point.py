"""Where LocalStack's CloudFormation engine asks the hooks (hooks.py): right before a resource's
provider is called to create, update or delete it, in any stack of the account and region.

LocalStack 4.13.1's default ("v2") engine deploys through ChangeSetModelExecutor: for each
resource whose resolved template changed, `_execute_resource_change(name, before, after)`
decides what to do, and every provider call then goes through `_execute_resource_action`
(a create, an update, the create of a replacement, a delete, also those deferred to the end
of the operation). `install` wraps both methods, without changing LocalStack's files:

- the first records the resource's before and after state (its type and its template's
  properties as resolved), which is what a hook is shown;
- the second asks the matching hooks before calling the provider. A hook that fails in FAIL
  mode stops the operation: the provider is not called and the resource fails as a provider
  failure would fail it, with "The following hook(s) failed: [<alias>]" and the hook's
  message. In WARN mode the failure is logged and the operation proceeds.

Each answer is also a stack event, as CloudFormation reports hooks: the resource's
<ACTION>_IN_PROGRESS with HookType, HookStatus, HookStatusReason, HookInvocationPoint and
HookFailureMode. The delete of a replaced resource (CloudFormation's cleanup) is not hooked.
"""

import logging
from datetime import UTC, datetime

from localstack.aws.api.cloudformation import ChangeAction, ResourceStatus, StackEvent
from localstack.services.cloudformation.engine.v2.change_set_model import is_nothing
from localstack.services.cloudformation.engine.v2.change_set_model_executor import (
    ChangeSetModelExecutor,
    EventOperationFromAction,
)
from localstack.services.cloudformation.resource_provider import OperationStatus, ProgressEvent
from localstack.services.cloudformation.stores import get_cloudformation_store
from localstack.services.cloudformation.v2.entities import ResolvedResource
from localstack.utils.strings import long_uid

from . import hooks
from .patches import Patches

LOG = logging.getLogger(__name__)
# Where the executor keeps each resource's (before, after) for the hooks.
STATES = "_upsert_slr_hook_states"


def _execute_resource_change(original, self, name, before, after):
    """Keeps each resource's (before, after) where the hooks read it."""
    self.__dict__.setdefault(STATES, {})[name] = (before, after)
    return original(self, name=name, before=before, after=after)


def _execute_resource_action(
    original,
    self,
    action,
    logical_resource_id,
    resource_type,
    before_properties,
    after_properties,
    part_of_replacement=False,
):
    """Asks the hooks before the resource's create, update or delete; a refusal fails it."""
    if not part_of_replacement:
        refusal = _ask_hooks(self, action, logical_resource_id, resource_type, before_properties, after_properties)
        if refusal:
            return _refuse(self, action, logical_resource_id, resource_type, refusal)
    return original(
        self,
        action=action,
        logical_resource_id=logical_resource_id,
        resource_type=resource_type,
        before_properties=before_properties,
        after_properties=after_properties,
        part_of_replacement=part_of_replacement,
    )


_PATCHES = Patches(
    (ChangeSetModelExecutor._execute_resource_change, _execute_resource_change),
    (ChangeSetModelExecutor._execute_resource_action, _execute_resource_action),
)


def install() -> None:
    """Patches the engine's two methods, once per process."""
    if _PATCHES.install():
        LOG.info("CloudFormation Lambda Hooks: resource operations are hooked")


def _ask_hooks(executor, action, logical_id, resource_type, before_properties, after_properties) -> str | None:
    """Asks every hook that targets this operation; returns the resource's failure reason when
    one in FAIL mode failed, else None."""
    stack = executor._change_set.stack
    if not hooks.REGISTRY.has_any(stack.account_id, stack.region_name):
        return None
    target = _target(executor, action, logical_id, resource_type, before_properties, after_properties)
    matching = hooks.REGISTRY.matching(target)
    if not matching:
        return None
    failed = []
    for hook in matching:

        def report(status, reason, hook=hook):
            _hook_event(executor, target, hook, status, reason)

        try:
            outcome = hooks.evaluate(hook, target, report)
        except Exception as e:
            # A fault of this emulation: reported as the hook's failure rather than left to
            # stop the engine with the resource in progress for ever.
            LOG.exception("hook %s could not be run", hook.alias)
            outcome = hooks.Outcome(hook, hooks.FAILED, f"the hook could not be run here: {e}")
        report(outcome.status, outcome.reason)
        if not outcome.failed:
            continue
        if hook.failure_mode == "FAIL":
            failed.append(outcome)
        LOG.warning(
            "hook %s failed on %s %s of %s/%s (FailureMode %s, so the operation %s): %s",
            hook.alias,
            target.type_name,
            target.action,
            target.stack_name,
            target.logical_id,
            hook.failure_mode,
            "stops" if hook.failure_mode == "FAIL" else "proceeds",
            outcome.reason,
        )
    if not failed:
        return None
    names = ", ".join(o.hook.alias for o in failed)
    details = " ".join(f"{o.hook.alias}: {o.reason}" for o in failed)
    return f"The following hook(s) failed: [{names}]. {details}"


def _target(executor, action, logical_id, resource_type, before_properties, after_properties) -> hooks.Target:
    stack = executor._change_set.stack
    before, after = executor.__dict__.get(STATES, {}).get(logical_id, (None, None))
    before_template = _properties_of(before, resource_type)
    after_template = _properties_of(after, resource_type)
    passed_before = _plain(before_properties.properties) if before_properties else {}
    passed_after = _plain(after_properties.properties) if after_properties else {}
    previous = None
    match action:
        case ChangeAction.Remove:
            operation, properties = "DELETE", before_template if before_template is not None else passed_before
        case ChangeAction.Add if before_template is not None:
            # The create of a replacement: to CloudFormation, an update.
            operation, properties, previous = "UPDATE", after_template or passed_after, before_template
        case ChangeAction.Add:
            operation, properties = "CREATE", after_template if after_template is not None else passed_after
        case _:
            operation = "UPDATE"
            properties = after_template if after_template is not None else passed_after
            previous = before_template if before_template is not None else passed_before
    return hooks.Target(
        account_id=stack.account_id,
        region=stack.region_name,
        stack_name=stack.stack_name,
        stack_id=stack.stack_id,
        stack_role=(stack.request_payload or {}).get("RoleARN"),
        change_set_id=_user_change_set_id(executor),
        logical_id=logical_id,
        type_name=resource_type,
        action=operation,
        properties=properties,
        previous_properties=previous,
    )


def _properties_of(resource, resource_type: str) -> dict | None:
    """The template's properties of a before or after state of this type, as resolved."""
    if resource is None or is_nothing(resource) or resource.resource_type != resource_type:
        return None
    return _plain(resource.properties.properties if resource.properties else {})


def _plain(value):
    """Without the engine's markers for absent values (AWS::NoValue)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if not is_nothing(v)}
    if isinstance(value, list):
        return [_plain(v) for v in value if not is_nothing(v)]
    return value


def _user_change_set_id(executor) -> str | None:
    """The change set being executed, if a user created it; CreateStack, UpdateStack and
    DeleteStack run one of LocalStack's own, which CloudFormation would not name."""
    change_set = executor._change_set
    store = get_cloudformation_store(change_set.stack.account_id, change_set.stack.region_name)
    return change_set.change_set_id if change_set.change_set_id in store.change_sets else None


def _hook_event(executor, target: hooks.Target, hook: hooks.Hook, status: str, reason: str) -> None:
    stack = executor._change_set.stack
    event = StackEvent(
        EventId=long_uid(),
        Timestamp=datetime.now(tz=UTC),
        StackId=stack.stack_id,
        StackName=stack.stack_name,
        LogicalResourceId=target.logical_id,
        PhysicalResourceId=executor._get_physical_id(target.logical_id, False) or "",
        ResourceType=target.type_name,
        ResourceStatus=ResourceStatus(f"{target.action}_IN_PROGRESS"),
        HookType=hook.alias,
        HookStatus=status,
        HookStatusReason=reason,
        HookInvocationPoint=hooks.INVOCATION_POINT,
        HookFailureMode=hook.failure_mode,
    )
    stack.events.insert(0, event)


def _refuse(executor, action, logical_id: str, resource_type: str, reason: str) -> ProgressEvent:
    """What the engine records when a provider fails, for a provider never called: the
    resource keeps what it had (nothing, for a create)."""
    previous = executor._change_set.stack.resolved_resources.get(logical_id) or {}
    resolved = ResolvedResource(
        Properties=previous.get("Properties", {}),
        LogicalResourceId=logical_id,
        Type=resource_type,
        LastUpdatedTimestamp=datetime.now(UTC),
        ResourceStatus=ResourceStatus(f"{EventOperationFromAction[action.value]}_FAILED"),
        ResourceStatusReason=reason,
    )
    if previous.get("PhysicalResourceId"):
        resolved["PhysicalResourceId"] = previous["PhysicalResourceId"]
    executor.resources[logical_id] = resolved
    return ProgressEvent(OperationStatus.FAILED, resource_model={}, message=reason)
