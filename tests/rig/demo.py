"""`make demo`: real CloudFormation deployments on LocalStack drive the function.

  python -m rig.demo ENDPOINT BOOTSTRAP

Deploys the SAM app, stacks that use its export and one that uses its macro, prints each operation's events (as
`aws cloudformation describe-stack-events` shows them) and outputs, and what IAM then holds.
Exits non-zero when a step does not end as shown in its title.
"""

import json
import sys
from pathlib import Path

from rig import templates
from rig.localstack_cfn import LocalCloud, fallbacks, template

BOLD, DIM, END = "\033[1m", "\033[2m", "\033[0m"
ROLE = "service-linked-role.yaml"
ECS = "AWSServiceRoleForECS"
AUTOSCALING = "AWSServiceRoleForAutoScaling_demo"
# A template that names no role: the SAM app's macro adds the one its cluster needs.
MACRO_TEMPLATE = templates.warehouse(Transform="UpsertSlr", Metadata={"UpsertSlr": {"PropagationWaitSeconds": 2}})


def show(title, deployment, expected):
    print(f"\n{BOLD}{title}{END}")
    width = max(len(e.resource) for e in deployment.events)
    for e in deployment.events:
        reason = f"  {DIM}{e.reason}{END}" if e.reason else ""
        print(f"  {e.stack:<22} {e.resource:<{width}}  {e.status:<20}{reason}")
    if not deployment.status.startswith("DELETE"):
        for key, value in sorted(deployment.outputs.items()):
            print(f"  output {key} = {value}")
    problems = []
    if deployment.status != expected:
        problems.append(f"{deployment.stack} ended {deployment.status}, not {expected}")
    problems += [f"{e.resource} was not deployed: {e.reason}" for e in fallbacks(deployment.events)]
    if problems:
        sys.exit("demo failed: " + "; ".join(problems))


def show_role(cloud, name, expect_present):
    role = cloud.role(name)
    if role:
        print(f"  IAM: {role['Arn']}  description: {role.get('Description', '')!r}")
    else:
        print(f"  IAM: no role {name}")
    if bool(role) != expect_present:
        sys.exit(f"demo failed: role {name} {'missing' if expect_present else 'still there'}")
    return role


def main(endpoint, bootstrap):
    cloud = LocalCloud(endpoint)
    print(
        f"""
{BOLD}What runs here{END} (LocalStack at {endpoint}, account {cloud.account}, no AWS, no Docker)
  LocalStack's own: the CloudFormation engine (templates, the SAM transform, parameters,
    conditions, exports and Fn::ImportValue, stack events), IAM, S3, Lambda's API, CloudWatch Logs.
  This project's bridge (localstack-plugins/, LocalStack plugins): the Lambda runtime that runs
    the function's bootstrap as a local process, and the custom-resource provider that does what
    CloudFormation does: a presigned S3 ResponseURL, an asynchronous invoke, the answer polled
    from S3, Data as !GetAtt, the physical id as !Ref.
  The function is this checkout's build (cargo build), zipped as `sam package` would."""
    )

    code = cloud.upload_function(Path(bootstrap))
    show(
        "1. The SAM application (template.yaml), exporting its ServiceToken",
        cloud.deploy("upsert-slr", cloud.sam_template(code), cloud.sam_parameters()),
        "CREATE_COMPLETE",
    )

    ecs = {"AWSServiceName": "ecs.amazonaws.com", "PropagationWaitSeconds": 2}
    first = cloud.deploy("demo-ecs", template(ROLE), {**ecs, "RoleDescription": "ECS, from demo-ecs"})
    show("2. A stack with Custom::ServiceLinkedRole for ECS: the role is created", first, "CREATE_COMPLETE")
    show_role(cloud, ECS, True)

    second = cloud.deploy("demo-ecs-again", template(ROLE), ecs)
    show("3. A second stack declaring the same role: adopted, Created false", second, "CREATE_COMPLETE")

    update = cloud.deploy("demo-ecs", template(ROLE), {**ecs, "RoleDescription": "ECS, updated by demo-ecs"})
    show("4. The first stack updates the role's description", update, "UPDATE_COMPLETE")
    show_role(cloud, ECS, True)

    refused = cloud.deploy("demo-ecs-suffix", template(ROLE), {**ecs, "CustomSuffix": "demo"})
    show("5. A suffix ECS does not allow: IAM's refusal fails the resource", refused, "CREATE_FAILED")

    autoscaling = {
        "AWSServiceName": "autoscaling.amazonaws.com",
        "CustomSuffix": "demo",
        "PropagationWaitSeconds": 2,
        "RemovalPolicy": "Delete",
    }
    show(
        "6. A stack whose role goes with it (RemovalPolicy Delete)",
        cloud.deploy("demo-autoscaling", template(ROLE), autoscaling),
        "CREATE_COMPLETE",
    )
    show_role(cloud, AUTOSCALING, True)

    warehouse = cloud.deploy("demo-macro", MACRO_TEMPLATE)
    show(
        "7. Transform: UpsertSlr on a template naming no role: the macro adds Redshift's, first",
        warehouse,
        "CREATE_COMPLETE",
    )
    processed = cloud.cfn.get_template(StackName="demo-macro", TemplateStage="Processed")["TemplateBody"]
    processed = processed if isinstance(processed, dict) else json.loads(processed)
    added = processed["Resources"].get("UpsertSlrRedshift")
    print(
        f"  processed template: Warehouse DependsOn {processed['Resources']['Warehouse'].get('DependsOn')!r}; "
        f"UpsertSlrRedshift {json.dumps(added)}"
    )
    order = [(e.resource, e.status) for e in warehouse.events]
    if not added or order.index(("UpsertSlrRedshift", "CREATE_COMPLETE")) > order.index(
        ("Warehouse", "CREATE_IN_PROGRESS")
    ):
        sys.exit("demo failed: the macro's role was not added, or not made before the cluster")
    show_role(cloud, "AWSServiceRoleForRedshift", True)

    print(f"\n{BOLD}8. Deletes{END}")
    for stack in ("demo-ecs-again", "demo-ecs", "demo-ecs-suffix", "demo-macro"):
        show(f"   {stack} (RemovalPolicy Retain): the role stays", cloud.delete(stack), "DELETE_COMPLETE")
    show_role(cloud, ECS, True)
    show(
        "   demo-autoscaling (RemovalPolicy Delete, created by it): the role goes",
        cloud.delete("demo-autoscaling"),
        "DELETE_COMPLETE",
    )
    show_role(cloud, AUTOSCALING, False)

    logs = cloud.logs.filter_log_events(logGroupName=f"/aws/lambda/{first_function(cloud)}")["events"]
    handled = [json.loads(e["message"])["fields"] for e in logs if "event handled" in e["message"]]
    print(f"\n{BOLD}The function's log in CloudWatch Logs{END}: {len(handled)} events handled")
    for f in handled:
        stack = f.get("stack_id", "").split("/")[1] if "/" in f.get("stack_id", "") else ""
        print(
            f"  {f.get('request_type', ''):<7} {stack:<17} {f.get('outcome', ''):<9} {f.get('role_name', '') or '':<34} {DIM}{f.get('reason', '')[:90]}{END}"
        )


def first_function(cloud):
    outputs = cloud.cfn.describe_stacks(StackName="upsert-slr")["Stacks"][0]["Outputs"]
    return next(o["OutputValue"] for o in outputs if o["OutputKey"] == "FunctionName")


if __name__ == "__main__":
    main(*sys.argv[1:3])
