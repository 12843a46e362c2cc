#!/bin/sh
# Fails when the core library (encode, message, smtp) refers to the heap or
# to OS calls: it must run on bare metal with caller-provided memory.
# usage: check_core_symbols.sh NM libmailout_core.a
set -eu
nm_bin=$1
lib=$2
undef=$("$nm_bin" -u "$lib" | awk 'NF { print $NF }' | sort -u)
bad=$(printf '%s\n' "$undef" | grep -E '^(malloc|calloc|realloc|free|posix_memalign|aligned_alloc|strdup|strndup|open|read|write|close|fopen|fread|fclose|socket|connect|send|recv|time|gettimeofday|clock_gettime|getrandom|printf|fprintf|abort|exit)$' || true)
if [ -n "$bad" ]; then
    echo "core library refers to forbidden symbols:"
    printf '  %s\n' $bad
    exit 1
fi
echo "core undefined symbols (all allowed):"
printf '  %s\n' $undef
