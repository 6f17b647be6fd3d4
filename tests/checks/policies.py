"""Every IAM policy a template grants, read as IAM reads it and linted by parliament, which
knows each action's resource types and condition keys: a condition key IAM ignores for an
action (and so a grant wider than it looks) fails here.

    python -m checks.policies TEMPLATE [NAME=VALUE ...]

A template's intrinsic functions are resolved first: parameters from NAME=VALUE, else their
defaults; pseudo parameters and the resources' ARNs as examples. Also imported by
checks.templates, and run by make cdk-test on the stacks the construct library synthesizes.
"""
import json
import re
import sys

from cfnlint.decode import cfn_yaml
from parliament import analyze_policy_string

PSEUDO = {
    "AWS::Partition": "aws",
    "AWS::AccountId": "123456789012",
    "AWS::Region": "us-east-1",
    "AWS::StackName": "example",
    "AWS::URLSuffix": "amazonaws.com",
}
NO_VALUE = object()
# The resource types whose Ref is their ARN (for the others, a name or id).
REF_IS_ARN = {"AWS::StepFunctions::StateMachine", "AWS::SNS::Topic", "AWS::IAM::ManagedPolicy"}
# What an ARN of a template's own resource looks like, by its type (the rest: a generic ARN).
ARN_FORMS = {
    "AWS::Logs::LogGroup": "arn:aws:logs:us-east-1:123456789012:log-group:{id}:*",
    "AWS::Lambda::Function": "arn:aws:lambda:us-east-1:123456789012:function:{id}",
    "AWS::Serverless::Function": "arn:aws:lambda:us-east-1:123456789012:function:{id}",
    "AWS::IAM::Role": "arn:aws:iam::123456789012:role/{id}",
    "AWS::StepFunctions::StateMachine": "arn:aws:states:us-east-1:123456789012:stateMachine:{id}",
    "AWS::KMS::Key": "arn:aws:kms:us-east-1:123456789012:key/{id}",
}


class Resolver:
    def __init__(self, template, overrides):
        self.resources = template.get("Resources", {})
        self.values = dict(PSEUDO)
        for name, p in template.get("Parameters", {}).items():
            self.values[name] = overrides.get(name, p.get("Default", f"example-{name}"))
        self.conditions = {}
        for name, c in template.get("Conditions", {}).items():
            self.conditions[name] = self(c)

    def ref(self, name):
        if name in self.values:
            return self.values[name]
        if name == "AWS::NoValue":
            return NO_VALUE
        if self.resources.get(name, {}).get("Type") in REF_IS_ARN:
            return self.arn(name)
        return f"example-{name}"

    def arn(self, name):
        kind = self.resources.get(name, {}).get("Type", "")
        return ARN_FORMS.get(kind, "arn:aws:example:us-east-1:123456789012:{id}").format(id=name)

    def sub(self, text, variables):
        def value(match):
            name = match.group(1)
            if name in variables:
                return str(variables[name])
            if "." in name:
                return self.arn(name.split(".")[0])
            return str(self.ref(name))
        return re.sub(r"\$\{([^}!]+)\}", value, text)

    def __call__(self, node):
        if isinstance(node, list):
            return [v for v in map(self, node) if v is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            [(key, arg)] = node.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Fn::GetAtt":
                return self.arn(arg[0] if isinstance(arg, list) else arg.split(".")[0])
            if key == "Fn::Sub":
                text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], self(arg[1]))
                return self.sub(text, variables)
            if key == "Fn::Join":
                sep, parts = self(arg)
                return sep.join(str(p) for p in parts)
            if key == "Fn::Split":
                sep, text = self(arg)
                return text.split(sep)
            if key == "Fn::Select":
                index, items = self(arg)
                return items[int(index)]
            if key == "Fn::If":
                name, then, otherwise = arg
                return self(then if self.conditions[name] else otherwise)
            if key == "Fn::Equals":
                a, b = self(arg)
                return a == b
            if key == "Fn::Not":
                return not self(arg[0])
            if key == "Fn::And":
                return all(self(arg))
            if key == "Fn::Or":
                return any(self(arg))
            if key == "Condition":
                return self.conditions[arg]
            if key == "Fn::ImportValue":
                return "arn:aws:example:us-east-1:123456789012:imported"
        return {k: v for k, v in ((k, self(v)) for k, v in node.items()) if v is not NO_VALUE}


def inline_policies(role_properties):
    """A role's inline policies, those under an `Fn::If` included (both branches that are
    policies): a policy granted only with some parameters is linted too."""
    for policy in role_properties.get("Policies", []):
        if isinstance(policy, dict) and set(policy) == {"Fn::If"}:
            yield from (b for b in policy["Fn::If"][1:] if isinstance(b, dict) and "PolicyDocument" in b)
        else:
            yield policy


def documents(template):
    """(where, policy document) for every policy the template grants."""
    for name, resource in template.get("Resources", {}).items():
        properties = resource.get("Properties", {})
        kind = resource.get("Type")
        if kind == "AWS::IAM::Role":
            for policy in inline_policies(properties):
                yield f"{name}.Policies.{policy.get('PolicyName')}", policy["PolicyDocument"]
        elif kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            yield name, properties["PolicyDocument"]


def findings(template, overrides=None):
    """parliament's findings on every policy of `template`, as text naming where."""
    resolved = Resolver(template, overrides or {})
    found = []
    for where, document in documents(template):
        document = resolved(document)
        for finding in analyze_policy_string(json.dumps(document)).findings:
            found.append(f"{where}: {finding.issue}: {finding.detail}")
    return found


def main(path, *assignments):
    template = json.loads(json.dumps(cfn_yaml.load(path)))
    overrides = dict(a.split("=", 1) for a in assignments)
    count = sum(1 for _ in documents(template))
    problems = findings(template, overrides)
    for problem in problems:
        print(f"{path}: {problem}", file=sys.stderr)
    if problems:
        sys.exit(1)
    print(f"{path}: {count} policies, no finding")


if __name__ == "__main__":
    main(*sys.argv[1:])
