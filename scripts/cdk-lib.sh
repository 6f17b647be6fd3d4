#!/usr/bin/env bash
# Builds the construct library in cdk/ with the function inside it: the release bootstrap.zip
# of both architectures (common.sh's release_build; nothing is downloaded), copied to
# cdk/lambda/<arch>/ beside manifest.json (version, commit, and per architecture the file, its
# sha256 and the toolchain that built it), then the jsii compilation into cdk/lib. The
# package's version is the crate's: it is written into cdk/package.json here, and CI fails when
# the committed one differs.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$ROOT"
require_cargo
command -v npm >/dev/null || die "npm not found: install Node.js 20 or newer"
use_tools

version=$(python3 -c 'import tomllib; print(tomllib.load(open("Cargo.toml", "rb"))["package"]["version"])')
packaged=$(node -p 'require("./cdk/package.json").version')
if [ "$packaged" != "$version" ]; then
    [ -n "${CI:-}" ] && die "cdk/package.json has version $packaged, Cargo.toml $version: run make cdk-lib and commit cdk/package.json"
    say "cdk/package.json: version $packaged -> $version (from Cargo.toml)"
    (cd cdk && npm pkg set "version=$version")
fi

rm -rf cdk/lambda
mkdir -p cdk/lambda
toolchains=()
for arch in x86_64 arm64; do
    release_build "$arch" "target/release-lambda/$arch"
    mkdir -p "cdk/lambda/$arch"
    cp "target/release-lambda/$arch/upsert-slr/bootstrap.zip" "cdk/lambda/$arch/bootstrap.zip"
    toolchains+=("$arch=$RUST_TOOLCHAIN")
done
# What `make verify-release` compares a rebuild with, and what it needs to rebuild the same.
python3 - "$version" "$GLIBC_FLOOR" "$(git rev-parse HEAD 2>/dev/null || echo unknown)" "${toolchains[@]}" <<'PY'
import hashlib, json, sys
version, glibc, commit, toolchains = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
functions = []
for entry in toolchains:
    arch, toolchain = entry.split("=", 1)
    file = f"{arch}/bootstrap.zip"
    with open(f"cdk/lambda/{file}", "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    functions.append({"architecture": arch, "file": file, "sha256": digest, "rust": toolchain, "glibcFloor": glibc})
with open("cdk/lambda/manifest.json", "w") as f:
    json.dump({"version": version, "commit": commit, "functions": functions}, f, indent=2)
    f.write("\n")
PY
cat cdk/lambda/manifest.json >&2

# The package's README is the repository's docs/cdk.md; its LICENSE the repository's.
python3 scripts/cdk_readme.py docs/cdk.md >cdk/README.md
cp LICENSE cdk/LICENSE
# The table of which resources need which role, read at synth by the ServiceLinkedRoles aspect.
cp slr-needs.json cdk/slr-needs.json

cd cdk
say "npm ci (cdk)"
npm ci --no-audit --no-fund --loglevel=error
say "jsii"
npx jsii --fail-on-warnings
