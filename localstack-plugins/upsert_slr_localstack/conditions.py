"""A stack whose template has a resource under a false condition that reads another such
resource (`Fn::GetAtt`) cannot be deleted by LocalStack 4.13.1's CloudFormation engine:
"Template format error: Unresolved resource dependencies [...]". CloudFormation deletes it.

upsert-slr's own template has one: the Lambda Hook and its execution role exist only with
`RegisterHook=true`, and the hook reads the role's ARN. So every stack of the function
deployed without the hook (the default) could be created on LocalStack but never deleted.

The engine's preprocessor resolves a resource's properties before it looks at the resource's
condition, and a `Fn::GetAtt` of a resource whose condition is false fails on the side
(before or after) being resolved. A resource whose condition is false on both sides exists on
neither, and the engine's own answer for it is "nothing before, nothing after" whatever its
properties say: `install` gives that answer without resolving them.
"""

from localstack.runtime import hooks
from localstack.services.cloudformation.engine.v2.change_set_model import Nothing, is_nothing
from localstack.services.cloudformation.engine.v2.change_set_model_preproc import (
    ChangeSetModelPreproc,
    PreprocEntityDelta,
)

from .patches import Patches


def _absent(condition) -> bool:
    return is_nothing(condition) or condition is False


def _visit_node_resource(original, self, node_resource):
    """A resource whose condition is false before and after is no change at all."""
    if not is_nothing(node_resource.condition_reference):
        condition = self._resolve_resource_condition_reference(node_resource.condition_reference)
        if _absent(condition.before) and _absent(condition.after):
            return PreprocEntityDelta(before=Nothing, after=Nothing)
    return original(self, node_resource)


_PATCHES = Patches((ChangeSetModelPreproc.visit_node_resource, _visit_node_resource))


def install() -> None:
    """Patches the engine's resource visit, once per process."""
    _PATCHES.install()


@hooks.on_infra_start()
def _resources_under_false_conditions() -> None:
    from .plugins import _check_version

    _check_version()
    install()
