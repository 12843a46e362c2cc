#!/bin/bash
# Run every libFuzzer target for a bounded time with ASan + UBSan, as CI
# does (issue 6), two targets at a time (2 cores).
#
#   fuzz/run_fuzzers.sh [TARGET...]      default: every name in fuzz_targets
#
# Environment:
#   FUZZ_SECONDS     seconds per target (default 20; -max_total_time)
#   FUZZ_JOBS        targets run at once (default 2)
#   FUZZ_BUILD_DIR   the clang build (default $MAILOUT_BUILD_ROOT/fuzz-libfuzzer,
#                    else <source>/build-fuzz); configured on first use:
#                    CC=clang meson setup DIR -Dfuzzing_engine=libfuzzer
#                    -Db_sanitize=address,undefined -Dtests=disabled
#                    -Dexamples=disabled -Db_lundef=false
#
# Each target runs over a working corpus in the build directory (new
# inputs go there, never into the source tree) plus its seed corpus
# fuzz/<t>_fuzzer.in and repro inputs fuzz/<t>_fuzzer.repro, with its
# dictionary fuzz/<t>_fuzzer.dict when there is one. Any crash, leak,
# timeout or out-of-memory input is copied into fuzz/<t>_fuzzer.repro/
# (kept forever: the replay tests run it from then on) and the script
# fails. At the end it prints the executions per target.
set -u

src=$(cd "$(dirname "$0")/.." && pwd)
seconds=${FUZZ_SECONDS:-20}
jobs=${FUZZ_JOBS:-2}
if [ -n "${FUZZ_BUILD_DIR:-}" ]; then
    build=$FUZZ_BUILD_DIR
elif [ -n "${MAILOUT_BUILD_ROOT:-}" ]; then
    build=$MAILOUT_BUILD_ROOT/fuzz-libfuzzer
else
    build=$src/build-fuzz
fi

# The targets: arguments, else the fuzz_targets list of fuzz/meson.build.
if [ $# -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(sed -n '/^fuzz_targets = \[/,/^\]/p' "$src/fuzz/meson.build" |
        grep -o "'[a-z0-9_]*'" | tr -d "'")
fi
if [ ${#targets[@]} -eq 0 ]; then
    echo "run_fuzzers: no targets found" >&2
    exit 1
fi

command -v clang >/dev/null || { echo "run_fuzzers: clang missing (tests/deps.sh)" >&2; exit 1; }

if [ ! -f "$build/build.ninja" ]; then
    mkdir -p "$build"
    CC=clang meson setup "$build" "$src" -Dfuzzing_engine=libfuzzer \
        -Db_sanitize=address,undefined -Dtests=disabled -Dexamples=disabled \
        -Db_lundef=false -Dbuildtype=debugoptimized >"$build/fuzz-setup.log" 2>&1 || {
        cat "$build/fuzz-setup.log" >&2
        echo "run_fuzzers: meson setup failed" >&2
        exit 1
    }
fi
names=()
for t in "${targets[@]}"; do
    names+=("fuzz/${t}_fuzzer")
done
ninja -C "$build" -j "$jobs" "${names[@]}" >"$build/fuzz-build.log" 2>&1 || {
    tail -50 "$build/fuzz-build.log" >&2
    echo "run_fuzzers: build failed" >&2
    exit 1
}

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

work=$build/fuzz-run
mkdir -p "$work"

# One target: fuzz, keep what failed, record the executions.
run_one() {
    t=$1
    d=$work/$t
    mkdir -p "$d/corpus" "$d/artifacts"
    rm -f "$d/artifacts/"* "$d/execs" "$d/failed"
    dirs=("$d/corpus" "$src/fuzz/${t}_fuzzer.in")
    [ -d "$src/fuzz/${t}_fuzzer.repro" ] && dirs+=("$src/fuzz/${t}_fuzzer.repro")
    dict=()
    [ -f "$src/fuzz/${t}_fuzzer.dict" ] && dict=("-dict=$src/fuzz/${t}_fuzzer.dict")
    "$build/fuzz/${t}_fuzzer" -max_total_time="$seconds" -timeout=25 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$d/artifacts/" "${dict[@]}" "${dirs[@]}" \
        >"$d/log" 2>&1
    rc=$?
    grep -o 'stat::number_of_executed_units: *[0-9]*' "$d/log" | grep -o '[0-9]*$' | tail -1 >"$d/execs"
    found=$(ls "$d/artifacts" 2>/dev/null)
    if [ $rc -ne 0 ] || [ -n "$found" ]; then
        mkdir -p "$src/fuzz/${t}_fuzzer.repro"
        for f in $found; do
            cp "$d/artifacts/$f" "$src/fuzz/${t}_fuzzer.repro/$f"
        done
        echo "$rc" >"$d/failed"
    fi
}

# Two (FUZZ_JOBS) at a time.
running=0
for t in "${targets[@]}"; do
    run_one "$t" &
    running=$((running + 1))
    if [ $running -ge "$jobs" ]; then
        wait -n
        running=$((running - 1))
    fi
done
wait

status=0
printf '%-12s %12s  %s\n' target execs result
for t in "${targets[@]}"; do
    d=$work/$t
    execs=$(cat "$d/execs" 2>/dev/null)
    if [ -f "$d/failed" ]; then
        printf '%-12s %12s  FAILED (exit %s), inputs kept in fuzz/%s_fuzzer.repro/\n' \
            "$t" "${execs:-?}" "$(cat "$d/failed")" "$t"
        grep -E 'ERROR|SUMMARY|check failed|runtime error' "$d/log" | head -5 | sed 's/^/    /'
        status=1
    else
        printf '%-12s %12s  ok (%ss)\n' "$t" "${execs:-?}" "$seconds"
    fi
done
exit $status
