"""CloudFormation answers a call naming a stack id it does not know with ValidationError "Stack
with id <id> does not exist". LocalStack 4.13.1's v2 provider looks a stack's ARN up with a
plain index into its store: an unknown one raises KeyError, answered as InternalError (HTTP 500),
which a client rightly takes for a failure on the service's side and retries.

upsert-slr asks CloudFormation about the stack a Delete names before it removes a role, and a
Delete naming a stack that does not exist must hear that, as it would from CloudFormation.
`install` gives an unknown ARN the answer the provider already gives an unknown name: no stack.
"""

import logging
import threading

from localstack.runtime import hooks
from localstack.services.cloudformation.v2 import provider
from localstack.utils.patch import Patch

LOG = logging.getLogger(__name__)
_lock = threading.Lock()
_patch: Patch | None = None


def _find_stack(find, state, stack_name):
    if stack_name and provider.is_stack_arn(stack_name):
        return state.stacks_v2.get(stack_name)
    return find(state, stack_name)


def install() -> None:
    global _patch
    with _lock:
        if _patch is None:
            _patch = Patch.function(provider.find_stack_v2, _find_stack)
            _patch.apply()
            LOG.info("CloudFormation: an unknown stack id is answered as CloudFormation answers it")


@hooks.on_infra_start()
def _unknown_stack_ids_answered() -> None:
    from .plugins import _check_version

    _check_version()
    install()
