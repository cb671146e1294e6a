#!/usr/bin/env bash
# Builds the libFuzzer targets under Tests/fuzz and runs each in turn for FUZZ_SECONDS (default
# 60). `--smoke` runs each for 5 s, as `make test` does, so a target that no longer builds or
# crashes on its seeds fails the run. Any crash stops the run with the input's path.
#
#   scripts/fuzz.sh [--smoke] [FuzzHTTPParser ...]    (no names: every target)
#
# How it is built: COURIER_FUZZ=1 makes Package.swift declare the targets, and the whole graph
# is compiled with `-sanitize=fuzzer,address` in its own scratch folder, so the code under test
# carries libFuzzer's coverage counters and ASan's checks. One flag, not SwiftPM's
# `--sanitize=fuzzer --sanitize=address`: SwiftPM passes those to swiftc as two
# `-sanitize=` flags and the second replaces the first, which leaves the code without coverage
# (libFuzzer then mutates blind and says "no interesting inputs"; this script fails on that); `-parse-as-library`
# (in Package.swift) because libFuzzer's own `main` calls `LLVMFuzzerTestOneInput`.
# New inputs go to $FUZZ_SCRATCH/corpus/<Target> (not committed); the seeds in
# Tests/fuzz/corpus/<Target> are only read. Crashes are written to $FUZZ_SCRATCH/artifacts/<Target>.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-60}
if [ "${1:-}" = "--smoke" ]; then
    seconds=${FUZZ_SMOKE_SECONDS:-5}
    shift
fi
scratch=${FUZZ_SCRATCH:-.build-fuzz}
# Builds on a shared machine take this lock; an empty COURIER_BUILD_LOCK takes none, for a caller
# that holds it already (`make test` under CI's lock: a second flock on it would wait forever).
lock=${COURIER_BUILD_LOCK-/tmp/courier-swift-build.lock}
all=(FuzzHTTPParser FuzzWebSocketParser FuzzHTTP1StateMachine FuzzWebSocketStateMachine FuzzForms FuzzChannel FuzzForwarded)
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${all[@]}")

locked() { if [ -n "$lock" ] && command -v flock >/dev/null; then flock "$lock" "$@"; else "$@"; fi; }

mkdir -p "$scratch"
for target in "${targets[@]}"; do
    # The linker's "Cannot export local symbol '__asan_...'" lines are ASan's and harmless.
    if ! COURIER_FUZZ=1 locked swift build --scratch-path "$scratch" --sanitize=fuzzer -Xswiftc -sanitize=fuzzer,address \
        --product "$target" > "$scratch/build.log" 2>&1; then
        grep -v "Cannot export local symbol" "$scratch/build.log" >&2
        echo "fuzz: $target did not build" >&2
        exit 1
    fi
    grep -E "warning:|error:" "$scratch/build.log" | grep -v "Cannot export local symbol" >&2 || true
done

status=0
for target in "${targets[@]}"; do
    mkdir -p "$scratch/corpus/$target" "$scratch/artifacts/$target"
    echo "fuzz: $target for ${seconds}s"
    # The Swift runtime's backtracer would hold a crash for a minute; libFuzzer reports it.
    if ! SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} nice -n 10 "$scratch/debug/$target" \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=4096 -print_final_stats=1 \
        -dict="Tests/fuzz/$target.dict" -artifact_prefix="$scratch/artifacts/$target/" \
        "$scratch/corpus/$target" "Tests/fuzz/corpus/$target" > "$scratch/$target.log" 2>&1; then
        echo "fuzz: $target FAILED; log in $scratch/$target.log, input in $scratch/artifacts/$target/" >&2
        grep -aE "invariant failed|Fatal error|ERROR: |SUMMARY" "$scratch/$target.log" | head -5 >&2 || true
        status=1
        break
    fi
    if grep -aq "Is the code instrumented for coverage" "$scratch/$target.log"; then
        echo "fuzz: $target has no coverage instrumentation (libFuzzer found nothing to keep); see $scratch/$target.log" >&2
        status=1
        break
    fi
    grep -aE "^stat::number_of_executed_units|^Done" "$scratch/$target.log" | tr '\n' ' '
    echo
done
exit $status
