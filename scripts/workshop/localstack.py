"""LocalStack on the host (no Docker) for the tests, the demo and the deployments.

Two kinds, each with its own state directory so both can run at once:
- plain: IAM, S3, STS and CloudFormation (the function asks it before deleting a role, and a
  stack it does not have must be answered as CloudFormation answers), for the function's own
  tests;
- cfn: CloudFormation and what its stacks use (Lambda, Logs, SSM, Step Functions, Redshift),
  with the project's plugins running functions as local processes and custom resources as
  CloudFormation does; on Python 3.13 when asked (Step Functions needs it).
Both listen on 127.0.0.1 only, on 4566 when free (else any free port; LOCALSTACK_PORT picks
one), and check presigned URLs' signatures as S3 does.

    python -m workshop.localstack start|stop [cfn]     (make localstack-start, localstack-stop)
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from rig.function_processes import function_processes
from workshop import venvs
from workshop.shell import ROOT, Refused, say, whole_number

PLAIN_SERVICES = "cloudformation,iam,s3,sts"
CFN_SERVICES = "cloudformation,iam,lambda,logs,redshift,s3,ssm,stepfunctions,sts"


def free_port(preferred: int = 0) -> int:
    """`preferred` when it is free on loopback, else any free port."""
    for port in (preferred, 0):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return s.getsockname()[1]
    raise Refused("no free port on 127.0.0.1")


@dataclass(frozen=True)
class Kind:
    """Which LocalStack: plain or with CloudFormation's plugins, and on which Python."""

    cfn: bool
    python: str = "3.11"

    @classmethod
    def named(cls, mode: str, python: str | None = None) -> Kind:
        if mode not in ("", "cfn"):
            raise Refused(f"{mode}: the kinds are plain (nothing) and cfn")
        python = python or os.environ.get("LOCALSTACK_PYTHON") or "3.11"
        if python not in venvs.LOCALSTACK:
            raise Refused(f"LOCALSTACK_PYTHON={python}: use 3.11 (the default) or 3.13")
        return cls(cfn=mode == "cfn", python=python if mode == "cfn" else "3.11")

    @property
    def state(self) -> Path:
        if not self.cfn:
            return ROOT / ".localstack"
        return ROOT / (".localstack-cfn-py313" if self.python == "3.13" else ".localstack-cfn")

    @property
    def functions_dir(self) -> Path:
        """Where the local-process executor unpacks function code."""
        return self.state / "tmp"


def start(kind: Kind, env: dict[str, str] | None = None) -> str:
    """Installs (when needed) and starts LocalStack of `kind`; returns its endpoint."""
    port = whole_number("LOCALSTACK_PORT", None, 1, 65535)
    venv = venvs.localstack(kind.python)
    settings = {"SERVICES": PLAIN_SERVICES}
    if kind.cfn:
        # CFN_PER_RESOURCE_TIMEOUT above CloudFormation's longest ServiceTimeout (3600 s), so
        # that the custom resource's own ServiceTimeout is what bounds the wait.
        settings = {
            "SERVICES": CFN_SERVICES,
            "LAMBDA_RUNTIME_EXECUTOR": "local-process",
            "CFN_PER_RESOURCE_TIMEOUT": "3700",
            "XDG_CACHE_HOME": str(kind.state / "cache"),
        }
    stop(kind)
    shutil.rmtree(kind.state, ignore_errors=True)
    (kind.state / "tmp").mkdir(parents=True)
    port = port or free_port(4566)
    endpoint = f"http://127.0.0.1:{port}"
    environment = {
        **os.environ,
        **(env or {}),
        **settings,
        "GATEWAY_LISTEN": f"127.0.0.1:{port}",
        "GATEWAY_SERVER": "hypercorn",
        "S3_SKIP_SIGNATURE_VALIDATION": "0",
        "DISABLE_EVENTS": "1",
        "DNS_ADDRESS": "0",
        "OVERRIDE_IN_DOCKER": "0",
        "LOCALSTACK_VOLUME_DIR": str(kind.state),
        "FILESYSTEM_ROOT": str(kind.state / "fs"),
        "TMPDIR": str(kind.state / "tmp"),
    }
    log = kind.state / "log"
    with open(log, "w") as out:
        process = subprocess.Popen(
            [venv / "bin/python", "-m", "localstack.runtime.main"],
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    (kind.state / "pid").write_text(str(process.pid))
    for _ in range(240):
        try:
            urllib.request.urlopen(f"{endpoint}/_localstack/health", timeout=1)
        except OSError:
            if process.poll() is not None:
                raise Refused(f"LocalStack exited:\n{tail(log)}") from None
            time.sleep(0.5)
            continue
        (kind.state / "endpoint").write_text(endpoint)
        say(f"LocalStack ready at {endpoint}")
        return endpoint
    raise Refused(f"LocalStack did not become ready:\n{tail(log)}")


def tail(log: Path, lines: int = 20) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def stop(kind: Kind) -> None:
    """Stops the LocalStack of `kind` started here, if one runs."""
    pid_file = kind.state / "pid"
    if not pid_file.is_file():
        return
    pid = int(pid_file.read_text())
    pid_file.unlink()
    (kind.state / "endpoint").unlink(missing_ok=True)
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    # It sometimes ignores SIGTERM.
    for _ in range(50):
        if not alive(pid):
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A child of this process that has exited stays a zombie until it is reaped.
    with contextlib.suppress(ChildProcessError):
        if os.waitpid(pid, os.WNOHANG) != (0, 0):
            return False
    return True


@contextlib.contextmanager
def running(kind: Kind, env: dict[str, str] | None = None, *, given: str = "LOCALSTACK_ENDPOINT") -> Iterator[str]:
    """The LocalStack named in `given` when set, else one started here and stopped after."""
    named = "" if kind.cfn else os.environ.get(given, "")
    if named:
        yield named
        return
    endpoint = start(kind, env)
    try:
        yield endpoint
    finally:
        stop(kind)


def stop_outliving_nothing(kind: Kind, *, some_ran: bool = True) -> None:
    """Stops LocalStack; no function process it started may outlive it. With `some_ran`,
    some must be running before the stop: none then would prove nothing."""
    running_before = function_processes(str(kind.functions_dir))
    if some_ran and not running_before:
        raise Refused("no function process was running before LocalStack's stop: nothing would be proven")
    stop(kind)
    for _ in range(50):
        left = function_processes(str(kind.functions_dir))
        if not left:
            say(f"{len(running_before)} function processes ended with LocalStack")
            return
        time.sleep(0.2)
    raise Refused(f"function processes outlived LocalStack: {left}")


def main(argv: list[str]) -> None:
    """A LocalStack for running single tests: start|stop [cfn] (start prints its endpoint)."""
    if len(argv) not in (1, 2) or argv[0] not in ("start", "stop"):
        raise Refused("usage: python -m workshop.localstack start|stop [cfn]")
    kind = Kind.named(argv[1] if len(argv) == 2 else "")
    if argv[0] == "start":
        print(start(kind))
    else:
        stop(kind)


if __name__ == "__main__":
    main(sys.argv[1:])
