#!/usr/bin/env python3
"""Sweeps the function logs the tests captured for presigned-URL signatures, then renders
RELIABILITY.md from the evidence the tests recorded (one JSON line per check that held).

usage: python3 -m rig.reliability EVIDENCE_JSONL LOG_DIR OUT_MD [--require-logs]
Exits 1 if any log holds a signature, or with --require-logs if no log was captured."""

import datetime
import json
import pathlib
import subprocess
import sys

# The same list the Rust tests check each function's logs against.
MARKERS = pathlib.Path(__file__).resolve().parents[1] / "support/secret-markers.txt"
SECRETS = [line for line in MARKERS.read_text().splitlines() if line and not line.startswith("#")]
AREAS = ["Faults", "Bad input", "Properties", "Races", "Never lose a role", "Secrets"]


def sweep(log_dir):
    files = sorted(pathlib.Path(log_dir).glob("*.log")) if pathlib.Path(log_dir).is_dir() else []
    lines = hits = 0
    for path in files:
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            lines += 1
            for secret in SECRETS:
                if secret in line:
                    hits += 1
                    print(f"{path.name}:{number}: contains {secret}", file=sys.stderr)
    return len(files), lines, hits


def main(evidence_path, log_dir, out_path, require_logs):
    files, lines, hits = sweep(log_dir)
    if hits:
        print(f"secrets: {hits} presigned signatures in the function logs", file=sys.stderr)
        return 1
    if require_logs and files == 0:
        print(f"secrets: no function logs under {log_dir}: the sweep would prove nothing", file=sys.stderr)
        return 1
    print(f"secrets: 0 signatures in {lines} lines of {files} function logs")

    rows = []
    path = pathlib.Path(evidence_path)
    if path.exists():
        rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    rows.append(
        {
            "area": "Secrets",
            "cases": files,
            "tried": "every function log captured by the suites above, searched for "
            + ", ".join(f"`{s}`" for s in SECRETS),
            "held": f"0 matches in {lines} log lines",
        }
    )
    rows.sort(key=lambda r: (AREAS.index(r["area"]) if r["area"] in AREAS else len(AREAS), r["tried"]))
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True
    ).stdout.strip()
    if commit and dirty:
        commit += "` with uncommitted changes`"
    out = [
        "# Reliability",
        "",
        "What upsert-slr was put through and what held. Every row is written by a test after its",
        "assertions passed (tests/faults.rs, tests/iam_faults.rs, tests/corpus.rs, tests/proptests.rs, tests/lambda/),",
        "so a missing row means a check did not pass. Regenerate with `make reliability`.",
        "",
        f"Generated {datetime.date.today().isoformat()} at commit `{commit or 'unknown'}`.".replace("``", ""),
        "",
        "| area | what was tried | cases | what held |",
        "|---|---|---:|---|",
    ]
    for r in rows:
        out.append(f"| {r['area']} | {r['tried']} | {r['cases']} | {r['held']} |")
    totals = {a: sum(r["cases"] for r in rows if r["area"] == a) for a in AREAS}
    out += ["", "Totals: " + ", ".join(f"{a} {n}" for a, n in totals.items()) + ".", ""]
    missing = [a for a in AREAS if totals[a] == 0]
    if missing:
        out += [f"No evidence for: {', '.join(missing)}.", ""]
    pathlib.Path(out_path).write_text("\n".join(out))
    print(f"wrote {out_path} ({len(rows)} rows)")
    return 0


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    if len(args) != 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(*args, require_logs="--require-logs" in sys.argv))
