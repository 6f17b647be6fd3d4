"""Checks a stack a user's app synthesized with the packed upsert-slr-cdk (TypeScript or Python).

    check_synth.py CLOUD_ASSEMBLY STACK MODE ZIP EXPECTED_JSON

MODE is how the stack reaches the function: `direct` (its own function is the ServiceToken),
`provider` (behind the CDK Provider), `shared` (a function deployed elsewhere: no function and
no asset in the stack; ZIP is then `-`) or `function` (a ServiceLinkedRoleFunction, no roles).
The stack must hold exactly the resources of its mode, by type. EXPECTED_JSON lists the
properties each Custom::ServiceLinkedRole must have (one entry a resource). The function must be
the bundled bootstrap on provided.al2023, and its code asset byte for byte the release zip ZIP.
Standard library only: it runs where nothing but the packed artifacts, Python and Node.js are
installed.
"""
import collections
import hashlib
import json
import os
import sys


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def expected_types(mode, roles):
    """The resources of a stack of `roles` roles in `mode`, by type."""
    per_mode = {
        "direct": {"AWS::Lambda::Function": 1, "AWS::IAM::Role": 1, "AWS::IAM::Policy": 1},
        # The function, the framework's onEvent, isComplete and onTimeout functions, the waiter
        # state machine: each with its role and policy.
        "provider": {"AWS::Lambda::Function": 4, "AWS::IAM::Role": 5, "AWS::IAM::Policy": 5,
                     "AWS::StepFunctions::StateMachine": 1},
        "shared": {},
        "function": {"AWS::Lambda::Function": 1, "AWS::IAM::Role": 1, "AWS::Logs::LogGroup": 1},
    }[mode]
    return {**per_mode, **({"Custom::ServiceLinkedRole": roles} if roles else {})}


def main(out, stack, mode, zip_path, expected_json):
    with open(os.path.join(out, f"{stack}.template.json")) as f:
        template = json.load(f)
    resources = template["Resources"]
    expected = json.loads(expected_json)
    types = dict(collections.Counter(r["Type"] for r in resources.values() if r["Type"] != "AWS::CDK::Metadata"))
    assert types == expected_types(mode, len(expected)), f"{stack}: {types}, expected {expected_types(mode, len(expected))}"
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
            a["source"]
            for a in assets.values()
            if any(d["objectKey"] == key for d in a["destinations"].values())
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
    if mode == "function":
        exports = [o["Export"]["Name"] for o in template["Outputs"].values() if "Export" in o]
        assert exports == ["upsert-slr-ServiceToken"], exports
    code = "no function" if mode == "shared" else f"the function {os.path.basename(zip_path)} ({function['Architectures'][0]})"
    print(f"{stack} ({mode}): {len(roles)} Custom::ServiceLinkedRole, {types}; {code}")


if __name__ == "__main__":
    main(*sys.argv[1:])
