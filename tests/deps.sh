#!/bin/sh
# Installs, from Debian's packages only, everything the build, the tests and
# the demo need. Does nothing when all of it is already there, so it is
# cheap to call before every run. Needs root (or sudo).
set -eu

PKGS="meson ninja-build pkg-config gcc clang libclang-rt-14-dev llvm libwolfssl-dev libcmocka-dev
python3 python3-aiosmtpd postfix openssl curl msmtp valgrind binutils
gcc-arm-none-eabi libnewlib-arm-none-eabi"

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

echo "installing from Debian:$missing"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
# Postfix asks how to configure itself; the tests run their own instance.
echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
# shellcheck disable=SC2086
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
