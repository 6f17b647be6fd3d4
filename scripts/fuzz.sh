#!/usr/bin/env bash
# The fuzz targets in fuzz/ (cargo fuzz, libFuzzer): the event parser, the property parser and
# both answer builders, each run for FUZZ_SECONDS (default 30), seeded with the sample events
# and the malformed-event corpus. Fails on the first crash or broken invariant and names the
# input libFuzzer saved; such an input becomes a test in tests/fuzz_regressions.rs.
#
# Built once, unoptimised and without a sanitizer: the code is safe Rust, so AddressSanitizer
# would find nothing a panic does not, and a debug build (with overflow checks) costs a third
# of an optimised one to compile, which matters more here than executions per second.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$ROOT"
require_cargo
seconds=$(whole_number FUZZ_SECONDS 30 1 86400)
use_tools  # cargo-fuzz

(cd fuzz && cargo fmt --check)
flags=(--sanitizer none --dev)
say "building the fuzz targets"
(cd fuzz && cargo fuzz build "${flags[@]}")

seeds=$(mktemp -d) logs=$(mktemp -d)
trap 'rm -rf "$seeds" "$logs"' EXIT
cp events/*.json "$seeds/"
find tests/corpus -type f -exec cp {} "$seeds/" \;
for target in $(cd fuzz && cargo fuzz list); do
    say "fuzzing $target for $seconds s"
    mkdir -p "fuzz/corpus/$target"
    log="$logs/$target.log"
    if ! (cd fuzz && cargo fuzz run "${flags[@]}" "$target" "corpus/$target" "$seeds" -- \
        -max_total_time="$seconds" -print_final_stats=1 >"$log" 2>&1); then
        grep -E "panicked|SUMMARY|Test unit written|Base64" "$log" >&2 || tail -n 30 "$log" >&2
        die "fuzz target $target failed: the input is in fuzz/artifacts/$target/"
    fi
    grep -E "^Done|stat::number_of_executed_units" "$log" >&2
done
