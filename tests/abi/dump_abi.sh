#!/bin/sh
# dump_abi.sh LIB HEADERS_DIR: prints the ABI of LIB (a libclip built with
# debug info) as abidw XML, the form of the tests/abi/libclip-*.abi baselines.
# check_abi.sh and make_baseline.sh both use it, so a baseline and the
# library checked against it are always described with the same options:
# only the functions LIB exports and the types libclip.h declares, without
# build paths, with type ids that do not depend on the order of the input.
set -eu
lib=$1
headers=$2
out=$(abidw --headers-dir "$headers" --drop-private-types --no-corpus-path --no-comp-dir-path --short-locs \
            --exported-interfaces-only --type-id-style hash "$lib")
# Without DWARF abidw still succeeds, with the symbols and no types: such a
# description would hide every type change.
if ! printf '%s\n' "$out" | grep -q '<function-decl '; then
    echo "$lib has no debug info for its functions; build it with -g (the clip_abi_probe target)" >&2
    exit 1
fi
printf '%s\n' "$out"
