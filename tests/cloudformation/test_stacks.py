"""The SAM application and stacks using its export, deployed by LocalStack's CloudFormation
engine; the function runs as CloudFormation invokes it, and IAM is checked after each step."""

import json

from rig.localstack_cfn import EXPORT, ROOT, fallbacks, template

ROLE = "service-linked-role.yaml"
ECS = "AWSServiceRoleForECS"
FAILED = "Received response status [FAILED] from custom resource. Message returned: "


def deploy_role(cloud, stack, **parameters):
    parameters.setdefault("PropagationWaitSeconds", 1)
    deployment = cloud.deploy(stack, template(ROLE), parameters)
    assert not fallbacks(deployment.events), deployment.events
    return deployment


def test_the_app_exports_its_function(app):
    cloud, deployment = app
    token = deployment.outputs["ServiceToken"]
    assert token.startswith(f"arn:aws:lambda:us-east-1:{cloud.account}:function:")
    exports = {e["Name"]: e["Value"] for e in cloud.cfn.list_exports()["Exports"]}
    assert exports[EXPORT] == token
    config = cloud.lambda_.get_function_configuration(FunctionName=token)
    assert config["Runtime"] == "provided.al2023" and config["Handler"] == "bootstrap"
    assert config["Environment"]["Variables"]["UPSERT_SLR_EXTRA_RESPONSE_URL_PREFIXES"] == f"{cloud.endpoint}/"


def test_create_adopt_update_delete(app):
    cloud, _ = app
    first = deploy_role(cloud, "ecs-first", RoleDescription="from ecs-first")
    assert first.status == "CREATE_COMPLETE", first
    role = cloud.role(ECS)
    assert role, "the stack reported a role IAM does not have"
    assert first.outputs == {"RoleName": ECS, "RoleArn": role["Arn"], "Created": "true"}
    assert role["Path"] == "/aws-service-role/ecs.amazonaws.com/"
    assert role["Description"] == "from ecs-first"

    second = deploy_role(cloud, "ecs-second")
    assert second.status == "CREATE_COMPLETE", second
    assert second.outputs == {"RoleName": ECS, "RoleArn": role["Arn"], "Created": "false"}

    updated = deploy_role(cloud, "ecs-first", RoleDescription="changed by ecs-first")
    assert updated.status == "UPDATE_COMPLETE", updated
    assert updated.resource("Slr").status == "UPDATE_COMPLETE"
    assert updated.outputs["RoleName"] == ECS
    assert cloud.role(ECS)["Description"] == "changed by ecs-first"

    for stack in ("ecs-second", "ecs-first"):
        deleted = cloud.delete(stack)
        assert deleted.status == "DELETE_COMPLETE", deleted
        assert deleted.resource("Slr").status == "DELETE_COMPLETE"
        assert cloud.role(ECS), f"deleting {stack} removed a retained role"


def test_a_refused_suffix_fails_with_iams_message(app):
    cloud, _ = app
    refused = deploy_role(cloud, "ecs-suffix", CustomSuffix="nope")
    assert refused.status == "CREATE_FAILED", refused
    slr = refused.resource("Slr")
    assert slr.status == "CREATE_FAILED"
    assert slr.reason.startswith(FAILED + "InvalidInput: Custom suffix is not allowed for ecs.amazonaws.com"), (
        slr.reason
    )
    assert slr.reason.endswith(")") and "(RequestId: " in slr.reason
    deleted = cloud.delete("ecs-suffix")
    assert deleted.status == "DELETE_COMPLETE", deleted


def test_removal_policy_delete_and_replacement(app):
    cloud, _ = app
    params = dict(AWSServiceName="autoscaling.amazonaws.com", RemovalPolicy="Delete")
    created = deploy_role(cloud, "autoscaling", CustomSuffix="first", **params)
    assert created.status == "CREATE_COMPLETE", created
    assert created.outputs["RoleName"] == "AWSServiceRoleForAutoScaling_first"
    assert created.outputs["Created"] == "true"

    # Another suffix is another role: a new physical id, so the old resource gets a Delete.
    replaced = deploy_role(cloud, "autoscaling", CustomSuffix="second", **params)
    assert replaced.status == "UPDATE_COMPLETE", replaced
    assert replaced.outputs["RoleName"] == "AWSServiceRoleForAutoScaling_second"
    assert cloud.role("AWSServiceRoleForAutoScaling_second")
    assert cloud.role("AWSServiceRoleForAutoScaling_first") is None, "the replaced role was not deleted"

    deleted = cloud.delete("autoscaling")
    assert deleted.status == "DELETE_COMPLETE", deleted
    assert cloud.role("AWSServiceRoleForAutoScaling_second") is None


def test_baseline_through_import_value(app):
    cloud, _ = app
    baseline = (ROOT / "examples/cloudformation/slr-baseline.yaml").read_text()
    # A role some other way made before: the baseline adopts it and leaves it on delete.
    cloud.iam.create_service_linked_role(AWSServiceName="rds.amazonaws.com")
    deployment = cloud.deploy("baseline", baseline, {"PropagationWaitSeconds": 1, "RemovalPolicy": "Delete"})
    assert deployment.status == "CREATE_COMPLETE", deployment
    assert not fallbacks(deployment.events)
    outputs = ("EcsRoleArn", "ElasticLoadBalancingRoleArn", "AutoScalingRoleArn", "RdsRoleArn", "SpotRoleArn")
    assert sorted(deployment.outputs) == sorted(outputs)
    names = {}
    for output in outputs:
        names[output] = deployment.outputs[output].rsplit("/", 1)[1]
        role = cloud.role(names[output])
        assert role and role["Arn"] == deployment.outputs[output], (output, deployment.outputs)
    assert names["RdsRoleArn"] == "AWSServiceRoleForRDS"

    deleted = cloud.delete("baseline")
    assert deleted.status == "DELETE_COMPLETE", deleted
    assert cloud.role("AWSServiceRoleForRDS"), "the baseline deleted a role it adopted"
    assert cloud.role(names["SpotRoleArn"]) is None, "the baseline kept a role it created"


def test_the_canary_sees_a_fallback(new_cloud):
    cloud = new_cloud()
    body = {"Resources": {"Cluster": {"Type": "AWS::ECS::Cluster"}}}
    deployment = cloud.deploy("canary-fallback", json.dumps(body))
    assert [e.resource for e in fallbacks(deployment.events)] == ["Cluster"], deployment.events


def test_an_account_holding_only_the_legacy_elasticsearch_role_adopts_it_for_opensearch(app):
    # Made as IAM made it before OpenSearch had a role of its own: the name and path real IAM
    # gives es.amazonaws.com's role (LocalStack's CreateServiceLinkedRole names it otherwise).
    cloud, _ = app
    legacy = "AWSServiceRoleForAmazonElasticsearchService"
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "es.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }
    made = cloud.iam.create_role(
        RoleName=legacy, Path="/aws-service-role/es.amazonaws.com/", AssumeRolePolicyDocument=json.dumps(trust)
    )["Role"]

    search = deploy_role(cloud, "opensearch-legacy", AWSServiceName="opensearchservice.amazonaws.com")
    assert search.status == "CREATE_COMPLETE", search
    assert search.outputs == {"RoleName": legacy, "RoleArn": made["Arn"], "Created": "false"}
    assert cloud.role("AWSServiceRoleForAmazonOpenSearchService") is None, (
        "a second role was created beside the legacy one"
    )

    deleted = cloud.delete("opensearch-legacy")
    assert deleted.status == "DELETE_COMPLETE", deleted
    assert cloud.role(legacy), "deleting the stack removed a role it adopted"


def roles_stack(**resources):
    """A stack of Custom::ServiceLinkedRole resources for autoscaling: logical id -> (suffix,
    the logical id it depends on or None)."""
    body = {"Resources": {}}
    for logical_id, (suffix, after) in resources.items():
        body["Resources"][logical_id] = {
            "Type": "Custom::ServiceLinkedRole",
            "Properties": {
                "ServiceToken": {"Fn::ImportValue": EXPORT},
                "ServiceTimeout": 300,
                "AWSServiceName": "autoscaling.amazonaws.com",
                "CustomSuffix": suffix,
                "PropagationWaitSeconds": 1,
                "RemovalPolicy": "Delete",
            },
            **({"DependsOn": after} if after else {}),
        }
    return json.dumps(body)


def test_everyday_stack_changes_never_delete_a_role_in_use(app):
    """CloudFormation, not the event, says what is deleted: a rename and a removed adopter keep
    the role, a replacement's cleanup and the stack's delete remove the roles they own."""
    cloud, _ = app
    kept, old, new = ("AWSServiceRoleForAutoScaling_" + s for s in ("kept", "one", "two"))

    created = cloud.deploy(
        "everyday", roles_stack(Creator=("kept", None), Adopter=("kept", "Creator"), Replaced=("one", None))
    )
    assert created.status == "CREATE_COMPLETE", created
    assert not fallbacks(created.events)
    assert cloud.role(kept) and cloud.role(old)

    # The adopter removed: its Delete, in the update's cleanup, does not own the role.
    removed = cloud.deploy("everyday", roles_stack(Creator=("kept", None), Replaced=("one", None)))
    assert removed.status == "UPDATE_COMPLETE", removed
    assert removed.resource("Adopter").status == "DELETE_COMPLETE"
    assert cloud.role(kept), "removing the adopter deleted the creator's role"

    # The creator renamed (a construct moved, in CDK): CloudFormation creates Renamed first,
    # which adopts the role, then deletes Creator, whose tags still match; Renamed holds it.
    renamed = cloud.deploy("everyday", roles_stack(Renamed=("kept", None), Replaced=("one", None)))
    assert renamed.status == "UPDATE_COMPLETE", renamed
    assert renamed.resource("Creator").status == "DELETE_COMPLETE"
    assert cloud.role(kept), "a rename deleted the role the stack now declares"

    # A new suffix replaces Replaced's role: the old one goes in the cleanup phase.
    replaced = cloud.deploy("everyday", roles_stack(Renamed=("kept", None), Replaced=("two", None)))
    assert replaced.status == "UPDATE_COMPLETE", replaced
    assert cloud.role(new)
    assert cloud.role(old) is None, "the replaced role was not deleted"

    # The stack deleted: the role Replaced created goes. The renamed resource adopted its role
    # (the creator's tags name Creator), so that one is kept.
    deleted = cloud.delete("everyday")
    assert deleted.status == "DELETE_COMPLETE", deleted
    assert cloud.role(new) is None, "deleting the stack kept a role it created"
    assert cloud.role(kept), "a role the stack's remaining resource only adopted was deleted"
