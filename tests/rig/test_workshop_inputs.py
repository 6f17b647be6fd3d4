"""The variables the make targets read (FUZZ_SECONDS, BENCH_QUICK, SKIP_CDK_LIB, ARCH,
LOCALSTACK_PYTHON, LOCALSTACK_PORT): accepted, or refused in a sentence naming them before
anything slow starts."""

import pytest

from workshop import localstack, rust
from workshop.shell import Refused, switched_on, whole_number


@pytest.mark.parametrize("value, number", [(None, 30), ("", 30), ("1", 1), ("007", 7), ("86400", 86400)])
def test_whole_numbers_accepted(monkeypatch, value, number):
    if value is None:
        monkeypatch.delenv("FUZZ_SECONDS", raising=False)
    else:
        monkeypatch.setenv("FUZZ_SECONDS", value)
    assert whole_number("FUZZ_SECONDS", 30, 1, 86400) == number


@pytest.mark.parametrize("value", ["abc", "0", "-5", "30s", "86401", "99999999999999999999", "٣"])
def test_whole_numbers_refused(monkeypatch, value):
    monkeypatch.setenv("FUZZ_SECONDS", value)
    with pytest.raises(Refused) as refused:
        whole_number("FUZZ_SECONDS", 30, 1, 86400)
    assert refused.value.code == f"error: FUZZ_SECONDS={value}: give a whole number from 1 to 86400"


@pytest.mark.parametrize("value, on", [(None, False), ("", False), ("0", False), ("1", True)])
def test_switches(monkeypatch, value, on):
    if value is None:
        monkeypatch.delenv("BENCH_QUICK", raising=False)
    else:
        monkeypatch.setenv("BENCH_QUICK", value)
    assert switched_on("BENCH_QUICK") is on


@pytest.mark.parametrize("value", ["yes", "true", "2"])
def test_switches_refused(monkeypatch, value):
    monkeypatch.setenv("SKIP_CDK_LIB", value)
    with pytest.raises(Refused, match=f"SKIP_CDK_LIB={value}: use 1 to turn it on"):
        switched_on("SKIP_CDK_LIB")


def test_localstack_python_refused(monkeypatch):
    monkeypatch.setenv("LOCALSTACK_PYTHON", "3.12")
    with pytest.raises(Refused) as refused:
        localstack.Kind.named("cfn")
    assert refused.value.code == "error: LOCALSTACK_PYTHON=3.12: use 3.11 (the default) or 3.13"


def test_localstack_port_refused_before_anything_starts(monkeypatch, tmp_path):
    monkeypatch.setenv("LOCALSTACK_PORT", "70000")
    # A kind whose state is this test's: nothing of a running LocalStack is touched.
    monkeypatch.setattr(localstack.Kind, "state", property(lambda self: tmp_path / "state"))
    with pytest.raises(Refused, match="LOCALSTACK_PORT=70000: give a whole number from 1 to 65535"):
        localstack.start(localstack.Kind(cfn=False))
    assert not (tmp_path / "state").exists()


@pytest.mark.parametrize("value, arch", [(None, "arm64"), ("", "arm64"), ("x86_64", "x86_64"), ("arm64", "arm64")])
def test_architectures(monkeypatch, value, arch):
    if value is None:
        monkeypatch.delenv("ARCH", raising=False)
    else:
        monkeypatch.setenv("ARCH", value)
    assert rust.lambda_arch() == arch


def test_architecture_refused(monkeypatch):
    monkeypatch.setenv("ARCH", "aarch64")
    with pytest.raises(Refused, match="ARCH=aarch64: use arm64 or x86_64"):
        rust.lambda_arch()
