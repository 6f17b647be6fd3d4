"""The construct library upsert-slr-cdk (cdk/) and the example app (examples/cdk), tested:

1. make dist (reused when it is this clean commit's);
2. the synth tests against the lowest aws-cdk-lib it supports, cdk-nag 2's packs among them,
   and API.md against what jsii-docgen makes of the source;
3. the packed artifacts as a user has them, outside the checkout with no cargo on PATH: a
   TypeScript app and a Python venv install them, run the synth tests against the newest
   aws-cdk-lib (cdk-nag 3 and the last 2), synthesize every mode, and every TypeScript and
   Python snippet of the documentation synthesizes (tests/checks/doc_snippets.py);
4. the example app through the CDK CLI, then an end-to-end test in which the CDK Provider
   framework's own runtime drives the function under `cargo lambda watch` against LocalStack.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from workshop import localstack, release, venvs
from workshop.localstack import free_port
from workshop.rust import clean_commit, debug_binary
from workshop.shell import ROOT, Refused, crate_version, npm_ci, run, say, scratch, timed, without_rust
from workshop.watch import watching

CDK = ROOT / "cdk"
EXAMPLE = ROOT / "examples/cdk"
# The compiled synth tests, run in the checkout and again inside the installed package
# (synth-support.js is what synth.test.js and modes.test.js share).
SYNTH_TESTS = ("synth-support.js", "synth.test.js", "modes.test.js", "aspect.test.js", "nag.test.js")
# The roles the example app declares (examples/cdk/bin/app.ts) and the Python app's.
EXAMPLE_ROLES = [
    {
        "AWSServiceName": "ecs.amazonaws.com",
        "Description": "Role for ECS, managed by upsert-slr",
        "RemovalPolicy": "Retain",
    },
    {
        "AWSServiceName": "autoscaling.amazonaws.com",
        "CustomSuffix": "example",
        "PropagationWaitSeconds": 30,
        "RemovalPolicy": "Delete",
    },
]
PYTHON_ECS = {"AWSServiceName": "ecs.amazonaws.com", "Description": "Service-linked role for Amazon ECS"}


def cdk_test() -> None:
    """The construct library: synth tests, the packed artifacts in TypeScript and Python apps, the Provider framework driving the function."""
    os.environ["CDK_DISABLE_CLI_TELEMETRY"] = "true"  # no notices fetched, no telemetry sent
    commit = clean_commit()
    dist_commit = ROOT / "dist/.commit"
    if (
        commit
        and dist_commit.is_file()
        and dist_commit.read_text().strip() == commit
        and (CDK / "lambda/manifest.json").is_file()
    ):
        say("dist/ is this commit's, built from a clean tree: reused")
    else:
        with timed("make dist"):
            release.dist()
    venvs.use_tools()  # cargo lambda watch, for the end-to-end test
    version = crate_version()
    built = [f["architecture"] for f in json.loads((CDK / "lambda/manifest.json").read_text())["functions"]]
    arch = "arm64" if "arm64" in built else "x86_64"
    lowest = json.loads((CDK / "node_modules/aws-cdk-lib/package.json").read_text())["version"]
    say(f"synth tests against aws-cdk-lib {lowest} (the lowest supported)")
    run(["npm", "test"], cwd=CDK)
    say("API.md against jsii-docgen's output for this source")
    run(["npm", "run", "--silent", "check:api"], cwd=CDK)
    with scratch() as work:
        with timed("the packed artifacts"):
            packed_artifacts(work, version, arch)
        say("every IAM policy the synthesized stacks grant, linted by parliament")
        for template in sorted([*work.glob("ts/cdk.out/*.template.json"), *work.glob("py/cdk.out/*.template.json")]):
            run(["python", "-m", "checks.policies", template])
        example_app(work)


def packed_artifacts(work: Path, version: str, arch: str) -> None:
    """What a user has: the packed artifacts, Node.js and Python, and no Rust toolchain."""
    say("the packed artifacts in a TypeScript app and a Python venv, outside the checkout, without cargo")
    dist = ROOT / "dist"
    for name in [f"upsert-slr-cdk-{version}.tgz", f"upsert_slr_cdk-{version}-py3-none-any.whl"]:
        shutil.copy(dist / name, work)
    for zipped in dist.glob(f"upsert-slr-{version}-*.zip"):
        shutil.copy(zipped, work)
    for check in ("check_synth.py", *SYNTH_TESTS):
        shutil.copy(CDK / "test" / check, work)
    (work / "ts").mkdir()
    for name in ("package.json", "package-lock.json", ".npmrc", "tsconfig.json"):
        shutil.copy(CDK / "test/consumer-ts" / name, work / "ts")
    shutil.copy(EXAMPLE / "bin/app.ts", work / "ts/app.ts")
    (work / "py").mkdir()
    for name in ("app.py", "nag_app.py", "requirements.txt", "requirements-nag.txt"):
        shutil.copy(CDK / "test/consumer-python" / name, work / "py")
    # The documentation's snippets with their checker: its repository root is docs-src.
    docs_src = work / "docs-src"
    for part in ("checks", "docs-fixtures"):
        shutil.copytree(ROOT / "tests" / part, docs_src / "tests" / part, ignore=shutil.ignore_patterns("node_modules"))
    for name in ("README.md", "CONTRIBUTING.md"):
        shutil.copy(ROOT / name, docs_src)
    shutil.copytree(ROOT / "docs", docs_src / "docs")
    env = {"PATH": without_rust(os.environ["PATH"]), "PYTHONPATH": str(docs_src / "tests")}
    if shutil.which("cargo", path=env["PATH"]):
        raise Refused(f"cargo is still on PATH: {shutil.which('cargo', path=env['PATH'])}")
    typescript_app(work / "ts", version, arch, env)
    python_app(work / "py", version, arch, env)
    say("ServiceLinkedRoleFunction (from the Python app) against template.yaml through the SAM transform")
    services = {"AllowedServices": "ecs.amazonaws.com,opensearchservice.amazonaws.com", "Architecture": "x86_64"}
    run(
        [
            "python",
            "-m",
            "checks.cdk_function",
            work / "py/cdk.out",
            "UpsertSlrPythonFunction",
            "template.yaml",
            json.dumps(services),
        ],
        env={"AWS_DEFAULT_REGION": "us-east-1"},
    )


def check_synth(app: Path, stack: str, mode: str, zipped: str, roles: list, env: dict) -> None:
    run(["python3", "../check_synth.py", "cdk.out", stack, mode, zipped, json.dumps(roles)], cwd=app, env=env)


def typescript_app(app: Path, version: str, arch: str, env: dict) -> None:
    zipped = f"../upsert-slr-{version}-{arch}.zip"
    run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=app, env=env)
    run(
        ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error", f"../upsert-slr-cdk-{version}.tgz"],
        cwd=app,
        env=env,
    )
    installed = app / "node_modules/upsert-slr-cdk"
    newest = json.loads((app / "node_modules/aws-cdk-lib/package.json").read_text())["version"]
    say(f"synth tests against aws-cdk-lib {newest}, in the installed package")
    (installed / "test").mkdir()
    # nag.test.js runs cdk-nag 3 and the last cdk-nag 2 here (the consumer app has both).
    for check in SYNTH_TESTS:
        shutil.copy(app.parent / check, installed / "test")
    run(["node", "--test", "node_modules/upsert-slr-cdk/test/"], cwd=app, env=env)
    if not (installed / "API.md").is_file() or not (installed / "API.md").stat().st_size:
        raise Refused("the package has no API.md")
    run(["npx", "tsc"], cwd=app, env=env)
    run(["node", "app.js"], cwd=app, env={**env, "CDK_OUTDIR": "cdk.out"})
    check_synth(app, "UpsertSlrExample", "direct", zipped, EXAMPLE_ROLES, env)
    check_synth(app, "UpsertSlrExampleProvider", "provider", zipped, EXAMPLE_ROLES, env)
    check_synth(app, "UpsertSlrExampleFunction", "function", zipped, [], env)
    shared = [{"AWSServiceName": "elasticloadbalancing.amazonaws.com", "RemovalPolicy": "Delete"}]
    check_synth(app, "UpsertSlrExampleShared", "shared", "-", shared, env)
    with timed("the documentation's TypeScript snippets"):
        run(["python3", "-m", "checks.doc_snippets", "ts", "doc-snippets"], cwd=app, env=env)
        run(["npx", "tsc", "-p", "doc-snippets"], cwd=app, env=env)
        run(["node", "doc-snippets/run.js"], cwd=app, env=env)
        run(["python3", "-m", "checks.doc_snippets", "ts-selftest"], cwd=app, env=env)


def python_app(app: Path, version: str, arch: str, env: dict) -> None:
    zipped = f"../upsert-slr-{version}-{arch}.zip"
    # Made with pip, as a user makes it.
    run(["python3.11", "-m", "venv", "venv"], cwd=app, env=env)
    pip = ["venv/bin/pip", "install", "--quiet", "--disable-pip-version-check"]
    run([*pip, "-r", "requirements.txt", f"../upsert_slr_cdk-{version}-py3-none-any.whl"], cwd=app, env=env)
    run(["venv/bin/python", "app.py"], cwd=app, env={**env, "CDK_OUTDIR": "cdk.out"})
    check_synth(app, "UpsertSlrPython", "direct", zipped, [PYTHON_ECS], env)
    check_synth(app, "UpsertSlrPythonProvider", "provider", zipped, [PYTHON_ECS], env)
    check_synth(app, "UpsertSlrPythonFunction", "function", f"../upsert-slr-{version}-x86_64.zip", [], env)
    shared = [{"AWSServiceName": "ecs.amazonaws.com"}, {"AWSServiceName": "opensearchservice.amazonaws.com"}]
    check_synth(app, "UpsertSlrPythonShared", "shared", "-", shared, env)
    # cdk-nag's four packs on every mode, through the Python binding: 3.x, then the last 2.x.
    run([*pip, "-r", "requirements-nag.txt"], cwd=app, env=env)
    run(["venv/bin/python", "nag_app.py"], cwd=app, env={**env, "CDK_OUTDIR": "nag.out"})
    run([*pip, "cdk-nag==2.38.2"], cwd=app, env=env)
    run(["venv/bin/python", "nag_app.py"], cwd=app, env={**env, "CDK_OUTDIR": "nag2.out"})
    with timed("the documentation's Python snippets"):
        run(["venv/bin/python", "-m", "checks.doc_snippets", "python"], cwd=app, env=env)
        run(["venv/bin/python", "-m", "checks.doc_snippets", "python-selftest"], cwd=app, env=env)


def example_app(work: Path) -> None:
    say("npm ci (examples/cdk, with upsert-slr-cdk from cdk/)")
    npm_ci(EXAMPLE)
    say("cdk synth of the example app")
    run(["npx", "cdk", "synth", "--quiet", "--no-notices", "-o", work / "example.out"], cwd=EXAMPLE)
    for stack in ("UpsertSlrExample", "UpsertSlrExampleProvider", "UpsertSlrExampleShared"):
        if '"Type": "Custom::ServiceLinkedRole"' not in (work / f"example.out/{stack}.template.json").read_text():
            raise Refused(f"the example app's {stack} has no Custom::ServiceLinkedRole")
    say("the end-to-end test's stack")
    run(["node", "dist/test/e2e-stack.js"], cwd=EXAMPLE, env={"CDK_OUTDIR": str(work / "e2e.out")})
    template = work / "e2e.out/UpsertSlrE2e.template.json"
    resources = json.loads(template.read_text())["Resources"].values()
    [function] = [
        r for r in resources if r["Type"] == "AWS::Lambda::Function" and r["Properties"]["Handler"] == "bootstrap"
    ]
    environment = function["Properties"]["Environment"]["Variables"]
    for name, value in environment.items():
        if not isinstance(value, str):
            raise Refused(f"the synthesized function's {name} is not a plain string: {value}")
    debug_binary()
    # CloudFormation is the test's stand-in (LocalStack cannot hold a stack in the phase that
    # deletes), which the function asks before a RemovalPolicy Delete removes anything.
    cloudformation = free_port()
    with (
        localstack.running(localstack.Kind.named("")) as endpoint,
        watching(
            endpoint,
            work / "watch.log",
            {**environment, "AWS_ENDPOINT_URL_CLOUDFORMATION": f"http://127.0.0.1:{cloudformation}"},
        ) as watched,
    ):
        say(
            f"end-to-end: the Provider framework runtime in front of the function, with the synthesized environment {environment}"
        )
        done = run(
            ["npm", "run", "--silent", "test:e2e"],
            cwd=EXAMPLE,
            check=False,
            env={
                "LOCALSTACK_ENDPOINT": endpoint,
                "UPSERT_SLR_FUNCTION_ENDPOINT": watched.endpoint,
                "UPSERT_SLR_ACCOUNT": watched.account,
                "UPSERT_SLR_CLOUDFORMATION_PORT": str(cloudformation),
                "UPSERT_SLR_TEMPLATE": str(template),
            },
        )
        if done.returncode != 0:
            print(f"--- function log (cargo lambda watch) ---\n{watched.log_tail()}")
            raise Refused("the end-to-end test failed")
