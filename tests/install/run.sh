#!/bin/sh
# Installs the build into a temporary prefix, then builds and runs a tiny
# consumer against it four ways: pkg-config shared and static, CMake package
# shared and static.
set -eu
build=$1
consumer=$2
version=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix

cmake --install "$build" --prefix "$prefix" > "$tmp/install.log"
libdir=$(dirname "$(find "$prefix" -name libclip.pc)")/..
test -f "$prefix/include/libclip.h"
test -f "$libdir/libclip.a"
test -L "$libdir/libclip.so.0"

export PKG_CONFIG_PATH="$libdir/pkgconfig"
cc=${CC:-cc}
# shellcheck disable=SC2046
$cc -std=c11 -Wall -Werror -o "$tmp/pc_shared" "$consumer/consumer.c" $(pkg-config --cflags --libs libclip)
# shellcheck disable=SC2046
$cc -std=c11 -Wall -Werror -o "$tmp/pc_static" "$consumer/consumer.c" $(pkg-config --cflags libclip) \
    "$libdir/libclip.a" $(pkg-config --libs-only-l --libs-only-L --static libclip | sed 's/-lclip//')
LD_LIBRARY_PATH="$libdir" "$tmp/pc_shared" "$version"
"$tmp/pc_static" "$version"
if ldd "$tmp/pc_static" | grep -q libclip; then
    echo "static consumer links libclip.so" >&2
    exit 1
fi

cmake -S "$consumer" -B "$tmp/cmake-build" -DCMAKE_PREFIX_PATH="$prefix" > "$tmp/configure.log"
cmake --build "$tmp/cmake-build" > "$tmp/build.log"
LD_LIBRARY_PATH="$libdir" "$tmp/cmake-build/consumer_shared" "$version"
"$tmp/cmake-build/consumer_static" "$version"
echo "install tree consumed via pkg-config and find_package(libclip), shared and static"
