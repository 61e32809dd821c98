#!/bin/sh
# make_baseline.sh [BUILD_DIR]
# Writes tests/abi/libclip-X.Y.Z.abi, the ABI of this release (X.Y.Z from
# include/libclip.h), from the clip_abi_probe library of BUILD_DIR (default:
# build), which must be a default release build of this tree (configured
# with abigail-tools installed, so that the probe exists).
#
# Run it once per release, deliberately, when the API is final, and commit
# the file with the release: from then on check_abi.sh (ctest abi_compatible)
# holds every later library to it, including its version nodes (no function
# may join them). A released baseline is never rewritten; the script refuses
# to overwrite one.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build}
version=$(sed -n 's/^#define LCLIP_VERSION_\(MAJOR\|MINOR\|PATCH\) \([0-9]*\).*/\2/p' "$root/include/libclip.h" |
          paste -sd. -)
out=$here/libclip-$version.abi
lib=$build/tests/abi/probe/libclip.so.$version
if [ -e "$out" ]; then
    echo "$out exists: a released baseline is never rewritten" >&2
    exit 1
fi
if [ ! -f "$lib" ]; then
    echo "no $lib: build $build first (cmake --build $build), with abigail-tools installed" >&2
    exit 1
fi
if ! "$here/dump_abi.sh" "$lib" "$root/include" > "$out.tmp"; then
    rm -f "$out.tmp"
    exit 1
fi
mv "$out.tmp" "$out"
echo "wrote $out; check it with: ctest --test-dir $build -R abi_compatible"
