"""One fleet: its accounts seeded, the function and the baseline deployed through StackSets
into them, and both torn down again; what each phase took."""

import datetime as dt
import json
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import yaml
from botocore.config import Config
from botocore.exceptions import ClientError

from fleet import Breach, say
from fleet.plan import Size
from fleet.sampler import Sampler
from rig import templates

ROOT = Path(__file__).resolve().parents[2]
BASELINE = ROOT / "examples/cloudformation/slr-baseline.yaml"
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
# What the hooked account deploys: a template that names no role and no transform.
WAREHOUSE = templates.warehouse()
HOOKED_SERVICE, HOOKED_ROLE = "redshift.amazonaws.com", "AWSServiceRoleForRedshift"
FUNCTION_SET, NARROW_SET, HOOK_SET = "upsert-slr", "upsert-slr-narrow", "upsert-slr-hook"
BASELINE_SET, DELETE_SET = "upsert-slr-baseline", "upsert-slr-baseline-delete"


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
    # A stack's hook events: (logical id, hook status, its reason), oldest first.
    hooks: list = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"sset-{self.stack_set}-{self.account}-{self.region}"

    def span(self) -> float:
        """Seconds from the stack's first event to its last."""
        return (self.events[-1][0] - self.events[0][0]).total_seconds()

    def last(self, logical_id: str) -> tuple | None:
        found = [e for e in self.events if e[1] == logical_id]
        return found[-1] if found else None


class Fleet:
    def __init__(self, args, size: Size, sampler: Sampler):
        self.args = args
        self.endpoint = args.endpoint.rstrip("/")
        self.sampler = sampler
        self.regions = list(size.regions)
        ids = random.sample(range(10**11, 10**12), size.accounts + 1)
        self.admin = str(ids[0])
        self.accounts = [str(i) for i in ids[1:]]
        # The seeded cases: a role made long ago by a console click (this account's baseline has
        # RemovalPolicy Delete: the role it did not make must survive the teardown), one made a
        # second before the deploy, and a function that does not allow one baseline service.
        self.long_ago, self.just_made, self.narrow = self.accounts[:3]
        # The function registered as a Lambda Hook too (RegisterHook, an override of one
        # account on AWS): a plain template there gets its role with no template change.
        self.hooked = self.just_made
        self.seeded: dict[str, dict] = {}  # account -> the seeded ECS role as IAM described it
        self.instances: dict[str, list[Instance]] = {}
        self.phases: dict[str, float] = {}
        self.figures: dict = {
            "size": str(size),
            "accounts": size.accounts,
            "regions": len(self.regions),
            "region_names": self.regions,
        }
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

    def function_template(self, allowed: str, hook: bool = False) -> tuple[str, dict]:
        """The release template with the defaults a StackSet's parameters would give, and the code
        read from the region's own bucket; with `hook`, registered as a Lambda Hook. Returns the
        body and the parameters a real StackSet would be given (passed too, though LocalStack
        ignores them)."""
        template = yaml.safe_load(Path(self.args.release_template).read_text())
        values = {
            "CodeS3Bucket": self.bucket_prefix,
            "Architecture": "x86_64",
            "AllowedServices": allowed,
            "ExtraResponseUrlPrefixes": f"{self.endpoint}/",
        }
        if hook:
            values |= {"RegisterHook": "true", "HookWaitSeconds": str(PROPAGATION_WAIT)}
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
                    StackSetName=name,
                    Accounts=accounts,
                    Regions=self.regions,
                    OperationPreferences={
                        "FailureToleranceCount": len(accounts) * len(self.regions),
                        "MaxConcurrentPercentage": 100,
                    },
                )
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
            pending = [i for i, d in zip(pending, done, strict=True) if not d]
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
            (e["Timestamp"], e["LogicalResourceId"], e["ResourceStatus"], e.get("ResourceStatusReason", ""))
            for e in raw
        )

    def delete(self, names: list[str], instances: list[Instance]) -> None:
        cfn = self.client("cloudformation", self.admin, long=True)
        by_set: dict[str, set] = {}
        for i in instances:
            by_set.setdefault(i.stack_set, set()).add(i.account)
        errors = []

        def remove(name):
            try:
                cfn.delete_stack_instances(
                    StackSetName=name, Accounts=sorted(by_set[name]), Regions=self.regions, RetainStacks=False
                )
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
        hook_body, hook_params = self.function_template("*", hook=True)
        others = [a for a in self.accounts if a not in (self.narrow, self.hooked)]
        return self.deploy(
            [
                (FUNCTION_SET, body, params, ["CAPABILITY_IAM"], others),
                (NARROW_SET, narrow_body, narrow_params, ["CAPABILITY_IAM"], [self.narrow]),
                (HOOK_SET, hook_body, hook_params, ["CAPABILITY_IAM"], [self.hooked]),
            ]
        )

    def baseline_phase(self) -> list[Instance]:
        body, params = self.baseline_template("Retain")
        delete_body, delete_params = self.baseline_template("Delete")
        others = [a for a in self.accounts if a != self.long_ago]
        old = self.seeded[self.long_ago]["CreateDate"]
        age = (dt.datetime.now(dt.UTC) - old).total_seconds()
        if age <= PROPAGATION_WAIT + 1:
            time.sleep(PROPAGATION_WAIT + 1 - age)
        # A second before the deploy.
        self.seed(self.just_made)
        time.sleep(1)
        self.figures["seeded_ages"] = {
            "long ago": (dt.datetime.now(dt.UTC) - old).total_seconds(),
            "just made": (dt.datetime.now(dt.UTC) - self.seeded[self.just_made]["CreateDate"]).total_seconds(),
        }
        return self.deploy(
            [
                (BASELINE_SET, body, params, [], others),
                (DELETE_SET, delete_body, delete_params, [], [self.long_ago]),
            ]
        )

    def hook_phase(self) -> list[Instance]:
        """A plain template (a Redshift cluster: no role, no transform) deployed as a stack of
        its own in every region of the hooked account at once, as a team that never heard of
        this tool would; read, then deleted. The regions race for the account's one role."""
        instances = [Instance("warehouse", self.hooked, region) for region in self.regions]

        def create(i: Instance) -> None:
            cfn = self.client("cloudformation", i.account, i.region)
            i.stack_id = cfn.create_stack(StackName="warehouse", TemplateBody=WAREHOUSE)["StackId"]

        with ThreadPoolExecutor(len(instances)) as pool:
            list(pool.map(create, instances))
        self.wait(instances, deleting=False, timeout=600)
        with ThreadPoolExecutor(len(instances)) as pool:
            hooks = list(pool.map(self.hook_events, instances))
        for i, events in zip(instances, hooks, strict=True):
            i.hooks = events
        for i in instances:
            self.client("cloudformation", i.account, i.region).delete_stack(StackName=i.stack_id)
        self.wait(instances, deleting=True, timeout=600)
        return instances

    def hook_events(self, instance: Instance) -> list[tuple[str, str, str]]:
        """(logical id, hook status, its reason) of the stack's hook events, oldest first."""
        cfn = self.client("cloudformation", instance.account, instance.region)
        raw = cfn.describe_stack_events(StackName=instance.stack_id)["StackEvents"][::-1]
        return [
            (e["LogicalResourceId"], e["HookStatus"], e.get("HookStatusReason", "")) for e in raw if e.get("HookType")
        ]
