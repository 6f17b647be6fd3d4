"""The variables the shell entry points read (FUZZ_SECONDS, BENCH_QUICK, SKIP_CDK_LIB,
LOCALSTACK_PORT, LOCALSTACK_PYTHON): accepted, or refused in a sentence naming them."""

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TRIED = ("FUZZ_SECONDS", "BENCH_QUICK", "SKIP_CDK_LIB", "LOCALSTACK_PYTHON")


def environment(**env) -> dict:
    """This one's, with only the given ones of the variables tried here."""
    return {**{k: v for k, v in os.environ.items() if k not in TRIED}, **env}


def bash(script: str, **env) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", "-c", f"set -euo pipefail; source scripts/common.sh; {script}"],
        cwd=ROOT,
        env=environment(**env),
        capture_output=True,
        text=True,
    )


@pytest.mark.parametrize("value, number", [(None, "30"), ("", "30"), ("1", "1"), ("007", "7"), ("86400", "86400")])
def test_whole_numbers_accepted(value, number):
    run = bash("whole_number FUZZ_SECONDS 30 1 86400", **({} if value is None else {"FUZZ_SECONDS": value}))
    assert (run.returncode, run.stdout.strip()) == (0, number), run.stderr


@pytest.mark.parametrize("value", ["abc", "0", "-5", "30s", "86401", "99999999999999999999"])
def test_whole_numbers_refused(value):
    run = bash("whole_number FUZZ_SECONDS 30 1 86400; echo reached", FUZZ_SECONDS=value)
    assert run.returncode == 1 and "reached" not in run.stdout
    assert run.stderr == f"error: FUZZ_SECONDS={value}: give a whole number from 1 to 86400\n"


@pytest.mark.parametrize("value, on", [(None, False), ("", False), ("0", False), ("1", True)])
def test_switches(value, on):
    run = bash(
        "if switched_on BENCH_QUICK; then echo on; else echo off; fi",
        **({} if value is None else {"BENCH_QUICK": value}),
    )
    assert run.stdout.strip() == ("on" if on else "off"), run.stderr


@pytest.mark.parametrize("value", ["yes", "true", "2"])
def test_switches_refused(value):
    run = bash("switched_on SKIP_CDK_LIB; echo reached", SKIP_CDK_LIB=value)
    assert run.returncode == 1 and "reached" not in run.stdout
    assert f"SKIP_CDK_LIB={value}: use 1 to turn it on" in run.stderr


def test_localstack_python_refused():
    run = subprocess.run(
        ["scripts/localstack.sh", "stop", "cfn"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=environment(LOCALSTACK_PYTHON="3.12"),
    )
    assert run.returncode == 1
    assert run.stderr == "error: LOCALSTACK_PYTHON=3.12: use 3.11 (the default) or 3.13\n"
