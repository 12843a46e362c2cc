#!/bin/sh
# Postfix's smtp-sink(1) on 127.0.0.1, on a free port, for a bounded time,
# optionally failing at one SMTP stage.
#
#   sink.sh start DIR [ACTION STAGE]... [--timeout S]
#   sink.sh stop DIR
#
# ACTION: --reject   5xx reply to the command       (smtp-sink -f)
#         --tempfail 4xx reply to the command       (-r)
#         --drop     close without replying         (-q)
#         --421      reply 421 and close            (-Q)
# STAGE:  connect, helo (HELO and EHLO), mail, rcpt, data, eod (the "."
#         ending the message), rset, noop, quit; or a comma list.
#
# start prints the port and writes DIR/port and DIR/pid; accepted messages
# are dumped as DIR/msgs/m.<hex> (smtp-sink's X-*/Received lines, then the
# message, then an empty line); smtp-sink's own output goes to DIR/sink.log.
# The sink dies by itself after --timeout seconds (default 60).
set -eu

usage() { echo "usage: sink.sh start DIR [--reject|--tempfail|--drop|--421 STAGE]... [--timeout S] | stop DIR" >&2; exit 2; }

stage_cmds() {
    out=""
    for s in $(echo "$1" | tr ',' ' '); do
        case $s in
        connect) c=CONNECT ;;
        helo) c=HELO,EHLO ;;
        mail) c=MAIL ;;
        rcpt) c=RCPT ;;
        data) c=DATA ;;
        eod) c=. ;;
        rset) c=RSET ;;
        noop) c=NOOP ;;
        quit) c=QUIT ;;
        *) echo "sink.sh: unknown stage '$s'" >&2; exit 2 ;;
        esac
        out="${out:+$out,}$c"
    done
    echo "$out"
}

# Is something listening on 127.0.0.1:$1? (/proc, so no probe connection)
listening() {
    hex=$(printf '0100007F:%04X' "$1")
    grep -q " $hex 00000000:0000 0A " /proc/net/tcp
}

free_port() {
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

start() {
    dir=$1
    shift
    flags=""
    timeout=60
    while [ $# -gt 0 ]; do
        [ $# -ge 2 ] || usage
        case $1 in
        --reject) flags="$flags -f $(stage_cmds "$2")" ;;
        --tempfail) flags="$flags -r $(stage_cmds "$2")" ;;
        --drop) flags="$flags -q $(stage_cmds "$2")" ;;
        --421) flags="$flags -Q $(stage_cmds "$2")" ;;
        --timeout) timeout=$2 ;;
        *) usage ;;
        esac
        shift 2
    done
    sink=/usr/sbin/smtp-sink
    [ -x $sink ] || { echo "sink.sh: $sink missing (install postfix: tests/deps.sh)" >&2; exit 1; }
    mkdir -p "$dir/msgs"
    user=postfix
    # smtp-sink writes the dumps as $user: it must reach the directory
    chmod 755 "$dir"
    chown "$user" "$dir/msgs"
    # The port can be taken between free_port and the bind: retry.
    for attempt in 1 2 3; do
        port=$(free_port)
        # shellcheck disable=SC2086
        timeout -k 2 "$timeout" $sink -4 -u "$user" -h sink.test -d "$dir/msgs/m." $flags \
            "127.0.0.1:$port" 16 </dev/null >"$dir/sink.log" 2>&1 &
        pid=$!
        i=0
        while [ $i -lt 100 ]; do
            if listening "$port"; then
                echo "$port" >"$dir/port"
                echo "$pid" >"$dir/pid"
                echo "$port"
                return 0
            fi
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
            i=$((i + 1))
        done
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    echo "sink.sh: smtp-sink did not start:" >&2
    cat "$dir/sink.log" >&2
    exit 1
}

# Running and not a zombie (the container's init may reap late).
alive() {
    [ -r "/proc/$1/stat" ] && [ "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)" != Z ]
}

stop() {
    dir=$1
    [ -f "$dir/pid" ] || return 0
    pid=$(cat "$dir/pid")
    kill "$pid" 2>/dev/null || true
    i=0
    while alive "$pid" && [ $i -lt 50 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$dir/pid"
}

[ $# -ge 2 ] || usage
cmd=$1
shift
case $cmd in
start) start "$@" ;;
stop) stop "$1" ;;
*) usage ;;
esac
