#!/usr/bin/env bash
# Tests of the Dask scale-out examples (examples/python/dask_embed.py,
# merge_shards.py, query_index.py) on a local Dask cluster of 2 worker processes.
#
#   tests/python/run_dask_tests.sh BUILD_DIR
#
# Needs (Debian 12): python3 python3-numpy python3-pytest python3-distributed,
# and libclip built in BUILD_DIR. Sets LIBCLIP_PATH=BUILD_DIR/lib/libclip.so and
# PYTHONPATH (the binding and the examples); takes LIBCLIP_FIXTURES_DIR from the
# environment, else from BUILD_DIR/CMakeCache.txt, else <repo>/../shared/fixtures.
# Without the fixtures it prints why and exits 0 (skipped). Exit status: pytest's,
# except that 5 ("no tests collected") counts as success.
# Environment: PYTHON (default /usr/bin/python3), PYTEST_ADDOPTS for extra pytest options.
set -euo pipefail

if [ $# -ne 1 ]; then
    echo "usage: $0 BUILD_DIR   (the CMake build directory holding lib/libclip.so)" >&2
    exit 2
fi
if [ ! -d "$1" ]; then
    echo "run_dask_tests.sh: build directory '$1' does not exist; configure and build libclip first" >&2
    exit 2
fi
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
build="$(cd "$1" && pwd)"
python="${PYTHON:-/usr/bin/python3}"

export LIBCLIP_PATH="$build/lib/libclip.so"
if [ ! -f "$LIBCLIP_PATH" ]; then
    echo "run_dask_tests.sh: $LIBCLIP_PATH not found; build libclip first (cmake --build $1)" >&2
    exit 1
fi
export PYTHONPATH="$repo/bindings/python:$repo/examples/python${PYTHONPATH:+:$PYTHONPATH}"
if [ -z "${LIBCLIP_FIXTURES_DIR:-}" ] && [ -f "$build/CMakeCache.txt" ]; then
    fixtures="$(sed -n 's/^LIBCLIP_FIXTURES_DIR:[A-Z]*=//p' "$build/CMakeCache.txt")"
    if [ -n "$fixtures" ]; then
        export LIBCLIP_FIXTURES_DIR="$fixtures"
    fi
fi
export LIBCLIP_FIXTURES_DIR="${LIBCLIP_FIXTURES_DIR:-$(cd "$repo/.." && pwd)/shared/fixtures}"
echo "LIBCLIP_PATH=$LIBCLIP_PATH"
echo "LIBCLIP_FIXTURES_DIR=$LIBCLIP_FIXTURES_DIR"

if [ ! -f "$LIBCLIP_FIXTURES_DIR/models/tiny-gelu/hf/model.safetensors" ] || \
   [ ! -d "$LIBCLIP_FIXTURES_DIR/images" ]; then
    echo "run_dask_tests.sh: SKIPPED: the fixtures (tiny-gelu model, images) are not at $LIBCLIP_FIXTURES_DIR;" \
         "set LIBCLIP_FIXTURES_DIR"
    exit 0
fi
# A missing package is an error, not a skip: CI must install them.
if ! "$python" -c 'import distributed, numpy, pytest' 2> /dev/null; then
    echo "run_dask_tests.sh: $python cannot import distributed, numpy and pytest;" \
         "apt-get install python3-distributed python3-numpy python3-pytest" >&2
    exit 1
fi

# Keep the source tree clean of bytecode and pytest caches.
export PYTHONDONTWRITEBYTECODE=1

echo "== pytest (Dask LocalCluster, 2 workers)"
status=0
"$python" -m pytest -p no:cacheprovider -ra "$here/test_dask_embed.py" || status=$?
if [ "$status" -eq 5 ]; then
    echo "run_dask_tests.sh: pytest collected no tests" >&2
    status=0
fi
exit "$status"
