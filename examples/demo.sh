#!/bin/sh
# The README's first command. On a fresh Debian 12 (as root, or with sudo):
#   1. installs the dependencies from Debian (tests/deps.sh),
#   2. builds mailout (meson setup + compile, in ./build),
#   3. makes a throw-away test CA and server certificate (tests/certs/mkcerts.sh)
#      and starts a real SMTP server, Debian's aiosmtpd, on 127.0.0.1 with
#      STARTTLS required (tests/servers/aiosmtpd_server.py),
#   4. sends a support email with a log attachment through mailout-send,
#      verifying the server's certificate against the test CA,
#   5. shows what the server received (envelope, raw message, decoded parts),
#      and stops the server.
# Every wait is bounded; the server also stops by itself after 120 s.
# Environment: MAILOUT_DEMO_BUILD (build directory, default ./build).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${MAILOUT_DEMO_BUILD:-$root/build}
py=/usr/bin/python3
work=$(mktemp -d "${TMPDIR:-/tmp}/mailout-demo.XXXXXX")
srv_pid=""

cleanup() {
    if [ -n "$srv_pid" ]; then
        kill "$srv_pid" 2>/dev/null || true
        wait "$srv_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "1/5 dependencies from Debian (tests/deps.sh)"
"$root/tests/deps.sh"

step "2/5 build in $build"
if [ ! -f "$build/build.ninja" ]; then
    meson setup "$build" "$root" -Dtls=enabled -Dexamples=enabled >"$work/setup.log" 2>&1 ||
        { cat "$work/setup.log"; exit 1; }
fi
meson compile -C "$build" mailout-send
cli="$build/examples/mailout-send"

step "3/5 test certificates, and aiosmtpd with STARTTLS on 127.0.0.1"
"$root/tests/certs/mkcerts.sh" "$work/certs"
$py "$root/tests/servers/aiosmtpd_server.py" --dir "$work/inbox" --certs "$work/certs" \
    --require-starttls --timeout 120 >"$work/server.out" 2>"$work/server.log" &
srv_pid=$!
port=""
i=0
while [ -z "$port" ] && [ $i -lt 200 ]; do # up to 20 s
    port=$(sed -n 's/^PORT //p' "$work/server.out")
    kill -0 "$srv_pid" 2>/dev/null || { cat "$work/server.log"; echo "demo: the server died" >&2; exit 1; }
    [ -n "$port" ] || sleep 0.1
    i=$((i + 1))
done
[ -n "$port" ] || { echo "demo: the server did not start within 20 s" >&2; exit 1; }
echo "aiosmtpd listens on 127.0.0.1:$port (STARTTLS required, certificate for localhost)"

step "4/5 send a support email with a log attachment"
cat >"$work/summary.txt" <<'EOF'
Hello support,

device 42 rebooted twice tonight. Its log is attached.

-- 
device 42
EOF
i=1
while [ $i -le 40 ]; do
    printf '2026-11-22T03:%02d:00Z kernel: sensor 3 read timeout (attempt %d)\n' $((i % 60)) $i
    i=$((i + 1))
done >"$work/device.log"
echo "2026-11-22T03:41:07Z watchdog: rebooting" >>"$work/device.log"

set -- "$cli" --server "smtp://localhost:$port" --cafile "$work/certs/ca.pem" \
    --from "Device 42 <device42@example.com>" --to support@example.com \
    --subject "Logs from device 42" --text "$work/summary.txt" \
    --attach "$work/device.log" --timeout 20 --verbose
echo "\$ mailout-send --server smtp://localhost:$port --cafile ca.pem \\"
echo "    --from 'Device 42 <device42@example.com>' --to support@example.com \\"
echo "    --subject 'Logs from device 42' --text summary.txt --attach device.log --verbose"
status=0
"$@" || status=$?
echo "mailout-send exit status: $status"
[ "$status" -eq 0 ] || exit "$status"

step "5/5 what the server received"
i=0
while [ ! -f "$work/inbox/0.json" ] && [ $i -lt 100 ]; do
    sleep 0.1
    i=$((i + 1))
done
[ -f "$work/inbox/0.json" ] || { echo "demo: no message arrived" >&2; exit 1; }
echo "--- envelope (what aiosmtpd saw)"
cat "$work/inbox/0.json"
echo
echo "--- raw message ($(wc -c <"$work/inbox/0.eml") bytes)"
cat "$work/inbox/0.eml"
echo "--- parsed by Python's email package"
$py - "$work/inbox/0.eml" "$work/device.log" <<'EOF'
import email, email.policy, sys
msg = email.message_from_binary_file(open(sys.argv[1], 'rb'), policy=email.policy.default)
print('From:   ', msg['From'])
print('To:     ', msg['To'])
print('Subject:', msg['Subject'])
for i, part in enumerate(msg.walk()):
    if part.is_multipart():
        print('part %d: %s' % (i, part.get_content_type()))
        continue
    data = part.get_payload(decode=True)
    print('part %d: %s, %s, %d bytes decoded, filename=%s' % (
        i, part.get_content_type(), part.get('Content-Transfer-Encoding', '7bit'), len(data),
        part.get_filename()))
    if part.get_filename():
        with open(sys.argv[2], 'rb') as f:
            sent = f.read()
        same = data.replace(b'\r\n', b'\n') == sent
        print('        last line: %s' % data.decode().splitlines()[-1])
        print('        equals the device.log that was sent: %s' % ('yes' if same else 'NO'))
        if not same:
            sys.exit(1)
EOF

kill "$srv_pid" 2>/dev/null || true
wait "$srv_pid" 2>/dev/null || true
srv_pid=""
printf '\ndemo: done (server stopped). Next: tests/run.sh runs the whole test suite.\n'
