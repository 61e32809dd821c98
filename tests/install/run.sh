#!/bin/sh
# Installs the build into a temporary prefix, runs the installed tools from
# there in an empty environment (they must find the installed libclip.so.0
# through their relative RPATH), then builds and runs a tiny consumer against
# it four ways: pkg-config shared and static, CMake package shared and static.
# run.sh BUILD CONSUMER_DIR VERSION [FIXTURES_DIR]
set -eu
build=$1
consumer=$2
version=$3
fixtures=${4:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix

cmake --install "$build" --prefix "$prefix" > "$tmp/install.log"
libdir=$(dirname "$(find "$prefix" -name libclip.pc)")/..
test -f "$prefix/include/libclip.h"
test -f "$libdir/libclip.a"
test -L "$libdir/libclip.so.0"

# The tools, as a user runs them after `cmake --install build --prefix DIR`:
# no LD_LIBRARY_PATH, no ldconfig, nothing inherited from this environment.
tools=0
for tool in "$prefix"/bin/clip-*; do
    [ -x "$tool" ] || continue
    if ! env -i "$tool" --help > "$tmp/tool.out" 2>&1; then
        echo "installed $(basename "$tool") does not run from $prefix:" >&2
        cat "$tmp/tool.out" >&2
        exit 1
    fi
    tools=$((tools + 1))
done
if [ "$tools" -eq 0 ]; then
    echo "no clip-* tool installed in $prefix/bin" >&2
    exit 1
fi
model=$fixtures/models/tiny-quickgelu/hf
image=$fixtures/images/photo_rocket_640x427_q92_444.jpg
if [ -n "$fixtures" ] && [ -d "$model" ] && [ -f "$image" ]; then
    env -i "$prefix/bin/clip-zeroshot" --model "$model" "$image" rocket cat > "$tmp/zeroshot.out"
    grep -q rocket "$tmp/zeroshot.out"
    env -i "$prefix/bin/clip-info" "$model" > /dev/null
    # An open_clip directory without a tokenizer file takes the installed
    # vocabulary, found relative to libclip.so: also after the prefix moves.
    mkdir "$tmp/open_clip"
    cp "$fixtures/models/tiny-gelu/open_clip/"* "$tmp/open_clip/"
    check_vocab() { # prefix
        env -i "$1/bin/clip-info" "$tmp/open_clip" > "$tmp/info.out"
        want="vocabulary:     builtin:$(cd "$1" && pwd -P)/share/libclip/bpe_simple_vocab_16e6.txt.gz"
        if ! grep -qxF "$want" "$tmp/info.out"; then
            echo "clip-info from $1 did not use the installed vocabulary; expected \"$want\" in:" >&2
            cat "$tmp/info.out" >&2
            exit 1
        fi
    }
    check_vocab "$prefix"
    mv "$prefix" "$tmp/moved"
    check_vocab "$tmp/moved"
    mv "$tmp/moved" "$prefix"
    echo "installed tools ($tools) run from $prefix in an empty environment, clip-zeroshot labelled an image," \
        "the installed vocabulary is found (also from a moved prefix)"
else
    echo "installed tools ($tools) run from $prefix in an empty environment (no fixtures: no model run)"
fi

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
