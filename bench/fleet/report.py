"""The figures of each fleet: measured once it is torn down, as a table, and into FLEET.md."""

import math
import os
import platform
import statistics
from pathlib import Path

from fleet.plan import MARKDOWN_END, MARKDOWN_START
from fleet.stacksets import PROPAGATION_WAIT, SERVICES, Fleet, Instance


def measure(fleet: Fleet, functions: list[Instance], baseline: list[Instance]) -> None:
    f = fleet.figures
    f["instances"] = {"function": len(functions), "baseline": len(baseline)}
    f["phases"] = dict(fleet.phases)
    for kind, instances in (("function", functions), ("baseline", baseline)):
        f[f"{kind}_deploy"] = spread([i.created_span for i in instances])
    with fleet.sampler.lock:
        f["max_alive"] = fleet.sampler.max_alive
        f["processes"] = len(fleet.sampler.hwm)
        f["sum_hwm_mib"] = sum(fleet.sampler.hwm.values()) / 1024
        f["max_rss_sum_mib"] = fleet.sampler.max_rss_sum / 1024
        f["function_cpu_s"] = sum(fleet.sampler.cpu.values())
    ls = fleet.sampler.localstack()
    f["localstack_hwm_mib"] = ls.get("VmHWM", 0) / 1024
    # Each baseline resource: how long the engine held it, beyond the propagation wait it must take.
    held = [
        (done[0] - start[0]).total_seconds()
        for i in baseline
        if i.account != fleet.narrow
        for lid in SERVICES
        for start, done in [
            (first(i.create_events, lid, "CREATE_IN_PROGRESS"), first(i.create_events, lid, "CREATE_COMPLETE"))
        ]
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
    *[
        (f"phase: {name} (s)", (lambda n: lambda f: fmt(f["phases"][n]))(name))
        for name in ("seed", "function", "baseline", "checks", "baseline teardown", "function teardown")
    ],
    *[
        (
            f"{kind} instance deploy p50 / p95 / max (s)",
            (lambda k: lambda f: " / ".join(fmt(f[f"{k}_deploy"][q]) for q in ("p50", "p95", "max")))(kind),
        )
        for kind in ("function", "baseline")
    ],
    (
        "baseline resource, in progress to complete, p50 / p95 / max (s)",
        lambda f: " / ".join(fmt(f["resource_held"][q]) for q in ("p50", "p95", "max")),
    ),
    ("function processes: most alive at once / started", lambda f: f"{f['max_alive']} / {f['processes']}"),
    ("function processes: summed peak RSS (MiB)", lambda f: fmt(f["sum_hwm_mib"])),
    ("function processes: most RSS at one moment (MiB)", lambda f: fmt(f["max_rss_sum_mib"])),
    ("function processes: CPU time, all (s)", lambda f: fmt(f["function_cpu_s"], 2)),
    (
        "LocalStack: CPU time, function + baseline phases (s)",
        lambda f: fmt(f.get("localstack_cpu", {}).get("function", 0) + f.get("localstack_cpu", {}).get("baseline", 0)),
    ),
    ("LocalStack: peak RSS so far (MiB)", lambda f: fmt(f["localstack_hwm_mib"])),
]


def table(runs: list[dict]) -> str:
    lines = [
        "| figure | " + " | ".join(f"{r['accounts']} × {r['regions']}" for r in runs) + " |",
        "|---|" + "---:|" * len(runs),
    ]
    for label, get in ROWS:
        lines.append(f"| {label} | " + " | ".join(get(r) for r in runs) + " |")
    return "\n".join(lines)


def machine() -> list[str]:
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    meminfo = Path("/proc/meminfo").read_text().splitlines()
    cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), "?")
    mem = next(int(line.split()[1]) for line in meminfo if line.startswith("MemTotal")) / 2**20
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return [
        f"machine: {os.cpu_count()} cores, {cpu}, {mem:.0f} GiB, Linux {platform.release()}",
        f"load average at the end (1, 5, 15 min): {load} — the machine is shared; other builds ran beside this one",
    ]


def markdown(path: Path, runs: list[dict], versions: list[str]) -> None:
    start, end = MARKDOWN_START, MARKDOWN_END
    text = path.read_text() if path.exists() else f"# Fleet\n\n{start}\n{end}\n"
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    narrow = next((r["refused_reason"] for r in runs if r.get("refused_reason")), "")
    regions = dict.fromkeys(name for r in runs for name in r["region_names"])
    body = "\n".join(
        [
            "The function, then the role baseline, deployed through LocalStack's self-managed StackSets",
            "into fleets of growing size, one after another on one LocalStack, each checked and torn down",
            "(`make fleet-scale`; `make fleet` runs one fleet and prints the same table).",
            "",
            table(runs),
            "",
            f"- PropagationWaitSeconds {PROPAGATION_WAIT} (the rig's baseline default); regions {', '.join(regions)}.",
            f"- The refused account's Reason: `{narrow}`",
            "",
            "This run:",
            "",
            *[f"- {line}" for line in machine() + versions],
        ]
    )
    path.write_text(f"{head}{start}\n{body}\n{end}{tail}")
