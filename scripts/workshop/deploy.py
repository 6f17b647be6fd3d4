"""Deployments to LocalStack's CloudFormation: the demo, the sample events, the deployment
tests and the StackSets fleet; and the one setup command after which any suite runs alone."""

from __future__ import annotations

import os

from workshop import localstack, shell, venvs
from workshop.release import cdk_lib
from workshop.rust import debug_binary, qemu_aarch64, release_build
from workshop.shell import ROOT, Refused, run, say, scratch, timed
from workshop.watch import watching

# The deployment tests' LocalStack: its Step Functions, which the CDK Provider's waiter needs,
# runs on Python 3.13 (make demo covers 3.11).
DEPLOYMENT_TESTS = localstack.Kind(cfn=True, python="3.13")
SUITES = ["tests/rig", "bench/fleet", "localstack-plugins/tests", "tests/cloudformation"]


def setup() -> None:
    """The pinned tools, and LocalStack with the plugins on Python 3.11 and 3.13."""
    shell.require_cargo()
    venvs.use_tools()
    venvs.localstack("3.11")
    venvs.localstack("3.13")
    say(
        "ready: one suite runs with, for example, source .venv-localstack-py313/bin/activate; pytest tests/cloudformation -k hook"
    )


def demo() -> None:
    """The SAM app and stacks using Custom::ServiceLinkedRole deployed, their events, outputs
    and roles printed (tests/rig/demo.py)."""
    shell.require_cargo()
    kind = localstack.Kind(cfn=True)
    with scratch() as work, localstack.running(kind) as endpoint:
        bootstrap = debug_binary(work / "bootstrap")
        run([venvs.LOCALSTACK["3.11"] / "bin/python", "-m", "rig.demo", endpoint, bootstrap])


# What demo_events sends: a title, the event file, and rig.cfn_response's settings for it.
SAMPLE_EVENTS = [
    ("Create: the role does not exist yet", "create.json", ["RequestId=demo-create", "Props.PropagationWaitSeconds=2"]),
    (
        "Create from a second stack: the role exists, it is adopted",
        "create.json",
        [
            "RequestId=demo-adopt",
            "LogicalResourceId=EcsRole",
            "StackId=arn:aws:cloudformation:us-east-1:123456789012:stack/other-app/7f3e9a20",
        ],
    ),
    ("Delete with RemovalPolicy Retain (the default): the role stays", "delete.json", ["RequestId=demo-delete"]),
    (
        "Create with a suffix ECS does not allow: FAILED with IAM's own message",
        "create-suffix-refused.json",
        ["RequestId=demo-suffix"],
    ),
]


def demo_events() -> None:
    """The function under cargo lambda watch against LocalStack's IAM and S3, sent the sample
    events of events/; prints what CloudFormation would receive."""
    shell.require_cargo()
    venvs.use_tools()
    with scratch() as work, localstack.running(localstack.Kind.named("")) as endpoint:
        debug_binary()
        with watching(endpoint, work / "watch.log") as watched:
            env = {"LOCALSTACK_ENDPOINT": endpoint}
            for step, (title, file, settings) in enumerate(SAMPLE_EVENTS, 1):
                key = f"demo-{watched.account}-{step}"
                print(f"\n\033[1m{step}. {title}\033[0m  (events/{file} {' '.join(settings)})", flush=True)
                event = work / "event.json"
                run(["python3", "-m", "rig.cfn_response", "event", f"events/{file}", key, *settings], env=env, to=event)
                invoke = ["cargo", "lambda", "invoke", "upsert-slr", "--invoke-address", "127.0.0.1"]
                run([*invoke, "--invoke-port", str(watched.port), "--data-file", event], capture=True, check=False)
                print("CloudFormation receives:", flush=True)
                fetched = run(["python3", "-m", "rig.cfn_response", "fetch", key], env=env, check=False)
                if fetched.returncode != 0:
                    raise Refused(f"no answer reached the ResponseURL:\n{watched.log_tail()}")
            print("\nFunction log:")
            for line in watched.log.read_text(errors="replace").splitlines():
                if "event handled" in line:
                    print("  event handled" + line.split("event handled", 1)[1])


def cfn_test(pytest_args: list[str]) -> None:
    """The deployment tests (pytest): the rig's and the fleet's unit tests, the plugins' own
    tests, and tests/cloudformation: the SAM app and stacks using it, the baseline, the
    release template with the release zip as a user without Rust deploys them, the emulated
    Lambda Hooks, the CDK example app with cdklocal. The fixtures start LocalStack and stop
    it; no function process may outlive it."""
    shell.require_cargo()
    shell.require_npm()
    venvs.use_tools()
    # Built here with Rust on PATH; the tests deploy them with none (rig/prepared.py takes
    # what is built when no cargo is on PATH).
    debug_binary()
    if not (ROOT / "cdk/lambda/manifest.json").is_file():
        cdk_lib()
    # The CDK app's function is arm64, as users deploy it: on an x86_64 host the executor runs
    # it under qemu-user.
    if os.uname().machine == "x86_64":
        qemu_aarch64()
    for app in ("examples/cdk", "tests/cloudformation/cdk"):
        shell.npm_ci(ROOT / app)
    python = venvs.localstack(DEPLOYMENT_TESTS.python) / "bin/python"
    say(f"pytest {' '.join(SUITES)}, with no cargo on PATH")
    with timed("the deployment tests"):
        run(
            # The slowest ten, so that where the suite's time goes is printed, not guessed.
            [python, "-m", "pytest", "-p", "no:cacheprovider", "-v", "--durations=10", *(pytest_args or SUITES)],
            env={"PATH": shell.without_rust(os.environ["PATH"])},
        )


def fleet() -> None:
    """The release template and the x86_64 release zip, then the role baseline, through
    LocalStack's self-managed StackSets into FLEET_ACCOUNTS x FLEET_REGIONS (or the fleets of
    FLEET_SIZES), checked, torn down, with their cost printed (bench/fleet/__init__.py)."""
    shell.require_cargo()
    if os.uname().machine != "x86_64":
        raise Refused("the fleet runs the x86_64 release bootstrap as a local process: it needs an x86_64 host")
    python = venvs.localstack("3.11") / "bin/python"
    # An input the rig cannot run with is refused now, not after the build.
    sizes = shell.output([python, "-m", "fleet.plan"])
    venvs.use_tools()
    out = ROOT / "target/fleet-lambda"
    toolchain = release_build("x86_64", out)
    version = shell.crate_version()
    kind = localstack.Kind(cfn=True)
    zipped = out / "upsert-slr/bootstrap.zip"
    with scratch() as work:
        template = work / f"upsert-slr-{version}.template.yaml"
        # The SAM translator asks for a region, though the template names none.
        run(
            ["python", "scripts/release_template.py", "template.yaml", version, template],
            env={"AWS_DEFAULT_REGION": "us-east-1"},
        )
        endpoint = localstack.start(kind)
        try:
            say(f"fleets {sizes} (LocalStack at {endpoint})")
            localstack_version = shell.output(
                [python, "-c", "import importlib.metadata as m; print(m.version('localstack-core'))"]
            )
            args = ["--endpoint", endpoint, "--state", kind.state, "--release-template", template]
            args += ["--zip", zipped, "--version", version, "--sizes", sizes]
            args += ["--about", f"LocalStack {localstack_version}, on Python 3.11"]
            args += [
                "--about",
                f"upsert-slr {version}, the x86_64 release zip ({zipped.stat().st_size} bytes), built with {toolchain}",
            ]
            if os.environ.get("FLEET_MARKDOWN"):
                args += ["--markdown", os.environ["FLEET_MARKDOWN"]]
            with timed("fleets"):
                run([python, "-m", "fleet", *args])
        except BaseException:
            localstack.stop(kind)
            raise
        localstack.stop_outliving_nothing(kind, some_ran=False)
