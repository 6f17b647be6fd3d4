"""LocalStack plugins that let CloudFormation stacks on LocalStack run Lambda-backed custom
resources without Docker: a runtime executor that runs functions as local processes, and a
custom-resource provider that drives them as CloudFormation does."""

# The LocalStack release whose internal interfaces these plugins are written against.
LOCALSTACK_VERSION = "4.13.1"
