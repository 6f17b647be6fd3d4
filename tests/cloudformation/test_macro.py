"""The SAM application's macro on LocalStack's CloudFormation: a template that names no role,
with `Transform: UpsertSlr` and a Redshift cluster, gets the role and the order it needs."""

import json

from rig import templates
from rig.localstack_cfn import fallbacks

REDSHIFT = "AWSServiceRoleForRedshift"


def warehouse(**top) -> str:
    """A template with one Redshift cluster and no role, its endpoint as an output."""
    return templates.warehouse(
        Outputs={"Endpoint": {"Value": {"Fn::GetAtt": ["Warehouse", "Endpoint.Address"]}}}, **top
    )


def test_a_template_naming_no_role_gets_it_before_its_cluster(app):
    cloud, deployment = app
    assert deployment.outputs["MacroName"] == "UpsertSlr"
    assert cloud.role(REDSHIFT) is None

    # A short propagation wait, through the template's metadata (a Transform-section macro gets
    # no parameters).
    stack = cloud.deploy(
        "warehouse", warehouse(Transform="UpsertSlr", Metadata={"UpsertSlr": {"PropagationWaitSeconds": 2}})
    )
    assert stack.status == "CREATE_COMPLETE", stack
    assert not fallbacks(stack.events), stack.events

    processed = cloud.cfn.get_template(StackName="warehouse", TemplateStage="Processed")["TemplateBody"]
    processed = processed if isinstance(processed, dict) else json.loads(processed)
    resources = processed["Resources"]
    assert resources["Warehouse"]["DependsOn"] == "UpsertSlrRedshift", resources
    assert resources["UpsertSlrRedshift"] == {
        "Type": "Custom::ServiceLinkedRole",
        "Properties": {
            "ServiceToken": deployment.outputs["ServiceToken"],
            "ServiceTimeout": 600,
            "AWSServiceName": "redshift.amazonaws.com",
            "PropagationWaitSeconds": 2,
        },
    }

    role = cloud.role(REDSHIFT)
    assert role and role["Path"] == "/aws-service-role/redshift.amazonaws.com/", role
    order = [(e.resource, e.status) for e in stack.events]
    role_done = order.index(("UpsertSlrRedshift", "CREATE_COMPLETE"))
    cluster_started = order.index(("Warehouse", "CREATE_IN_PROGRESS"))
    assert role_done < cluster_started, order
    assert stack.resource("Warehouse").status == "CREATE_COMPLETE"
    assert stack.outputs["Endpoint"], stack.outputs

    deleted = cloud.delete("warehouse")
    assert deleted.status == "DELETE_COMPLETE", deleted
    assert cloud.role(REDSHIFT), "the stack's delete removed a role it retains"


def test_malformed_options_fail_the_stack_with_the_macros_message(app):
    # The options a Transform-section macro reads from the template's metadata, as it reads
    # params under Fn::Transform (which this LocalStack cannot run: its Fn::Transform needs a
    # module its community install lacks).
    cloud, _ = app
    body = warehouse(Transform="UpsertSlr", Metadata={"UpsertSlr": {"Exclude": "redshift.amazonaws.co"}})
    failed = cloud.deploy("warehouse-bad-options", body)
    assert failed.status.endswith("FAILED"), failed
    expected = (
        '::UpsertSlr failed with: Metadata.UpsertSlr.Exclude: "redshift.amazonaws.co" is not a '
        "service (or role name) this macro adds roles for."
    )
    reasons = [failed.reason] + [e.reason for e in failed.events]
    assert any(expected in r for r in reasons), reasons
    assert not any(e.resource == "Warehouse" for e in failed.events), failed.events
