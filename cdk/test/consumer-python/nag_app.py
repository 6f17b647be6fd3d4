# A Python app whose pipeline runs cdk-nag 3's AwsSolutions, NIST 800-53 rev 5, HIPAA Security and
# PCI DSS 3.2.1 packs, with every mode of the constructs and the aspect, and no suppression of
# its own: synthesis must pass, so the acknowledgements the constructs write reach cdk-nag
# through the Python binding too. (That removing one makes a pack fail is tested in
# TypeScript, cdk/test/nag.test.ts, where the constructs' calls can be intercepted.)
from importlib.metadata import version

import aws_cdk as cdk
import cdk_nag
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from upsert_slr_cdk import Backing, ServiceLinkedRole, ServiceLinkedRoleFunction, ServiceLinkedRoles

app = cdk.App()
direct = cdk.Stack(app, "Direct")
ServiceLinkedRole(direct, "Ecs", aws_service_name="ecs.amazonaws.com")
provider = cdk.Stack(app, "Provider")
ServiceLinkedRole(provider, "Ecs", aws_service_name="ecs.amazonaws.com", backing=Backing.PROVIDER)
shared = cdk.Stack(app, "SharedToken")
ServiceLinkedRole(shared, "Ecs", aws_service_name="ecs.amazonaws.com",
                  service_token=ServiceLinkedRoleFunction.import_service_token())
ServiceLinkedRoleFunction(cdk.Stack(app, "Function"), "Slr")
options = cdk.Stack(app, "FunctionOptions")
ServiceLinkedRoleFunction(options, "Slr", allowed_services=["ecs.amazonaws.com"],
                          log_group_encryption_key=kms.Key(options, "Key", enable_key_rotation=True),
                          tracing=lambda_.Tracing.ACTIVE)
own = cdk.Stack(app, "FunctionOwnRole")
ServiceLinkedRoleFunction(own, "Slr", role=iam.Role.from_role_arn(
    own, "Platform", "arn:aws:iam::123456789012:role/platform/upsert-slr"))
aspect = cdk.Stack(app, "Aspect")
cdk.CfnResource(aspect, "Cluster", type="AWS::ECS::Cluster")
cdk.Aspects.of(aspect).add(ServiceLinkedRoles())

cdk.Validations.of(app).add_plugins(
    cdk_nag.AwsSolutionsChecks(app), cdk_nag.NIST80053R5Checks(app),
    cdk_nag.HIPAASecurityChecks(app), cdk_nag.PCIDSS321Checks(app),
)
# Raises (ValidationFailed) on any unacknowledged finding.
app.synth()
print(f"cdk-nag {version('cdk-nag')}: {len(app.node.children)} stacks, no unacknowledged finding")
