"""Running commands, saying what happens, and reading the environment's switches.

Every failure a user can cause (a bad `FUZZ_SECONDS`, a missing tool) stops with `Refused`: one
sentence, no traceback, read before anything slow starts.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Whatever Python the machinery runs, in whichever venv, imports the rig and the checkers
# (tests/), the release tools (scripts/), the fleet (bench/) and the plugins' stdlib modules
# by their package names, as pytest.ini says for pytest.
PYTHONPATH = os.pathsep.join(str(ROOT / d) for d in ("tests", "scripts", "bench", "localstack-plugins"))


class Refused(SystemExit):
    """What cannot go on, said in one sentence (nox and `python -m` print it and exit 1)."""

    def __init__(self, sentence: str) -> None:
        super().__init__(f"error: {sentence}")


def say(message: str) -> None:
    print(f"\033[1m==> {message}\033[0m", file=sys.stderr, flush=True)


def run(
    args: Sequence[str | os.PathLike],
    *,
    cwd: str | os.PathLike | None = None,
    env: dict[str, str] | None = None,
    capture: bool = False,
    check: bool = True,
    stdout=None,
    stderr=None,
    to: Path | None = None,
) -> subprocess.CompletedProcess:
    """Runs `args` (in the checkout unless `cwd`), with `env` over this process's environment;
    what it prints goes `to` a file when one is named."""
    if to is not None:
        with open(to, "w") as out:
            return run(args, cwd=cwd, env=env, check=check, stdout=out, stderr=stderr)
    full_env = {**os.environ, **(env or {})}
    done = subprocess.run(
        [str(a) for a in args],
        cwd=cwd or ROOT,
        env=full_env,
        text=True,
        stdout=subprocess.PIPE if capture else stdout,
        stderr=subprocess.PIPE if capture else stderr,
    )
    if check and done.returncode != 0:
        shown = " ".join(str(a) for a in args)
        detail = f"\n{done.stdout[-3000:]}{done.stderr[-3000:]}" if capture else ""
        raise Refused(f"`{shown}` failed with exit code {done.returncode}{detail}")
    return done


def output(args: Sequence[str | os.PathLike], **kwargs) -> str:
    """What `args` prints, without its last newline."""
    return run(args, capture=True, **kwargs).stdout.rstrip("\n")


def fails(args: Sequence[str | os.PathLike], expected: str, **kwargs) -> None:
    """A check is worth something only if it can fail: `args` must fail, saying `expected`."""
    done = run(args, capture=True, check=False, **kwargs)
    said = done.stdout + done.stderr
    shown = " ".join(str(a) for a in args)
    if done.returncode == 0:
        raise Refused(f"`{shown}` passed where it must fail with {expected!r}")
    if expected not in said:
        raise Refused(f"`{shown}` failed for another reason than {expected!r}:\n{said[-3000:]}")


def require(command: str, sentence: str) -> str:
    found = shutil.which(command)
    if not found:
        raise Refused(sentence)
    return found


def require_cargo() -> None:
    require("cargo", "cargo not found: install Rust (1.94.1 or newer) with rustup first")


def require_npm() -> None:
    require("npm", "npm not found: install Node.js 20 or newer")


def whole_number(name: str, default: int | None, low: int, high: int) -> int | None:
    """The whole number in `name` (`default` when unset or empty) if it is from `low` to `high`.

    Anything else is refused with a sentence naming the variable, before the tools it would
    reach read it their own way (libFuzzer takes -max_total_time=abc, or 0, for no limit)."""
    value = os.environ.get(name, "")
    if value == "":
        return default
    if not (value.isascii() and value.isdigit() and len(value) <= 9) or not low <= int(value) <= high:
        raise Refused(f"{name}={value}: give a whole number from {low} to {high}")
    return int(value)


def switched_on(name: str) -> bool:
    """1 is on; unset, empty or 0 off. Anything else is refused: BENCH_QUICK=0 is not quick."""
    value = os.environ.get(name, "")
    if value in ("", "0"):
        return False
    if value == "1":
        return True
    raise Refused(f"{name}={value}: use 1 to turn it on, 0 or nothing to leave it off")


def without_rust(path: str) -> str:
    """`path` without cargo's, rustup's and the tools venv's directories: a user without Rust."""
    kept = [p for p in path.split(os.pathsep) if not any(m in p for m in ("/.cargo", "/.rustup", ".venv-tools"))]
    return os.pathsep.join(kept)


@contextlib.contextmanager
def scratch() -> Iterator[Path]:
    """A directory of this run's own, gone afterwards."""
    with tempfile.TemporaryDirectory(prefix="upsert-slr-") as directory:
        yield Path(directory)


@contextlib.contextmanager
def timed(name: str) -> Iterator[None]:
    start = time.monotonic()
    yield
    say(f"{name} took {time.monotonic() - start:.0f} s")


def npm_ci(directory: Path) -> None:
    run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=directory)


def crate_version() -> str:
    import tomllib

    with open(ROOT / "Cargo.toml", "rb") as f:
        return tomllib.load(f)["package"]["version"]


def host_arch() -> str:
    """The Lambda name of this machine's architecture."""
    machine = os.uname().machine
    if machine not in ("x86_64", "aarch64"):
        raise Refused(f"this runs on x86_64 or aarch64 Linux, not {machine}")
    return {"x86_64": "x86_64", "aarch64": "arm64"}[machine]
