# A user's Python app, synthesized into $CDK_OUTDIR: the snippet of the upsert-slr construct's
# users with only the import changed (the default, direct backing), the same role behind the
# Provider, a stack using a shared function, and that function.
import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from upsert_slr_cdk import Backing, ServiceLinkedRole, ServiceLinkedRoleFunction


class Roles(cdk.Stack):
    def __init__(self, scope, id, **role_props):
        super().__init__(scope, id)
        ServiceLinkedRole(self, "ECSServiceLinkedRole", aws_service_name="ecs.amazonaws.com",
                          description="Service-linked role for Amazon ECS", **role_props)


class SharedRoles(cdk.Stack):
    def __init__(self, scope, id):
        super().__init__(scope, id,
                         synthesizer=cdk.DefaultStackSynthesizer(generate_bootstrap_version_rule=False))
        token = ServiceLinkedRoleFunction.import_service_token()
        for name, service in [("EcsRole", "ecs.amazonaws.com"), ("OpenSearchRole", "opensearchservice.amazonaws.com")]:
            ServiceLinkedRole(self, name, aws_service_name=service, service_token=token)


class Function(cdk.Stack):
    def __init__(self, scope, id):
        super().__init__(scope, id)
        ServiceLinkedRoleFunction(self, "UpsertSlr", allowed_services=["ecs.amazonaws.com", "opensearchservice.amazonaws.com"],
                                  architecture=lambda_.Architecture.X86_64)


app = cdk.App()
Roles(app, "UpsertSlrPython")
Roles(app, "UpsertSlrPythonProvider", backing=Backing.PROVIDER)
SharedRoles(app, "UpsertSlrPythonShared")
Function(app, "UpsertSlrPythonFunction")
app.synth()
