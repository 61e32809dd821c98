#!/bin/sh
# The shared library exports exactly the functions libclip.h declares, each
# under the version node of the release that added it (LCLIP_API: LIBCLIP_0,
# the 0.1.0 node; LCLIP_AVAILABLE_IN_X_Y: LIBCLIP_X.Y), and carries the SONAME
# libclip.so.0.
set -eu
lib=$1
header=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Declarations start a line with their marker and end their first line with
# "<name>(": "name@@NODE" per declaration. The 0.1.0 node is LIBCLIP_0, not
# LIBCLIP_0.1, because 0.1.0 was released with that name.
grep -E '^LCLIP_(API|AVAILABLE_IN_[0-9]+_[0-9]+) ' "$header" |
    sed -E 's/^(LCLIP_[A-Z0-9_]+) .*[ *]([a-z0-9_]+)\(.*/\1 \2/' |
    awk '{ node = "LIBCLIP_0"
           if ($1 != "LCLIP_API") { split($1, v, "_"); node = "LIBCLIP_" v[4] "." v[5] }
           print $2 "@@" node }' | sort > "$tmp/declared"
# Defined dynamic symbols with their version, minus the version nodes themselves.
nm -D --defined-only "$lib" | awk '$2 != "A" { print $3 }' | sort > "$tmp/exported"

status=0
if ! diff -u "$tmp/declared" "$tmp/exported"; then
    echo "exported symbols (+) differ from libclip.h's declarations and their release markers (-)" >&2
    status=1
fi
soname=$(objdump -p "$lib" | awk '$1 == "SONAME" { print $2 }')
if [ "$soname" != "libclip.so.0" ]; then
    echo "SONAME is '$soname', expected libclip.so.0" >&2
    status=1
fi
if [ "$status" -eq 0 ]; then
    echo "$(wc -l < "$tmp/exported") exported symbols, SONAME $soname, by version node:"
    sed 's/.*@@//' "$tmp/exported" | sort | uniq -c
fi
exit "$status"
