#!/usr/bin/env bash
# Tests of the Python binding against a CMake build of libclip.
#
#   bindings/python/run_tests.sh BUILD_DIR
#
# Needs (Debian 12): python3 python3-pytest python3-numpy python3-pip
# python3-setuptools python3-wheel, plus a C compiler (cc) for the struct
# layout test. Steps:
#   1. LIBCLIP_PATH=BUILD_DIR/lib/libclip.so, LIBCLIP_CLIP_EMBED=BUILD_DIR/examples/clip-embed;
#      LIBCLIP_FIXTURES_DIR from the environment, else from BUILD_DIR/CMakeCache.txt.
#   2. Install check: pip-install a copy of bindings/python offline into a temporary
#      directory (no network, no system-wide install) and import it from there
#      (skip with LIBCLIP_SKIP_INSTALL_CHECK=1).
#   3. python3 -m pytest bindings/python/tests; exit status 5 ("no tests collected")
#      counts as success, every other failure is passed on.
# Environment: PYTHON (default /usr/bin/python3), PYTEST_ADDOPTS for extra pytest options.
set -euo pipefail

if [ $# -ne 1 ]; then
    echo "usage: $0 BUILD_DIR   (the CMake build directory holding lib/libclip.so)" >&2
    exit 2
fi
if [ ! -d "$1" ]; then
    echo "run_tests.sh: build directory '$1' does not exist; configure and build libclip first" >&2
    exit 2
fi
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
build="$(cd "$1" && pwd)"
python="${PYTHON:-/usr/bin/python3}"

export LIBCLIP_PATH="$build/lib/libclip.so"
if [ ! -f "$LIBCLIP_PATH" ]; then
    echo "run_tests.sh: $LIBCLIP_PATH not found; build libclip first (cmake --build $1)" >&2
    exit 1
fi
if [ -z "${LIBCLIP_CLIP_EMBED:-}" ] && [ -x "$build/examples/clip-embed" ]; then
    export LIBCLIP_CLIP_EMBED="$build/examples/clip-embed"
fi
if [ -z "${LIBCLIP_FIXTURES_DIR:-}" ] && [ -f "$build/CMakeCache.txt" ]; then
    fixtures="$(sed -n 's/^LIBCLIP_FIXTURES_DIR:[A-Z]*=//p' "$build/CMakeCache.txt")"
    if [ -n "$fixtures" ]; then
        export LIBCLIP_FIXTURES_DIR="$fixtures"
    fi
fi
echo "LIBCLIP_PATH=$LIBCLIP_PATH"
echo "LIBCLIP_CLIP_EMBED=${LIBCLIP_CLIP_EMBED:-(not found: C comparisons skip)}"
echo "LIBCLIP_FIXTURES_DIR=${LIBCLIP_FIXTURES_DIR:-(default: <repo>/../shared/fixtures)}"

# Keep the source tree clean of bytecode and pytest caches.
export PYTHONDONTWRITEBYTECODE=1

if [ "${LIBCLIP_SKIP_INSTALL_CHECK:-0}" != 1 ]; then
    echo "== install check (pip, offline, into a temporary directory)"
    tmp="$(mktemp -d)"
    trap 'rm -rf "$tmp"' EXIT
    # pip builds in the source directory, so build from a copy.
    cp -r "$here" "$tmp/src"
    rm -rf "$tmp/src/build" "$tmp/src"/*.egg-info
    "$python" -m pip install --quiet --disable-pip-version-check --no-build-isolation --no-deps \
        --no-index --target "$tmp/site" "$tmp/src"
    (cd "$tmp" && PYTHONPATH="$tmp/site" "$python" -c '
import sys, libclip
assert libclip.__file__.startswith(sys.argv[1]), libclip.__file__
print("installed libclip", libclip.__version__, "loads", libclip.library_path, libclip.library_version())
' "$tmp/site")
fi

echo "== pytest"
status=0
"$python" -m pytest -p no:cacheprovider -ra "$here/tests" || status=$?
if [ "$status" -eq 5 ]; then
    echo "run_tests.sh: pytest collected no tests" >&2
    status=0
fi
exit "$status"
