#!/usr/bin/env bash
# The release artifacts in dist/: the npm tarball and the Python wheel and sdist of
# upsert-slr-cdk (jsii-pacmak), the Lambda zip of each architecture built, and SHA256SUMS.
# Checks them as the registries would: `npm publish --dry-run` and `twine check`. Publishing
# needs registry credentials and is left to the release job, which uploads these files as they
# are. SKIP_CDK_LIB=1 packs the cdk/ that scripts/cdk-lib.sh already built.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$ROOT"
[ -n "${SKIP_CDK_LIB:-}" ] || scripts/cdk-lib.sh
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
for manifest_arch in $(python3 -c 'import json; print(*[f["architecture"] for f in json.load(open("cdk/lambda/manifest.json"))["functions"]])'); do
    cp "cdk/lambda/$manifest_arch/bootstrap.zip" "dist/upsert-slr-$version-$manifest_arch.zip"
done
(cd dist && sha256sum -- * >SHA256SUMS)

say "npm publish --dry-run"
npm publish --dry-run --loglevel=warn "./dist/upsert-slr-cdk-$version.tgz" 2>&1 | grep -v 'Unknown user config' >&2
say "twine check"
.venv-cdk/bin/twine check --strict dist/*.whl dist/*.tar.gz
ls -l dist >&2
# The registries show this URL on the package's page: a release must not carry the placeholder.
if grep -q 'example\.invalid' cdk/package.json; then
    say "before publishing: set \"repository\" in cdk/package.json to the project's repository (it is a placeholder)"
fi
