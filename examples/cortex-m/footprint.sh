#!/bin/sh
# Footprint of the mailout core on an ARM Cortex-M3 (arm-none-eabi-gcc -Os
# -mthumb, see cortex-m3.cross), in two configurations:
#   full     every feature (config-full.h)
#   minimal  text body, PLAIN/LOGIN, no PIPELINING/BDAT/DSN (config-minimal.h)
# Prints text/data/bss per object and in total, the firmware image
# (firmware.c) and the library's share of it, the engine-only share (firmware-raw.elf: the
# firmware composes the message itself), the mailout code each image keeps
# (from the linker map, mapsize.py: without the firmware's own calls), the
# same images linked with -flto, RAM per session, and the worst stack frame
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

# within KEY VALUE LABEL: VALUE against the budget line KEY of
# footprint-budget.txt (a missing value or budget fails too).
within() {
    b=$(awk -v k="$1" '$1 == k { print $2 }' "$here/footprint-budget.txt")
    if [ -z "$2" ] || [ -z "$b" ] || [ "$2" -gt "$b" ]; then
        echo "FAIL: $3 ${2:-?} > budget ${b:-?}"
        status=1
    else
        echo "ok: $3 $2 <= budget $b"
    fi
}

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
    # The firmware image (firmware.c over a stub transport) with and without
    # the mailout calls: the difference is the library's share of a real
    # image after --gc-sections, libc helpers it pulls in included.
    ninja -C "$dir" examples/cortex-m/firmware.elf examples/cortex-m/firmware-raw.elf \
        examples/cortex-m/firmware-baseline.elf examples/cortex-m/libramsize.a >/dev/null
    img=$(arm-none-eabi-size "$dir/examples/cortex-m/firmware.elf" | awk 'NR == 2 { print $1, $2, $3 }')
    base=$(arm-none-eabi-size "$dir/examples/cortex-m/firmware-baseline.elf" | awk 'NR == 2 { print $1, $2, $3 }')
    set -- $img $base
    share=$(( ($1 + $2) - ($4 + $5) ))
    echo "image firmware.elf: text $1 data $2 bss $3; baseline: text $4 data $5 bss $6"
    echo "library share of the image ROM (text+data, image - baseline): $share bytes"
    # The engine alone: the firmware composes the message itself (no
    # message layer linked), as lwIP's smtp.c and SEGGER's client take it.
    raw=$(arm-none-eabi-size "$dir/examples/cortex-m/firmware-raw.elf" | awk 'NR == 2 { print $1 + $2 }')
    rawshare=$((raw - ($4 + $5)))
    echo "engine only (firmware-raw.elf, message composed by the firmware): $rawshare bytes of the image"
    # The same from the linker maps: only the archive's sections, and the
    # libc helpers beyond the baseline's (the firmware code that calls
    # mailout, which the shares above include, is left out).
    set -- $(/usr/bin/python3 "$here/mapsize.py" "$dir/firmware.map" "$dir/firmware-baseline.map")
    mapfull=$(($2 + $3))
    echo "mailout code in firmware.elf (linker map): $2 bytes + $3 of libc helpers = $mapfull"
    set -- $(/usr/bin/python3 "$here/mapsize.py" "$dir/firmware-raw.map" "$dir/firmware-baseline.map")
    mapraw=$(($2 + $3))
    echo "mailout code in firmware-raw.elf (linker map): $2 bytes + $3 of libc helpers = $mapraw"
    # Link-time optimisation, as firmware builds often use it: the same
    # three images (LTO mixes objects, so only image - baseline is known).
    lto=$work/$cfg-lto
    if [ ! -f "$lto/build.ninja" ]; then
        meson setup "$lto" "$root" --cross-file "$here/cortex-m3.cross" -Db_lto=true \
            -Dconfig_file="$here/config-$cfg.h" >"$work-$cfg-lto-setup.log" 2>&1 || {
            cat "$work-$cfg-lto-setup.log"
            exit 1
        }
    fi
    ninja -C "$lto" examples/cortex-m/firmware.elf examples/cortex-m/firmware-raw.elf \
        examples/cortex-m/firmware-baseline.elf >/dev/null
    set -- $(for e in firmware firmware-raw firmware-baseline; do
        arm-none-eabi-size "$lto/examples/cortex-m/$e.elf" | awk 'NR == 2 { print $1 + $2 }'; done)
    ltoshare=$(($1 - $3))
    ltoraw=$(($2 - $3))
    echo "with -flto: library share of the image $ltoshare bytes, engine only $ltoraw bytes"
    # RAM per session: the engine (struct + 256 B output buffer, as
    # mailout_smtp_new allocates) + message + one part.
    eval "$(arm-none-eabi-nm -S -t d "$dir/examples/cortex-m/libramsize.a" |
        awk '$4 ~ /^ramsize_/ { sub(/^ramsize_/, "", $4); printf "sz_%s=%d\n", $4, $2 }')"
    engine=$(( (sz_smtp + 15) / 16 * 16 + 256 ))
    session=$((engine + sz_msg + sz_part))
    echo "RAM per session (out_buf_size 256): engine $engine (struct $sz_smtp + 256 buffer)" \
        "+ message $sz_msg + part $sz_part = $session bytes, plus copied strings"
    stack_report=$(/usr/bin/python3 "$here/stack.py" "$dir/lib") || {
        echo "$stack_report"
        status=1
    }
    echo "$stack_report" | grep -v '^STACK'
    stack=$(echo "$stack_report" | awk '$1 == "STACK" { print $2 }')
    if [ $check -eq 1 ]; then
        within "$cfg" "$rom" "$cfg ROM"
        within "image-$cfg" "$share" "$cfg image share"
        within "raw-$cfg" "$rawshare" "$cfg engine-only image share"
        within "map-$cfg" "$mapfull" "$cfg mailout code in the image"
        within "lto-$cfg" "$ltoshare" "$cfg image share with -flto"
        within "lto-raw-$cfg" "$ltoraw" "$cfg engine-only image share with -flto"
        within "ram-$cfg" "$session" "$cfg RAM per session"
        within stack "$stack" "$cfg worst-case stack"
    fi
done
exit $status
