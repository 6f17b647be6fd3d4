"""LocalStack plugins that let CloudFormation stacks on LocalStack run Lambda-backed custom
resources and Lambda Hooks without Docker: a runtime executor that runs functions as local
processes, a custom-resource provider that drives them as CloudFormation does, and an
emulation of AWS::CloudFormation::LambdaHook for resource operations."""

# The LocalStack release whose internal interfaces these plugins are written against.
LOCALSTACK_VERSION = "4.13.1"
