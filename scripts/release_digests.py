"""Prints the sha256 of each released Lambda zip, as `ARCH SHA256` lines, read from what a user
has: a SHA256SUMS file of `make dist`, the npm package (its tarball, or installed:
node_modules/upsert-slr-cdk), or the Python package (its wheel, or installed: the
upsert_slr_cdk folder in site-packages, which carries the npm tarball).

    python3 scripts/release_digests.py FROM

The first line is `# version V commit C`, from the package's manifest (SHA256SUMS has neither).
"""

import io
import json
import re
import sys
import tarfile
import zipfile
from pathlib import Path

ZIP_NAME = re.compile(r"upsert-slr-(?P<version>[^/]+)-(?P<arch>x86_64|arm64)\.zip")


def from_sums(text: str) -> dict:
    functions, version = {}, "unknown"
    for line in text.splitlines():
        digest, _, name = line.partition("  ")
        found = ZIP_NAME.fullmatch(name.strip())
        if found:
            functions[found["arch"]] = digest
            version = found["version"]
    return {"version": version, "commit": "unknown", "functions": functions}


def from_manifest(manifest: dict) -> dict:
    return {
        "version": manifest.get("version", "unknown"),
        "commit": manifest.get("commit", "unknown"),
        "functions": {f["architecture"]: f["sha256"] for f in manifest["functions"]},
    }


def from_npm_tarball(data: bytes) -> dict:
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return from_manifest(json.load(tar.extractfile("package/lambda/manifest.json")))


def read(source: Path) -> dict:
    if source.is_dir():
        if (source / "lambda/manifest.json").is_file():
            return from_manifest(json.loads((source / "lambda/manifest.json").read_text()))
        tarballs = sorted(source.glob("_jsii/*.jsii.tgz"))
        if tarballs:
            return from_npm_tarball(tarballs[0].read_bytes())
        sys.exit(f"{source}: neither an installed upsert-slr-cdk (lambda/manifest.json) nor upsert_slr_cdk (_jsii/)")
    if source.suffix == ".whl":
        with zipfile.ZipFile(source) as wheel:
            [name] = [n for n in wheel.namelist() if n.endswith(".jsii.tgz")]
            return from_npm_tarball(wheel.read(name))
    if source.suffix == ".tgz":
        return from_npm_tarball(source.read_bytes())
    return from_sums(source.read_text())


def main(source: str) -> None:
    release = read(Path(source))
    if not release["functions"]:
        sys.exit(f"{source}: no upsert-slr zip listed")
    print(f"# version {release['version']} commit {release['commit']}")
    for arch, digest in sorted(release["functions"].items()):
        print(arch, digest)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
