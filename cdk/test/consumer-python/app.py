# A user's Python app, synthesized into $CDK_OUTDIR: the snippet of the upsert-slr construct's
# users with only the import changed (the default, direct backing), the same role behind the
# Provider, a stack using a shared function, and that function; then a stack whose roles the
# ServiceLinkedRoles aspect adds, checked here.
import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_opensearchservice as opensearch
from aws_cdk import aws_redshift as redshift
from upsert_slr_cdk import Backing, ServiceLinkedRole, ServiceLinkedRoleFunction, ServiceLinkedRoles


class Roles(cdk.Stack):
    def __init__(self, scope, id, **role_props):
        super().__init__(scope, id)
        ServiceLinkedRole(
            self,
            "ECSServiceLinkedRole",
            aws_service_name="ecs.amazonaws.com",
            description="Service-linked role for Amazon ECS",
            **role_props,
        )


class SharedRoles(cdk.Stack):
    def __init__(self, scope, id):
        super().__init__(scope, id, synthesizer=cdk.DefaultStackSynthesizer(generate_bootstrap_version_rule=False))
        token = ServiceLinkedRoleFunction.import_service_token()
        for name, service in [("EcsRole", "ecs.amazonaws.com"), ("OpenSearchRole", "opensearchservice.amazonaws.com")]:
            ServiceLinkedRole(self, name, aws_service_name=service, service_token=token)


class Function(cdk.Stack):
    def __init__(self, scope, id):
        super().__init__(scope, id)
        ServiceLinkedRoleFunction(
            self,
            "UpsertSlr",
            allowed_services=["ecs.amazonaws.com", "opensearchservice.amazonaws.com"],
            architecture=lambda_.Architecture.X86_64,
        )


class Needers(cdk.Stack):
    """Resources that need roles, and none declared: an OpenSearch domain in a VPC, one outside,
    a Redshift cluster and an ECS cluster (left out)."""

    def __init__(self, scope, id):
        super().__init__(scope, id)
        opensearch.CfnDomain(
            self, "InVpc", vpc_options=opensearch.CfnDomain.VPCOptionsProperty(subnet_ids=["subnet-1"])
        )
        opensearch.CfnDomain(self, "Public")
        redshift.CfnCluster(
            self,
            "Warehouse",
            cluster_type="single-node",
            db_name="dev",
            master_username="admin",
            node_type="ra3.large",
            manage_master_password=True,
        )
        cdk.CfnResource(self, "Cluster", type="AWS::ECS::Cluster")
        cdk.Aspects.of(self).add(
            ServiceLinkedRoles(exclude=["ecs.amazonaws.com"], removal_policy=cdk.RemovalPolicy.DESTROY)
        )


def check_needers(template):
    """The aspect's roles: OpenSearch's and Redshift's, each resource needing one depending on it."""
    resources = template["Resources"]
    roles = {
        r["Properties"]["AWSServiceName"]: id for id, r in resources.items() if r["Type"] == "Custom::ServiceLinkedRole"
    }
    assert sorted(roles) == ["opensearchservice.amazonaws.com", "redshift.amazonaws.com"], roles
    assert all(resources[id]["Properties"]["RemovalPolicy"] == "Delete" for id in roles.values()), roles
    by_prefix = {
        prefix: resource.get("DependsOn", [])
        for id, resource in resources.items()
        for prefix in ("InVpc", "Public", "Warehouse", "Cluster")
        if id.startswith(prefix)
    }
    assert by_prefix == {
        "InVpc": [roles["opensearchservice.amazonaws.com"]],
        "Public": [],
        "Warehouse": [roles["redshift.amazonaws.com"]],
        "Cluster": [],
    }, by_prefix


app = cdk.App()
Roles(app, "UpsertSlrPython")
Roles(app, "UpsertSlrPythonProvider", backing=Backing.PROVIDER)
SharedRoles(app, "UpsertSlrPythonShared")
Function(app, "UpsertSlrPythonFunction")
Needers(app, "UpsertSlrPythonAspect")
check_needers(app.synth().get_stack_by_name("UpsertSlrPythonAspect").template)
