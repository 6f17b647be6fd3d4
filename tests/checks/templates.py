"""What the linters cannot know about the templates: that they agree with the handler and with
each other. Run by scripts/workshop/checks.py with the tools venv's python (cfn-lint's YAML
loader, botocore's IAM model, the SAM translator):

  python -m checks.templates RELEASE_TEMPLATE

The rules for one Custom::ServiceLinkedRole, which the documentation's checks share, are in
checks.slr_resource.
"""

import copy
import json
import re
import sys
import tomllib
from pathlib import Path

import botocore.session
import yaml
from cfnlint.decode import cfn_yaml

from checks import policies
from checks.policies import Resolver, inline_policies
from checks.slr_resource import accepted_properties, service_timeout_problems
from release_template import CODE_PARAMETERS, SAM_BUILD_METADATA, translate

ROOT = Path(__file__).resolve().parents[2]
# Where what creates, tags, changes or deletes a role may act: every service-linked role, or
# the allowed services' paths only.
ROLE_PATHS = {
    "Fn::If": [
        "AllowsAnyService",
        {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/aws-service-role/*"},
        {
            "Fn::Split": [
                ",",
                {
                    "Fn::Join": [
                        "",
                        [
                            "arn:*:iam::*:role/aws-service-role/",
                            {
                                "Fn::Join": [
                                    "/*,arn:*:iam::*:role/aws-service-role/",
                                    {"Fn::Split": [",", {"Ref": "AllowedServices"}]},
                                ]
                            },
                            "/*",
                        ],
                    ]
                },
            ]
        },
    ]
}
# Where reads may act, whatever AllowedServices says: any service's role.
ALL_SLRS = {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/aws-service-role/*"}
ROLE_READ_ACTIONS = {"iam:GetRole", "iam:GetServiceLinkedRoleDeletionStatus"}
# The stacks of this account, as a tag's value (a stack id) and as the stacks' resources.
STACK_IDS = {"Fn::Sub": "arn:${AWS::Partition}:cloudformation:*:${AWS::AccountId}:stack/*"}
OWN_STACKS = {"Fn::Sub": "arn:${AWS::Partition}:cloudformation:*:${AWS::AccountId}:stack/*/*"}
# The owners a role's stack-id tag may name: a stack of this account, or the Terraform mark.
OWNER_TAGS = [STACK_IDS, "terraform"]
# What the function may ever ask CloudFormation: reads. A new call there is a new review.
STACK_READ_ACTIONS = {"cloudformation:DescribeStacks", "cloudformation:ListStackResources"}
# The services whose calls the function's role may be granted.
GRANTED_SERVICES = {"iam", "cloudformation", "logs", "xray"}
# Calls that change a role that exists; each needs this tool's ownership tag on the role.
CHANGING_ROLE_ACTIONS = {
    "iam:UpdateRoleDescription",
    "iam:DeleteServiceLinkedRole",
    "iam:UpdateRole",
    "iam:DeleteRole",
    "iam:UntagRole",
    "iam:PutRolePolicy",
    "iam:DeleteRolePolicy",
    "iam:AttachRolePolicy",
    "iam:DetachRolePolicy",
    "iam:UpdateAssumeRolePolicy",
    "iam:PutRolePermissionsBoundary",
    "iam:DeleteRolePermissionsBoundary",
}
# Calls that can be granted only on "*": the fallback lookup, and Lambda's own X-Ray calls
# when the function is actively traced.
STAR_ACTIONS = ({"iam:ListRoles"}, {"xray:PutTraceSegments", "xray:PutTelemetryRecords"})
# The optional parameters: with their defaults the stack is what it was without them.
OPTIONAL_PARAMETERS = {"PermissionsBoundary": "", "RoleArn": "", "LogKmsKeyArn": "", "Tracing": "PassThrough"}
# Each resource's suppressions (the scanners' ids), which must come with a reason.
SUPPRESSIONS = {
    "Function": {"checkov": {"CKV_AWS_115", "CKV_AWS_116", "CKV_AWS_117", "CKV_AWS_173"}},
}
# A list AllowedServices may hold, to lint the policy as a restricted deployment has it.
RESTRICTED = {"AllowedServices": "ecs.amazonaws.com,*.application-autoscaling.amazonaws.com"}
# The one service of the documentation's example and of the fixture's ecs-only policy.
ONE_SERVICE = {"AllowedServices": "ecs.amazonaws.com"}
failures = []


def check(condition, message):
    if not condition:
        failures.append(message)


def load(path):
    return json.loads(json.dumps(cfn_yaml.load(str(path))))


def as_list(value):
    return value if isinstance(value, list) else [value]


def iam_actions_called_by_handler():
    """IAM operations the handler's source calls (`.create_service_linked_role()` ...)."""
    iam = botocore.session.get_session().get_service_model("iam")
    snake = {re.sub(r"(?<!^)(?=[A-Z])", "_", op).lower(): op for op in iam.operation_names}
    calls = set(re.findall(r"\.([a-z_]+)\(\)", (ROOT / "handler/adapters/iam.rs").read_text()))
    return {f"iam:{snake[c]}" for c in calls if c in snake}


# The ownership tags as handler/role/work.rs declares them, in that order.
TAG_CONSTANTS = ["STACK_TAG", "LOGICAL_ID_TAG", "REQUEST_TAG", "REMOVAL_POLICY_TAG"]


def ownership_tag_keys():
    """The tags by which the handler marks a role as created (handler/role/work.rs): the stack
    id first, the removal policy last."""
    source = (ROOT / "handler/role/work.rs").read_text()
    found = re.findall(r'pub const ([A-Z_]+_TAG): &str = "([^"]+)";', source)
    check(
        [name for name, _ in found] == TAG_CONSTANTS,
        f"could not read the ownership tags {TAG_CONSTANTS} from work.rs: {found}",
    )
    return [key for _, key in found]


def cloudformation_actions_called_by_handler():
    """The CloudFormation calls handler/adapters/cloudformation.rs declares it makes (`ACTIONS`)."""
    source = (ROOT / "handler/adapters/cloudformation.rs").read_text()
    match = re.search(r"pub const ACTIONS: \[&str; (\d+)\] = \[([^\]]*)\];", source)
    names = re.findall(r'"([A-Za-z]+)"', match.group(2)) if match else []
    check(
        match and len(names) == int(match.group(1)) and names,
        "could not read ACTIONS from handler/adapters/cloudformation.rs",
    )
    return {f"cloudformation:{name}" for name in names}


def tag_role_conditions(tag_keys):
    """The two ways the function may tag a role: a role without this tool's mark gets all of
    its tags (the one just created); a role a stack of this account marked gets only its
    removal policy rewritten."""
    stack_tag = f"aws:ResourceTag/{tag_keys[0]}"
    return [
        {"ForAllValues:StringEquals": {"aws:TagKeys": tag_keys}, "Null": {stack_tag: "true"}},
        {"ForAllValues:StringEquals": {"aws:TagKeys": [tag_keys[-1]]}, "StringLike": {stack_tag: OWNER_TAGS}},
    ]


def check_role_statement(s, tag_keys, stack_actions):
    """One statement of the function's role: only the job, and no change to a role the tool
    did not create."""
    actions = set(as_list(s["Action"]))
    condition = s.get("Condition", {})
    stack_tag = f"aws:ResourceTag/{tag_keys[0]}"
    check(not {"NotAction", "NotResource"} & set(s), f"NotAction and NotResource grant more than they name: {s}")
    services = {a.split(":")[0] for a in actions}
    check(services <= GRANTED_SERVICES, f"calls of {sorted(services - GRANTED_SERVICES)} granted: {s}")
    if s["Resource"] == "*":
        check(actions in STAR_ACTIONS, f"only {STAR_ACTIONS} may be on *: {s}")
    elif actions & ROLE_READ_ACTIONS:
        check(
            actions <= ROLE_READ_ACTIONS and s["Resource"] == ALL_SLRS and not condition,
            f"the role reads, and only they, must reach every service-linked role ({ALL_SLRS}): {s}",
        )
    elif "iam" in services:
        check(
            s["Resource"] == ROLE_PATHS,
            f"IAM actions that create or change must be scoped to the allowed services' paths: {s}",
        )
    if "cloudformation" in services:
        check(
            actions <= STACK_READ_ACTIONS & stack_actions and s["Resource"] == OWN_STACKS and not condition,
            f"CloudFormation: only {sorted(STACK_READ_ACTIONS)}, and only on this account's stacks {OWN_STACKS}: {s}",
        )
    if "iam:CreateServiceLinkedRole" in actions:
        check(
            condition == {"StringLike": {"iam:AWSServiceName": {"Fn::Split": [",", {"Ref": "AllowedServices"}]}}},
            f"CreateServiceLinkedRole must be conditioned on AllowedServices: {s}",
        )
    if "iam:TagRole" in actions:
        check(
            actions == {"iam:TagRole"} and condition in tag_role_conditions(tag_keys),
            f"TagRole must be alone, with all of the ownership tags on a role not yet carrying them, or "
            f"only {tag_keys[-1]} on a role a stack of this account marked: {s}",
        )
    if actions & CHANGING_ROLE_ACTIONS:
        check(
            condition.get("StringLike", {}).get(stack_tag) == OWNER_TAGS,
            f"{sorted(actions & CHANGING_ROLE_ACTIONS)} must require the ownership tag {tag_keys[0]} of a stack of this account or a Terraform owner: {s}",
        )


def service_linked_role_policies(where, template, overrides_list):
    """The function's policy resolved with each set of parameters, read for concrete roles and
    stacks (checks.policies.function_policy_problems): reads reach any service's role whatever
    AllowedServices says, and nothing creates, tags or changes a role outside it."""
    for overrides in overrides_list:
        allowed = Resolver(template, overrides).values["AllowedServices"].split(",")
        statements = policies.function_policy(template, overrides)
        for problem in policies.function_policy_problems(statements, allowed):
            check(False, f"{where} with {overrides or 'its defaults'}: {problem}")


def check_sam_template(template):
    function = template["Resources"]["Function"]["Properties"]
    role = template["Resources"]["FunctionRole"]["Properties"]
    statements = [s for p in inline_policies(role) for s in as_list(p["PolicyDocument"]["Statement"])]
    granted = set()
    tag_keys = ownership_tag_keys()
    stack_actions = cloudformation_actions_called_by_handler()
    for s in statements:
        check(s["Effect"] == "Allow", f"unexpected statement {s}")
        granted |= set(as_list(s["Action"]))
        check_role_statement(s, tag_keys, stack_actions)
    tagging = [s.get("Condition") for s in statements if "iam:TagRole" in as_list(s["Action"])]
    check(
        tagging == tag_role_conditions(tag_keys),
        f"TagRole must be granted in exactly two forms, {tag_role_conditions(tag_keys)}: {tagging}",
    )
    check_options(template)
    for overrides in ({}, RESTRICTED, CHOSEN):
        for finding in policies.findings(template, overrides):
            check(False, f"template.yaml with {overrides or 'its defaults'}: {finding}")
    service_linked_role_policies("template.yaml", template, ({}, RESTRICTED, CHOSEN, ONE_SERVICE))
    needed = iam_actions_called_by_handler()
    check(len(needed) >= 5, f"found too few IAM calls in handler/adapters/iam.rs: {needed}")
    iam_granted = {a for a in granted if a.startswith("iam:")}
    check(needed <= iam_granted, f"the handler calls {sorted(needed - iam_granted)} without a grant")
    check(iam_granted <= needed, f"granted but never called: {sorted(iam_granted - needed)}")
    stack_granted = {a for a in granted if a.startswith("cloudformation:")}
    check(stack_actions <= stack_granted, f"the handler calls {sorted(stack_actions - stack_granted)} without a grant")
    check(stack_granted <= stack_actions, f"granted but never called: {sorted(stack_granted - stack_actions)}")

    env = function["Environment"]["Variables"]
    check(
        env.get("UPSERT_SLR_ALLOWED_SERVICES") == {"Ref": "AllowedServices"},
        "UPSERT_SLR_ALLOWED_SERVICES must come from AllowedServices, as the policy's condition does",
    )
    check(function["LoggingConfig"].get("LogFormat") == "JSON", "the log format must be JSON")
    # The macro's roles get a ServiceTimeout above the function's timeout, which it reads here.
    check(
        env.get("UPSERT_SLR_FUNCTION_TIMEOUT") == {"Ref": "TimeoutSeconds"},
        "UPSERT_SLR_FUNCTION_TIMEOUT must be the function's Timeout (TimeoutSeconds)",
    )
    check(function.get("Timeout") == {"Ref": "TimeoutSeconds"}, "the function's Timeout must be TimeoutSeconds")
    macro = template["Resources"].get("Macro", {})
    check(macro.get("Type") == "AWS::CloudFormation::Macro", "template.yaml must declare the Macro")
    check(
        macro.get("Properties", {}).get("FunctionName") == {"Fn::GetAtt": ["Function", "Arn"]},
        "the Macro must invoke the function itself",
    )
    timeout = template["Parameters"]["TimeoutSeconds"]
    check(int(timeout["MaxValue"]) <= 900, "Lambda's timeout is at most 900 s")
    check_hook(template, env)

    version = template["Metadata"]["AWS::ServerlessRepo::Application"]["SemanticVersion"]
    cargo = tomllib.loads((ROOT / "Cargo.toml").read_text())["package"]["version"]
    check(version == cargo, f"SemanticVersion {version} differs from Cargo.toml's {cargo}")
    for key in ("LicenseUrl", "ReadmeUrl"):
        path = template["Metadata"]["AWS::ServerlessRepo::Application"][key]
        check((ROOT / path).is_file(), f"{key} {path} does not exist")


def check_hook(template, env):
    """The Lambda Hook: off by default, its targets the table's, its execution role able to
    invoke this function and nothing else, its settings reaching the function."""
    from hook_targets import target_names

    resources = template["Resources"]
    hook = resources.get("Hook", {})
    check(hook.get("Type") == "AWS::CloudFormation::LambdaHook", "template.yaml must declare the Hook")
    check(template["Parameters"]["RegisterHook"]["Default"] == "false", "the hook must be off by default")
    check(hook.get("Condition") == "HasHook", "the Hook must be conditional on RegisterHook")
    props = hook.get("Properties", {})
    check(
        props.get("LambdaFunction") == {"Fn::GetAtt": ["Function", "Arn"]}, "the Hook must invoke the function itself"
    )
    check(template["Parameters"]["HookFailureMode"]["Default"] == "WARN", "FailureMode must default to WARN")
    table = json.loads((ROOT / "slr-needs.json").read_text())
    check(
        props.get("TargetFilters", {}).get("TargetNames") == target_names(table),
        "the Hook's TargetNames are not slr-needs.json's types: run python3 scripts/hook_targets.py --write",
    )
    role = resources.get("HookExecutionRole", {}).get("Properties", {})
    statements = [s for p in role.get("Policies", []) for s in p["PolicyDocument"]["Statement"]]
    check(
        statements
        == [{"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": {"Fn::GetAtt": ["Function", "Arn"]}}],
        f"the hook's execution role may only invoke the function: {statements}",
    )
    principals = [s["Principal"] for s in role.get("AssumeRolePolicyDocument", {}).get("Statement", [])]
    check(
        principals == [{"Service": "hooks.cloudformation.amazonaws.com"}],
        f"the hook's execution role trusts {principals}",
    )
    check(env.get("UPSERT_SLR_HOOK_MODE") == {"Ref": "HookMode"}, "UPSERT_SLR_HOOK_MODE must be HookMode")
    check(
        env.get("UPSERT_SLR_HOOK_WAIT_SECONDS") == {"Ref": "HookWaitSeconds"},
        "UPSERT_SLR_HOOK_WAIT_SECONDS must be HookWaitSeconds",
    )


# Every option chosen, to lint the policies as such a deployment has them.
CHOSEN = {
    "PermissionsBoundary": "arn:aws:iam::123456789012:policy/boundary",
    "LogKmsKeyArn": "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    "Tracing": "Active",
}


def resolved(template, overrides):
    """The template's resources as CloudFormation would create them with these parameters."""
    resolve = Resolver(template, overrides)
    return {
        name: resolve(r)
        for name, r in template["Resources"].items()
        if "Condition" not in r or resolve.conditions[r["Condition"]]
    }


def check_options(template):
    """Permissions boundary, bring-your-own role, log key and tracing: each reaches what it
    names, and with the defaults nothing is added."""
    for name, default in OPTIONAL_PARAMETERS.items():
        check(
            template["Parameters"].get(name, {}).get("Default") == default,
            f"parameter {name} must exist with the default {default!r}",
        )
    defaults = resolved(template, {})
    check(
        sorted(defaults) == ["Function", "FunctionRole", "LogGroup", "Macro"],
        f"the default stack's resources changed: {sorted(defaults)}",
    )
    check(
        "PermissionsBoundary" not in defaults["FunctionRole"]["Properties"],
        "the default role has a permissions boundary",
    )
    check("KmsKeyId" not in defaults["LogGroup"]["Properties"], "the default log group names a key")
    check(
        [p["PolicyName"] for p in defaults["FunctionRole"]["Properties"]["Policies"]]
        == ["logs", "service-linked-roles"],
        "the default role's policies changed",
    )
    check(
        defaults["Function"]["Properties"].get("Tracing", "PassThrough") == "PassThrough",
        "the default function is actively traced",
    )

    chosen = resolved(template, CHOSEN)
    role = chosen["FunctionRole"]["Properties"]
    check(
        role.get("PermissionsBoundary") == CHOSEN["PermissionsBoundary"],
        f"PermissionsBoundary does not reach the function's role: {role.get('PermissionsBoundary')}",
    )
    check(
        chosen["LogGroup"]["Properties"].get("KmsKeyId") == CHOSEN["LogKmsKeyArn"],
        "LogKmsKeyArn does not reach the log group",
    )
    check(chosen["Function"]["Properties"].get("Tracing") == "Active", "Tracing does not reach the function")
    check(
        "xray" in [p["PolicyName"] for p in role["Policies"]],
        "an actively traced function's role cannot send its traces",
    )
    # A name stands for the policy of that name in the stack's account (a StackSet's case).
    named = resolved(template, {"PermissionsBoundary": "boundaries/workloads"})["FunctionRole"]["Properties"]
    check(
        named.get("PermissionsBoundary") == "arn:aws:iam::123456789012:policy/boundaries/workloads",
        f"a PermissionsBoundary name does not become the account's policy: {named.get('PermissionsBoundary')}",
    )
    by_name = resolved(template, {"RoleArn": "platform/upsert-slr"})
    check(
        by_name["Function"]["Properties"]["Role"] == "arn:aws:iam::123456789012:role/platform/upsert-slr",
        f"a RoleArn name does not become the account's role: {by_name['Function']['Properties']['Role']}",
    )
    check("FunctionRole" not in by_name, "with a RoleArn name the stack still creates a role")

    own = "arn:aws:iam::123456789012:role/platform/upsert-slr"
    brought = resolved(template, {"RoleArn": own})
    check("FunctionRole" not in brought, "with RoleArn the stack still creates a role")
    check(brought["Function"]["Properties"]["Role"] == own, "with RoleArn the function does not use it")
    check(
        not [r for r in brought.values() if r["Type"] == "AWS::IAM::Role"], "with RoleArn the stack creates an IAM role"
    )


def check_suppressions(where, resources):
    """The scanner suppressions are the reviewed ones, and each gives a reason a reviewer can
    weigh: a new skip, or one dropped from the release template, fails here."""
    for name, resource in resources.items():
        metadata = resource.get("Metadata", {})
        skips = metadata.get("checkov", {}).get("skip", [])
        ids = {s.get("id") for s in skips}
        expected = SUPPRESSIONS.get(name, {}).get("checkov", set())
        check(ids == expected, f"{where}: {name}'s checkov skips {sorted(ids)}, expected {sorted(expected)}")
        for skip in skips:
            check(len(skip.get("comment", "")) >= 40, f"{where}: {name}'s skip of {skip.get('id')} gives no reason")
        for rule in metadata.get("cfn_nag", {}).get("rules_to_suppress", []):
            check(len(rule.get("reason", "")) >= 40, f"{where}: {name}'s cfn_nag {rule.get('id')} gives no reason")
        for rule in metadata.get("guard", {}).get("SuppressedRules", []):
            check(isinstance(rule, str) and rule.isupper(), f"{where}: {name}'s guard rule {rule!r} is not a rule name")


def check_release_template(release, sam):
    """The release template deploys what the SAM app deploys: the same parameters (plus the
    code's), resources, role policy, conditions and outputs; only where the code comes from
    differs."""
    expanded = translate(sam)
    check("Transform" not in release, "the release template has a transform")
    kinds = {r["Type"] for r in release["Resources"].values()}
    check(not any(k.startswith("AWS::Serverless::") for k in kinds), f"SAM types left: {kinds}")
    parameters = release["Parameters"]
    check(
        set(parameters) == set(sam["Parameters"]) | set(CODE_PARAMETERS),
        f"release template parameters {sorted(parameters)} are not the SAM app's plus {sorted(CODE_PARAMETERS)}",
    )
    for name, definition in sam["Parameters"].items():
        check(parameters.get(name) == definition, f"release template parameter {name} differs from the SAM app's")
    check(
        set(release["Resources"]) == set(expanded["Resources"]),
        f"release template resources {sorted(release['Resources'])}, SAM app's {sorted(expanded['Resources'])}",
    )
    for name, resource in expanded["Resources"].items():
        mine = copy.deepcopy(release["Resources"].get(name, {}))
        theirs = copy.deepcopy(resource)
        if name == "Function":
            # Only sam build's keys are dropped: the suppressions must travel.
            for key in SAM_BUILD_METADATA:
                theirs.get("Metadata", {}).pop(key, None)
            if not theirs.get("Metadata", True):
                del theirs["Metadata"]
            for side in (mine, theirs):
                side.get("Properties", {}).pop("Code", None)
                side.get("Properties", {}).pop("Tags", None)
        check(mine == theirs, f"release template resource {name} differs from the SAM app's")
    check(
        release["Resources"]["FunctionRole"]["Properties"]["Policies"]
        == sam["Resources"]["FunctionRole"]["Properties"]["Policies"],
        "the release template's role policy differs from the SAM app's",
    )
    service_linked_role_policies("the release template", release, ({}, RESTRICTED, ONE_SERVICE))
    # The translator must leave this Ref for the stack (scripts/release_template.py).
    role = release["Resources"]["Function"]["Properties"]["Role"]
    check(
        role["Fn::If"][:2] == ["CreatesRole", {"Fn::GetAtt": ["FunctionRole", "Arn"]}]
        and role["Fn::If"][2]["Fn::If"][:2] == ["RoleIsArn", {"Ref": "RoleArn"}],
        f"the release template's function does not take RoleArn: {role}",
    )
    code = release["Resources"]["Function"]["Properties"]["Code"]
    check(code.get("S3Bucket") == {"Ref": "CodeS3Bucket"}, f"the function's code is not in CodeS3Bucket: {code}")
    for name, condition in expanded.get("Conditions", {}).items():
        check(release.get("Conditions", {}).get(name) == condition, f"release template condition {name} differs")
    check(release.get("Outputs") == expanded.get("Outputs"), "release template outputs differ from the SAM app's")


def check_service_timeout(where, value, parameters):
    for problem in service_timeout_problems(where, value, parameters):
        check(False, problem)


def check_examples(export_name, release_template):
    accepted = accepted_properties()
    examples = sorted((ROOT / "examples/cloudformation").glob("*.yaml"))
    check(examples, "no examples under examples/cloudformation")
    parameters_of = {"the release template": set(load(release_template)["Parameters"])}
    slrs = 0
    for path in examples:
        template = load(path)
        parameters_of[path.name] = set(template.get("Parameters", {}))
        for name, resource in template["Resources"].items():
            if resource["Type"] != "Custom::ServiceLinkedRole":
                continue
            slrs += 1
            where = f"{path.name}: {name}"
            props = resource["Properties"]
            unknown = set(props) - accepted
            check(not unknown, f"{where}: properties the handler does not read: {sorted(unknown)}")
            token = props.get("ServiceToken")
            check(
                token == {"Fn::ImportValue": {"Ref": "ServiceTokenExportName"}},
                f"{where}: ServiceToken must import the ServiceTokenExportName parameter",
            )
            default = template["Parameters"]["ServiceTokenExportName"].get("Default")
            check(default == export_name, f"{path.name}: export name {default} is not the SAM app's {export_name}")
            check_service_timeout(where, props.get("ServiceTimeout"), template.get("Parameters", {}))
    check(slrs >= 2, "the examples declare too few Custom::ServiceLinkedRole")

    # The StackSets pass parameters to the release template and to the baseline: the names must exist.
    stacksets = load(ROOT / "examples/cloudformation/stacksets.yaml")["Resources"]
    targets = {"FunctionStackSet": "the release template", "BaselineStackSet": "slr-baseline.yaml"}
    for name, target in targets.items():
        keys = {p["ParameterKey"] for p in stacksets[name]["Properties"].get("Parameters", [])}
        missing = keys - parameters_of[target]
        check(not missing, f"stacksets.yaml: {name} passes {sorted(missing)}, unknown to {target}")
    # A fleet whose SCPs require a boundary, or whose roles come from a platform team.
    passed = {p["ParameterKey"] for p in stacksets["FunctionStackSet"]["Properties"].get("Parameters", [])}
    for name in ("PermissionsBoundary", "RoleArn"):
        check(name in passed, f"stacksets.yaml: FunctionStackSet does not pass {name}")


def check_fixture(sam):
    """The Rust suites' IAM gate evaluates the policy template.yaml grants, from a file."""
    path = ROOT / policies.FIXTURE_PATH
    current = path.read_text() if path.is_file() else None
    check(
        current == policies.fixture_text(sam),
        f"{policies.FIXTURE_PATH} is not template.yaml's policy: run {policies.REGENERATE}",
    )


def check_documented_policy(sam):
    """docs/configuration.md shows the statements as template.yaml grants them with
    AllowedServices ecs.amazonaws.com."""
    text = (ROOT / "docs/configuration.md").read_text()
    section = text.split("## IAM permissions the function needs", 1)[-1]
    block = re.search(r"```json\n(.*?)```", section, re.S)
    try:
        shown = [policies.as_iam_reads(s) for s in json.loads(block.group(1))] if block else None
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        shown = f"unreadable: {e}"
    granted = [policies.as_iam_reads(s) for s in policies.function_policy(sam, ONE_SERVICE)]
    check(
        shown == granted,
        "docs/configuration.md's statements are not template.yaml's with AllowedServices "
        f"ecs.amazonaws.com: {json.dumps(granted)}",
    )


def narrow_reads(release_template: Path, copy: Path) -> None:
    """A copy whose reads reach only the allowed services' roles, as they did before the hook
    and OpenSearch's adoption needed any service's: the input `main` must refuse."""
    template = yaml.safe_load(release_template.read_text())
    [policy] = [
        p
        for p in template["Resources"]["FunctionRole"]["Properties"]["Policies"]
        if isinstance(p, dict) and p.get("PolicyName") == "service-linked-roles"
    ]
    statements = {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}
    statements["ReadServiceLinkedRoles"]["Resource"] = statements["CreateAllowedServiceLinkedRoles"]["Resource"]
    with open(copy, "w") as f:
        yaml.safe_dump(template, f, sort_keys=False, width=100)


def main():
    if sys.argv[1] == "--narrow-reads":
        narrow_reads(Path(sys.argv[2]), Path(sys.argv[3]))
        return
    release_template = Path(sys.argv[1])
    sam = load(ROOT / "template.yaml")
    check_sam_template(sam)
    check_fixture(sam)
    check_documented_policy(sam)
    check_release_template(load(release_template), sam)
    check_suppressions("template.yaml", sam["Resources"])
    check_suppressions(release_template.name, load(release_template)["Resources"])
    for path in [release_template, *sorted((ROOT / "examples/cloudformation").glob("*.yaml"))]:
        for finding in policies.findings(load(path)):
            check(False, f"{path.name}: {finding}")
    check_examples(sam["Parameters"]["ServiceTokenExportName"]["Default"], release_template)
    for failure in failures:
        print(f"FAIL {failure}", file=sys.stderr)
    print(f"template consistency: {'failed' if failures else 'ok'}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
