"""Every IAM policy a template grants, read as IAM reads it and linted by parliament, which
knows each action's resource types and condition keys: a condition key IAM ignores for an
action (and so a grant wider than it looks) fails here.

    python -m checks.policies TEMPLATE [NAME=VALUE ...]
    python -m checks.policies --fixture tests/fixtures/function-policy.json

A template's intrinsic functions are resolved first: parameters from NAME=VALUE, else their
defaults; pseudo parameters and the resources' ARNs as examples. Also imported by
checks.templates, and run by make cdk-test on the stacks the construct library synthesizes.

`--fixture` writes the function's `service-linked-roles` policy of template.yaml, resolved for
the parameter sets of FIXTURE_PARAMETERS, for the Rust suites' IAM gate, which evaluates it in
front of LocalStack (which enforces no policy); make templates fails while the file is stale.
`granting` reads a resolved policy as IAM matches actions and ARNs, for the checks that name
concrete roles and stacks.
"""

import json
import re
import sys
from pathlib import Path

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
    def __init__(self, template, overrides, pseudo=None):
        self.resources = template.get("Resources", {})
        self.values = {**PSEUDO, **(pseudo or {})}
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


def as_list(value):
    return value if isinstance(value, list) else [value]


def wildcard(pattern):
    """IAM's matching of an action or ARN against a pattern: `*` any run of characters, `?` any
    one, everything else itself."""
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern), re.S)


def granting(statements, action, resource):
    """The statements of a resolved policy that allow `action` on the ARN `resource`, their
    conditions aside: a statement found may still be refused by its Condition, but an action
    no statement grants is refused. Action names are matched case-insensitively, as IAM does."""
    found = []
    for s in statements:
        unread = {"NotAction", "NotResource", "NotPrincipal"} & set(s)
        if s.get("Effect") != "Allow" or unread:
            raise ValueError(f"only Allow statements with Action and Resource are read here: {s}")
        actions = (wildcard(a.lower()) for a in as_list(s["Action"]))
        if any(a.fullmatch(action.lower()) for a in actions) and any(
            wildcard(r).fullmatch(resource) for r in as_list(s["Resource"])
        ):
            found.append(s)
    return found


def as_iam_reads(statement):
    """A resolved statement as IAM reads it: Action, Resource and every condition's values as
    lists of strings, Condition always present."""
    conditions = statement.get("Condition", {})
    return {
        "Sid": statement.get("Sid"),
        "Effect": statement["Effect"],
        "Action": as_list(statement["Action"]),
        "Resource": as_list(statement["Resource"]),
        "Condition": {
            operator: {key: [str(v) for v in as_list(values)] for key, values in keys.items()}
            for operator, keys in conditions.items()
        },
    }


# Roles of services that lists of allowed services name, or leave out: Elasticsearch's legacy
# role (which an OpenSearch domain adopts), a suffixed one, an Application Auto Scaling one.
SAMPLE_ROLES = {
    "ecs.amazonaws.com": "AWSServiceRoleForECS",
    "es.amazonaws.com": "AWSServiceRoleForAmazonElasticsearchService",
    "opensearchservice.amazonaws.com": "AWSServiceRoleForAmazonOpenSearchService",
    "elasticloadbalancing.amazonaws.com": "AWSServiceRoleForElasticLoadBalancing",
    "autoscaling.amazonaws.com": "AWSServiceRoleForAutoScaling_app",
    "ecs.application-autoscaling.amazonaws.com": "AWSServiceRoleForApplicationAutoScaling_ECSService",
}
ROLE_READS = ("iam:GetRole", "iam:GetServiceLinkedRoleDeletionStatus")
ROLE_WRITES = ("iam:CreateServiceLinkedRole", "iam:TagRole", "iam:UpdateRoleDescription", "iam:DeleteServiceLinkedRole")
STACK_READS = ("cloudformation:DescribeStacks", "cloudformation:ListStackResources")


def function_policy_problems(statements, allowed, account="123456789012", partition="aws"):
    """What the function's policy (resolved) must do for concrete roles and stacks of `account`,
    `allowed` being its AllowedServices: read any service-linked role, whatever `allowed` says;
    create, tag, change or delete only an allowed service's, and only under a condition; read
    this account's stacks and change none; nothing on another account's roles or stacks, nor on
    a role that is not service-linked."""
    problems = []

    def allows(action, resource, unconditionally=False):
        found = granting(statements, action, resource)
        return bool([s for s in found if not s.get("Condition")] if unconditionally else found)

    def is_allowed(service):
        return any(wildcard(p).fullmatch(service) for p in allowed)

    def role(service, name, at=account):
        return f"arn:{partition}:iam::{at}:role/aws-service-role/{service}/{name}"

    for service, name in SAMPLE_ROLES.items():
        arn = role(service, name)
        for action in ROLE_READS:
            if not allows(action, arn, unconditionally=True):
                problems.append(f"{action} is not granted on {arn} (AllowedServices {','.join(allowed)})")
            if allows(action, role(service, name, "999999999999")):
                problems.append(f"{action} is granted on another account's {name}")
        for action in ROLE_WRITES:
            found = granting(statements, action, arn)
            if is_allowed(service) and not found:
                problems.append(f"{action} is not granted on {arn}, of an allowed service")
            if not is_allowed(service) and found:
                problems.append(f"{action} is granted on {arn}, outside AllowedServices {','.join(allowed)}: {found}")
            if [s for s in found if not s.get("Condition")]:
                problems.append(f"{action} is granted on {arn} without a condition")
    if not [s for s in granting(statements, "iam:ListRoles", "*") if not s.get("Condition")]:
        problems.append("iam:ListRoles is not granted on *: a role IAM answers AccessDenied for cannot be looked up")
    other = f"arn:{partition}:iam::{account}:role/platform/upsert-slr"
    for action in ROLE_READS + ROLE_WRITES:
        if allows(action, other):
            problems.append(f"{action} is granted on {other}, which is not a service-linked role")
    stack = "stack/app/4f4e2b70-1d2c-11ef-9a8b-0e1f2a3b4c5d"
    for region in ("us-east-1", "eu-west-1"):
        arn = f"arn:{partition}:cloudformation:{region}:{account}:{stack}"
        for action in STACK_READS:
            if not allows(action, arn, unconditionally=True):
                problems.append(f"{action} is not granted on {arn}")
        for action in ("cloudformation:DeleteStack", "cloudformation:UpdateStack", "cloudformation:SignalResource"):
            if allows(action, arn):
                problems.append(f"{action} is granted on {arn}: the function only reads stacks")
    foreign = f"arn:{partition}:cloudformation:us-east-1:999999999999:{stack}"
    for action in STACK_READS:
        if allows(action, foreign):
            problems.append(f"{action} is granted on another account's stack {foreign}")
    return problems


ROOT = Path(__file__).resolve().parents[2]
# What the gate replays against: any service, and one service only.
FIXTURE_PARAMETERS = {
    "any-service": {"AllowedServices": "*"},
    "ecs-only": {"AllowedServices": "ecs.amazonaws.com"},
}
# The gate puts its own account where this stands.
FIXTURE_ACCOUNT = "{account}"
FIXTURE_PATH = "tests/fixtures/function-policy.json"
REGENERATE = f"PYTHONPATH=tests:scripts .venv-tools/bin/python -m checks.policies --fixture {FIXTURE_PATH}"


def function_policy(template, overrides, pseudo=None):
    """The statements of the function role's `service-linked-roles` policy, resolved."""
    resolve = Resolver(template, overrides, pseudo)
    role = resolve(template["Resources"]["FunctionRole"]["Properties"])
    [policy] = [p for p in role["Policies"] if p["PolicyName"] == "service-linked-roles"]
    return as_list(policy["PolicyDocument"]["Statement"])


def fixture_text(template):
    """tests/fixtures/function-policy.json as template.yaml's policy makes it."""
    policies = {}
    for name, parameters in FIXTURE_PARAMETERS.items():
        statements = function_policy(template, parameters, {"AWS::AccountId": FIXTURE_ACCOUNT})
        policies[name] = {"parameters": parameters, "Statement": [as_iam_reads(s) for s in statements]}
    fixture = {"generated_from": "template.yaml", "regenerate": REGENERATE, "policies": policies}
    return json.dumps(fixture, indent=2, sort_keys=True) + "\n"


def load(path):
    return json.loads(json.dumps(cfn_yaml.load(str(path))))


def main(path, *assignments):
    if path == "--fixture":
        [out] = assignments
        Path(out).write_text(fixture_text(load(ROOT / "template.yaml")))
        print(f"{out}: written from template.yaml")
        return
    template = load(path)
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
