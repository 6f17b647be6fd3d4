"""Deploying upsert-slr and stacks that use it to LocalStack's CloudFormation, for the demo
(rig.demo) and the deployment tests (tests/cloudformation). Runs with the LocalStack
venv's Python (boto3).

LocalStack picks the account from the access key: a fresh 12-digit key is a fresh account,
with no role in it yet.
"""

import hashlib
import io
import os
import random
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import boto3
from botocore.config import Config

ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
EXPORT = "upsert-slr-ServiceToken"
FALLBACK = "deployed as a fallback"


@dataclass
class Event:
    stack: str
    resource: str
    type: str
    status: str
    reason: str


@dataclass
class Deployment:
    stack: str
    status: str
    reason: str
    outputs: dict
    events: list[Event] = field(default_factory=list)

    def resource(self, logical_id: str) -> Event:
        """The last event of a resource (its final status in this operation)."""
        found = [e for e in self.events if e.resource == logical_id]
        assert found, f"no event for {logical_id} in {self.stack}: {self.events}"
        return found[-1]


class LocalCloud:
    def __init__(self, endpoint: str, account: str | None = None):
        self.endpoint = endpoint.rstrip("/")
        self.account = account or str(random.randrange(10**11, 10**12))
        session = boto3.Session(aws_access_key_id=self.account, aws_secret_access_key="test", region_name=REGION)
        cfg = Config(retries={"max_attempts": 2}, read_timeout=120)
        self.cfn = session.client("cloudformation", endpoint_url=self.endpoint, config=cfg)
        self.iam = session.client("iam", endpoint_url=self.endpoint, config=cfg)
        self.s3 = session.client("s3", endpoint_url=self.endpoint, config=cfg)
        self.lambda_ = session.client("lambda", endpoint_url=self.endpoint, config=cfg)
        self.logs = session.client("logs", endpoint_url=self.endpoint, config=cfg)
        self.sfn = session.client("stepfunctions", endpoint_url=self.endpoint, config=cfg)
        self.ssm = session.client("ssm", endpoint_url=self.endpoint, config=cfg)
        self.redshift = session.client("redshift", endpoint_url=self.endpoint, config=cfg)

    # The function's code, as `sam package` would upload it.

    def upload_function(self, bootstrap: Path) -> str:
        """Zips the bootstrap binary and uploads it; returns its s3:// URI."""
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
            info = zipfile.ZipInfo("bootstrap")
            info.external_attr = 0o755 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, bootstrap.read_bytes())
        body = buffer.getvalue()
        bucket = f"upsert-slr-artifacts-{self.account}"
        self.s3.create_bucket(Bucket=bucket)
        key = f"upsert-slr/{hashlib.sha256(body).hexdigest()}.zip"
        self.s3.put_object(Bucket=bucket, Key=key, Body=body)
        return f"s3://{bucket}/{key}"

    # Stacks.

    def deploy(self, stack: str, template: str, parameters: dict | None = None, timeout: float = 600) -> Deployment:
        """Creates the stack, or updates it when it exists; waits for the outcome."""
        args = dict(
            StackName=stack,
            TemplateBody=template,
            Parameters=[{"ParameterKey": k, "ParameterValue": str(v)} for k, v in (parameters or {}).items()],
            Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
        )
        seen = self._event_ids(stack)
        if seen is None:
            stack_id = self.cfn.create_stack(**args)["StackId"]
        else:
            stack_id = self.cfn.update_stack(**args)["StackId"]
        return self._wait(stack, stack_id, seen or set(), timeout)

    def delete(self, stack: str, timeout: float = 600) -> Deployment:
        seen = self._event_ids(stack)
        assert seen is not None, f"no stack {stack}"
        stack_id = self.cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackId"]
        self.cfn.delete_stack(StackName=stack)
        return self._wait(stack, stack_id, seen, timeout)

    def _event_ids(self, stack: str) -> set | None:
        try:
            events = self.cfn.describe_stack_events(StackName=stack)["StackEvents"]
        except self.cfn.exceptions.ClientError as e:
            if "does not exist" in str(e):
                return None
            raise
        return {e["EventId"] for e in events}

    def _wait(self, stack: str, stack_id: str, seen: set, timeout: float) -> Deployment:
        deadline = time.monotonic() + timeout
        while True:
            described = self.cfn.describe_stacks(StackName=stack_id)["Stacks"][0]
            status = described["StackStatus"]
            if not status.endswith("_IN_PROGRESS"):
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"{stack} still {status} after {timeout} s")
            time.sleep(0.5)
        raw = self.cfn.describe_stack_events(StackName=stack_id)["StackEvents"]
        events = [
            Event(
                stack, e["LogicalResourceId"], e["ResourceType"], e["ResourceStatus"], e.get("ResourceStatusReason", "")
            )
            for e in reversed(raw)
            if e["EventId"] not in seen
        ]
        outputs = {o["OutputKey"]: o.get("OutputValue") for o in described.get("Outputs", [])}
        return Deployment(stack, status, described.get("StackStatusReason", ""), outputs, events)

    # The SAM application.

    def sam_template(self, code_uri: str) -> str:
        """template.yaml with its code in S3, as `sam package` leaves it."""
        text = (ROOT / "template.yaml").read_text()
        assert text.count("      CodeUri: .\n") == 1, "template.yaml: expected one `CodeUri: .`"
        return text.replace("      CodeUri: .\n", f"      CodeUri: {code_uri}\n")

    def sam_parameters(self, **extra) -> dict:
        arch = {"x86_64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}[os.uname().machine]
        return {"Architecture": arch, "ExtraResponseUrlPrefixes": f"{self.endpoint}/", **extra}

    # IAM.

    def role(self, name: str) -> dict | None:
        try:
            return self.iam.get_role(RoleName=name)["Role"]
        except self.iam.exceptions.NoSuchEntityException:
            return None


def template(name: str) -> str:
    return (ROOT / "examples/cloudformation" / name).read_text()


def fallbacks(events: list[Event]) -> list[Event]:
    """Resources LocalStack did not deploy but reported as deployed: a canary for tests."""
    return [e for e in events if FALLBACK in e.reason]
