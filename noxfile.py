"""The make targets' sessions (make is the front door: `make help` has their meanings). Each
runs in the workshop's own venv and makes the venvs it needs itself (scripts/workshop/venvs.py),
so nox creates none. Run one directly with `nox -s NAME -- ARGS`."""

import sys
from pathlib import Path

import nox

sys.path.insert(0, str(Path(__file__).parent / "scripts"))

from workshop import bench, cdk, checks, deploy, localstack, release, testing
from workshop.shell import Refused

nox.options.default_venv_backend = "none"
nox.options.error_on_missing_interpreters = True


def target(name, run, *, with_args=False):
    """A session named `name` that calls `run`, with the session's arguments when `with_args`."""

    def session(session):
        try:
            run(list(session.posargs)) if with_args else run()
        except Refused as refused:
            session.error(str(refused.code))

    session.__doc__ = (run.__doc__ or "").strip().split("\n")[0]
    return nox.session(name=name, python=False)(session)


target("lint", checks.lint)
target("templates", checks.templates)
target("docs", checks.docs)
target("terraform", checks.terraform, with_args=True)
target("test", testing.test, with_args=True)
target("test-arm64", testing.test_arm64, with_args=True)
target("fuzz", testing.fuzz)
target("build", release.build)
target("cdk-lib", release.cdk_lib)
target("dist", release.dist)
target("verify-release", release.verify_release)
target("sam-build", release.sam_build)
target("cdk-test", cdk.cdk_test)
target("setup", deploy.setup)
target("demo", deploy.demo)
target("demo-events", deploy.demo_events)
target("cfn-test", deploy.cfn_test, with_args=True)
target("fleet", deploy.fleet)
target("bench", bench.bench)
target("localstack", localstack.main, with_args=True)
