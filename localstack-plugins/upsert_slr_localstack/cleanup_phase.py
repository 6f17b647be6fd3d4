"""The running change-set executor, within reach of the resource providers it calls.

CloudFormation deletes what an update left behind (a removed resource, a renamed one, the old
physical resource of a replacement) only after every other resource was created or updated,
in the stack's UPDATE_COMPLETE_CLEANUP_IN_PROGRESS phase. LocalStack 4.13.1's v2 engine does
so for what it decides itself (`ChangeSetModelExecutor._defer_action`, run at the end of
`execute`), but a provider cannot reach the executor to defer anything: the provider protocol
hands it a request, not the operation. A custom resource decides a replacement only when its
function answers an Update with another physical id, so the bridge (custom_resource.py) needs
that reach to send the old id's Delete when CloudFormation would.

`install` holds each executor in a context variable for as long as its `execute` runs: the
engine calls providers synchronously from the thread that runs `execute`, and each operation
runs in a thread of its own, so the variable names exactly the operation a provider serves.
"""

import contextvars
import logging

from localstack.runtime import hooks
from localstack.services.cloudformation.engine.v2.change_set_model_executor import ChangeSetModelExecutor

from .patches import Patches

LOG = logging.getLogger(__name__)

_running: contextvars.ContextVar[ChangeSetModelExecutor | None] = contextvars.ContextVar(
    "upsert_slr_running_executor", default=None
)


def running_executor() -> ChangeSetModelExecutor | None:
    """The executor whose operation the calling thread is part of, if any."""
    return _running.get()


def _execute(execute, self):
    token = _running.set(self)
    try:
        return execute(self)
    finally:
        _running.reset(token)


_PATCHES = Patches((ChangeSetModelExecutor.execute, _execute))


def install() -> None:
    if _PATCHES.install():
        LOG.info("CloudFormation: providers can defer work to the cleanup phase")


def installed() -> bool:
    return _PATCHES.installed()


@hooks.on_infra_start()
def _executor_within_reach() -> None:
    from .plugins import _check_version

    _check_version()
    install()
