"""The Rust suites: every test against LocalStack, the arm64 bootstrap under qemu-user, fuzzing."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

from workshop import localstack, venvs
from workshop.rust import qemu_aarch64
from workshop.shell import ROOT, Refused, crate_version, require_cargo, run, say, scratch, whole_number


def test(cargo_args: list[str] = (), binary: Path | None = None) -> None:
    """Unit tests, IAM wire replays, fault injection and generated properties as plain
    `cargo test` runs them, with nothing started; then the bad-input corpus and the built
    binary (or `binary`) under a Lambda Runtime API against LocalStack (LOCALSTACK_ENDPOINT's,
    or one started here). With `cargo_args`, only `cargo test` with them, against LocalStack.
    Then every function log the tests captured is searched for presigned-URL signatures, and
    the evidence the tests recorded becomes target/RELIABILITY.md (`make reliability`
    publishes it)."""
    require_cargo()
    evidence = ROOT / "target/reliability.jsonl"
    logs = ROOT / "target/tmp/function-logs"
    evidence.unlink(missing_ok=True)
    shutil.rmtree(logs, ignore_errors=True)
    env = {"RELIABILITY_LOG": str(evidence)}
    if binary:
        env["UPSERT_SLR_BINARY"] = str(binary)
    if not cargo_args:
        # What plain `cargo test` runs, before anything is started: it must need nothing.
        say("cargo test, with nothing running")
        run(["cargo", "test"], env=env)
    with localstack.running(localstack.Kind.named("")) as endpoint:
        # The two suites plain `cargo test` leaves out, on the same build.
        suites = cargo_args or ["--test", "lambda", "--test", "corpus"]
        say(f"cargo test {' '.join(suites)} (LocalStack at {endpoint})")
        run(["cargo", "test", *suites], env={**env, "LOCALSTACK_ENDPOINT": endpoint})
    say("searching the captured function logs for presigned-URL signatures")
    # Only a full run (no cargo test arguments) has every test's logs to search.
    full_run = [] if cargo_args else ["--require-logs"]
    run(["python3", "-m", "rig.reliability", evidence, logs, ROOT / "target/RELIABILITY.md", *full_run])


def test_arm64(args: list[str]) -> None:
    """The binary-level suites (tests/lambda/, tests/corpus.rs) against an arm64 bootstrap run
    by qemu-user, as Lambda runs it on Graviton: the release zip in dist/, or the bootstrap or
    zip given first, then cargo test's arguments. Timings under emulation mean nothing; what
    the suites assert does."""
    require_cargo()
    artifact = Path(args[0]) if args else ROOT / f"dist/upsert-slr-{crate_version()}-arm64.zip"
    suites = args[1:] or ["--test", "lambda", "--test", "corpus"]
    if not artifact.is_file():
        raise Refused(f"{artifact} does not exist: run make dist first")
    directory = ROOT / "target/arm64-under-qemu"
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    bootstrap = directory / "bootstrap"
    if zipfile.is_zipfile(artifact):
        with zipfile.ZipFile(artifact) as z:
            z.extract("bootstrap", directory)
    else:
        shutil.copy(artifact, bootstrap)
    bootstrap.chmod(0o755)
    run(["python3", "scripts/elf_arch.py", bootstrap, "arm64"])
    qemu = qemu_aarch64()
    launcher = directory / "run"
    launcher.write_text(f'#!/bin/sh\nexec {" ".join(qemu)} {bootstrap} "$@"\n')
    launcher.chmod(0o755)
    say(f"{artifact} under {qemu[0]}: {' '.join(suites)}")
    test(suites, binary=launcher)


def fuzz() -> None:
    """The fuzz targets in fuzz/ (cargo fuzz, libFuzzer), each FUZZ_SECONDS (default 30),
    seeded with the sample events and the malformed-event corpus. Fails on the first crash or
    broken invariant and names the input libFuzzer saved (it becomes a test in
    tests/fuzz_regressions.rs). Built once, unoptimised and without a sanitizer: the code is
    safe Rust, so AddressSanitizer would find nothing a panic does not, and a debug build
    costs a third of an optimised one to compile."""
    require_cargo()
    seconds = whole_number("FUZZ_SECONDS", 30, 1, 86400)
    venvs.use_tools()
    fuzz_dir = ROOT / "fuzz"
    run(["cargo", "fmt", "--check"], cwd=fuzz_dir)
    flags = ["--sanitizer", "none", "--dev"]
    say("building the fuzz targets")
    run(["cargo", "fuzz", "build", *flags], cwd=fuzz_dir)
    with scratch() as work:
        seeds = work / "seeds"
        seeds.mkdir()
        for seed in [
            *(ROOT / "events").glob("*.json"),
            *(p for p in (ROOT / "tests/corpus").rglob("*") if p.is_file()),
        ]:
            shutil.copy(seed, seeds)
        targets = run(["cargo", "fuzz", "list"], cwd=fuzz_dir, capture=True).stdout.split()
        for target in targets:
            say(f"fuzzing {target} for {seconds} s")
            (fuzz_dir / "corpus" / target).mkdir(parents=True, exist_ok=True)
            log = work / f"{target}.log"
            with open(log, "w") as out:
                done = run(
                    [
                        *["cargo", "fuzz", "run", *flags, target, f"corpus/{target}", seeds, "--"],
                        *[f"-max_total_time={seconds}", "-print_final_stats=1"],
                    ],
                    cwd=fuzz_dir,
                    check=False,
                    stdout=out,
                    stderr=out,
                )
            lines = log.read_text(errors="replace").splitlines()
            if done.returncode != 0:
                shown = [
                    x for x in lines if any(m in x for m in ("panicked", "SUMMARY", "Test unit written", "Base64"))
                ]
                print("\n".join(shown or lines[-30:]))
                raise Refused(f"fuzz target {target} failed: the input is in fuzz/artifacts/{target}/")
            print("\n".join(x for x in lines if x.startswith("Done") or "stat::number_of_executed_units" in x))
