"""CloudFormation answers a call naming a stack id it does not know with ValidationError "Stack
with id <id> does not exist". LocalStack 4.13.1's v2 provider looks a stack's ARN up with a
plain index into its store: an unknown one raises KeyError, answered as InternalError (HTTP 500),
which a client rightly takes for a failure on the service's side and retries.

upsert-slr asks CloudFormation about the stack a Delete names before it removes a role, and a
Delete naming a stack that does not exist must hear that, as it would from CloudFormation.
`install` gives an unknown ARN the answer the provider already gives an unknown name: no stack.
"""

import logging

from localstack.runtime import hooks
from localstack.services.cloudformation.v2 import provider

from .patches import Patches

LOG = logging.getLogger(__name__)


def _find_stack(find, state, stack_name):
    if stack_name and provider.is_stack_arn(stack_name):
        return state.stacks_v2.get(stack_name)
    return find(state, stack_name)


_PATCHES = Patches((provider.find_stack_v2, _find_stack))


def install() -> None:
    if _PATCHES.install():
        LOG.info("CloudFormation: an unknown stack id is answered as CloudFormation answers it")


@hooks.on_infra_start()
def _unknown_stack_ids_answered() -> None:
    from .plugins import _check_version

    _check_version()
    install()
