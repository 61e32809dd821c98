#!/bin/sh
# The shared library exports exactly the LCLIP_API functions of libclip.h,
# all under the LIBCLIP_0 version node, and carries the SONAME libclip.so.0.
set -eu
lib=$1
header=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Declarations start a line with "LCLIP_API <type> <name>("; names only.
grep '^LCLIP_API' "$header" | sed 's/(.*//; s/.*[ *]//' | sort > "$tmp/declared"
# Defined dynamic symbols, minus the version node itself.
nm -D --defined-only "$lib" | awk '$2 != "A" { print $3 }' > "$tmp/exported_versioned"
sed 's/@.*//' "$tmp/exported_versioned" | sort > "$tmp/exported"

status=0
if ! diff -u "$tmp/declared" "$tmp/exported"; then
    echo "exported symbols differ from the LCLIP_API declarations in libclip.h" >&2
    status=1
fi
if grep -v '@@LIBCLIP_0$' "$tmp/exported_versioned"; then
    echo "symbols above are not in the LIBCLIP_0 version node" >&2
    status=1
fi
soname=$(objdump -p "$lib" | awk '$1 == "SONAME" { print $2 }')
if [ "$soname" != "libclip.so.0" ]; then
    echo "SONAME is '$soname', expected libclip.so.0" >&2
    status=1
fi
[ "$status" -eq 0 ] && echo "$(wc -l < "$tmp/exported") exported symbols, all lclip_* under LIBCLIP_0, SONAME $soname"
exit "$status"
