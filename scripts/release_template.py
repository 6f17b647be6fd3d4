"""Writes the release template: the SAM app (template.yaml) as plain CloudFormation, deploying
the function from a release zip in S3. Run with the tools venv's Python (the SAM translator).

    python scripts/release_template.py TEMPLATE VERSION OUT

No transform, so a service-managed StackSet, a Service Catalog product or Customizations for
Control Tower can deploy it, and `aws cloudformation deploy` needs neither Rust nor the SAM CLI.
It has template.yaml's parameters, plus CodeS3Bucket and CodeS3Key, and its resources as the
SAM transform expands them; tests/checks/templates.py checks that the two agree.
"""

import copy
import os
import sys

import yaml
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

CODE_PARAMETERS = {
    "CodeS3Bucket": {
        "Type": "String",
        "MinLength": 3,
        "Description": (
            "Bucket holding the release zip, in this stack's region (Lambda reads code only "
            "from there; another account's bucket is fine if it grants s3:GetObject)."
        ),
    },
    "CodeS3Key": {
        "Type": "String",
        "Default": "",
        "Description": (
            "Key of the release zip in CodeS3Bucket. Empty: the zip's release name for the "
            "chosen Architecture, upsert-slr-VERSION-ARCHITECTURE.zip, at the bucket's top."
        ),
    },
}


# Keys of the function's Metadata that only `sam build` reads.
SAM_BUILD_METADATA = ("BuildMethod", "BuildProperties")


class NoManagedPolicies:
    """The template names no managed policy, so the transform needs no IAM lookup."""

    def load(self):
        raise RuntimeError("the template refers to a managed policy: not supported offline")


def translate(sam: dict) -> dict:
    """template.yaml as the SAM transform expands it (offline), its code at a placeholder."""
    # The translator asks for a region; nothing it writes for this template depends on it.
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    parameters = sam.get("Parameters", {})
    sam = copy.deepcopy(sam)
    sam["Resources"]["Function"]["Properties"]["CodeUri"] = "s3://code-bucket/code.zip"
    # The translator puts a parameter's default in place of a Ref to it in some properties
    # (the function's Role among them): without defaults it leaves every Ref for the stack.
    for definition in sam.get("Parameters", {}).values():
        definition.pop("Default", None)
    plain = transform(sam, {}, NoManagedPolicies())
    plain["Parameters"] = copy.deepcopy(parameters)
    return plain


def release_template(sam: dict, version: str) -> dict:
    plain = translate(sam)
    # How `sam build` builds it has nothing to do with the release zip; the rest of the
    # Metadata (the scanners' suppressions and their reasons) must travel with the function.
    metadata = plain["Resources"]["Function"].get("Metadata", {})
    for key in SAM_BUILD_METADATA:
        metadata.pop(key, None)
    if not metadata:
        plain["Resources"]["Function"].pop("Metadata", None)
    function = plain["Resources"]["Function"]["Properties"]
    function["Code"] = {
        "S3Bucket": {"Ref": "CodeS3Bucket"},
        "S3Key": {
            "Fn::If": ["HasCodeS3Key", {"Ref": "CodeS3Key"}, {"Fn::Sub": f"upsert-slr-{version}-${{Architecture}}.zip"}]
        },
    }
    # The SAM transform marks what it made; this function is not made by SAM.
    function["Tags"] = [t for t in function.get("Tags", []) if t["Key"] != "lambda:createdBy"]
    if not function["Tags"]:
        del function["Tags"]
    metadata = plain.get("Metadata", {})
    metadata.pop("AWS::ServerlessRepo::Application", None)
    groups = metadata.setdefault("AWS::CloudFormation::Interface", {}).setdefault("ParameterGroups", [])
    groups.insert(0, {"Label": {"default": "Code"}, "Parameters": list(CODE_PARAMETERS)})
    conditions = plain.setdefault("Conditions", {})
    conditions["HasCodeS3Key"] = {"Fn::Not": [{"Fn::Equals": [{"Ref": "CodeS3Key"}, ""]}]}
    order = ["AWSTemplateFormatVersion", "Description", "Metadata", "Parameters", "Conditions", "Resources", "Outputs"]
    out = {key: plain[key] for key in order if key in plain}
    out["Description"] = plain["Description"].replace("upsert-slr:", f"upsert-slr {version}:", 1)
    out["Parameters"] = {**CODE_PARAMETERS, **plain["Parameters"]}
    return out


def main(template_path: str, version: str, out_path: str) -> None:
    with open(template_path) as f:
        template = release_template(yaml_parse(f.read()), version)
    header = (
        f"# upsert-slr {version}, the release template: {template_path} as plain CloudFormation,\n"
        "# written by `make dist` (scripts/release_template.py). Deploy it with the release zip in\n"
        "# a bucket of the stack's region; see docs/deploy.md.\n"
    )
    with open(out_path, "w") as f:
        f.write(header)
        yaml.safe_dump(template, f, sort_keys=False, width=100, default_flow_style=False)


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
