"""The SBOM (CycloneDX 1.5, JSON) of the crates compiled into the function for one target.

Reads what Cargo resolved for that platform (`cargo metadata --filter-platform`) and walks the
normal dependencies from the package: a dev-dependency is never in the binary, and a
build-dependency only runs while it is built. Every crate from a registry carries the
SHA-256 that Cargo.lock pins. Reproducible: the serial number derives from the content, the
timestamp from SOURCE_DATE_EPOCH (else the last commit's time). Validated against the
CycloneDX schema before it is written; then checked to hold the function's own crates and
none of its test crates.

    python3 scripts/sbom.py --target x86_64-unknown-linux-gnu --output dist/upsert-slr.cdx.json
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import tomllib
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# What the function cannot run without, and what only its tests use.
MUST_HOLD = {"aws-sdk-iam", "lambda_runtime", "rustls", "ring"}
MUST_NOT_HOLD = {"wiremock", "proptest", "rcgen"}
SERIAL_NAMESPACE = uuid.UUID("6f0d5b1e-6c7a-4e55-9a41-0c2b1f7d9e11")


def cargo_metadata(target: str) -> dict:
    out = subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--locked", "--offline", "--filter-platform", target],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out)


def lock_checksums() -> dict[tuple[str, str], str]:
    lock = tomllib.loads((ROOT / "Cargo.lock").read_text())
    return {(p["name"], p["version"]): p["checksum"] for p in lock.get("package", []) if "checksum" in p}


def normal_closure(metadata: dict, root: str) -> tuple[list[str], dict[str, list[str]]]:
    """The packages reachable from `root` through normal dependencies, and their edges."""
    nodes = {node["id"]: node for node in metadata["resolve"]["nodes"]}
    edges: dict[str, list[str]] = {}
    seen, todo = {root}, [root]
    while todo:
        current = todo.pop()
        normal = sorted(
            dep["pkg"] for dep in nodes[current]["deps"] if any(kind["kind"] is None for kind in dep["dep_kinds"])
        )
        edges[current] = normal
        for pkg in normal:
            if pkg not in seen:
                seen.add(pkg)
                todo.append(pkg)
    return sorted(seen - {root}), edges


def bom_ref(package: dict) -> str:
    # A path package's id holds the checkout's absolute path: the SBOM must not depend on it.
    if package["source"] is None:
        return f"path+file://.#{package['name']}@{package['version']}"
    return package["id"]


def spdx(license: str) -> str:
    """Cargo's license field as an SPDX expression: its legacy `A/B` means `A OR B`."""
    return " ".join(" OR ".join(part.strip() for part in license.split("/")).split())


def component(package: dict, checksums: dict[tuple[str, str], str]) -> dict:
    entry: dict = {"type": "library", "bom-ref": bom_ref(package)}
    if package.get("authors"):
        entry["author"] = ", ".join(package["authors"])
    entry["name"] = package["name"]
    entry["version"] = package["version"]
    if package.get("description"):
        entry["description"] = " ".join(package["description"].split())
    entry["scope"] = "required"
    checksum = checksums.get((package["name"], package["version"]))
    if checksum:
        entry["hashes"] = [{"alg": "SHA-256", "content": checksum}]
    if package.get("license"):
        entry["licenses"] = [{"expression": spdx(package["license"])}]
    entry["purl"] = f"pkg:cargo/{package['name']}@{package['version']}"
    references = [
        {"type": kind, "url": package[field]}
        for field, kind in (("homepage", "website"), ("repository", "vcs"), ("documentation", "documentation"))
        if package.get(field)
    ]
    if references:
        entry["externalReferences"] = references
    return entry


def timestamp() -> str:
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if not epoch:
        epoch = (
            subprocess.run(
                ["git", "log", "-1", "--format=%ct"], cwd=ROOT, capture_output=True, text=True
            ).stdout.strip()
            or "0"
        )
    moment = datetime.datetime.fromtimestamp(int(epoch), tz=datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def sbom(metadata: dict, target: str) -> dict:
    packages = {p["id"]: p for p in metadata["packages"]}
    [root] = metadata["workspace_members"]
    me = packages[root]
    members, edges = normal_closure(metadata, root)
    checksums = lock_checksums()
    ref = {pkg: bom_ref(packages[pkg]) for pkg in [root, *members]}
    application = {
        "type": "application",
        "bom-ref": ref[root],
        "name": me["name"],
        "version": me["version"],
        "description": " ".join(me.get("description", "").split()),
        "scope": "required",
        "licenses": [{"expression": spdx(me["license"])}],
        "purl": f"pkg:cargo/{me['name']}@{me['version']}?download_url=file://.",
    }
    document = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "version": 1,
        "metadata": {
            "timestamp": timestamp(),
            "tools": [{"vendor": "upsert-slr", "name": "scripts/sbom.py", "version": me["version"]}],
            "component": application,
            "properties": [{"name": "cdx:rustc:sbom:target:triple", "value": target}],
        },
        "components": sorted(
            (component(packages[pkg], checksums) for pkg in members),
            key=lambda c: (c["name"], c["version"], c["bom-ref"]),
        ),
        "dependencies": sorted(
            ({"ref": ref[pkg], "dependsOn": sorted(ref[d] for d in deps)} for pkg, deps in edges.items()),
            key=lambda d: d["ref"],
        ),
    }
    # Derived from everything else, so the same build gives the same serial number.
    document["serialNumber"] = f"urn:uuid:{uuid.uuid5(SERIAL_NAMESPACE, json.dumps(document, sort_keys=True))}"
    return document


def validate(text: str) -> None:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    error = JsonStrictValidator(SchemaVersion.V1_5).validate_str(text)
    if error is not None:
        raise SystemExit(f"the SBOM does not follow CycloneDX 1.5: {error}")


def check(document: dict, path: str) -> None:
    names = {c["name"] for c in document["components"]}
    missing = MUST_HOLD - names
    if missing:
        raise SystemExit(f"{path} misses the function's crates {sorted(missing)}")
    tests = names & MUST_NOT_HOLD
    if tests:
        raise SystemExit(f"{path} lists dev-dependencies {sorted(tests)}")
    unhashed = [c["name"] for c in document["components"] if "hashes" not in c and not c["bom-ref"].startswith("path+")]
    if unhashed:
        raise SystemExit(f"{path}: crates without a Cargo.lock checksum: {unhashed}")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", required=True, help="the Rust target triple the zip is built for")
    parser.add_argument("--output", required=True, type=Path)
    args = parser.parse_args(argv)
    document = sbom(cargo_metadata(args.target), args.target)
    text = json.dumps(document, indent=2) + "\n"
    validate(text)
    check(document, str(args.output))
    args.output.write_text(text)
    print(f"{args.output}: {len(document['components'])} crates")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
