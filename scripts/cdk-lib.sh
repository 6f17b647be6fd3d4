#!/usr/bin/env bash
# Builds the construct library in cdk/ with the function inside it: the release bootstrap.zip
# from `cargo lambda build` for every architecture whose Rust target is installed (nothing is
# downloaded), copied to cdk/lambda/<arch>/ beside manifest.json (architecture, file, sha256,
# version), then the jsii compilation into cdk/lib. The package's version is the crate's: it is
# written into cdk/package.json here, and CI fails when the committed one differs.
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

# Rust target of each Lambda architecture, and the cargo lambda flag that selects it.
declare -A targets=([x86_64]=x86_64-unknown-linux-gnu [arm64]=aarch64-unknown-linux-gnu)
declare -A flags=([x86_64]=--x86-64 [arm64]=--arm64)
installed=$(rustup target list --installed 2>/dev/null || rustc -vV | sed -n 's/^host: //p')
rm -rf cdk/lambda
mkdir -p cdk/lambda
entries=()
for arch in x86_64 arm64; do
    if ! grep -qx "${targets[$arch]}" <<<"$installed"; then
        say "no $arch build: the Rust target ${targets[$arch]} is not installed"
        continue
    fi
    say "cargo lambda build --release ${flags[$arch]} (for the package)"
    # The same build as scripts/bench.sh makes: cargo compiles it once for both.
    cargo lambda build --release "${flags[$arch]}" --output-format zip --lambda-dir "target/cdk-lambda/$arch"
    mkdir -p "cdk/lambda/$arch"
    cp "target/cdk-lambda/$arch/upsert-slr/bootstrap.zip" "cdk/lambda/$arch/bootstrap.zip"
    entries+=("$arch")
done
[ ${#entries[@]} -gt 0 ] || die "no Rust target for x86_64 or arm64 Linux is installed"
python3 - "$version" "${entries[@]}" <<'PY'
import hashlib, json, sys
version, archs = sys.argv[1], sys.argv[2:]
functions = []
for arch in archs:
    file = f"{arch}/bootstrap.zip"
    with open(f"cdk/lambda/{file}", "rb") as f:
        functions.append({"architecture": arch, "file": file, "sha256": hashlib.sha256(f.read()).hexdigest()})
with open("cdk/lambda/manifest.json", "w") as f:
    json.dump({"version": version, "functions": functions}, f, indent=2)
    f.write("\n")
PY
cat cdk/lambda/manifest.json >&2

# The package's README is the repository README's CDK section; its LICENSE the repository's.
python3 scripts/cdk_readme.py README.md >cdk/README.md
cp LICENSE cdk/LICENSE

cd cdk
say "npm ci (cdk)"
npm ci --no-audit --no-fund --loglevel=error
say "jsii"
npx jsii --fail-on-warnings
