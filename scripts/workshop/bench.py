"""The benchmark against the npm package upsert-slr (BENCHMARKS.md): the release build of each
architecture, the host's bootstrap run beside the npm package (pinned by
bench/anchor/package-lock.json) under one Lambda Runtime API against LocalStack
(LOCALSTACK_ENDPOINT's, or one started here). BENCH_QUICK=1: a few iterations, to check that it
runs; it writes nothing."""

from __future__ import annotations

import json
import re
import shutil
import zipfile

from workshop import localstack, venvs
from workshop.rust import release_build
from workshop.shell import ROOT, host_arch, npm_ci, require, require_cargo, run, say, switched_on


def bench() -> None:
    """This function against the npm package upsert-slr; writes BENCHMARKS.md (BENCH_QUICK=1: a check that it runs)."""
    require_cargo()
    require("node", "the npm package runs on Node.js: install node (20 or newer) and npm")
    quick = switched_on("BENCH_QUICK")  # read before the builds: a value it cannot take is refused at once
    venvs.use_tools()
    host = host_arch()
    other = "arm64" if host == "x86_64" else "x86_64"
    zips = {arch: ROOT / "target/release-lambda" / arch / "upsert-slr/bootstrap.zip" for arch in (host, other)}
    for arch in (host, other):
        release_build(arch, ROOT / "target/release-lambda" / arch)
    unpacked = ROOT / "target/bench/run"
    shutil.rmtree(unpacked, ignore_errors=True)
    with zipfile.ZipFile(zips[host]) as z:
        z.extractall(unpacked)
    (unpacked / "bootstrap").chmod(0o755)
    say("installing the npm package upsert-slr (bench/anchor/package-lock.json)")
    anchor = ROOT / "bench/anchor"
    npm_ci(anchor)
    with localstack.running(localstack.Kind.named("")) as endpoint:
        versions = "; ".join(
            [
                f"LocalStack {pinned('localstack-core', ROOT / 'tests/localstack/requirements.txt')}",
                f"upsert-slr (npm) {npm_version('upsert-slr')}",
                f"@aws-sdk/client-iam {npm_version('@aws-sdk/client-iam')}",
                f"cargo-lambda {pinned('cargo-lambda', ROOT / 'scripts/requirements-tools.txt')}",
            ]
        )
        args = ["--ours", unpacked / "bootstrap", "--ours-zip", zips[host], "--ours-zip-other", zips[other]]
        args += [
            "--other-arch",
            other,
            "--arch",
            host,
            "--anchor-dir",
            anchor,
            "--endpoint",
            endpoint,
            "--versions",
            versions,
        ]
        if quick:
            say("benchmark, quick mode (a check that it works; the figures mean little)")
            run(["python3", "bench/bench.py", *args, "--cold", "2", "--warm", "2"])
        else:
            say("benchmark")
            run(["python3", "bench/bench.py", *args, "--markdown", "BENCHMARKS.md"])


def npm_version(package: str) -> str:
    return json.loads((ROOT / "bench/anchor/node_modules" / package / "package.json").read_text())["version"]


def pinned(package: str, pins) -> str:
    return re.search(rf"^{re.escape(package)}==(\S+)", pins.read_text(), re.M).group(1)
