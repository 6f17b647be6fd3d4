"""Checks that a ServiceLinkedRoleFunction stack deploys what the SAM app (template.yaml) deploys.

    python -m checks.cdk_function CLOUD_ASSEMBLY STACK TEMPLATE_YAML PARAMETERS_JSON

template.yaml goes through the SAM transform as scripts/release_template.py expands it, with
PARAMETERS_JSON over its parameters' defaults; the parameters, conditions and the intrinsic
functions on them are then evaluated. The construct's function, role, log group and export must
equal the SAM app's, property by property; only the function's code and the logical ids differ.
Its service-linked-roles policy is also read for concrete roles and stacks
(checks.policies.function_policy_problems), so that the two cannot be wrong together: any
service's role read whatever AllowedServices says, nothing created or changed outside it.
"""

import json
import os
import sys
from pathlib import Path

from cfnlint.decode import decode_str

from checks.policies import Resolver, as_list, function_policy_problems
from release_template import translate

NO_VALUE = object()


def processed_sam(path, overrides):
    template, matches = decode_str(Path(path).read_text())
    assert not matches, matches
    template = json.loads(json.dumps(template))
    # Expanded as the release template is; where the code comes from is not compared.
    out = translate(template)
    values = {}
    for name, p in template["Parameters"].items():
        value = overrides.get(name, p.get("Default"))
        values[name] = int(value) if p["Type"] == "Number" else value
    unknown = set(overrides) - set(values)
    assert not unknown, f"template.yaml has no parameters {unknown}"
    conditions = {}
    for name, c in out.get("Conditions", {}).items():
        conditions[name] = evaluate(c, values, conditions)
    processed = evaluate(out, values, conditions)
    # What the stack would not create with these parameters (the hook unless asked for).
    processed["Resources"] = {
        k: r for k, r in processed["Resources"].items() if conditions.get(r.get("Condition"), True)
    }
    return processed


def evaluate(node, values, conditions):
    """The node with references to parameters and conditions resolved."""
    if isinstance(node, list):
        return [v for v in (evaluate(n, values, conditions) for n in node) if v is not NO_VALUE]
    if not isinstance(node, dict):
        return node
    if len(node) == 1:
        [(key, arg)] = node.items()
        if key == "Ref" and arg in values:
            return values[arg]
        if key == "Ref" and arg == "AWS::NoValue":
            return NO_VALUE
        if key == "Fn::Split":
            sep, text = evaluate(arg, values, conditions)
            if isinstance(text, str):
                return text.split(sep)
        if key == "Fn::Join":
            sep, parts = evaluate(arg, values, conditions)
            if isinstance(parts, list) and all(isinstance(p, str) for p in parts):
                return sep.join(parts)
        if key == "Fn::Equals":
            a, b = evaluate(arg, values, conditions)
            return a == b
        if key == "Fn::Not":
            return not evaluate(arg[0], values, conditions)
        if key == "Fn::If":
            name, then, otherwise = arg
            return evaluate(then if conditions[name] else otherwise, values, conditions)
    return {k: v for k, v in ((k, evaluate(v, values, conditions)) for k, v in node.items()) if v is not NO_VALUE}


def sam_parameter_default(path):
    template, _ = decode_str(Path(path).read_text())
    return template["Parameters"]["AllowedServices"]["Default"]


def renamed(node, names):
    """The node with the construct's logical ids replaced by the SAM app's."""
    text = json.dumps(node)
    for ours, theirs in names.items():
        text = text.replace(json.dumps(ours), json.dumps(theirs))
    return json.loads(text)


def single(statement):
    """The statement with a one-element Action or Resource list as its element, as IAM reads
    it (and as the CDK writes it)."""
    return {
        k: v[0] if k in ("Action", "Resource") and isinstance(v, list) and len(v) == 1 else v
        for k, v in statement.items()
    }


def only(resources, type_):
    found = [k for k, r in resources.items() if r["Type"] == type_]
    assert len(found) == 1, f"one {type_}: {found}"
    return found[0]


def main(out, stack, template_yaml, parameters_json):
    sam = processed_sam(template_yaml, json.loads(parameters_json))
    with open(os.path.join(out, f"{stack}.template.json")) as f:
        cdk = json.load(f)
    resources = {k: r for k, r in cdk["Resources"].items() if r["Type"] != "AWS::CDK::Metadata"}
    names = {
        only(resources, "AWS::Lambda::Function"): "Function",
        only(resources, "AWS::IAM::Role"): "FunctionRole",
        only(resources, "AWS::Logs::LogGroup"): "LogGroup",
    }
    ours = renamed({names[k]: r for k, r in resources.items()}, names)
    # The SAM app also registers the function as the UpsertSlr macro, and tells it its timeout
    # for the resources the macro adds; a CDK app takes the aspect instead, so the construct
    # has neither. Nor does it register the Lambda Hook, whose settings the SAM app passes.
    theirs = {k: r for k, r in sam["Resources"].items() if r["Type"] != "AWS::CloudFormation::Macro"}
    sam_variables = theirs["Function"]["Properties"].get("Environment", {}).get("Variables", {})
    for name in ("UPSERT_SLR_FUNCTION_TIMEOUT", "UPSERT_SLR_HOOK_MODE", "UPSERT_SLR_HOOK_WAIT_SECONDS"):
        sam_variables.pop(name, None)
    assert sorted(ours) == sorted(theirs), f"resources: {sorted(ours)} and template.yaml's {sorted(theirs)}"

    for logical_id in ("Function", "FunctionRole", "LogGroup"):
        mine, sams = ours[logical_id], theirs[logical_id]
        assert mine["Type"] == sams["Type"], (logical_id, mine["Type"], sams["Type"])
        for policy in ("DeletionPolicy", "UpdateReplacePolicy"):
            assert mine.get(policy) == sams.get(policy), (logical_id, policy, mine.get(policy), sams.get(policy))
        a, b = dict(mine["Properties"]), dict(sams["Properties"])
        if logical_id == "Function":
            assert set(a.pop("Code")) == {"S3Bucket", "S3Key"}
            b.pop("Code")
            # The transform's mark of a function SAM made; the construct does not claim it.
            assert b.pop("Tags") == [{"Key": "lambda:createdBy", "Value": "SAM"}]
            # Tracing's default, PassThrough, is what Lambda does without a TracingConfig,
            # which is how the construct leaves it by default.
            if b.get("TracingConfig") == {"Mode": "PassThrough"} and "TracingConfig" not in a:
                del b["TracingConfig"]
        if logical_id == "FunctionRole":
            a["Policies"] = sorted(a["Policies"], key=lambda p: p["PolicyName"])
            b["Policies"] = sorted(b["Policies"], key=lambda p: p["PolicyName"])
            for policies in (a["Policies"], b["Policies"]):
                for policy in policies:
                    policy["PolicyDocument"]["Statement"] = [single(t) for t in policy["PolicyDocument"]["Statement"]]
            for policy_a, policy_b in zip(a["Policies"], b["Policies"], strict=False):
                for sa, sb in zip(
                    policy_a["PolicyDocument"]["Statement"], policy_b["PolicyDocument"]["Statement"], strict=False
                ):
                    assert sa == sb, (
                        f"{policy_a['PolicyName']}: statement {json.dumps(sa)}\n  template.yaml: {json.dumps(sb)}"
                    )
        for key in sorted(set(a) | set(b)):
            assert a.get(key) == b.get(key), (
                f"{logical_id}.{key}: {json.dumps(a.get(key))}\n  template.yaml: {json.dumps(b.get(key))}"
            )

    allowed = json.loads(parameters_json).get("AllowedServices", sam_parameter_default(template_yaml)).split(",")
    resolve = Resolver(cdk, {})
    [policy] = [
        p for p in resolve(ours["FunctionRole"]["Properties"])["Policies"] if p["PolicyName"] == "service-linked-roles"
    ]
    problems = function_policy_problems(as_list(policy["PolicyDocument"]["Statement"]), allowed)
    assert not problems, f"{stack}'s function policy:\n  " + "\n  ".join(problems)

    exports = [renamed(o, names) for o in cdk["Outputs"].values() if "Export" in o]
    sam_export = sam["Outputs"]["ServiceToken"]
    assert exports == [sam_export], f"exports: {exports}\n  template.yaml: {sam_export}"
    print(
        f"{stack}: the function, its role and policy, log group and export are template.yaml's (with {parameters_json})"
    )


if __name__ == "__main__":
    main(*sys.argv[1:])
