"""A LocalStack Lambda runtime executor that runs a function's code as a local process.

provided.* runtimes run the code's `bootstrap` (an arm64 one on an x86_64 host under
qemu-user, where it is installed); nodejs* runtimes run the handler through the small Runtime
API loop in node/runtime.js. Each execution environment serves the Runtime API
itself on a loopback port. As in Lambda: the function's timeout is enforced (a hang becomes a
timeout error and the process group is killed), a process that dies is reported as a runtime
error, the next invocation after either starts a fresh process, and the output goes to
CloudWatch Logs with START/END/REPORT lines.

A provided.* function may answer CloudFormation itself by PUTting to a ResponseURL, which here
is on LocalStack's gateway (plain HTTP) rather than on AWS's S3: upsert-slr refuses such a URL
unless UPSERT_SLR_EXTRA_RESPONSE_URL_PREFIXES names it, so the executor adds the gateway's
origin to that variable for every provided.* function it runs. Deployments to AWS never see it.
"""

import contextlib
import ctypes
import json
import logging
import os
import platform
import queue
import select
import shutil
import signal
import subprocess
import threading
import time
from concurrent.futures import Future
from pathlib import Path

from localstack.services.lambda_.invocation.executor_endpoint import StatusErrorException
from localstack.services.lambda_.invocation.lambda_models import FunctionVersion, InvocationResult
from localstack.services.lambda_.invocation.runtime_executor import (
    LambdaRuntimeException,
    RuntimeExecutor,
)

from .gateway import gateway_host, gateway_url
from .runtime_api import Invocation, RuntimeApi

LOG = logging.getLogger(__name__)
NODE_DIR = Path(__file__).parent / "node"
# Where nodejs functions find modules the managed runtime would provide (the AWS SDK v3).
NODE_PATH_VAR = "LOCAL_PROCESS_EXECUTOR_NODE_PATH"
HOST_ARCHITECTURE = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}.get(
    platform.machine().lower()
)
MAX_LOG_BYTES = 1 << 20
# qemu-user and the aarch64 C library as Debian installs them (qemu-user-static,
# libc6-arm64-cross): what runs an arm64 bootstrap on an x86_64 host.
QEMU_AARCH64 = "qemu-aarch64-static"
AARCH64_SYSROOT = Path("/usr/aarch64-linux-gnu")
RESPONSE_URL_PREFIXES_VAR = "UPSERT_SLR_EXTRA_RESPONSE_URL_PREFIXES"


class LocalProcessExecutor(RuntimeExecutor):
    def __init__(self, id: str, function_version: FunctionVersion) -> None:
        super().__init__(id, function_version)
        self._api: RuntimeApi | None = None
        self._proc: subprocess.Popen | None = None
        self._env: dict[str, str] = {}
        self._output = bytearray()
        self._all_output = bytearray()
        self._stopped = threading.Event()
        self._invoke_lock = threading.Lock()
        self._init_ms: float | None = None

    # Preparation of a function version.

    @classmethod
    def prepare_version(cls, function_version: FunctionVersion) -> None:
        cfg = function_version.config
        if cfg.package_type != "Zip" or not cfg.code:
            raise LambdaRuntimeException("the local-process executor runs zip packages only")
        runtime = str(cfg.runtime or "")
        if not runtime.startswith(("provided", "nodejs")):
            raise LambdaRuntimeException(f"the local-process executor does not run {runtime}")
        architecture = _architecture(function_version)
        if architecture != HOST_ARCHITECTURE and _emulator(function_version) is None:
            hint = ""
            if architecture == "arm64" and runtime.startswith("provided") and HOST_ARCHITECTURE == "x86_64":
                hint = (
                    f" (arm64 bootstraps run under qemu-user once {QEMU_AARCH64} is on PATH and the "
                    f"aarch64 C library is in {AARCH64_SYSROOT}: Debian's qemu-user-static and libc6-arm64-cross)"
                )
            raise LambdaRuntimeException(
                f"the function is built for {architecture}; this host runs {HOST_ARCHITECTURE} only{hint}"
            )
        if runtime.startswith("nodejs") and not shutil.which("node"):
            raise LambdaRuntimeException(f"{runtime} needs `node` on PATH")
        cfg.code.prepare_for_execution()

    @classmethod
    def cleanup_version(cls, function_version: FunctionVersion) -> None:
        pass

    # Where things are.

    def get_address(self) -> str:
        return "127.0.0.1"

    def get_endpoint_from_executor(self) -> str:
        return gateway_host()

    def get_runtime_endpoint(self) -> str:
        return f"http://{self._api.address}" if self._api else ""

    def get_logs(self) -> str:
        return self._all_output.decode("utf-8", "replace")

    # Lifecycle.

    def start(self, env_vars: dict[str, str]) -> None:
        self._api = RuntimeApi()
        self._env = self._process_environment(env_vars)
        started = time.monotonic()
        failure = self._launch(deadline=None)
        if failure:
            raise StatusErrorException("Environment startup failed", payload=failure)
        self._init_ms = (time.monotonic() - started) * 1000

    def stop(self) -> None:
        self._stopped.set()
        self._kill()
        if self._api:
            self._api.close()

    def invoke(self, payload: dict[str, str]) -> InvocationResult:
        with self._invoke_lock:
            return self._invoke(payload)

    def _invoke(self, payload: dict[str, str]) -> InvocationResult:
        request_id = payload["invoke-id"]
        timeout = int(self.function_version.config.timeout)
        started = time.monotonic()
        deadline = started + timeout
        header = [f"START RequestId: {request_id} Version: {self.function_version.id.qualifier}"]
        error = None
        if self._proc is None or self._proc.poll() is not None:
            # After a crash or a timeout Lambda starts a new process; its init counts against
            # this invocation's time.
            self._output.clear()
            error = self._launch(deadline=deadline, request_id=request_id)
        outcome = None
        if error is None:
            self._api.offer(
                Invocation(
                    request_id=request_id,
                    body=payload["payload"].encode(),
                    function_arn=payload["invoked-function-arn"],
                    trace_id=payload.get("trace-id", ""),
                    deadline_ms=int((time.time() + deadline - time.monotonic()) * 1000),
                )
            )
            outcome = self._wait(lambda: self._api.outcome(request_id), deadline)
        memory = self._max_memory_mb()
        if error is None and outcome is None:
            error = self._failure(request_id, deadline)
        elapsed_ms = (time.monotonic() - started) * 1000
        self._drain()
        lines = [*header, self._take_output().rstrip("\n")] if self._output else header
        lines.append(f"END RequestId: {request_id}")
        report = (
            f"REPORT RequestId: {request_id}\tDuration: {elapsed_ms:.2f} ms\t"
            f"Billed Duration: {int(elapsed_ms) + 1} ms\t"
            f"Memory Size: {self.function_version.config.memory_size} MB\t"
            f"Max Memory Used: {memory} MB"
        )
        if self._init_ms is not None:
            report += f"\tInit Duration: {self._init_ms:.2f} ms"
            self._init_ms = None
        lines.append(report)
        logs = "\n".join(line for line in lines if line) + "\n"
        if error is not None:
            return InvocationResult(request_id, error, is_error=True, logs=logs)
        return InvocationResult(request_id, outcome.payload, is_error=outcome.is_error, logs=logs)

    # The process.

    def _command(self) -> list[str]:
        runtime = str(self.function_version.config.runtime)
        if runtime.startswith("nodejs"):
            return ["node", "--require", str(NODE_DIR / "https-to-localstack.js"), str(NODE_DIR / "runtime.js")]
        return [*(_emulator(self.function_version) or []), str(self._code_dir() / "bootstrap")]

    def _code_dir(self) -> Path:
        return Path(self.function_version.config.code.get_unzipped_code_location())

    def _process_environment(self, env_vars: dict[str, str]) -> dict[str, str]:
        env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "HOME": os.environ.get("HOME", "/tmp"),
        }
        env.update({k: str(v) for k, v in env_vars.items() if v is not None})
        env["LAMBDA_TASK_ROOT"] = str(self._code_dir())
        env["AWS_LAMBDA_RUNTIME_API"] = self._api.address
        if str(self.function_version.config.runtime).startswith("nodejs"):
            env["PATH"] = os.path.dirname(shutil.which("node")) + ":" + env["PATH"]
            if node_path := os.environ.get(NODE_PATH_VAR):
                env["NODE_PATH"] = node_path
        else:
            env[RESPONSE_URL_PREFIXES_VAR] = with_prefix(env.get(RESPONSE_URL_PREFIXES_VAR, ""), gateway_url() + "/")
        return env

    def _launch(self, deadline: float | None, request_id: str = "") -> bytes | None:
        """Starts the runtime and waits until it asks for an invocation. Returns the error
        payload Lambda would report if it failed instead."""
        self._api.reset()
        command = self._command()
        entrypoint = command[-1]
        if command[0] != "node" and not os.access(entrypoint, os.X_OK):
            return _error(
                "Runtime.InvalidEntrypoint",
                f"RequestId: {request_id} Error: Couldn't find valid bootstrap(s): [{entrypoint}]",
            )
        try:
            self._proc = _spawn(command, cwd=str(self._code_dir()), env=self._env)
        except OSError as e:
            return _error("Runtime.InvalidEntrypoint", f"RequestId: {request_id} Error: {e}")
        os.set_blocking(self._proc.stdout.fileno(), False)
        ready = self._wait(lambda: self._api.ready or self._api.init_error is not None, deadline)
        if self._api.init_error is not None:
            self._kill()
            return self._api.init_error
        if ready:
            return None
        if self._stopped.is_set():
            return _error("Runtime.ExitError", "the execution environment was stopped during init")
        return self._failure(request_id, deadline)

    def _failure(self, request_id: str, deadline: float | None) -> bytes:
        """What Lambda reports when the runtime gave no answer: it died, or time ran out."""
        if deadline is not None and time.monotonic() >= deadline:
            timeout = float(self.function_version.config.timeout)
            self._output += f"{_now()} {request_id} Task timed out after {timeout:.2f} seconds\n".encode()
            self._kill()
            return _error(
                "Sandbox.Timedout", f"RequestId: {request_id} Error: Task timed out after {timeout:.2f} seconds"
            )
        status = self._proc.poll() if self._proc else None
        self._kill()
        if status is None:
            return _error("Runtime.ExitError", f"RequestId: {request_id} Error: the execution environment was stopped")
        how = f"signal: {signal.Signals(-status).name}" if status and status < 0 else f"exit status {status}"
        self._output += f"RequestId: {request_id} Error: Runtime exited with error: {how}\n".encode()
        return _error("Runtime.ExitError", f"RequestId: {request_id} Error: Runtime exited with error: {how}")

    def _wait(self, condition, deadline: float | None):
        """Collects the function's output until `condition()` is truthy (returned), or the
        process exits, the environment stops, or the deadline passes (None returned)."""
        out = self._proc.stdout.fileno()
        while True:
            result = condition()
            if result:
                return result
            if self._stopped.is_set() or self._proc.poll() is not None:
                self._drain()
                return condition() or None
            remaining = 0.1 if deadline is None else min(0.1, deadline - time.monotonic())
            if remaining <= 0:
                return None
            readable, _, _ = select.select([out, self._api.wake_fd], [], [], remaining)
            if out in readable:
                self._drain()
            if self._api.wake_fd in readable:
                self._api.drain_wakeups()

    def _drain(self) -> None:
        if not self._proc or self._proc.stdout.closed:
            return
        try:
            while chunk := os.read(self._proc.stdout.fileno(), 65536):
                if len(self._output) < MAX_LOG_BYTES:
                    self._output += chunk
                self._all_output += chunk
                del self._all_output[:-MAX_LOG_BYTES]
        except (BlockingIOError, ValueError, OSError):
            pass

    def _take_output(self) -> str:
        text = self._output.decode("utf-8", "replace")
        self._output.clear()
        return text

    def _max_memory_mb(self) -> int:
        try:
            status = Path(f"/proc/{self._proc.pid}/status").read_text()
            kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:"))
            return max(1, kb // 1024)
        except (OSError, StopIteration, AttributeError):
            return 0

    def _kill(self) -> None:
        proc = self._proc
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            LOG.warning("function process %s did not exit after SIGKILL", proc.pid)
        self._drain()
        proc.stdout.close()


def _architecture(function_version: FunctionVersion) -> str:
    cfg = function_version.config
    return str(cfg.architectures[0]) if cfg.architectures else "x86_64"


def _emulator(function_version: FunctionVersion) -> list[str] | None:
    """The command that runs the function's bootstrap when it is built for another architecture
    than this host's: qemu-user for an arm64 provided.* function on x86_64, when installed."""
    if (
        _architecture(function_version) == "arm64"
        and HOST_ARCHITECTURE == "x86_64"
        and str(function_version.config.runtime or "").startswith("provided")
        and (qemu := shutil.which(QEMU_AARCH64))
        and AARCH64_SYSROOT.is_dir()
    ):
        return [qemu, "-L", str(AARCH64_SYSROOT)]
    return None


def with_prefix(prefixes: str, prefix: str) -> str:
    """A comma-separated list of prefixes with `prefix` appended, unless it is there already."""
    listed = [p for p in (part.strip() for part in prefixes.split(",")) if p]
    return ",".join(listed if prefix in listed else [*listed, prefix])


def _error(error_type: str, message: str) -> bytes:
    return json.dumps({"errorType": error_type, "errorMessage": message}).encode()


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + f".{int(time.time() * 1000) % 1000:03d}Z"


# Function processes are started from one long-lived thread: PR_SET_PDEATHSIG fires when the
# thread that forked the child ends, so with this thread living as long as LocalStack, a function
# process dies with LocalStack even when LocalStack itself is killed and cannot stop it.
_spawn_queue: "queue.Queue[tuple[Future, tuple, dict]]" = queue.Queue()
_spawner_lock = threading.Lock()
_spawner: threading.Thread | None = None
PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def _spawner_loop() -> None:
    while True:
        future, args, kwargs = _spawn_queue.get()
        try:
            future.set_result(subprocess.Popen(*args, **kwargs))
        except BaseException as e:  # handed to the caller
            future.set_exception(e)


def _spawn(command: list[str], cwd: str, env: dict[str, str]) -> subprocess.Popen:
    global _spawner
    with _spawner_lock:
        if _spawner is None:
            _spawner = threading.Thread(target=_spawner_loop, name="lambda-process-spawner", daemon=True)
            _spawner.start()
    future: Future = Future()
    kwargs = dict(
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        bufsize=0,
        start_new_session=True,
        preexec_fn=_die_with_parent,
    )
    _spawn_queue.put((future, (command,), kwargs))
    return future.result()
