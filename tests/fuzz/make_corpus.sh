#!/usr/bin/env bash
# Generates the seed corpora of every fuzz target into OUT_DIR/<target>/:
#     tests/fuzz/make_corpus.sh BUILD_DIR OUT_DIR [FIXTURES_DIR]
# BUILD_DIR holds tests/fuzz/fuzz_make_seeds (built with the tests). Seeds are
# self-made (micro checkpoints, configs, PNGs/JPEGs/WebPs/GIFs/BMPs of every variant, texts)
# plus, when FIXTURES_DIR exists, the fixtures' configs, tokenizer cases,
# checkpoint headers and images up to 8 KB. The committed regression inputs
# (tests/fuzz/regressions/<target>/) are added too, so fuzzing starts from
# every input that once broke something.
set -euo pipefail
build=${1:?usage: make_corpus.sh BUILD_DIR OUT_DIR [FIXTURES_DIR]}
out=${2:?usage: make_corpus.sh BUILD_DIR OUT_DIR [FIXTURES_DIR]}
fixtures=${3:-}
here=$(cd "$(dirname "$0")" && pwd)

mkdir -p "$out"
if [ -n "$fixtures" ] && [ -f "$fixtures/manifest.json" ]; then
    "$build/tests/fuzz/fuzz_make_seeds" "$out" "$fixtures"
    for f in "$fixtures"/images/*; do
        [ "$(stat -c %s "$f")" -le 8192 ] || continue  # larger photos decode ~20x slower
        case "$f" in
        *.png) mkdir -p "$out/png" && cp "$f" "$out/png/fixture_$(basename "$f")" ;;
        *.jpg) mkdir -p "$out/jpeg" && cp "$f" "$out/jpeg/fixture_$(basename "$f")" ;;
        esac
    done
    for f in "$fixtures"/formats/images/*; do
        [ -e "$f" ] && [ "$(stat -c %s "$f")" -le 8192 ] || continue
        case "$f" in
        *.webp | *.gif | *.bmp) mkdir -p "$out/${f##*.}" && cp "$f" "$out/${f##*.}/fixture_$(basename "$f")" ;;
        esac
    done
else
    "$build/tests/fuzz/fuzz_make_seeds" "$out"
fi
for dir in "$here"/regressions/*/; do
    target=$(basename "$dir")
    mkdir -p "$out/$target"
    find "$dir" -maxdepth 1 -type f -exec cp {} "$out/$target/" \;
done
for dir in "$out"/*/; do
    echo "$(basename "$dir"): $(find "$dir" -type f | wc -l) seeds"
done
