"""The release build every artifact comes from, and the toolchains and emulator it needs.

`release_build` makes the zips of make build, cdk-lib, dist, bench, the fleet and
verify-release, so cargo compiles each architecture once. Reproducible: the registry's paths
are remapped, so the binary carries no path of this machine (the checkout's own files are
compiled under relative paths), and the zip's entry has a fixed time and mode.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from workshop.shell import ROOT, Refused, output, run, say

RUST_TARGETS = {"x86_64": "x86_64-unknown-linux-gnu", "arm64": "aarch64-unknown-linux-gnu"}
# The newest glibc a release bootstrap may need: zig links against this version's symbols, not
# the build machine's, so the zips run on provided.al2 (2.26) and provided.al2023 (2.34).
GLIBC_FLOOR = "2.26"
# Where the Debian packages put the aarch64 C library, for qemu-user to run aarch64 binaries.
AARCH64_SYSROOT = Path("/usr/aarch64-linux-gnu")
DEBIAN_RUSTC = Path("/usr/bin/rustc")


def lambda_arch() -> str:
    """$ARCH when set (arm64 or x86_64), else arm64, which Graviton runs for less."""
    arch = os.environ.get("ARCH") or "arm64"
    if arch not in RUST_TARGETS:
        raise Refused(f"ARCH={arch}: use arm64 or x86_64")
    return arch


def install_debian_aarch64() -> None:
    """Debian's Rust with the aarch64 standard library, the aarch64 C library and qemu-user:
    the way to build and run arm64 where rustup cannot add its target (as root on Debian, as
    CI runs)."""
    if not shutil.which("apt-get") or os.geteuid() != 0:
        raise Refused(
            "no Rust for aarch64: run `rustup target add aarch64-unknown-linux-gnu`, or on Debian as root "
            "install rustc-web and libstd-rust-web-dev:arm64 (or build x86_64 with ARCH=x86_64)"
        )
    say("installing Debian's rustc-web, its aarch64 standard library, the aarch64 C library and qemu-user-static")
    run(["dpkg", "--add-architecture", "arm64"])
    run(["apt-get", "update", "-qq"])
    packages = ["rustc-web", "libstd-rust-web-dev:arm64", "libc6-arm64-cross", "qemu-user-static"]
    run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages],
        env={"DEBIAN_FRONTEND": "noninteractive"},
        to=Path(os.devnull),
    )


def toolchain(arch: str) -> tuple[str, dict[str, str]]:
    """What compiles for `arch`, said in words, and the environment cargo needs for it:
    rustup's toolchain where its target is installed, else Debian's rustc-web (installed when
    missing) as RUSTC. Nothing is downloaded from outside the package managers."""
    target = RUST_TARGETS[arch]
    os.environ.pop("RUSTC", None)
    if shutil.which("rustup"):
        installed = output(["rustup", "target", "list", "--installed"], check=False).split()
        if target in installed:
            return f"rustup's {output(['rustc', '-V'])} with its {target} target", {}
    host = [line.split(": ")[1] for line in output(["rustc", "-vV"]).splitlines() if line.startswith("host: ")]
    if host == [target]:
        return f"{output(['rustc', '-V'])}, the host's", {}
    standard_library = Path("/usr/lib/rustlib") / target
    if not (standard_library.is_dir() and DEBIAN_RUSTC.is_file()):
        install_debian_aarch64()
    if not standard_library.is_dir():
        raise Refused(f"Debian's rustc has no standard library for {target}")
    described = f"Debian's {output([DEBIAN_RUSTC, '-V'])} with libstd-rust-web-dev:arm64 (rustup has no {target})"
    return described, {"RUSTC": str(DEBIAN_RUSTC)}


def release_build(arch: str, out: Path, source: Path = ROOT, env: dict[str, str] | None = None) -> str:
    """out/upsert-slr/bootstrap and bootstrap.zip for `arch` from `source`; says and returns
    which toolchain built them. Needs the tools venv on PATH (cargo lambda)."""
    described, toolchain_env = toolchain(arch)
    say(f"release build for {arch}: {described}; zig linking against glibc {GLIBC_FLOOR}")
    cargo_home = os.environ.get("CARGO_HOME") or str(Path.home() / ".cargo")
    # Through --config, which cargo joins with cargo lambda's own rustflags (its target CPU);
    # RUSTFLAGS would replace them.
    remap = f'build.rustflags=["--remap-path-prefix={cargo_home}=/cargo"]'
    run(
        [
            *["cargo", "lambda", "build", "--release", "--locked", "--quiet"],
            *["--target", f"{RUST_TARGETS[arch]}.{GLIBC_FLOOR}", "--lambda-dir", out, "--config", remap],
        ],
        cwd=source,
        env={**toolchain_env, **(env or {})},
    )
    bootstrap = out / "upsert-slr/bootstrap"
    run(["python3", ROOT / "scripts/release_zip.py", bootstrap, bootstrap.with_name("bootstrap.zip")])
    return described


def qemu_aarch64() -> list[str]:
    """What runs an aarch64 binary here: qemu-user, installed with the Debian packages when missing."""
    if not (shutil.which("qemu-aarch64-static") and AARCH64_SYSROOT.is_dir()):
        install_debian_aarch64()
    return [shutil.which("qemu-aarch64-static"), "-L", str(AARCH64_SYSROOT)]


def clean_commit() -> str:
    """The commit checked out when the tree has no changes, else "" (a tree with changes
    always rebuilds what a clean one may reuse)."""
    status = run(["git", "status", "--porcelain", "--untracked-files=normal"], capture=True, check=False)
    if status.returncode != 0 or status.stdout.strip():
        return ""
    return output(["git", "rev-parse", "HEAD"], check=False)


def debug_binary(stripped: Path | None = None) -> Path:
    """The function's debug build, as make test builds it; a stripped copy at `stripped`."""
    say("building the function")
    run(["cargo", "build", "--quiet", "--bin", "upsert-slr"])
    built = ROOT / "target/debug/upsert-slr"
    if stripped is None:
        return built
    run(["strip", "-o", stripped, built])
    return stripped
