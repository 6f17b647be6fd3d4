#!/usr/bin/env bash
# The release artifacts in dist/: the Lambda zips of both architectures (the ones the package
# carries), the release template (plain CloudFormation, for deploying without Rust), the SBOM
# of the crates compiled into the function (CycloneDX), the npm tarball and the Python wheel
# and sdist of upsert-slr-cdk (jsii-pacmak), and SHA256SUMS. Fails on a crate whose license or
# source is not allowed (deny.toml) and on a bootstrap that needs a glibc newer than
# provided.al2023's. Checks the packages as the registries would: `npm publish --dry-run` and
# `twine check`. Publishing needs registry credentials and is left to the release job, which
# uploads these files as they are. SKIP_CDK_LIB=1 packs the cdk/ that scripts/cdk-lib.sh
# already built.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$ROOT"
require_cargo
use_tools
commit=$(clean_commit)
build_lib=1
switched_on SKIP_CDK_LIB && build_lib=
say "cargo deny: licenses, bans and sources of the crates compiled into the function (deny.toml)"
cargo fetch --locked --quiet  # cargo metadata reads every crate of Cargo.lock, any platform's
cargo deny --offline check licenses bans sources
# The check is worth something only if it can fail: ring (Apache-2.0 AND ISC) with ISC refused.
mkdir -p target
sed '/^    "ISC",$/d' deny.toml >target/deny-without-isc.toml
cmp -s deny.toml target/deny-without-isc.toml && die "could not take ISC out of a copy of deny.toml"
if cargo deny --offline --config target/deny-without-isc.toml check licenses >target/deny-without-isc.out 2>&1; then
    die "cargo deny allowed ring's ISC license with ISC left out of the allow-list"
fi
grep -q 'rejected: license is not explicitly allowed' target/deny-without-isc.out ||
    die "cargo deny failed for another reason: $(tail -5 target/deny-without-isc.out)"
[ -z "$build_lib" ] || scripts/cdk-lib.sh
version=$(node -p 'require("./cdk/package.json").version')

# pacmak makes its own venv and `python -m build` another: PIP_CONSTRAINT pins what pip puts
# in both. twine for the check below comes from a venv of the checkout, pinned the same way.
export PIP_CONSTRAINT="$ROOT/cdk/requirements-build.txt" PIP_DISABLE_PIP_VERSION_CHECK=1
venv_with "$ROOT/.venv-cdk" "$PIP_CONSTRAINT"

say "jsii-pacmak (npm tarball, Python wheel and sdist)"
rm -rf cdk/dist dist
start=$SECONDS
(cd cdk && npx jsii-pacmak --targets js,python --outdir dist)
say "jsii-pacmak took $((SECONDS - start)) s"

mkdir dist
cp "cdk/dist/js/upsert-slr-cdk@$version.jsii.tgz" "dist/upsert-slr-cdk-$version.tgz"
cp cdk/dist/python/upsert_slr_cdk-"$version"-py3-none-any.whl cdk/dist/python/upsert_slr_cdk-"$version".tar.gz dist/
for arch in x86_64 arm64; do
    cp "cdk/lambda/$arch/bootstrap.zip" "dist/upsert-slr-$version-$arch.zip"
done
say "glibc: every bootstrap must run on provided.al2023"
python3 scripts/check_glibc.py --max 2.34 dist/*.zip
python scripts/release_template.py template.yaml "$version" "dist/upsert-slr-$version.template.yaml"
cfn-lint "dist/upsert-slr-$version.template.yaml"
say "SBOMs (CycloneDX) of the crates compiled into each zip"
for arch in x86_64 arm64; do
    python scripts/sbom.py --target "${RUST_TARGETS[$arch]}" --output "dist/upsert-slr-$version-$arch.cdx.json"
done
(cd dist && sha256sum -- * >SHA256SUMS)
# The zips the packages carry are the ones SHA256SUMS lists, read as `make verify-release` reads
# an installed package: the npm tarball's manifest, and the one inside the wheel's jsii tarball.
sums=$(python3 scripts/release_digests.py dist/SHA256SUMS | tail -n +2)
for package in "dist/upsert-slr-cdk-$version.tgz" dist/upsert_slr_cdk-"$version"-py3-none-any.whl; do
    [ "$(python3 scripts/release_digests.py "$package" | tail -n +2)" = "$sums" ] ||
        die "$package carries other zips than dist/SHA256SUMS lists"
done

say "npm publish --dry-run"
npm publish --dry-run --loglevel=warn "./dist/upsert-slr-cdk-$version.tgz" 2>&1 | grep -v 'Unknown user config' >&2
say "twine check"
.venv-cdk/bin/twine check --strict dist/*.whl dist/*.tar.gz
ls -l dist >&2
# Not in SHA256SUMS (sha256sum -- * skips dot files): what scripts/cdk-test.sh compares with the commit.
[ -z "$commit" ] || echo "$commit" >dist/.commit
# The registries show this URL on the package's page: a release must not carry the placeholder.
if grep -q 'example\.invalid' cdk/package.json; then
    say "before publishing: set \"repository\" in cdk/package.json to the project's repository (it is a placeholder)"
fi
