"""A fleet on one machine: the function, then the role baseline, deployed through LocalStack's
self-managed StackSets (CreateStackSet, then CreateStackInstances over Accounts x Regions) into
many accounts and regions at once; what must hold is checked, the fleet torn down, and the cost
measured. Run by scripts/fleet.sh (`make fleet`), with the LocalStack venv's Python (boto3).

    fleet.py --endpoint URL --state DIR --release-template T --zip Z --version V
             --sizes 3x2,10x2 [--markdown FLEET.md]

What LocalStack 4.13.1's StackSets leave out, and how this rig stands in for it (in the rig's
copies of the templates only, made at run time; the product templates are not changed):

- A StackSet's Parameters and an instance's ParameterOverrides are not passed on: every instance
  gets its template's defaults. So the rig deploys copies whose defaults are the values a real
  StackSet would pass (the code bucket, x86_64, LocalStack's ResponseURL prefix, a short
  propagation wait), and passes the same values as StackSet parameters as well.
- A per-region override (each region's code bucket) has no default that could express it: the
  rig's copy of the release template reads the zip from `<CodeS3Bucket>-<region>`, which is the
  bucket a real deployment would name in that region's override.
- One account with a narrower AllowedServices (a ParameterOverrides of one account on AWS) gets
  a StackSet of its own, with a copy whose default leaves one service out; and one account's
  baseline comes from a copy whose RemovalPolicy default is Delete, so that the teardown proves
  what Delete removes, next to the Retain the baseline defaults to everywhere else.
- ListStackInstances does not work: each instance is read as the stack
  `sset-<StackSet>-<account>-<region>` in its account and region.
- CreateStackInstances answers only once every instance completed (an instance that fails makes
  it answer an error): it runs in a thread while the rig reads the instances itself.
"""

import argparse
import datetime as dt
import hashlib
import base64
import json
import math
import os
import platform
import random
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import yaml
from botocore.config import Config
from botocore.exceptions import ClientError

from rig.function_processes import function_processes
from rig.localstack_cfn import FALLBACK

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "examples/cloudformation/slr-baseline.yaml"
REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2", "us-west-2", "eu-central-1", "sa-east-1"]
# The baseline's resources and the service of each, in the template's order.
SERVICES = {
    "EcsSlr": "ecs.amazonaws.com",
    "ElasticLoadBalancingSlr": "elasticloadbalancing.amazonaws.com",
    "AutoScalingSlr": "autoscaling.amazonaws.com",
    "RdsSlr": "rds.amazonaws.com",
    "SpotSlr": "spot.amazonaws.com",
}
# The service the narrow account's function does not allow (the baseline's last resource, so
# that the four before it show the account's other roles are made as usual).
REFUSED = "spot.amazonaws.com"
# Short enough for a quick run, long enough that the regions' race for a role is real: the
# adopting region must still wait for the rest of it.
PROPAGATION_WAIT = 5
SEEDED_DESCRIPTION = "Made in the console, before the baseline existed"
FUNCTION_SET, NARROW_SET = "upsert-slr", "upsert-slr-narrow"
BASELINE_SET, DELETE_SET = "upsert-slr-baseline", "upsert-slr-baseline-delete"


def say(text: str) -> None:
    print(f"\033[1m==> {text}\033[0m", file=sys.stderr, flush=True)


class Breach(Exception):
    pass


@dataclass
class Instance:
    stack_set: str
    account: str
    region: str
    stack_id: str | None = None
    status: str = ""
    reason: str = ""
    events: list = field(default_factory=list)  # (timestamp, logical id, status, reason), oldest first
    outputs: dict = field(default_factory=dict)
    # Kept from the deployment, before the teardown's events are read.
    create_events: list = field(default_factory=list)
    created_span: float | None = None

    @property
    def name(self) -> str:
        return f"sset-{self.stack_set}-{self.account}-{self.region}"

    def span(self) -> float:
        """Seconds from the stack's first event to its last."""
        return (self.events[-1][0] - self.events[0][0]).total_seconds()

    def last(self, logical_id: str) -> tuple | None:
        found = [e for e in self.events if e[1] == logical_id]
        return found[-1] if found else None


class Sampler(threading.Thread):
    """Samples /proc for the function processes of this LocalStack (the executor's code dirs are
    under its temporary directory) and for LocalStack itself: count, RSS, CPU time."""

    def __init__(self, tmp: str, localstack_pid: int | None, interval: float = 0.25):
        super().__init__(daemon=True)
        self.tmp = tmp
        self.localstack_pid = localstack_pid
        self.interval = interval
        self.stop_event = threading.Event()
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.max_alive = 0
            self.max_rss_sum = 0  # kB, the most the function processes held at one moment
            self.hwm: dict[int, int] = {}  # pid -> VmHWM kB
            self.cpu: dict[int, float] = {}  # pid -> CPU seconds, last seen

    def functions(self) -> list[int]:
        return function_processes(self.tmp)

    @staticmethod
    def status(pid: int) -> dict:
        values = {}
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    key, _, rest = line.partition(":")
                    if key in ("VmRSS", "VmHWM"):
                        values[key] = int(rest.split()[0])
        except OSError:
            pass
        return values

    @staticmethod
    def cpu_seconds(pid: int) -> float | None:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            return None
        # utime, stime of the process and of its waited-for children
        return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")

    def localstack(self) -> dict:
        if not self.localstack_pid:
            return {}
        return {"cpu": self.cpu_seconds(self.localstack_pid), **self.status(self.localstack_pid)}

    def run(self) -> None:
        while not self.stop_event.wait(self.interval):
            pids = self.functions()
            total = 0
            with self.lock:
                for pid in pids:
                    st = self.status(pid)
                    total += st.get("VmRSS", 0)
                    self.hwm[pid] = max(self.hwm.get(pid, 0), st.get("VmHWM", 0))
                    cpu = self.cpu_seconds(pid)
                    if cpu is not None:
                        self.cpu[pid] = cpu
                self.max_alive = max(self.max_alive, len(pids))
                self.max_rss_sum = max(self.max_rss_sum, total)


class Fleet:
    def __init__(self, args, accounts: int, regions: int, sampler: Sampler):
        if accounts < 3:
            raise SystemExit("FLEET_ACCOUNTS must be at least 3: one account per seeded case")
        if not 1 <= regions <= len(REGIONS):
            raise SystemExit(f"FLEET_REGIONS must be 1 to {len(REGIONS)}")
        self.args = args
        self.endpoint = args.endpoint.rstrip("/")
        self.sampler = sampler
        self.regions = REGIONS[:regions]
        ids = random.sample(range(10**11, 10**12), accounts + 1)
        self.admin = str(ids[0])
        self.accounts = [str(i) for i in ids[1:]]
        # The seeded cases: a role made long ago by a console click (this account's baseline has
        # RemovalPolicy Delete: the role it did not make must survive the teardown), one made a
        # second before the deploy, and a function that does not allow one baseline service.
        self.long_ago, self.just_made, self.narrow = self.accounts[:3]
        self.seeded: dict[str, dict] = {}  # account -> the seeded ECS role as IAM described it
        self.instances: dict[str, list[Instance]] = {}
        self.phases: dict[str, float] = {}
        self.figures: dict = {"size": f"{accounts}x{regions}", "accounts": accounts, "regions": regions}
        self._clients: dict = {}
        self._lock = threading.Lock()
        self.zip = Path(args.zip).read_bytes()
        self.bucket_prefix = f"upsert-slr-fleet-{self.admin}"
        self.narrow_services = ",".join(s for s in SERVICES.values() if s != REFUSED)

    # Clients: the access key is the account.

    def client(self, service: str, account: str, region: str = "us-east-1", long: bool = False):
        key = (service, account, region, long)
        with self._lock:
            if key not in self._clients:
                cfg = Config(
                    retries={"total_max_attempts": 1} if long else {"max_attempts": 5, "mode": "standard"},
                    read_timeout=3600 if long else 120,
                    max_pool_connections=64,
                )
                session = boto3.Session(aws_access_key_id=account, aws_secret_access_key="test", region_name=region)
                self._clients[key] = session.client(service, endpoint_url=self.endpoint, config=cfg)
            return self._clients[key]

    # The rig's copies of the templates.

    def function_template(self, allowed: str) -> tuple[str, dict]:
        """The release template with the defaults a StackSet's parameters would give, and the code
        read from the region's own bucket. Returns the body and the parameters a real StackSet
        would be given (passed too, though LocalStack ignores them)."""
        template = yaml.safe_load(Path(self.args.release_template).read_text())
        values = {
            "CodeS3Bucket": self.bucket_prefix,
            "Architecture": "x86_64",
            "AllowedServices": allowed,
            "ExtraResponseUrlPrefixes": f"{self.endpoint}/",
        }
        for name, value in values.items():
            template["Parameters"][name]["Default"] = value
        code = template["Resources"]["Function"]["Properties"]["Code"]
        if code.get("S3Bucket") != {"Ref": "CodeS3Bucket"}:
            raise Breach(f"the release template's Code is not read from CodeS3Bucket: {code}")
        # Stands in for each region's ParameterOverrides (its own bucket), which LocalStack drops.
        code["S3Bucket"] = {"Fn::Sub": "${CodeS3Bucket}-${AWS::Region}"}
        return json.dumps(template), values

    def baseline_template(self, removal_policy: str) -> tuple[str, dict]:
        """slr-baseline.yaml with the defaults this rig needs, edited as text (its short-form tags
        are not plain YAML); each edit must match exactly once."""
        text = BASELINE.read_text()
        edits = {
            "    Default: Retain\n": f"    Default: {removal_policy}\n",
            "    Default: 60\n": f"    Default: {PROPAGATION_WAIT}\n",
        }
        for old, new in edits.items():
            if text.count(old) != 1:
                raise Breach(f"slr-baseline.yaml: expected one {old.strip()!r} to give the rig's default")
            text = text.replace(old, new)
        return text, {"RemovalPolicy": removal_policy, "PropagationWaitSeconds": str(PROPAGATION_WAIT)}

    # StackSets.

    def deploy(self, sets: list[tuple[str, str, dict, list[str], list[str]]]) -> list[Instance]:
        """Creates each StackSet (name, body, parameters, capabilities, accounts) in the admin
        account, then its instances over accounts x regions, all at once; reads every instance
        until it is done."""
        cfn = self.client("cloudformation", self.admin)
        instances, calls = [], []
        for name, body, parameters, capabilities, accounts in sets:
            cfn.create_stack_set(
                StackSetName=name,
                TemplateBody=body,
                Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
                Capabilities=capabilities,
                PermissionModel="SELF_MANAGED",
            )
            instances += [Instance(name, a, r) for a in accounts for r in self.regions]
            calls.append((name, accounts))
        answers: dict[str, str] = {}

        def create(name, accounts):
            try:
                op = self.client("cloudformation", self.admin, long=True).create_stack_instances(
                    StackSetName=name, Accounts=accounts, Regions=self.regions,
                    OperationPreferences={"FailureToleranceCount": len(accounts) * len(self.regions),
                                          "MaxConcurrentPercentage": 100})
                answers[name] = f"operation {op['OperationId']}"
            except ClientError as e:
                answers[name] = f"error: {e.response['Error'].get('Message', e)}"

        threads = [threading.Thread(target=create, args=call, daemon=True) for call in calls]
        for t in threads:
            t.start()
        self.wait(instances, deleting=False)
        for t in threads:
            t.join(timeout=120)
        for name, answer in answers.items():
            say(f"CreateStackInstances {name}: {answer}")
        return instances

    def wait(self, instances: list[Instance], deleting: bool, timeout: float = 1800) -> None:
        deadline = time.monotonic() + timeout
        pending = list(instances)
        while pending:
            if time.monotonic() > deadline:
                raise Breach(f"still not done after {timeout} s: {[i.name for i in pending]}")
            time.sleep(1)
            with ThreadPoolExecutor(8) as pool:
                done = list(pool.map(lambda i: self.poll(i, deleting), pending))
            pending = [i for i, d in zip(pending, done) if not d]
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(self.read_events, instances))
        if not deleting:
            for i in instances:
                i.create_events, i.created_span = list(i.events), i.span()

    def poll(self, instance: Instance, deleting: bool) -> bool:
        cfn = self.client("cloudformation", instance.account, instance.region)
        try:
            stack = cfn.describe_stacks(StackName=instance.stack_id or instance.name)["Stacks"][0]
        except ClientError as e:
            if "does not exist" in str(e) and not deleting:
                return False  # not created yet: CreateStackInstances creates them one by one
            raise
        instance.stack_id = stack["StackId"]
        instance.status = stack["StackStatus"]
        instance.reason = stack.get("StackStatusReason", "")
        instance.outputs = {o["OutputKey"]: o.get("OutputValue") for o in stack.get("Outputs", [])}
        if deleting:
            # DeleteStackInstances deletes the stacks one by one: one not yet reached is not done.
            return instance.status in ("DELETE_COMPLETE", "DELETE_FAILED")
        return not instance.status.endswith("_IN_PROGRESS")

    def read_events(self, instance: Instance) -> None:
        cfn = self.client("cloudformation", instance.account, instance.region)
        raw, token = [], None
        while True:
            page = cfn.describe_stack_events(StackName=instance.stack_id, **({"NextToken": token} if token else {}))
            raw += page["StackEvents"]
            token = page.get("NextToken")
            if not token:
                break
        instance.events = sorted(
            (e["Timestamp"], e["LogicalResourceId"], e["ResourceStatus"], e.get("ResourceStatusReason", "")) for e in raw
        )

    def delete(self, names: list[str], instances: list[Instance]) -> None:
        cfn = self.client("cloudformation", self.admin, long=True)
        by_set: dict[str, set] = {}
        for i in instances:
            by_set.setdefault(i.stack_set, set()).add(i.account)
        errors = []

        def remove(name):
            try:
                cfn.delete_stack_instances(StackSetName=name, Accounts=sorted(by_set[name]), Regions=self.regions, RetainStacks=False)
                cfn.delete_stack_set(StackSetName=name)
            except ClientError as e:
                errors.append(f"{name}: {e}")

        threads = [threading.Thread(target=remove, args=(n,), daemon=True) for n in names]
        for t in threads:
            t.start()
        self.wait(instances, deleting=True)
        for t in threads:
            t.join(timeout=120)
        if errors:
            raise Breach(f"DeleteStackInstances failed: {errors}")

    # IAM.

    def roles(self, account: str, service: str) -> list[dict]:
        iam = self.client("iam", account)
        return iam.list_roles(PathPrefix=f"/aws-service-role/{service}/")["Roles"]

    def role_tags(self, account: str, name: str) -> list:
        return self.client("iam", account).list_role_tags(RoleName=name)["Tags"]

    def seed(self, account: str) -> dict:
        iam = self.client("iam", account)
        iam.create_service_linked_role(AWSServiceName="ecs.amazonaws.com", Description=SEEDED_DESCRIPTION)
        role = iam.get_role(RoleName="AWSServiceRoleForECS")["Role"]
        self.seeded[account] = role
        return role

    # What the function answered CloudFormation: the objects it PUT to the ResponseURLs.

    def answers(self, instance: Instance) -> dict[str, list[dict]]:
        s3 = self.client("s3", instance.account, instance.region)
        bucket = f"cloudformation-custom-resource-response-{instance.region.replace('-', '')}"
        found: dict[str, list[dict]] = {}
        paginator = s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=bucket, Prefix=f"{instance.stack_id}|"):
            for obj in page.get("Contents", []):
                body = json.loads(s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read())
                found.setdefault(obj["Key"].split("|")[1], []).append(body)
        return found

    # The run.

    def phase(self, name: str, fn, *a):
        start = time.monotonic()
        ls_before = self.sampler.localstack().get("cpu")
        result = fn(*a)
        self.phases[name] = time.monotonic() - start
        ls_after = self.sampler.localstack().get("cpu")
        if ls_before is not None and ls_after is not None:
            self.figures.setdefault("localstack_cpu", {})[name] = ls_after - ls_before
        say(f"{self.figures['size']}: {name} took {self.phases[name]:.1f} s")
        return result

    def run(self) -> dict:
        self.sampler.reset()
        self.phase("seed", self.seed_phase)
        functions = self.phase("function", self.function_phase)
        self.check_functions(functions)
        baseline = self.phase("baseline", self.baseline_phase)
        self.phase("checks", self.check_baseline, baseline)
        self.phase("baseline teardown", self.delete, [BASELINE_SET, DELETE_SET], baseline)
        self.check_teardown(baseline)
        self.phase("function teardown", self.delete, [FUNCTION_SET, NARROW_SET], functions)
        self.check_no_function_left()
        self.check_fallbacks(functions + baseline)
        self.measure(functions, baseline)
        return self.figures

    def seed_phase(self) -> None:
        for region in self.regions:
            s3 = self.client("s3", self.admin, region)
            bucket = f"{self.bucket_prefix}-{region}"
            extra = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
            s3.create_bucket(Bucket=bucket, **extra)
            s3.put_object(Bucket=bucket, Key=f"upsert-slr-{self.args.version}-x86_64.zip", Body=self.zip)
        # Long ago: older than the propagation wait by the time the baseline deploys (checked there).
        self.seed(self.long_ago)
        for account in self.accounts:
            # LocalStack sets an account up on its first request; not the fleet's cost.
            self.client("iam", account).list_roles(MaxItems=1)

    def function_phase(self) -> list[Instance]:
        body, params = self.function_template("*")
        narrow_body, narrow_params = self.function_template(self.narrow_services)
        others = [a for a in self.accounts if a != self.narrow]
        return self.deploy([
            (FUNCTION_SET, body, params, ["CAPABILITY_IAM"], others),
            (NARROW_SET, narrow_body, narrow_params, ["CAPABILITY_IAM"], [self.narrow]),
        ])

    def baseline_phase(self) -> list[Instance]:
        body, params = self.baseline_template("Retain")
        delete_body, delete_params = self.baseline_template("Delete")
        others = [a for a in self.accounts if a != self.long_ago]
        old = self.seeded[self.long_ago]["CreateDate"]
        age = (dt.datetime.now(dt.timezone.utc) - old).total_seconds()
        if age <= PROPAGATION_WAIT + 1:
            time.sleep(PROPAGATION_WAIT + 1 - age)
        # A second before the deploy.
        self.seed(self.just_made)
        time.sleep(1)
        self.figures["seeded_ages"] = {
            "long ago": (dt.datetime.now(dt.timezone.utc) - old).total_seconds(),
            "just made": (dt.datetime.now(dt.timezone.utc) - self.seeded[self.just_made]["CreateDate"]).total_seconds(),
        }
        return self.deploy([
            (BASELINE_SET, body, params, [], others),
            (DELETE_SET, delete_body, delete_params, [], [self.long_ago]),
        ])

    # Checks: each raises Breach with what broke.

    def check_functions(self, functions: list[Instance]) -> None:
        breaches = []
        digest = base64.b64encode(hashlib.sha256(self.zip).digest()).decode()
        for i in functions:
            if i.status != "CREATE_COMPLETE":
                breaches.append(f"{i.name}: {i.status} {i.reason}")
                continue
            token = i.outputs.get("ServiceToken", "")
            if f":{i.account}:" not in token or f":{i.region}:" not in token:
                breaches.append(f"{i.name}: ServiceToken {token!r} is not in its account and region")
                continue
            config = self.client("lambda", i.account, i.region).get_function_configuration(FunctionName=token)
            if config["CodeSha256"] != digest:
                breaches.append(f"{i.name}: the function does not run the release zip")
            allowed = config["Environment"]["Variables"].get("UPSERT_SLR_ALLOWED_SERVICES")
            want = self.narrow_services if i.account == self.narrow else "*"
            if allowed != want:
                breaches.append(f"{i.name}: UPSERT_SLR_ALLOWED_SERVICES is {allowed!r}, not {want!r}")
        if breaches:
            raise Breach("function instances:\n  " + "\n  ".join(breaches))
        say(f"{len(functions)} function instances CREATE_COMPLETE, each running the release zip")

    def check_baseline(self, baseline: list[Instance]) -> None:
        breaches = []
        created = adopted = 0
        answers = {}
        with ThreadPoolExecutor(8) as pool:
            for i, a in zip(baseline, pool.map(self.answers, baseline)):
                answers[(i.account, i.region)] = a
        for i in baseline:
            if i.account == self.narrow:
                failed = i.last("SpotSlr")
                want = f'AWSServiceName "{REFUSED}" is not allowed by this function\'s UPSERT_SLR_ALLOWED_SERVICES'
                if i.status != "CREATE_FAILED" or not failed or failed[2] != "CREATE_FAILED" or want not in failed[3]:
                    breaches.append(f"{i.name}: expected CREATE_FAILED, SpotSlr failing with {want!r}; got {i.status}, {failed}")
                else:
                    self.figures["refused_reason"] = failed[3]
            elif i.status != "CREATE_COMPLETE":
                breaches.append(f"{i.name}: {i.status} {i.reason}")
        for account in self.accounts:
            for logical_id, service in SERVICES.items():
                roles = self.roles(account, service)
                if account == self.narrow and service == REFUSED:
                    if roles:
                        breaches.append(f"{account}: a {service} role exists though the function refuses it: {roles}")
                    continue
                if len(roles) != 1:
                    breaches.append(f"{account}: {len(roles)} roles for {service}, not one: {[r['RoleName'] for r in roles]}")
                    continue
                role = roles[0]
                made = role["CreateDate"]
                reports = []
                for region in self.regions:
                    instance = next(i for i in baseline if i.account == account and i.region == region)
                    got = answers[(account, region)].get(logical_id, [])
                    if len(got) != 1 or got[0].get("Status") != "SUCCESS":
                        breaches.append(f"{instance.name}/{logical_id}: expected one SUCCESS answer, got {got}")
                        continue
                    data = got[0].get("Data", {})
                    if data.get("Arn") != role["Arn"]:
                        breaches.append(f"{instance.name}/{logical_id}: answered {data.get('Arn')}, IAM has {role['Arn']}")
                    event = instance.last(logical_id)
                    if not event or event[2] != "CREATE_COMPLETE":
                        breaches.append(f"{instance.name}/{logical_id}: last event {event}")
                        continue
                    ready = made + dt.timedelta(seconds=PROPAGATION_WAIT)
                    if event[0] < ready:
                        breaches.append(
                            f"{instance.name}/{logical_id}: complete at {event[0].isoformat()}, before the role's "
                            f"CreateDate {made.isoformat()} + {PROPAGATION_WAIT} s")
                    reports.append((region, data.get("Created"), event[0]))
                trues = [r for r in reports if r[1] == "true"]
                falses = [r for r in reports if r[1] == "false"]
                if len(trues) + len(falses) != len(reports):
                    breaches.append(f"{account}/{service}: Created not 'true' or 'false': {reports}")
                seeded = account in self.seeded and service == "ecs.amazonaws.com"
                if len(trues) != (0 if seeded else 1):
                    breaches.append(
                        f"{account}/{service}: {len(trues)} resources report Created 'true' across {self.regions}, "
                        f"expected {0 if seeded else 1}")
                created += len(trues)
                adopted += len(falses)
                tags = {t["Key"]: t["Value"] for t in self.role_tags(account, role["RoleName"])}
                if seeded:
                    before = self.seeded[account]
                    if tags or role.get("Description") != before.get("Description") or made != before["CreateDate"]:
                        breaches.append(f"{account}: the seeded ECS role changed: tags {tags}, description "
                                        f"{role.get('Description')!r}, created {made}")
                elif trues:
                    creator = next(i for i in baseline if i.account == account and i.region == trues[0][0])
                    if tags.get("upsert-slr:stack-id") != creator.stack_id or tags.get("upsert-slr:logical-id") != logical_id:
                        breaches.append(f"{account}/{service}: created in {creator.region} but tagged {tags}")
        if breaches:
            raise Breach("baseline:\n  " + "\n  ".join(breaches))
        self.figures["roles_created"], self.figures["roles_adopted"] = created, adopted
        say(f"baseline: {created} roles created, {adopted} adopted; every account has one role per service, "
            f"one creator each, no answer before CreateDate + {PROPAGATION_WAIT} s; seeded roles untouched; "
            f"{self.narrow} refused {REFUSED} in every region")

    def check_teardown(self, baseline: list[Instance]) -> None:
        breaches = []
        for i in baseline:
            if i.status != "DELETE_COMPLETE":
                breaches.append(f"{i.name}: {i.status} {i.reason}")
            failed = [e for e in i.events if e[2] == "DELETE_FAILED"]
            if failed:
                breaches.append(f"{i.name}: {failed}")
        kept = gone = 0
        for account in self.accounts:
            for service in SERVICES.values():
                roles = self.roles(account, service)
                if account == self.narrow and service == REFUSED:
                    expected = 0
                elif account == self.long_ago:
                    # RemovalPolicy Delete here: the roles it made go, the seeded one stays.
                    expected = 1 if service == "ecs.amazonaws.com" else 0
                else:
                    expected = 1
                if len(roles) != expected:
                    breaches.append(f"{account}/{service}: {len(roles)} roles after the teardown, expected {expected}")
                if expected:
                    kept += len(roles)
                elif not (account == self.narrow and service == REFUSED):
                    gone += 1
        seeded = self.seeded[self.long_ago]
        if self.role_tags(self.long_ago, "AWSServiceRoleForECS"):
            breaches.append(f"{self.long_ago}: the seeded ECS role was tagged")
        role = self.client("iam", self.long_ago).get_role(RoleName="AWSServiceRoleForECS")["Role"]
        if role.get("Description") != seeded.get("Description") or role["CreateDate"] != seeded["CreateDate"]:
            breaches.append(f"{self.long_ago}: the seeded ECS role changed: {role}")
        if breaches:
            raise Breach("baseline teardown:\n  " + "\n  ".join(breaches))
        self.figures["roles_kept"], self.figures["roles_deleted"] = kept, gone
        say(f"baseline torn down: {kept} roles kept (Retain, and the seeded role under Delete), "
            f"{gone} made under RemovalPolicy Delete removed")

    def check_no_function_left(self) -> None:
        for _ in range(100):
            left = self.sampler.functions()
            if not left:
                break
            time.sleep(0.3)
        else:
            raise Breach(f"function processes outlived their functions' deletion: {left}")
        if not self.sampler.max_alive:
            raise Breach("no function process was ever seen: the sampler proves nothing")
        say(f"function torn down: no function process left (at most {self.sampler.max_alive} were alive at once)")

    def check_fallbacks(self, instances: list[Instance]) -> None:
        found = [f"{i.name}/{e[1]}: {e[3]}" for i in instances for e in i.events if FALLBACK in e[3]]
        if found:
            raise Breach("deployed as a fallback (not deployed at all):\n  " + "\n  ".join(found))
        say(f"canary: no resource {FALLBACK!r} in {len(instances)} instances")

    # Figures.

    def measure(self, functions: list[Instance], baseline: list[Instance]) -> None:
        f = self.figures
        f["instances"] = {"function": len(functions), "baseline": len(baseline)}
        f["phases"] = dict(self.phases)
        for kind, instances in (("function", functions), ("baseline", baseline)):
            f[f"{kind}_deploy"] = spread([i.created_span for i in instances])
        with self.sampler.lock:
            f["max_alive"] = self.sampler.max_alive
            f["processes"] = len(self.sampler.hwm)
            f["sum_hwm_mib"] = sum(self.sampler.hwm.values()) / 1024
            f["max_rss_sum_mib"] = self.sampler.max_rss_sum / 1024
            f["function_cpu_s"] = sum(self.sampler.cpu.values())
        ls = self.sampler.localstack()
        f["localstack_hwm_mib"] = ls.get("VmHWM", 0) / 1024
        # Each baseline resource: how long the engine held it, beyond the propagation wait it must take.
        held = [
            (done[0] - start[0]).total_seconds()
            for i in baseline if i.account != self.narrow
            for lid in SERVICES
            for start, done in [(first(i.create_events, lid, "CREATE_IN_PROGRESS"), first(i.create_events, lid, "CREATE_COMPLETE"))]
            if start and done
        ]
        f["resource_held"] = spread(held)


def first(events, logical_id, status):
    return next((e for e in events if e[1] == logical_id and e[2] == status), None)


def spread(values: list[float]) -> dict:
    if not values:
        return {}
    ordered = sorted(values)
    pick = lambda q: ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]  # noqa: E731
    return {"n": len(ordered), "p50": statistics.median(ordered), "p95": pick(0.95), "max": ordered[-1]}


def fmt(x, digits=1) -> str:
    return "" if x is None else f"{x:.{digits}f}"


ROWS = [
    ("instances (function + baseline)", lambda f: f"{f['instances']['function']} + {f['instances']['baseline']}"),
    ("roles created / adopted", lambda f: f"{f['roles_created']} / {f['roles_adopted']}"),
    ("roles kept / removed at teardown", lambda f: f"{f['roles_kept']} / {f['roles_deleted']}"),
    *[(f"phase: {name} (s)", (lambda n: lambda f: fmt(f["phases"][n]))(name))
      for name in ("seed", "function", "baseline", "checks", "baseline teardown", "function teardown")],
    *[(f"{kind} instance deploy p50 / p95 / max (s)",
       (lambda k: lambda f: " / ".join(fmt(f[f"{k}_deploy"][q]) for q in ("p50", "p95", "max")))(kind))
      for kind in ("function", "baseline")],
    ("baseline resource, in progress to complete, p50 / p95 / max (s)",
     lambda f: " / ".join(fmt(f["resource_held"][q]) for q in ("p50", "p95", "max"))),
    ("function processes: most alive at once / started", lambda f: f"{f['max_alive']} / {f['processes']}"),
    ("function processes: summed peak RSS (MiB)", lambda f: fmt(f["sum_hwm_mib"])),
    ("function processes: most RSS at one moment (MiB)", lambda f: fmt(f["max_rss_sum_mib"])),
    ("function processes: CPU time, all (s)", lambda f: fmt(f["function_cpu_s"], 2)),
    ("LocalStack: CPU time, function + baseline phases (s)",
     lambda f: fmt(f.get("localstack_cpu", {}).get("function", 0) + f.get("localstack_cpu", {}).get("baseline", 0))),
    ("LocalStack: peak RSS so far (MiB)", lambda f: fmt(f["localstack_hwm_mib"])),
]


def table(runs: list[dict]) -> str:
    lines = ["| figure | " + " | ".join(f"{r['accounts']} × {r['regions']}" for r in runs) + " |",
             "|---|" + "---:|" * len(runs)]
    for label, get in ROWS:
        lines.append(f"| {label} | " + " | ".join(get(r) for r in runs) + " |")
    return "\n".join(lines)


def machine() -> list[str]:
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    mem = next(int(line.split()[1]) for line in open("/proc/meminfo") if line.startswith("MemTotal")) / 2**20
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return [f"machine: {os.cpu_count()} cores, {cpu}, {mem:.0f} GiB, Linux {platform.release()}",
            f"load average at the end (1, 5, 15 min): {load} — the machine is shared; other builds ran beside this one"]


def markdown(path: Path, runs: list[dict], versions: list[str]) -> None:
    start, end = "<!-- scripts/fleet.py writes from here -->", "<!-- to here -->"
    text = path.read_text() if path.exists() else f"# Fleet\n\n{start}\n{end}\n"
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    narrow = next((r["refused_reason"] for r in runs if r.get("refused_reason")), "")
    body = "\n".join([
        "The function, then the role baseline, deployed through LocalStack's self-managed StackSets",
        "into fleets of growing size, one after another on one LocalStack, each checked and torn down",
        "(`make fleet-scale`; `make fleet` runs one fleet and prints the same table).",
        "",
        table(runs),
        "",
        f"- PropagationWaitSeconds {PROPAGATION_WAIT} (the rig's baseline default); regions "
        f"{', '.join(REGIONS[:max(r['regions'] for r in runs)])}.",
        f"- The refused account's Reason: `{narrow}`",
        "",
        "This run:",
        "",
        *[f"- {line}" for line in machine() + versions],
    ])
    path.write_text(f"{head}{start}\n{body}\n{end}{tail}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--state", required=True, help="LocalStack's state directory (its tmp/ holds the code)")
    parser.add_argument("--release-template", required=True)
    parser.add_argument("--zip", required=True)
    parser.add_argument("--version", required=True)
    parser.add_argument("--sizes", required=True, help="ACCOUNTSxREGIONS, comma-separated")
    parser.add_argument("--markdown")
    parser.add_argument("--about", action="append", default=[], help="a line about this run, for FLEET.md")
    args = parser.parse_args()
    sizes = [tuple(int(x) for x in s.lower().split("x")) for s in args.sizes.replace(" ", ",").split(",") if s]
    pid_file = Path(args.state) / "pid"
    sampler = Sampler(str(Path(args.state) / "tmp"), int(pid_file.read_text()) if pid_file.exists() else None)
    sampler.start()
    runs = []
    try:
        for accounts, regions in sizes:
            say(f"fleet of {accounts} accounts × {regions} regions")
            runs.append(Fleet(args, accounts, regions, sampler).run())
            print(table(runs), flush=True)
    except Breach as e:
        print(f"BREACH: {e}", file=sys.stderr)
        sys.exit(1)
    if args.markdown:
        markdown(Path(args.markdown), runs, args.about)
        say(f"wrote {args.markdown}")


if __name__ == "__main__":
    main()
