"""The Lambda Runtime API (2018-06-01) for one execution environment, on a loopback port.

The function's runtime long-polls /invocation/next and posts a response or an error; the
executor offers one invocation at a time and is woken (through a pipe it can select on, beside
the function's output) whenever the runtime gets ready, answers, or reports an init error.
"""

import contextlib
import json
import os
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PREFIX = "/2018-06-01/runtime"


@dataclass
class Invocation:
    request_id: str
    body: bytes
    function_arn: str
    trace_id: str
    deadline_ms: int


@dataclass
class Outcome:
    payload: bytes
    is_error: bool


class RuntimeApi:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._pending: Invocation | None = None
        self._current: str | None = None
        self._outcomes: dict[str, Outcome] = {}
        self._closed = False
        self.ready = False
        self.init_error: bytes | None = None
        self.wake_fd, self._wake_w = os.pipe()
        os.set_blocking(self.wake_fd, False)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="lambda-runtime-api", daemon=True)
        self._thread.start()

    @property
    def address(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{host}:{port}"

    def reset(self) -> None:
        """Forget the previous runtime process: the next one starts from init."""
        with self._cond:
            self._pending = None
            self._current = None
            self._outcomes.clear()
            self.ready = False
            self.init_error = None

    def offer(self, invocation: Invocation) -> None:
        with self._cond:
            self._pending = invocation
            self._cond.notify_all()

    def outcome(self, request_id: str) -> Outcome | None:
        with self._cond:
            return self._outcomes.pop(request_id, None)

    def drain_wakeups(self) -> None:
        try:
            while os.read(self.wake_fd, 4096):
                pass
        except BlockingIOError:
            pass

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._server.shutdown()
        self._server.server_close()
        for fd in (self.wake_fd, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)

    def _wake(self) -> None:
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"x")

    # Called from the server's threads.

    def _next(self) -> Invocation | None:
        with self._cond:
            self.ready = True
            self._wake()
            while self._pending is None and not self._closed:
                self._cond.wait()
            if self._closed:
                return None
            invocation, self._pending = self._pending, None
            self._current = invocation.request_id
            return invocation

    def _finish(self, request_id: str, outcome: Outcome) -> bool:
        with self._cond:
            if request_id != self._current:
                return False
            self._current = None
            self._outcomes[request_id] = outcome
        self._wake()
        return True

    def _init_failed(self, body: bytes) -> None:
        with self._cond:
            self.init_error = body
        self._wake()


def _handler_for(api: RuntimeApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:  # the function's own log is what matters
            pass

        def _reply(self, status: int, body: bytes = b"", headers: dict | None = None) -> None:
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _body(self) -> bytes:
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def do_GET(self) -> None:
            if self.path != f"{PREFIX}/invocation/next":
                return self._reply(404, b'{"errorType":"NotFound"}')
            invocation = api._next()
            if invocation is None:
                self.close_connection = True
                return self._reply(410, b'{"errorType":"ShuttingDown"}')
            self._reply(
                200,
                invocation.body,
                {
                    "Lambda-Runtime-Aws-Request-Id": invocation.request_id,
                    "Lambda-Runtime-Deadline-Ms": str(invocation.deadline_ms),
                    "Lambda-Runtime-Invoked-Function-Arn": invocation.function_arn,
                    "Lambda-Runtime-Trace-Id": invocation.trace_id,
                },
            )

        def do_POST(self) -> None:
            body = self._body()
            parts = self.path[len(PREFIX) :].strip("/").split("/")
            if self.path.startswith(PREFIX) and parts == ["init", "error"]:
                api._init_failed(_error_body(body, self.headers))
                return self._reply(202, b'{"status":"OK"}')
            if (
                self.path.startswith(PREFIX)
                and len(parts) == 3
                and parts[0] == "invocation"
                and parts[2] in ("response", "error")
            ):
                is_error = parts[2] == "error"
                payload = _error_body(body, self.headers) if is_error else body
                if api._finish(parts[1], Outcome(payload, is_error)):
                    return self._reply(202, b'{"status":"OK"}')
                return self._reply(
                    400,
                    json.dumps(
                        {"errorMessage": f"Invalid request ID: {parts[1]}", "errorType": "InvalidRequestID"}
                    ).encode(),
                )
            self._reply(404, b'{"errorType":"NotFound"}')

    return Handler


def _error_body(body: bytes, headers) -> bytes:
    """A runtime may post any body as an error; Lambda reports an object with errorType."""
    try:
        parsed = json.loads(body)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        return body
    error_type = headers.get("Lambda-Runtime-Function-Error-Type") or "Runtime.Unknown"
    return json.dumps({"errorType": error_type, "errorMessage": body.decode("utf-8", "replace")}).encode()
