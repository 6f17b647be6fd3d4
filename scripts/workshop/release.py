"""The release: the Lambda artifact, the construct library around it, dist/ and its checks,
the rebuild that must give the same zips, and the SAM build."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

from workshop import venvs
from workshop.rust import GLIBC_FLOOR, RUST_TARGETS, clean_commit, lambda_arch, release_build
from workshop.shell import (
    ROOT,
    Refused,
    crate_version,
    fails,
    host_arch,
    npm_ci,
    output,
    require_cargo,
    require_npm,
    run,
    say,
    scratch,
    switched_on,
    timed,
)

CDK = ROOT / "cdk"
ARCHES = ("x86_64", "arm64")


def build() -> None:
    """target/lambda/upsert-slr/bootstrap and bootstrap.zip for ARCH (default arm64)."""
    require_cargo()
    venvs.use_tools()
    release_build(lambda_arch(), ROOT / "target/lambda")
    run(["ls", "-l", "target/lambda/upsert-slr/"])


def cdk_lib() -> None:
    """The construct library in cdk/ with both architectures' release zips inside, beside
    manifest.json (version, commit, and per architecture the file, its sha256 and the
    toolchain that built it), then jsii into cdk/lib. The package's version is the crate's:
    written into cdk/package.json here, and refused in CI when the committed one differs."""
    require_cargo()
    require_npm()
    venvs.use_tools()
    version = crate_version()
    packaged = json.loads((CDK / "package.json").read_text())["version"]
    if packaged != version:
        if os.environ.get("CI"):
            raise Refused(
                f"cdk/package.json has version {packaged}, Cargo.toml {version}: run make cdk-lib and commit cdk/package.json"
            )
        say(f"cdk/package.json: version {packaged} -> {version} (from Cargo.toml)")
        run(["npm", "pkg", "set", f"version={version}"], cwd=CDK)
    lambda_dir = CDK / "lambda"
    shutil.rmtree(lambda_dir, ignore_errors=True)
    functions = []
    for arch in ARCHES:
        toolchain = release_build(arch, ROOT / "target/release-lambda" / arch)
        (lambda_dir / arch).mkdir(parents=True)
        zipped = lambda_dir / arch / "bootstrap.zip"
        shutil.copy(ROOT / "target/release-lambda" / arch / "upsert-slr/bootstrap.zip", zipped)
        digest = hashlib.sha256(zipped.read_bytes()).hexdigest()
        functions.append(
            {
                "architecture": arch,
                "file": f"{arch}/bootstrap.zip",
                "sha256": digest,
                "rust": toolchain,
                "glibcFloor": GLIBC_FLOOR,
            }
        )
    # What `make verify-release` compares a rebuild with, and what it needs to rebuild the same.
    commit = output(["git", "rev-parse", "HEAD"], check=False) or "unknown"
    manifest = json.dumps({"version": version, "commit": commit, "functions": functions}, indent=2) + "\n"
    (lambda_dir / "manifest.json").write_text(manifest)
    print(manifest)
    # The package's README is docs/cdk.md; its LICENSE the repository's; slr-needs.json the
    # table the ServiceLinkedRoles aspect reads at synth.
    run(["python3", "scripts/cdk_readme.py", "docs/cdk.md"], to=CDK / "README.md")
    shutil.copy(ROOT / "LICENSE", CDK / "LICENSE")
    shutil.copy(ROOT / "slr-needs.json", CDK / "slr-needs.json")
    say("npm ci (cdk)")
    npm_ci(CDK)
    say("jsii")
    run(["npx", "jsii", "--fail-on-warnings"], cwd=CDK)


def deny() -> None:
    """cargo deny on the licenses, bans and sources of the crates compiled into the function
    (deny.toml), and proof it can fail: ring (Apache-2.0 AND ISC) with ISC refused."""
    say("cargo deny: licenses, bans and sources of the crates compiled into the function (deny.toml)")
    run(["cargo", "fetch", "--locked", "--quiet"])  # cargo metadata reads every crate of Cargo.lock
    run(["cargo", "deny", "--offline", "check", "licenses", "bans", "sources"])
    without_isc = ROOT / "target/deny-without-isc.toml"
    without_isc.parent.mkdir(exist_ok=True)
    text = (ROOT / "deny.toml").read_text()
    if '    "ISC",\n' not in text:
        raise Refused("could not take ISC out of a copy of deny.toml")
    without_isc.write_text(text.replace('    "ISC",\n', ""))
    fails(
        ["cargo", "deny", "--offline", "--config", without_isc, "check", "licenses"],
        "rejected: license is not explicitly allowed",
    )


def dist() -> None:
    """dist/: both architectures' zips (the ones the package carries), the release template,
    the SBOMs (CycloneDX), the npm tarball, the Python wheel and sdist (jsii-pacmak) and
    SHA256SUMS. Fails on a crate whose license or source is not allowed and on a bootstrap
    needing a glibc newer than provided.al2023's; checks the packages as the registries would
    (`npm publish --dry-run`, `twine check`). SKIP_CDK_LIB=1 packs the cdk/ already built."""
    require_cargo()
    venvs.use_tools()
    commit = clean_commit()
    skip_lib = switched_on("SKIP_CDK_LIB")
    deny()
    if not skip_lib:
        cdk_lib()
    version = crate_version()
    # pacmak makes its own venv and `python -m build` another: PIP_CONSTRAINT pins what pip puts
    # in both; twine comes from a venv pinned the same way.
    constraints = CDK / "requirements-build.txt"
    os.environ.update(PIP_CONSTRAINT=str(constraints), PIP_DISABLE_PIP_VERSION_CHECK="1")
    build_venv = venvs.venv_with(ROOT / ".venv-cdk", constraints, hashed=False)
    dist_dir = ROOT / "dist"
    shutil.rmtree(CDK / "dist", ignore_errors=True)
    shutil.rmtree(dist_dir, ignore_errors=True)
    say("jsii-pacmak (npm tarball, Python wheel and sdist)")
    with timed("jsii-pacmak"):
        run(["npx", "jsii-pacmak", "--targets", "js,python", "--outdir", "dist"], cwd=CDK)
    dist_dir.mkdir()
    shutil.copy(CDK / f"dist/js/upsert-slr-cdk@{version}.jsii.tgz", dist_dir / f"upsert-slr-cdk-{version}.tgz")
    for built in (f"upsert_slr_cdk-{version}-py3-none-any.whl", f"upsert_slr_cdk-{version}.tar.gz"):
        shutil.copy(CDK / "dist/python" / built, dist_dir)
    for arch in ARCHES:
        shutil.copy(CDK / "lambda" / arch / "bootstrap.zip", dist_dir / f"upsert-slr-{version}-{arch}.zip")
    say("glibc: every bootstrap must run on provided.al2023")
    run(["python3", "scripts/check_glibc.py", "--max", "2.34", *sorted(dist_dir.glob("*.zip"))])
    template = dist_dir / f"upsert-slr-{version}.template.yaml"
    run(["python", "scripts/release_template.py", "template.yaml", version, template])
    run(["cfn-lint", template])
    say("SBOMs (CycloneDX) of the crates compiled into each zip")
    for arch in ARCHES:
        sbom = dist_dir / f"upsert-slr-{version}-{arch}.cdx.json"
        run(["python", "scripts/sbom.py", "--target", RUST_TARGETS[arch], "--output", sbom])
    sums = "".join(
        f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.name}\n" for p in sorted(dist_dir.iterdir()) if p.is_file()
    )
    (dist_dir / "SHA256SUMS").write_text(sums)
    # The zips the packages carry are the ones SHA256SUMS lists, read as verify-release reads
    # an installed package: the npm tarball's manifest, and the one in the wheel's jsii tarball.
    listed = digests(dist_dir / "SHA256SUMS")[1:]
    for package in (f"upsert-slr-cdk-{version}.tgz", f"upsert_slr_cdk-{version}-py3-none-any.whl"):
        if digests(dist_dir / package)[1:] != listed:
            raise Refused(f"dist/{package} carries other zips than dist/SHA256SUMS lists")
    say("npm publish --dry-run")
    run(["npm", "publish", "--dry-run", "--loglevel=warn", f"./dist/upsert-slr-cdk-{version}.tgz"])
    say("twine check")
    packages = [*dist_dir.glob("*.whl"), *dist_dir.glob("*.tar.gz")]
    run([build_venv / "bin/twine", "check", "--strict", *packages])
    run(["ls", "-l", "dist"])
    # Not in SHA256SUMS (written after it): what cdk-test compares with the commit to reuse dist/.
    if commit:
        (dist_dir / ".commit").write_text(commit + "\n")
    # The registries show this URL on the package's page: a release must not carry the placeholder.
    if "example.invalid" in (CDK / "package.json").read_text():
        say(
            'before publishing: set "repository" in cdk/package.json to the project\'s repository (it is a placeholder)'
        )


def digests(release: Path) -> list[str]:
    """scripts/release_digests.py's lines for `release`: its version and commit, then per zip."""
    return output(["python3", "scripts/release_digests.py", release]).splitlines()


def verify_release() -> None:
    """Rebuilds the release zips from this checkout's commit, in a directory of their own with
    a target/ of their own, and compares them byte for byte with FROM (dist/SHA256SUMS by
    default; an installed npm or Python package, its tarball or wheel). ARCH rebuilds one."""
    require_cargo()
    venvs.use_tools()
    release = Path(os.environ.get("FROM") or "dist/SHA256SUMS")
    only = lambda_arch() if os.environ.get("ARCH") else None
    if not (ROOT / release).exists():
        raise Refused(f"{release} does not exist: run make dist, or give FROM=<installed package>")
    expected = digests(ROOT / release)
    commit = expected[0].split()[4]
    head = output(["git", "rev-parse", "HEAD"])
    if commit not in ("unknown", head):
        raise Refused(
            f"{release} was built from commit {commit}, this checkout is at {head}: git checkout {commit} first"
        )
    if output(["git", "status", "--porcelain", "--untracked-files=no"]):
        say(f"the checkout has uncommitted changes: what is rebuilt is commit {head}, without them")
    os.environ.pop("CARGO_TARGET_DIR", None)
    failed, checked = False, 0
    with scratch() as work:
        say(f"the source of {head} in {work}/src")
        (work / "src").mkdir()
        run(["sh", "-c", f'git archive "{head}" | tar -x -C "{work}/src"'])
        for line in expected[1:]:
            arch, digest = line.split()
            if only and only != arch:
                continue
            checked += 1
            with timed(f"the {arch} rebuild"):
                release_build(arch, work / "out" / arch, work / "src")
            rebuilt = hashlib.sha256((work / "out" / arch / "upsert-slr/bootstrap.zip").read_bytes()).hexdigest()
            if rebuilt == digest:
                say(f"{arch}: the rebuilt zip is the released one ({digest})")
            else:
                say(f"{arch}: the rebuilt zip differs: released {digest}, rebuilt {rebuilt}")
                failed = True
    if not checked:
        raise Refused(f"{release} lists no {only or ''} zip")
    if failed:
        raise Refused("a rebuilt zip differs from the release")


def sam_build() -> None:
    """`sam build` (it runs make build-Function, the release build for ARCH), then what it
    built: an executable ELF of the architecture, no glibc newer than provided.al2023's, and
    the LocalStack integration tests (tests/lambda/) on it, natively or arm64 under qemu-user."""
    from workshop.testing import test, test_arm64

    require_cargo()
    venvs.use_tools()
    arch = lambda_arch()
    env = {"SAM_CLI_TELEMETRY": "0", "ARCH": arch}
    say(f"sam build --parameter-overrides Architecture={arch} (the release build, through make build-Function)")
    with timed("sam build"):
        run(["sam", "build", "--parameter-overrides", f"Architecture={arch}"], env=env)
    bootstrap = ROOT / ".aws-sam/build/Function/bootstrap"
    if not bootstrap.is_file():
        raise Refused(f"sam build produced no {bootstrap}")
    if not os.access(bootstrap, os.X_OK):
        raise Refused(f"{bootstrap} is not executable")
    run(["python3", "scripts/elf_arch.py", bootstrap, arch])
    run(["python3", "scripts/check_glibc.py", bootstrap])
    if host_arch() == arch:
        say(f"the integration tests against {bootstrap}")
        test(["--test", "lambda"], binary=bootstrap)
    elif arch == "arm64":
        test_arm64([str(bootstrap), "--test", "lambda"])
    else:
        say(f"not running the {arch} bootstrap on this {host_arch()} host")
