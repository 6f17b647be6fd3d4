"""The local-process executor, through LocalStack's Lambda API, with a scripted runtime
(tests/rig/scripted_runtime/bootstrap): what Lambda reports for each way a function can go wrong, and
that the environment recovers after it."""

import base64
import json
import os
import time

import pytest

from rig.localstack_cfn import ROOT
from rig.scripted_runtime import create_scripted_function, create_zip_function

PREFIXES = "UPSERT_SLR_EXTRA_RESPONSE_URL_PREFIXES"


@pytest.fixture(scope="module")
def scripted(cloud):
    return create_scripted_function(cloud, "scripted", timeout=2)


def invoke(cloud, function, event):
    started = time.monotonic()
    answer = cloud.lambda_.invoke(FunctionName=function, Payload=json.dumps(event), LogType="Tail")
    elapsed = time.monotonic() - started
    log = base64.b64decode(answer.get("LogResult", "")).decode()
    return answer.get("FunctionError"), json.loads(answer["Payload"].read()), log, elapsed


def test_answer_and_environment(cloud, scripted, localstack_cfn):
    error, payload, log, _ = invoke(cloud, scripted, {"do": "echo", "n": 1})
    assert error is None
    assert payload["echo"] == {"do": "echo", "n": 1}
    assert payload["env"]["AWS_ENDPOINT_URL"] == localstack_cfn
    assert payload["env"]["_HANDLER"] == "bootstrap"
    assert os.path.isfile(os.path.join(payload["env"]["LAMBDA_TASK_ROOT"], "bootstrap"))
    # LocalStack's ResponseURLs are on its gateway: a provided.* function may PUT there.
    assert payload["env"][PREFIXES] == f"{localstack_cfn}/"
    assert "START RequestId:" in log and "END RequestId:" in log and "REPORT RequestId:" in log


def test_function_error(cloud, scripted):
    error, payload, _, _ = invoke(cloud, scripted, {"do": "fail"})
    assert error == "Unhandled"
    assert payload == {"errorType": "ScriptedError", "errorMessage": "failed on purpose"}


def test_crash_mid_invocation_then_a_fresh_process(cloud, scripted):
    error, payload, log, _ = invoke(cloud, scripted, {"do": "exit"})
    assert error == "Unhandled"
    assert payload["errorType"] == "Runtime.ExitError"
    assert "Runtime exited with error: exit status 7" in payload["errorMessage"]
    assert "exiting mid-invocation" in log
    error, payload, log, _ = invoke(cloud, scripted, {"do": "echo"})
    assert error is None, payload
    assert "init scripted" in log, "the next invocation must start a new process"


def test_hang_past_the_timeout_kills_the_process_group(cloud, scripted):
    _, payload, _, _ = invoke(cloud, scripted, {"do": "spawn"})
    child = payload["child"]
    assert os.path.exists(f"/proc/{child}"), "the function's child should be running"
    error, payload, log, elapsed = invoke(cloud, scripted, {"do": "hang"})
    assert error == "Unhandled"
    assert payload["errorType"] == "Sandbox.Timedout"
    assert payload["errorMessage"].endswith("Task timed out after 2.00 seconds")
    assert "Task timed out after 2.00 seconds" in log
    assert 2 <= elapsed < 10, elapsed
    for _ in range(50):
        if not os.path.exists(f"/proc/{child}") or "Z" in _state(child):
            break
        time.sleep(0.1)
    else:
        pytest.fail(f"process {child}, started by the function, survived its timeout")
    error, payload, _, _ = invoke(cloud, scripted, {"do": "echo"})
    assert error is None, payload


def _state(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"


def test_crash_at_init(cloud):
    name = create_scripted_function(cloud, "crash-at-init", env={"CRASH_AT_INIT": "1"})
    error, payload, _, _ = invoke(cloud, name, {"do": "echo"})
    assert error == "Unhandled"
    assert payload["errorType"] == "Runtime.ExitError"
    assert "Runtime exited with error: exit status 3" in payload["errorMessage"]


def test_logs_reach_cloudwatch(cloud, scripted):
    invoke(cloud, scripted, {"do": "exit"})
    invoke(cloud, scripted, {"do": "echo"})
    group = "/aws/lambda/scripted"
    expected = ("exiting mid-invocation", "Runtime exited with error", "init scripted", "REPORT RequestId")
    for _ in range(50):
        messages = "".join(e["message"] for e in cloud.logs.filter_log_events(logGroupName=group)["events"])
        if all(text in messages for text in expected):
            return
        time.sleep(0.2)
    pytest.fail(f"the function's output did not reach {group}: {messages[-2000:]}")


def test_the_gateway_is_added_to_the_functions_own_response_url_prefixes(cloud, localstack_cfn):
    own = "https://a.example/,http://b.example:8080/"
    name = create_scripted_function(cloud, "own-prefixes", env={PREFIXES: own})
    error, payload, _, _ = invoke(cloud, name, {"do": "echo"})
    assert error is None, payload
    assert payload["env"][PREFIXES] == f"{own},{localstack_cfn}/"
    config = cloud.lambda_.get_function_configuration(FunctionName=name)
    assert config["Environment"]["Variables"][PREFIXES] == own, "only the process sees the gateway"


@pytest.mark.skipif(os.uname().machine != "x86_64", reason="arm64 runs natively on an arm64 host")
def test_an_arm64_bootstrap_runs_under_qemu(cloud, cdk_library):
    """The release function for arm64 (the construct's default) answers a macro event here."""
    arm64_zip = cdk_library / "arm64/bootstrap.zip"
    name = create_zip_function(cloud, "arm64", arm64_zip.read_bytes(), architecture="arm64", timeout=10)
    event = json.loads((ROOT / "events/macro.json").read_text())
    error, payload, log, _ = invoke(cloud, name, event)
    assert error is None, payload
    assert (payload["requestId"], payload["status"]) == (event["requestId"], "success"), payload
    assert "REPORT RequestId:" in log
