#!/bin/sh
# The benchmarks (issue 7): NOT part of the default test run.
#   tests/bench/run.sh [SIZE_MB]      (default 100)
# Builds an optimised, unsanitised tree in build-bench, then runs
# tests/bench/run.py: throughput against the sink (mailout at 256 B / 4 KB /
# 16 KB output buffers vs the pre-encoded baseline and curl), encoder
# speeds, and peak memory for a small and a huge attachment.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${MAILOUT_BENCH_DIR:-$root/build-bench}
"$root/tests/deps.sh"
if [ ! -f "$build/build.ninja" ]; then
    meson setup "$build" "$root" -Dbuildtype=release -Db_ndebug=true \
        -Dtests=enabled -Dtls=enabled -Dexamples=enabled >/dev/null
fi
meson compile -C "$build" >/dev/null
exec /usr/bin/python3 "$root/tests/bench/run.py" "$build" "$@"
