"""Checks a stack a user's app synthesized with the packed upsert-slr-cdk (TypeScript or Python).

    check_synth.py CLOUD_ASSEMBLY STACK ZIP EXPECTED_JSON

EXPECTED_JSON lists the properties each Custom::ServiceLinkedRole must have (one entry a
resource). The function must be the bundled bootstrap on provided.al2023, and its code asset
byte for byte the release zip ZIP. Standard library only: it runs where nothing but the
packed artifacts, Python and Node.js are installed.
"""
import hashlib
import json
import os
import sys


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def main(out, stack, zip_path, expected_json):
    with open(os.path.join(out, f"{stack}.template.json")) as f:
        resources = json.load(f)["Resources"]
    functions = {k: r for k, r in resources.items() if r["Type"] == "AWS::Lambda::Function"}
    ours = [k for k, r in functions.items() if r["Properties"].get("Handler") == "bootstrap"]
    assert len(ours) == 1, f"one upsert-slr function, found {ours}"
    function = functions[ours[0]]["Properties"]
    assert function["Runtime"] == "provided.al2023", function["Runtime"]
    assert function["Architectures"] in (["x86_64"], ["arm64"]), function["Architectures"]

    # The S3 object the function's code comes from is an asset whose staged file is the zip.
    key = function["Code"]["S3Key"]
    with open(os.path.join(out, f"{stack}.assets.json")) as f:
        assets = json.load(f)["files"]
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
    expected = json.loads(expected_json)
    assert len(roles) == len(expected), f"{len(roles)} roles, expected {len(expected)}"
    for want in expected:
        matching = [r for r in roles if all(r["Properties"].get(k) == v for k, v in want.items())]
        assert len(matching) == 1, f"one Custom::ServiceLinkedRole with {want}: {roles}"
        props = matching[0]["Properties"]
        # CloudFormation reads it as seconds, a number or a string of one.
        assert 0 < int(props["ServiceTimeout"]) <= 3600, props
        token = props["ServiceToken"]["Fn::GetAtt"][0]
        assert resources[token]["Type"] == "AWS::Lambda::Function", token
        env = resources[token]["Properties"]["Environment"]["Variables"]
        assert env["USER_ON_EVENT_FUNCTION_ARN"] == {"Fn::GetAtt": [ours[0], "Arn"]}, env
    services = sorted({r["Properties"]["AWSServiceName"] for r in roles})
    assert function["Environment"]["Variables"]["UPSERT_SLR_ALLOWED_SERVICES"] == ",".join(services)
    print(f"{stack}: {len(roles)} Custom::ServiceLinkedRole behind the Provider; the function is "
          f"{os.path.basename(zip_path)} on provided.al2023 ({function['Architectures'][0]})")


if __name__ == "__main__":
    main(*sys.argv[1:])
