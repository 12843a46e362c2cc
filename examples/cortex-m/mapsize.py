#!/usr/bin/python3
"""Where the ROM of a firmware image comes from, read off its linker map.

  mapsize.py IMAGE.map [BASELINE.map]

Prints one line "MAP <mailout> <libc> <app>": the bytes of .text, .rodata
and .data input sections the image keeps (after --gc-sections) from the
mailout archive (libmailout_core.a), from the C library and libgcc, and
from everything else (the firmware's own code, crt0). With BASELINE.map,
the libc figure is what the image has beyond the baseline's: the helpers
mailout pulls in. "image - baseline" (footprint.sh's image share) also
counts the firmware code that calls mailout; the mailout figure does not.
"""
import re
import sys

SECTION = re.compile(r"^ (\.(?:text|rodata|data)\S*)\s*\n?\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S+)", re.M)


def kinds(path):
    with open(path) as f:
        text = f.read()
    # The list of discarded sections comes first; only the memory map counts.
    text = text[text.index("Linker script and memory map"):]
    sums = {"mailout": 0, "libc": 0, "app": 0}
    for _, addr, size, src in SECTION.findall(text):
        if int(addr, 16) == 0:
            continue  # not placed
        if "libmailout_core" in src:
            kind = "mailout"
        elif re.search(r"lib(c|g|gcc|nosys|c_nano|g_nano)\.a", src):
            kind = "libc"
        else:
            kind = "app"
        sums[kind] += int(size, 16)
    return sums


def main():
    if len(sys.argv) not in (2, 3):
        raise SystemExit(__doc__)
    sums = kinds(sys.argv[1])
    if len(sys.argv) == 3:
        sums["libc"] -= kinds(sys.argv[2])["libc"]
    print(f"MAP {sums['mailout']} {sums['libc']} {sums['app']}")


if __name__ == "__main__":
    main()
