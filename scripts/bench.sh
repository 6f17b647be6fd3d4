#!/usr/bin/env bash
# The benchmark against the npm package upsert-slr (see BENCHMARKS.md). Builds the Lambda zip of
# each architecture (the release build) and runs the host's bootstrap; installs the npm
# package and the JS SDK it requires (pinned by bench/anchor/package-lock.json) and LocalStack;
# then bench/bench.py runs both under one Lambda Runtime API and prints the table.
#   scripts/bench.sh               the full run; writes BENCHMARKS.md
#   BENCH_QUICK=1 scripts/bench.sh  a few iterations, to check that it works; writes nothing
# A LocalStack already running can be given as LOCALSTACK_ENDPOINT.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$ROOT"
require_cargo
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    die "the npm package runs on Node.js: install node (20 or newer) and npm"
fi
# Read before the builds, so that a value it cannot take is refused at once.
quick=
switched_on BENCH_QUICK && quick=1
use_tools

# The binary that runs here is the host's architecture; the other one is built for its zip size.
case "$(uname -m)" in
x86_64) host=x86_64 other=arm64 ;;
aarch64) host=arm64 other=x86_64 ;;
*) die "the benchmark runs on x86_64 or aarch64 Linux" ;;
esac
# The release build, as the package carries it (cargo compiles it once for both).
for arch in "$host" "$other"; do
    release_build "$arch" "target/release-lambda/$arch"
done
zips=(--ours-zip "target/release-lambda/$host/upsert-slr/bootstrap.zip"
    --ours-zip-other "target/release-lambda/$other/upsert-slr/bootstrap.zip" --other-arch "$other")
rm -rf target/bench/run && mkdir -p target/bench/run
python3 -m zipfile -e "target/release-lambda/$host/upsert-slr/bootstrap.zip" target/bench/run
chmod +x target/bench/run/bootstrap

say "installing the npm package upsert-slr (bench/anchor/package-lock.json)"
(cd bench/anchor && npm ci --no-audit --no-fund --loglevel=error)

if [ -z "${LOCALSTACK_ENDPOINT:-}" ]; then
    trap 'scripts/localstack.sh stop' EXIT
    LOCALSTACK_ENDPOINT=$(scripts/localstack.sh start)
fi

npm_version() { node -p "require('./bench/anchor/node_modules/$1/package.json').version"; }
versions="LocalStack $(sed -n 's/^localstack-core==//p' tests/localstack/requirements.txt)"
versions+="; upsert-slr (npm) $(npm_version upsert-slr)"
versions+="; @aws-sdk/client-iam $(npm_version @aws-sdk/client-iam)"
versions+="; cargo-lambda $(sed -n 's/^cargo-lambda==//p' scripts/requirements-tools.txt)"
args=(--ours target/bench/run/bootstrap "${zips[@]}" --arch "$host" --anchor-dir bench/anchor
    --endpoint "$LOCALSTACK_ENDPOINT" --versions "$versions")
if [ -n "$quick" ]; then
    say "benchmark, quick mode (a check that it works; the figures mean little)"
    python3 bench/bench.py "${args[@]}" --cold 2 --warm 2
else
    say "benchmark"
    python3 bench/bench.py "${args[@]}" --markdown BENCHMARKS.md
fi
