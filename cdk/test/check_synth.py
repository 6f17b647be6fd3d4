"""Checks a stack a user's app synthesized with the packed upsert-slr-cdk (TypeScript or Python).

    check_synth.py CLOUD_ASSEMBLY STACK MODE ZIP EXPECTED_JSON

MODE is how the stack reaches the function: `direct` (its own function is the ServiceToken),
`provider` (behind the CDK Provider), `shared` (a function deployed elsewhere: no function and
no asset in the stack; ZIP is then `-`) or `function` (a ServiceLinkedRoleFunction, no roles).
The stack must hold exactly the resources of its mode, by type. EXPECTED_JSON lists the
properties each Custom::ServiceLinkedRole must have (one entry a resource). The function must be
the bundled bootstrap on provided.al2023, and its code asset byte for byte the release zip ZIP.
Its policy, read for concrete roles and stacks, must let it read any service's role whatever
services it may create, record the removal policy only on roles a stack marked, and read this
account's stacks. Standard library only: it runs where nothing but the packed artifacts, Python
and Node.js are installed.
"""

import collections
import hashlib
import json
import os
import re
import sys

ACCOUNT = "123456789012"
# The owners whose roles the function may change: a stack of this account, or a Terraform
# owner (the mark handler/role/work.rs tags its roles with).
STACK_IDS = [{"Fn::Sub": "arn:${AWS::Partition}:cloudformation:*:${AWS::AccountId}:stack/*"}, "terraform"]
# Roles of services the apps name and do not: Elasticsearch's legacy role is what an OpenSearch
# domain adopts, whatever the function may create.
SAMPLE_ROLES = {
    "ecs.amazonaws.com": "AWSServiceRoleForECS",
    "es.amazonaws.com": "AWSServiceRoleForAmazonElasticsearchService",
    "opensearchservice.amazonaws.com": "AWSServiceRoleForAmazonOpenSearchService",
    "autoscaling.amazonaws.com": "AWSServiceRoleForAutoScaling_example",
    "rds.amazonaws.com": "AWSServiceRoleForRDS",
}


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def expected_types(mode, roles):
    """The resources of a stack of `roles` roles in `mode`, by type."""
    per_mode = {
        "direct": {"AWS::Lambda::Function": 1, "AWS::IAM::Role": 1, "AWS::IAM::Policy": 1},
        # The function, the framework's onEvent, isComplete and onTimeout functions, the waiter
        # state machine: each with its role and policy.
        "provider": {
            "AWS::Lambda::Function": 4,
            "AWS::IAM::Role": 5,
            "AWS::IAM::Policy": 5,
            "AWS::StepFunctions::StateMachine": 1,
        },
        "shared": {},
        "function": {"AWS::Lambda::Function": 1, "AWS::IAM::Role": 1, "AWS::Logs::LogGroup": 1},
    }[mode]
    return {**per_mode, **({"Custom::ServiceLinkedRole": roles} if roles else {})}


def as_list(value):
    return value if isinstance(value, list) else [value]


def in_account(node):
    """The node as CloudFormation resolves its Fn::Sub of pseudo parameters in ACCOUNT, partition aws."""
    if isinstance(node, list):
        return [in_account(n) for n in node]
    if isinstance(node, dict):
        if set(node) == {"Fn::Sub"} and isinstance(node["Fn::Sub"], str):
            return node["Fn::Sub"].replace("${AWS::Partition}", "aws").replace("${AWS::AccountId}", ACCOUNT)
        return {k: in_account(v) for k, v in node.items()}
    return node


def wildcard(pattern):
    """IAM's matching against a pattern: `*` any run of characters, `?` any one."""
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern), re.S)


def granting(statements, action, arn):
    """The statements allowing `action` on `arn`, conditions aside."""
    return [
        s
        for s in statements
        if s["Effect"] == "Allow"
        and any(wildcard(a.lower()).fullmatch(action.lower()) for a in as_list(s["Action"]))
        and any(wildcard(r).fullmatch(arn) for r in as_list(s["Resource"]))
    ]


def function_statements(resources):
    """The statements of the one policy document that holds the function's own grants."""
    documents = [r["Properties"]["PolicyDocument"] for r in resources.values() if r["Type"] == "AWS::IAM::Policy"]
    documents += [
        p["PolicyDocument"]
        for r in resources.values()
        if r["Type"] == "AWS::IAM::Role"
        for p in r["Properties"].get("Policies", [])
    ]
    ours = [
        d for d in documents if any(s.get("Sid") == "CreateAllowedServiceLinkedRoles" for s in as_list(d["Statement"]))
    ]
    assert len(ours) == 1, f"one policy with the function's statements: {ours}"
    return as_list(ours[0]["Statement"])


def check_policy(stack, statements, services):
    """The reads that reach past `services`, and what stays within them."""
    by_sid = {s.get("Sid"): s for s in statements}
    read = by_sid.get("ReadServiceLinkedRoles", {})
    assert read.get("Resource") == {
        "Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/aws-service-role/*"
    }, f"{stack}: ReadServiceLinkedRoles must reach every service-linked role: {read}"
    record = by_sid.get("RecordRemovalPolicyOfOwnServiceLinkedRoles", {})
    assert as_list(record.get("Action")) == ["iam:TagRole"] and record.get("Condition") == {
        "ForAllValues:StringEquals": {"aws:TagKeys": ["upsert-slr:removal-policy"]},
        "StringLike": {"aws:ResourceTag/upsert-slr:stack-id": STACK_IDS},
    }, (
        f"{stack}: RecordRemovalPolicyOfOwnServiceLinkedRoles must tag only the removal policy of a marked role: {record}"
    )
    stacks = by_sid.get("ReadOwnStacks", {})
    assert (
        sorted(as_list(stacks.get("Action"))) == ["cloudformation:DescribeStacks", "cloudformation:ListStackResources"]
        and stacks.get("Resource") == {"Fn::Sub": "arn:${AWS::Partition}:cloudformation:*:${AWS::AccountId}:stack/*/*"}
        and "Condition" not in stacks
    ), f"{stack}: ReadOwnStacks must read, and only read, this account's stacks: {stacks}"

    resolved = in_account(statements)
    for service, name in SAMPLE_ROLES.items():
        arn = f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/{service}/{name}"
        for action in ("iam:GetRole", "iam:GetServiceLinkedRoleDeletionStatus"):
            assert [s for s in granting(resolved, action, arn) if "Condition" not in s], f"{stack}: {action} on {arn}"
        allowed = any(wildcard(p).fullmatch(service) for p in services)
        for action in (
            "iam:CreateServiceLinkedRole",
            "iam:TagRole",
            "iam:UpdateRoleDescription",
            "iam:DeleteServiceLinkedRole",
        ):
            found = granting(resolved, action, arn)
            assert bool(found) == allowed, f"{stack}: {action} on {arn} granted {found}, allowed {allowed}"
            assert all("Condition" in s for s in found), f"{stack}: {action} on {arn} without a condition"
    arn = f"arn:aws:cloudformation:eu-west-1:{ACCOUNT}:stack/app/4f4e2b70-1d2c-11ef-9a8b-0e1f2a3b4c5d"
    for action in ("cloudformation:DescribeStacks", "cloudformation:ListStackResources"):
        assert granting(resolved, action, arn), f"{stack}: {action} on {arn}"
        assert not granting(resolved, action, arn.replace(ACCOUNT, "999999999999")), (
            f"{stack}: {action} on another account's stack"
        )


def main(out, stack, mode, zip_path, expected_json):
    with open(os.path.join(out, f"{stack}.template.json")) as f:
        template = json.load(f)
    resources = template["Resources"]
    expected = json.loads(expected_json)
    types = dict(collections.Counter(r["Type"] for r in resources.values() if r["Type"] != "AWS::CDK::Metadata"))
    assert types == expected_types(mode, len(expected)), (
        f"{stack}: {types}, expected {expected_types(mode, len(expected))}"
    )
    with open(os.path.join(out, f"{stack}.assets.json")) as f:
        assets = json.load(f)["files"]
    functions = {k: r for k, r in resources.items() if r["Type"] == "AWS::Lambda::Function"}
    ours = [k for k, r in functions.items() if r["Properties"].get("Handler") == "bootstrap"]

    if mode == "shared":
        # Nothing for cdk bootstrap: no asset besides the template, no bootstrap-version rule.
        assert [a["source"]["path"] for a in assets.values()] == [f"{stack}.template.json"], assets
        assert "Rules" not in template and "Parameters" not in template, template.keys()
    else:
        assert len(ours) == 1, f"one upsert-slr function, found {ours}"
        function = functions[ours[0]]["Properties"]
        assert function["Runtime"] == "provided.al2023", function["Runtime"]
        assert function["Architectures"] in (["x86_64"], ["arm64"]), function["Architectures"]
        # The S3 object the function's code comes from is an asset whose staged file is the zip.
        key = function["Code"]["S3Key"]
        sources = [
            a["source"] for a in assets.values() if any(d["objectKey"] == key for d in a["destinations"].values())
        ]
        assert len(sources) == 1, f"one asset for {key}: {sources}"
        assert sources[0]["packaging"] == "file", sources[0]
        staged = os.path.join(out, sources[0]["path"])
        assert sha256(staged) == sha256(zip_path), f"{staged} is not {zip_path}"

    roles = [r for r in resources.values() if r["Type"] == "Custom::ServiceLinkedRole"]
    for want in expected:
        matching = [r for r in roles if all(r["Properties"].get(k) == v for k, v in want.items())]
        assert len(matching) == 1, f"one Custom::ServiceLinkedRole with {want}: {roles}"
        props = matching[0]["Properties"]
        # CloudFormation reads it as seconds, a number or a string of one.
        assert 0 < int(props["ServiceTimeout"]) <= 3600, props
        token = props["ServiceToken"]
        if mode == "shared":
            assert token == {"Fn::ImportValue": "upsert-slr-ServiceToken"}, token
            assert int(props["ServiceTimeout"]) == 960, props
        elif mode == "direct":
            assert token == {"Fn::GetAtt": [ours[0], "Arn"]}, token
        else:
            framework = token["Fn::GetAtt"][0]
            env = resources[framework]["Properties"]["Environment"]["Variables"]
            assert env["USER_ON_EVENT_FUNCTION_ARN"] == {"Fn::GetAtt": [ours[0], "Arn"]}, env
    if mode in ("direct", "provider"):
        services = sorted({r["Properties"]["AWSServiceName"] for r in roles})
        assert function["Environment"]["Variables"]["UPSERT_SLR_ALLOWED_SERVICES"] == ",".join(services)
    if mode != "shared":
        allowed = function["Environment"]["Variables"]["UPSERT_SLR_ALLOWED_SERVICES"].split(",")
        check_policy(stack, function_statements(resources), allowed)
    if mode == "function":
        exports = [o["Export"]["Name"] for o in template["Outputs"].values() if "Export" in o]
        assert exports == ["upsert-slr-ServiceToken"], exports
    code = (
        "no function"
        if mode == "shared"
        else f"the function {os.path.basename(zip_path)} ({function['Architectures'][0]})"
    )
    print(f"{stack} ({mode}): {len(roles)} Custom::ServiceLinkedRole, {types}; {code}")


if __name__ == "__main__":
    main(*sys.argv[1:])
