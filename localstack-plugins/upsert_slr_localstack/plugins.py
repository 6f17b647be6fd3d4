"""plux plugins, registered through this distribution's entry points (pyproject.toml).

Each loads only under the LocalStack release it was written against: its executor,
resource-provider and engine interfaces are internal and change between releases.
"""

from importlib.metadata import version

from localstack.services.cloudformation.resource_provider import CloudFormationResourceProviderPlugin
from localstack.services.lambda_.invocation.plugins import RuntimeExecutorPlugin

from . import LOCALSTACK_VERSION


def _check_version() -> None:
    installed = version("localstack-core")
    if installed != LOCALSTACK_VERSION:
        raise RuntimeError(
            f"upsert-slr-localstack is written for localstack-core {LOCALSTACK_VERSION}, not {installed}"
        )


class LocalProcessExecutorPlugin(RuntimeExecutorPlugin):
    """Select with LAMBDA_RUNTIME_EXECUTOR=local-process."""

    name = "local-process"

    def load(self, *args, **kwargs):
        _check_version()
        from .executor import LocalProcessExecutor

        return LocalProcessExecutor


class CustomResourceProviderPlugin(CloudFormationResourceProviderPlugin):
    name = "AWS::CloudFormation::CustomResource"

    def __init__(self):
        self.factory = None

    def load(self):
        _check_version()
        from .custom_resource import CustomResourceProvider

        self.factory = CustomResourceProvider


class LambdaHookProviderPlugin(CloudFormationResourceProviderPlugin):
    """Loaded when a stack first deploys an AWS::CloudFormation::LambdaHook: only then can a
    hook exist, so only then does the engine need its hook point."""

    name = "AWS::CloudFormation::LambdaHook"

    def __init__(self):
        self.factory = None

    def load(self):
        _check_version()
        from .hook_point import install
        from .lambda_hook import LambdaHookProvider

        install()
        self.factory = LambdaHookProvider
