"""The function under `cargo lambda watch`, the way Lambda runs it, against LocalStack."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from workshop.localstack import free_port
from workshop.shell import Refused, say


@dataclass(frozen=True)
class Watched:
    port: int
    # A fresh LocalStack account (its access key is the account id), so no role exists there yet.
    account: str
    log: Path

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


@contextlib.contextmanager
def watching(localstack: str, log: Path, env: dict[str, str] | None = None) -> Iterator[Watched]:
    """The function built and run under `cargo lambda watch` on a free loopback port, with
    `env` over the LocalStack account's; stopped, with what it started, afterwards."""
    watched = Watched(port=free_port(), account=str(random.randrange(10**11, 10**12)), log=log)
    environment = {
        **os.environ,
        "AWS_ENDPOINT_URL": localstack,
        "AWS_ACCESS_KEY_ID": watched.account,
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_REGION": "us-east-1",
        "UPSERT_SLR_EXTRA_RESPONSE_URL_PREFIXES": f"{localstack}/",
        **(env or {}),
    }
    say(f"starting the function under cargo lambda watch (account {watched.account})")
    with open(log, "w") as out:
        # A process group of its own: the watcher and the function it starts stop together.
        process = subprocess.Popen(
            [
                *["cargo", "lambda", "watch", "--ignore-changes"],
                *["--invoke-address", "127.0.0.1", "--invoke-port", str(watched.port)],
            ],
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        wait_for_listener(watched, process)
        yield watched
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def wait_for_listener(watched: Watched, process: subprocess.Popen) -> None:
    for _ in range(150):
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", watched.port), timeout=1):
            return
        if process.poll() is not None:
            break
        time.sleep(0.2)
    raise Refused(f"cargo lambda watch did not start listening on {watched.port}:\n{watched.log_tail()}")
