#!/bin/sh
# The whole test suite, exactly as CI runs it (.ci/run calls this):
#  1. installs what it needs from Debian (tests/deps.sh),
#  2. builds everything with ASan + UBSan and warnings as errors,
#  3. runs every registered test (meson test).
# Extra arguments go to `meson test` (e.g. --suite encode).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${MAILOUT_BUILD_DIR:-$root/build-test}

"$root/tests/deps.sh"

if [ ! -f "$build/build.ninja" ]; then
    meson setup "$build" "$root" \
        -Dwerror=true \
        -Db_sanitize=address,undefined \
        -Db_lundef=false \
        -Dtests=enabled -Dtls=enabled -Dexamples=enabled
fi
meson compile -C "$build"
meson test -C "$build" --print-errorlogs --num-processes 2 "$@"
