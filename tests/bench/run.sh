#!/bin/sh
# The benchmarks (issue 7): NOT part of the default test run.
#   tests/bench/run.sh [SIZE_MB [REPS]]      (default 100 MB, 3 runs each)
# Builds an optimised, unsanitised tree in build-bench (MAILOUT_BENCH_DIR),
# then runs tests/bench/run.py, which prints one table: the machine,
# throughput against the discarding sink (mailout at 256 B / 4 KB / 16 KB
# output buffers vs the pre-encoded stream written with send(), and curl),
# socket write calls against their bound, 1 KB messages per second vs
# Postfix's smtp-source, peak memory for a 1 KiB and a 1 GiB attachment,
# implicit TLS vs wolfSSL_write of the pre-encoded stream, the encoders'
# speeds, and the issue 7 targets met or missed. A few minutes.
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
