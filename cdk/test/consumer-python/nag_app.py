# A Python app whose pipeline runs cdk-nag's AwsSolutions, NIST 800-53 rev 5, HIPAA Security and
# PCI DSS 3.2.1 packs, with every mode of the constructs and the aspect, and no suppression of
# its own: no finding may be left, so the acknowledgements the constructs write reach cdk-nag
# through the Python binding too. With the cdk-nag installed: 3.x as policy-validation
# plugins (synthesis fails on a finding), 2.x as aspects (findings are error and warning
# annotations). (That removing one makes a pack fail is tested in
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
ServiceLinkedRole(
    shared, "Ecs", aws_service_name="ecs.amazonaws.com", service_token=ServiceLinkedRoleFunction.import_service_token()
)
ServiceLinkedRoleFunction(cdk.Stack(app, "Function"), "Slr")
options = cdk.Stack(app, "FunctionOptions")
ServiceLinkedRoleFunction(
    options,
    "Slr",
    allowed_services=["ecs.amazonaws.com"],
    log_group_encryption_key=kms.Key(options, "Key", enable_key_rotation=True),
    tracing=lambda_.Tracing.ACTIVE,
)
own = cdk.Stack(app, "FunctionOwnRole")
ServiceLinkedRoleFunction(
    own, "Slr", role=iam.Role.from_role_arn(own, "Platform", "arn:aws:iam::123456789012:role/platform/upsert-slr")
)
aspect = cdk.Stack(app, "Aspect")
cdk.CfnResource(aspect, "Cluster", type="AWS::ECS::Cluster")
cdk.Aspects.of(aspect).add(ServiceLinkedRoles())

packs = [cdk_nag.AwsSolutionsChecks, cdk_nag.NIST80053R5Checks, cdk_nag.HIPAASecurityChecks, cdk_nag.PCIDSS321Checks]
major = int(version("cdk-nag").split(".")[0])
if major >= 3:
    cdk.Validations.of(app).add_plugins(*(pack(app) for pack in packs))
    # Raises (ValidationFailed) on any unacknowledged finding.
    assembly = app.synth()
else:
    for pack in packs:
        cdk.Aspects.of(app).add(pack())
    assembly = app.synth()
    findings = [
        f"{m.id}: {m.entry.data}"
        for s in assembly.stacks
        for m in s.messages
        if str(m.level.value).lower() in ("error", "warning")
    ]
    if findings:
        raise SystemExit("unacknowledged cdk-nag findings:\n" + "\n".join(findings))
print(f"cdk-nag {version('cdk-nag')}: {len(assembly.stacks)} stacks, no unacknowledged finding")
