"""What must hold of a fleet, phase by phase: each check raises Breach with what broke."""

import base64
import datetime as dt
import hashlib
import time
from concurrent.futures import ThreadPoolExecutor

from fleet import Breach, say
from fleet.stacksets import HOOKED_ROLE, HOOKED_SERVICE, PROPAGATION_WAIT, REFUSED, SERVICES, Fleet, Instance
from rig.localstack_cfn import FALLBACK


def conclude(fleet: Fleet, phase: str, breaches: list[str], summary: str, **figures) -> None:
    """Raises the phase's breaches, one a line; else keeps its figures for the report and says
    what held."""
    if breaches:
        raise Breach(f"{phase}:\n  " + "\n  ".join(breaches))
    fleet.figures.update(figures)
    say(summary)


def check_functions(fleet: Fleet, functions: list[Instance]) -> None:
    breaches = []
    digest = base64.b64encode(hashlib.sha256(fleet.zip).digest()).decode()
    for i in functions:
        if i.status != "CREATE_COMPLETE":
            breaches.append(f"{i.name}: {i.status} {i.reason}")
            continue
        token = i.outputs.get("ServiceToken", "")
        if f":{i.account}:" not in token or f":{i.region}:" not in token:
            breaches.append(f"{i.name}: ServiceToken {token!r} is not in its account and region")
            continue
        config = fleet.client("lambda", i.account, i.region).get_function_configuration(FunctionName=token)
        if config["CodeSha256"] != digest:
            breaches.append(f"{i.name}: the function does not run the release zip")
        allowed = config["Environment"]["Variables"].get("UPSERT_SLR_ALLOWED_SERVICES")
        want = fleet.narrow_services if i.account == fleet.narrow else "*"
        if allowed != want:
            breaches.append(f"{i.name}: UPSERT_SLR_ALLOWED_SERVICES is {allowed!r}, not {want!r}")
    conclude(
        fleet,
        "function instances",
        breaches,
        f"{len(functions)} function instances CREATE_COMPLETE, each running the release zip",
    )


def check_hook(fleet: Fleet, stacks: list[Instance]) -> None:
    """The hooked account's plain stacks: each created after its hook let it proceed, one role
    for all its regions, made by the hook; no other account has that role."""
    breaches = []
    for i in stacks:
        created = [e for e in i.create_events if e[1] == "Warehouse" and e[2] == "CREATE_COMPLETE"]
        if not created:
            breaches.append(f"{i.account}/{i.region} warehouse: the cluster was not created: {i.create_events}")
        statuses = [h[1] for h in i.hooks]
        if not statuses or statuses[-1] != "HOOK_COMPLETE_SUCCEEDED" or "HOOK_COMPLETE_FAILED" in statuses:
            breaches.append(f"{i.account}/{i.region} warehouse: the hook did not let the cluster proceed: {i.hooks}")
    roles = fleet.roles(fleet.hooked, HOOKED_SERVICE)
    if [r["RoleName"] for r in roles] != [HOOKED_ROLE]:
        breaches.append(f"{fleet.hooked}: expected exactly {HOOKED_ROLE}, found {[r['RoleName'] for r in roles]}")
    for account in fleet.accounts:
        if account != fleet.hooked and fleet.roles(account, HOOKED_SERVICE):
            breaches.append(f"{account}: has a {HOOKED_SERVICE} role, though no hook runs there")
    made = sum(1 for i in stacks for h in i.hooks if h[2].startswith("created "))
    invocations = sum(len(i.hooks) for i in stacks)
    conclude(
        fleet,
        "the hook",
        breaches,
        f"{fleet.hooked}: a plain Redshift template deployed in {len(stacks)} regions through the hook "
        f"({invocations} hook answers, {made} of them creating the one {HOOKED_ROLE})",
        hooked={"stacks": len(stacks), "invocations": invocations},
    )


def check_baseline(fleet: Fleet, baseline: list[Instance]) -> None:
    breaches = []
    created = adopted = 0
    answers = {}
    with ThreadPoolExecutor(8) as pool:
        for i, a in zip(baseline, pool.map(fleet.answers, baseline), strict=True):
            answers[(i.account, i.region)] = a
    for i in baseline:
        if i.account == fleet.narrow:
            failed = i.last("SpotSlr")
            want = f'AWSServiceName "{REFUSED}" is not allowed by this function\'s UPSERT_SLR_ALLOWED_SERVICES'
            if i.status != "CREATE_FAILED" or not failed or failed[2] != "CREATE_FAILED" or want not in failed[3]:
                breaches.append(
                    f"{i.name}: expected CREATE_FAILED, SpotSlr failing with {want!r}; got {i.status}, {failed}"
                )
            else:
                fleet.figures["refused_reason"] = failed[3]
        elif i.status != "CREATE_COMPLETE":
            breaches.append(f"{i.name}: {i.status} {i.reason}")
    for account in fleet.accounts:
        for logical_id, service in SERVICES.items():
            roles = fleet.roles(account, service)
            if account == fleet.narrow and service == REFUSED:
                if roles:
                    breaches.append(f"{account}: a {service} role exists though the function refuses it: {roles}")
                continue
            if len(roles) != 1:
                breaches.append(
                    f"{account}: {len(roles)} roles for {service}, not one: {[r['RoleName'] for r in roles]}"
                )
                continue
            role = roles[0]
            made = role["CreateDate"]
            reports = []
            for region in fleet.regions:
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
                        f"CreateDate {made.isoformat()} + {PROPAGATION_WAIT} s"
                    )
                reports.append((region, data.get("Created"), event[0]))
            trues = [r for r in reports if r[1] == "true"]
            falses = [r for r in reports if r[1] == "false"]
            if len(trues) + len(falses) != len(reports):
                breaches.append(f"{account}/{service}: Created not 'true' or 'false': {reports}")
            seeded = account in fleet.seeded and service == "ecs.amazonaws.com"
            if len(trues) != (0 if seeded else 1):
                breaches.append(
                    f"{account}/{service}: {len(trues)} resources report Created 'true' across {fleet.regions}, "
                    f"expected {0 if seeded else 1}"
                )
            created += len(trues)
            adopted += len(falses)
            tags = {t["Key"]: t["Value"] for t in fleet.role_tags(account, role["RoleName"])}
            if seeded:
                before = fleet.seeded[account]
                if tags or role.get("Description") != before.get("Description") or made != before["CreateDate"]:
                    breaches.append(
                        f"{account}: the seeded ECS role changed: tags {tags}, description "
                        f"{role.get('Description')!r}, created {made}"
                    )
            elif trues:
                creator = next(i for i in baseline if i.account == account and i.region == trues[0][0])
                if (
                    tags.get("upsert-slr:stack-id") != creator.stack_id
                    or tags.get("upsert-slr:logical-id") != logical_id
                ):
                    breaches.append(f"{account}/{service}: created in {creator.region} but tagged {tags}")
    conclude(
        fleet,
        "baseline",
        breaches,
        f"baseline: {created} roles created, {adopted} adopted; every account has one role per service, "
        f"one creator each, no answer before CreateDate + {PROPAGATION_WAIT} s; seeded roles untouched; "
        f"{fleet.narrow} refused {REFUSED} in every region",
        roles_created=created,
        roles_adopted=adopted,
    )


def check_teardown(fleet: Fleet, baseline: list[Instance]) -> None:
    breaches = []
    for i in baseline:
        if i.status != "DELETE_COMPLETE":
            breaches.append(f"{i.name}: {i.status} {i.reason}")
        failed = [e for e in i.events if e[2] == "DELETE_FAILED"]
        if failed:
            breaches.append(f"{i.name}: {failed}")
    kept = gone = 0
    for account in fleet.accounts:
        for service in SERVICES.values():
            roles = fleet.roles(account, service)
            if account == fleet.narrow and service == REFUSED:
                expected = 0
            elif account == fleet.long_ago:
                # RemovalPolicy Delete here: the roles it made go, the seeded one stays.
                expected = 1 if service == "ecs.amazonaws.com" else 0
            else:
                expected = 1
            if len(roles) != expected:
                breaches.append(f"{account}/{service}: {len(roles)} roles after the teardown, expected {expected}")
            if expected:
                kept += len(roles)
            elif not (account == fleet.narrow and service == REFUSED):
                gone += 1
    seeded = fleet.seeded[fleet.long_ago]
    if fleet.role_tags(fleet.long_ago, "AWSServiceRoleForECS"):
        breaches.append(f"{fleet.long_ago}: the seeded ECS role was tagged")
    role = fleet.client("iam", fleet.long_ago).get_role(RoleName="AWSServiceRoleForECS")["Role"]
    if role.get("Description") != seeded.get("Description") or role["CreateDate"] != seeded["CreateDate"]:
        breaches.append(f"{fleet.long_ago}: the seeded ECS role changed: {role}")
    conclude(
        fleet,
        "baseline teardown",
        breaches,
        f"baseline torn down: {kept} roles kept (Retain, and the seeded role under Delete), "
        f"{gone} made under RemovalPolicy Delete removed",
        roles_kept=kept,
        roles_deleted=gone,
    )


def check_no_function_left(fleet: Fleet) -> None:
    for _ in range(100):
        left = fleet.sampler.functions()
        if not left:
            break
        time.sleep(0.3)
    else:
        raise Breach(f"function processes outlived their functions' deletion: {left}")
    if not fleet.sampler.max_alive:
        raise Breach("no function process was ever seen: the sampler proves nothing")
    say(f"function torn down: no function process left (at most {fleet.sampler.max_alive} were alive at once)")


def check_fallbacks(fleet: Fleet, instances: list[Instance]) -> None:
    found = [f"{i.name}/{e[1]}: {e[3]}" for i in instances for e in i.events if FALLBACK in e[3]]
    conclude(
        fleet,
        "deployed as a fallback (not deployed at all)",
        found,
        f"canary: no resource {FALLBACK!r} in {len(instances)} instances",
    )
