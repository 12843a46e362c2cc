#!/bin/sh
# Footprint of the mailout core on an ARM Cortex-M3 (arm-none-eabi-gcc -Os
# -mthumb, see cortex-m3.cross), in two configurations:
#   full     every feature (config-full.h)
#   minimal  text body, PLAIN/LOGIN, no PIPELINING/BDAT/DSN (config-minimal.h)
# Prints text/data/bss per object and in total, and the worst stack frame
# (worst call chain from -fcallgraph-info, stack.py). With --check, fails when a total exceeds the budget in
# footprint-budget.txt (lower the budget as the code shrinks).
#
# usage: footprint.sh [--check] [WORKDIR]     (WORKDIR default: build-cm3)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
check=0
if [ "${1:-}" = "--check" ]; then
    check=1
    shift
fi
work=${1:-$root/build-cm3}
status=0

for cfg in full minimal; do
    dir=$work/$cfg
    if [ ! -f "$dir/build.ninja" ]; then
        meson setup "$dir" "$root" --cross-file "$here/cortex-m3.cross" \
            -Dconfig_file="$here/config-$cfg.h" >"$work-$cfg-setup.log" 2>&1 || {
            cat "$work-$cfg-setup.log"
            exit 1
        }
    fi
    ninja -C "$dir" lib/libmailout_core.a >/dev/null
    echo "== $cfg ($(basename "$here")/config-$cfg.h)"
    # Per object: text data bss, then the total line of size -t.
    arm-none-eabi-size -t "$dir/lib/libmailout_core.a" |
        awk 'NR == 1 { printf "%-28s %7s %6s %6s\n", "object", "text", "data", "bss"; next }
             { name = $6; sub(/.*\//, "", name); sub(/\.c\.o$/, ".c", name); if ($6 == "(TOTALS)") name = "TOTAL";
               printf "%-28s %7d %6d %6d\n", name, $1, $2, $3 }'
    rom=$(arm-none-eabi-size -t "$dir/lib/libmailout_core.a" | awk 'END { print $1 + $2 }')
    ram=$(arm-none-eabi-size -t "$dir/lib/libmailout_core.a" | awk 'END { print $2 + $3 }')
    echo "ROM (text+data): $rom bytes; static RAM (data+bss): $ram bytes"
    stack_report=$(/usr/bin/python3 "$here/stack.py" "$dir/lib") || {
        echo "$stack_report"
        status=1
    }
    echo "$stack_report" | grep -v '^STACK'
    stack=$(echo "$stack_report" | awk '$1 == "STACK" { print $2 }')
    if [ $check -eq 1 ]; then
        budget=$(awk -v c="$cfg" '$1 == c { print $2 }' "$here/footprint-budget.txt")
        if [ -z "$budget" ]; then
            echo "no budget for $cfg in footprint-budget.txt"
            status=1
        elif [ "$rom" -gt "$budget" ]; then
            echo "FAIL: $cfg ROM $rom > budget $budget"
            status=1
        else
            echo "ok: $cfg ROM $rom <= budget $budget"
        fi
        sbudget=$(awk '$1 == "stack" { print $2 }' "$here/footprint-budget.txt")
        if [ -z "$stack" ] || [ "$stack" -gt "$sbudget" ]; then
            echo "FAIL: $cfg worst-case stack ${stack:-?} > budget $sbudget"
            status=1
        fi
    fi
done
exit $status
