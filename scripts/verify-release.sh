#!/usr/bin/env bash
# Rebuilds the release zips from this checkout's commit, in a directory of their own with a
# target/ of their own, and compares them byte for byte with a release:
#   make verify-release                                   with dist/SHA256SUMS
#   make verify-release FROM=node_modules/upsert-slr-cdk   an installed npm package
#   make verify-release FROM=.venv/lib/python3.11/site-packages/upsert_slr_cdk   the Python one
#   (FROM may also be a SHA256SUMS file, the npm tarball or the wheel)
# ARCH=x86_64 or ARCH=arm64 rebuilds only that one. Check out the commit the package names
# (its manifest has it) first. Exits non-zero when a zip differs.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$ROOT"
require_cargo
use_tools
from=${FROM:-dist/SHA256SUMS}
# ARCH chooses one of the release's zips: a name the release has none of is refused as such.
[ -z "${ARCH:-}" ] || ARCH=$(lambda_arch)
[ -e "$from" ] || die "$from does not exist: run make dist, or give FROM=<installed package>"

expected=$(python3 scripts/release_digests.py "$from")
read -r _ _ _ _ commit <<<"$(head -n 1 <<<"$expected")"
head=$(git rev-parse HEAD)
if [ "$commit" != unknown ] && [ "$commit" != "$head" ]; then
    die "$from was built from commit $commit, this checkout is at $head: git checkout $commit first"
fi
[ -z "$(git status --porcelain --untracked-files=no)" ] ||
    say "the checkout has uncommitted changes: what is rebuilt is commit $head, without them"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
say "the source of $head in $work/src"
mkdir "$work/src"
git archive "$head" | tar -x -C "$work/src"

failed=0 checked=0
while read -r arch digest; do
    [ -z "${ARCH:-}" ] || [ "$ARCH" = "$arch" ] || continue
    checked=$((checked + 1))
    start=$SECONDS
    (unset CARGO_TARGET_DIR; release_build "$arch" "$work/out/$arch" "$work/src")
    rebuilt=$(sha256sum "$work/out/$arch/upsert-slr/bootstrap.zip" | cut -d' ' -f1)
    if [ "$rebuilt" = "$digest" ]; then
        say "$arch: the rebuilt zip is the released one ($digest), in $((SECONDS - start)) s"
    else
        say "$arch: the rebuilt zip differs: released $digest, rebuilt $rebuilt"
        failed=1
    fi
done < <(tail -n +2 <<<"$expected")
[ "$checked" -gt 0 ] || die "$from lists no ${ARCH:-} zip"
exit $failed
