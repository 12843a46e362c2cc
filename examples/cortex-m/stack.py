#!/usr/bin/python3
"""Worst-case stack depth of the core from GCC's -fcallgraph-info=su files.

usage: stack.py DIR...   (searches DIR recursively for *.ci)
Prints the deepest call chain from any function: the sum of the frames on
the path. Calls through the caller's callbacks (body producers, file
hooks, allocator) end a chain: their own stack is the caller's to
budget; calls through the library's own function pointers are added from
the INDIRECT table. Recursion is reported and fails the check."""
import os
import re
import sys

NODE = re.compile(r'node: \{ title: "([^"]+)" label: "[^"]*?\\n[^"]*?(?:\\n(\d+) bytes \(([^)]*)\))?"')
# Calls through the library's own function pointers, which the call graph
# cannot see: (callers, callees) as regular expressions over node titles.
# Each caller pattern must match something, so the table cannot go stale.
INDIRECT = [
    (r"txn\.c:start_body$|^mailout_smtp_submit$", r"job\.c:msg_(start|is_8bit)$"),
    (r"txn\.c:fill_\w+$|^smtp_body_fill$", r"job\.c:msg_read$"),
    (r"^msg_fields_next$", r"msg_fields\.c:f_\w+$"),
]
EDGE = re.compile(r'edge: \{ sourcename: "([^"]+)" targetname: "([^"]+)"')


def main():
    frames, calls, dynamic = {}, {}, []
    for d in sys.argv[1:]:
        for dirpath, _, files in os.walk(d):
            for fn in files:
                if not fn.endswith(".ci"):
                    continue
                text = open(os.path.join(dirpath, fn)).read()
                for name, size, kind in NODE.findall(text):
                    if size:
                        frames[name] = max(frames.get(name, 0), int(size))
                        if kind != "static":
                            dynamic.append(name)
                for a, b in EDGE.findall(text):
                    calls.setdefault(a, set()).add(b)
    if not frames:
        sys.exit("no -fcallgraph-info output found (build with cortex-m3.cross)")
    for src, dst in INDIRECT:
        callers = [f for f in frames if re.search(src, f)]
        callees = [f for f in frames if re.search(dst, f)]
        if not callers or not callees:
            sys.exit(f"stack.py: indirect edge {src} -> {dst} matches nothing: update INDIRECT")
        for a in callers:
            calls.setdefault(a, set()).update(callees)
    memo, onpath, cycles = {}, set(), []

    def depth(f):
        if f in memo:
            return memo[f]
        if f in onpath:
            cycles.append(f)
            return 0, [f]
        onpath.add(f)
        best, path = 0, []
        for g in calls.get(f, ()):
            d, p = depth(g)
            if d > best:
                best, path = d, p
        onpath.discard(f)
        memo[f] = (frames.get(f, 0) + best, [f] + path)
        return memo[f]

    worst, chain = 0, []
    for f in frames:
        d, p = depth(f)
        if d > worst:
            worst, chain = d, p
    def short(f):
        return f.rsplit("/", 1)[-1]
    print(f"worst-case stack: {worst} bytes: " + " -> ".join(f"{short(f)}({frames.get(f, 0)})" for f in chain))
    if dynamic:
        print("dynamic frames (not bounded by this count): " + ", ".join(sorted(set(dynamic))))
    if cycles:
        print("recursion through: " + ", ".join(sorted(set(cycles))))
        sys.exit(1)
    print(f"STACK {worst}")


if __name__ == "__main__":
    main()
