#!/bin/sh
# The installed tools on the reference fixtures: clip-embed's token ids,
# preprocessed tensors and embedding output shapes, clip-zeroshot's ranking,
# and both tools' exit codes. Exit 77 (skip) without fixtures.
set -eu
bin=$1
fixtures=$2
if [ ! -f "$fixtures/manifest.json" ]; then
    echo "skipping: reference fixtures not found at $fixtures"
    exit 77
fi
model=$fixtures/models/tiny-gelu/hf
images=$fixtures/images
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
check() { # description, command...
    what=$1
    shift
    if "$@"; then echo "ok: $what"; else echo "FAILED: $what"; failures=$((failures + 1)); fi
}

# --tokenize: the golden ids of rows 0, 1 and 9 of text_tokens.i32
printf '%s\n' "a photo of an astronaut" "a photo of a cat" \
    "a black and white photograph of a horse standing in a field" > "$tmp/texts.txt"
"$bin/clip-embed" --model "$model" --tokenize --text-file "$tmp/texts.txt" > "$tmp/ids.txt"
od -An -v -t d4 -w308 "$fixtures/golden/text_tokens.i32" | sed -n '1p;2p;10p' |
    tr -s ' ' | sed 's/^ //; s/ $//' > "$tmp/golden_ids.txt"
check "clip-embed --tokenize gives the reference ids" cmp -s "$tmp/ids.txt" "$tmp/golden_ids.txt"

# --preprocess: bit-identical to the golden tensor
"$bin/clip-embed" --model "$model" --preprocess --image "$images/photo_chelsea_451x300_q90_420.jpg" \
    --out "$tmp/chw.f32"
check "clip-embed --preprocess equals the golden tensor" \
    cmp -s "$tmp/chw.f32" "$fixtures/golden/preprocess-32/photo_chelsea_451x300_q90_420.f32"

# embeddings: one row per input, 32 values each
"$bin/clip-embed" --model "$model" --text "a photo of a cat" "" "a diagram" > "$tmp/text.txt"
check "clip-embed --text writes 3 rows of 32" \
    test "$(wc -l < "$tmp/text.txt") $(awk '{ print NF }' "$tmp/text.txt" | sort -u)" = "3 32"
"$bin/clip-embed" --model "$model" --format f32 --out "$tmp/images.f32" \
    --image "$images/synth_gray_300x200.png" "$images/photo_rocket_640x427_q92_444.jpg"
check "clip-embed --image --format f32 writes 2 x 32 floats" test "$(wc -c < "$tmp/images.f32")" = 256

# --engine: the CBLAS and oneDNN (when built in) give the same embeddings;
# a word that names no engine is a usage error
"$bin/clip-embed" --model "$model" --engine cblas --text "a photo of a cat" "a diagram" > "$tmp/cblas.txt"
"$bin/clip-embed" --model "$model" --engine auto --text "a photo of a cat" "a diagram" > "$tmp/auto.txt"
check "clip-embed --engine auto and --engine cblas agree to 1e-5" \
    awk 'NR == FNR { for (i = 1; i <= NF; i++) a[FNR, i] = $i; next }
         { for (i = 1; i <= NF; i++) if ((a[FNR, i] - $i) ^ 2 > 1e-10) exit 1 }' "$tmp/cblas.txt" "$tmp/auto.txt"
status=0
"$bin/clip-embed" --model "$model" --engine gpu --text "a" > /dev/null 2>&1 || status=$?
check "clip-embed --engine gpu is a usage error (exit 2)" test "$status" = 2

# zero-shot: every label printed once with a percentage, summing to 100
"$bin/clip-zeroshot" --model "$model" "$images/photo_astronaut_512x512.png" astronaut cat dog > "$tmp/zs.txt"
check "clip-zeroshot ranks 3 labels with probabilities summing to 100%" \
    test "$(awk '{ sum += $1 } END { printf "%d %.0f", NR, sum }' "$tmp/zs.txt")" = "3 100"

# zero-shot against the reference: the golden prompts as labels ("{}" template),
# every image's probabilities within the manifest's 2e-3
if command -v python3 > /dev/null; then
    zs_status=0
    python3 - "$fixtures" "$bin/clip-zeroshot" > "$tmp/zs_check.txt" 2>&1 <<'PY' || zs_status=$?
import json, subprocess, sys
fixtures, tool = sys.argv[1], sys.argv[2]
golden = json.load(open(f"{fixtures}/golden/tiny-gelu/zero_shot.json"))
worst = 0.0
for row, image in enumerate(golden["images"]):
    out = subprocess.run([tool, "--model", f"{fixtures}/models/tiny-gelu/hf", "--template", "{}",
                          f"{fixtures}/images/{image}", *golden["texts"]],
                         check=True, capture_output=True, text=True).stdout
    probs = {}
    for line in out.splitlines():
        percent, label = line.split("%", 1)
        probs[label.strip()] = float(percent) / 100
    for text, want in zip(golden["texts"], golden["probs"][row]):
        worst = max(worst, abs(probs[text] - want))
print(f"max probability difference {worst:.2e}")
sys.exit(0 if worst <= 2e-3 else 1)
PY
    check "clip-zeroshot reproduces the manifest's zero-shot probabilities ($(tail -n 1 "$tmp/zs_check.txt"))" \
        test "$zs_status" = 0
fi

# exit codes: 1 for a failure with a message, 2 for usage
set +e
"$bin/clip-embed" --model "$model" --image "$tmp/texts.txt" 2> "$tmp/err.txt"
check "clip-embed on a non-image exits 1 with a message" test "$?$(grep -c 'not a PNG, JPEG, WebP, GIF or BMP image' "$tmp/err.txt")" = 11
# clip-info on files that are not safetensors names what they are
"$bin/clip-info" "$tmp/texts.txt" > /dev/null 2> "$tmp/err.txt"
check "clip-info on a text file exits 1 saying it is text" \
    test "$?$(grep -c 'not a safetensors file: it starts with text' "$tmp/err.txt")" = 11
printf 'PK\003\004\000\000\010\010' > "$tmp/model.pt"
"$bin/clip-info" "$tmp/model.pt" > /dev/null 2> "$tmp/err.txt"
check "clip-info on a PyTorch zip exits 1 naming it with a conversion" \
    test "$?$(grep -c 'a PyTorch checkpoint (pickle).*save_file' "$tmp/err.txt")" = 11
"$bin/clip-zeroshot" --model "$model" "$images/missing.png" cat dog 2> /dev/null
check "clip-zeroshot on a missing image exits 1" test $? = 1
"$bin/clip-embed" --text "no model" > /dev/null 2>&1
check "clip-embed without --model exits 2" test $? = 2
"$bin/clip-zeroshot" --model "$model" "$images/photo_astronaut_512x512.png" > /dev/null 2>&1
check "clip-zeroshot without labels exits 2" test $? = 2
set -e
echo "$failures failed"
[ "$failures" -eq 0 ]
