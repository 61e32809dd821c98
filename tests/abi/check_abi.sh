#!/bin/sh
# check_abi.sh LIB [HEADERS_DIR]
# LIB (a libclip built with debug info: the clip_abi_probe target) must keep
# the ABI of every released baseline tests/abi/libclip-*.abi: a program built
# against any release runs on it. Exit 0 if so; 1 with abidiff's report if
# not; 77 (ctest: skipped) without abigail-tools. HEADERS_DIR is the
# directory of libclip.h (default: the tree's include/).
#
# Allowed are exactly the changes listed in allowed-changes.suppr (new
# functions) and appended-members.suppr (fields appended to the sized
# structs); abidiff must then report nothing at all, whatever libabigail
# would call the change (it gives most type changes exit code 4, "ABI
# change", not 8, "incompatible"). Three passes per baseline:
#  1. abidiff with both suppression files.
#  2. (once 1 passes) abidiff without appended-members.suppr against LIB's
#     ABI with every struct cut back to its size in the baseline:
#     libabigail's has_data_member_inserted_at looks only at the inserted
#     members, so pass 1 alone would also accept a changed or moved member
#     of those structs, or a change in a type reached only through them
#     (lclip_log_fn, lclip_log_level); here their released part must be
#     unchanged.
#  3. No function may join a version node the baseline has: a released node
#     is frozen (programs that require it must find exactly its functions).
#     abidiff sees such a function only as "added".
set -eu
here=$(cd "$(dirname "$0")" && pwd)
lib=$1
headers=${2:-$here/../../include}
for tool in abidw abidiff; do
    if ! command -v "$tool" > /dev/null 2>&1; then
        echo "ABI check skipped: $tool not found; install abigail-tools (Debian: apt-get install abigail-tools)"
        exit 77
    fi
done
set -- "$here"/libclip-*.abi
if [ ! -e "$1" ]; then
    echo "no baseline $here/libclip-*.abi" >&2
    exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$here/dump_abi.sh" "$lib" "$headers" > "$tmp/current.abi"

# "name size" of the structs a corpus defines.
struct_sizes() {
    sed -n "s/^ *<class-decl name='\([^']*\)' size-in-bits='\([0-9]*\)' is-struct='yes'.*/\1 \2/p" "$1" | sort -u
}
# Corpus $2 with each struct of list $1 ("name size") that is larger there
# cut back to that size: its size set to it, its data members at or beyond
# it dropped.
cut_structs() {
    awk -v sizes="$1" '
        BEGIN { n = split(sizes, w, /[ \n]+/); for (i = 1; i < n; i += 2) old[w[i]] = w[i + 1] }
        depth > 0 { # inside a dropped data member
            if ($0 ~ /<data-member[ >]/) depth++
            if ($0 ~ /<\/data-member>/) depth--
            next
        }
        /^ *<class-decl name=\047[^\047]*\047 size-in-bits=\047[0-9]+\047/ {
            split($0, a, "\047")
            cut = (a[2] in old && a[4] + 0 > old[a[2]] + 0) ? old[a[2]] : ""
            if (cut != "") sub(/size-in-bits=\047[0-9]+\047/, "size-in-bits=\047" cut "\047")
        }
        cut != "" && /<data-member .*layout-offset-in-bits=\047[0-9]+\047/ {
            o = $0; sub(/.*layout-offset-in-bits=\047/, "", o); sub(/\047.*/, "", o)
            if (o + 0 >= cut + 0) { depth = 1; next }
        }
        /<\/class-decl>/ || /<class-decl .*\/>/ { print; cut = ""; next }
        { print }' "$2"
}
# "name@NODE" of the functions a corpus exports.
symbols() {
    sed -n "s/.*<elf-symbol name='\([^']*\)' version='\([^']*\)'.*/\1@\2/p" "$1" | sort -u
}

abidiff_ok() { # label, abidiff arguments...
    label=$1
    shift
    if abidiff --no-default-suppression "$@" > "$tmp/report" 2>&1; then
        return 0
    else
        code=$?
    fi
    echo "FAIL ($label): abidiff exit code $code" >&2
    cat "$tmp/report" >&2
    return 1
}

# The corpus's architecture ('elf-amd-x86_64', ...): baselines are recorded
# on one, and type layouts differ on others.
architecture() {
    sed -n "s/^<abi-corpus .*architecture='\([^']*\)'.*/\1/p" "$1" | head -n 1
}
ours=$(architecture "$tmp/current.abi")

status=0
compared=0
for baseline in "$@"; do
    release=$(basename "$baseline" .abi)
    if [ "$(architecture "$baseline")" != "$ours" ]; then
        echo "== $release: recorded on $(architecture "$baseline"), this is $ours; not compared"
        continue
    fi
    compared=$((compared + 1))
    echo "== against $release"
    if abidiff_ok "$release, allowed changes" --suppressions "$here/allowed-changes.suppr" \
                  --suppressions "$here/appended-members.suppr" "$baseline" "$tmp/current.abi"; then
        sed -n '1,2p' "$tmp/report"
        # (after a failure above, this would mostly repeat its report)
        cut_structs "$(struct_sizes "$baseline")" "$tmp/current.abi" > "$tmp/prefix.abi"
        if ! abidiff_ok "$release, the structs' released part" --suppressions "$here/allowed-changes.suppr" \
                        "$baseline" "$tmp/prefix.abi"; then
            status=1
        fi
    else
        status=1
    fi

    symbols "$baseline" > "$tmp/old"
    symbols "$tmp/current.abi" > "$tmp/new"
    sed 's/.*@//' "$tmp/old" | sort -u > "$tmp/old_nodes"
    comm -13 "$tmp/old" "$tmp/new" > "$tmp/added"
    while IFS=@ read -r name node; do
        if grep -qx "$node" "$tmp/old_nodes"; then
            echo "FAIL ($release, frozen version nodes): $name was added to $node, which $release released;" \
                 "a new function goes into the node of the release that adds it" >&2
            status=1
        fi
    done < "$tmp/added"
done
if [ "$compared" -eq 0 ]; then
    echo "ABI check skipped: no baseline was recorded on $ours"
    exit 77
fi
if [ "$status" -eq 0 ]; then
    echo "ABI compatible with $compared released baseline(s)"
fi
exit "$status"
