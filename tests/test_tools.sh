#!/bin/sh
# The installed tools on the reference fixtures: clip-embed's token ids,
# preprocessed tensors and embedding output shapes, clip-zeroshot's ranking
# and prompt ensembles, clip-probe's training and applying, and the tools'
# exit codes. Exit 77 (skip) without fixtures.
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

# prompt ensembles: the 80 ImageNet templates on zeroshot.json's classes give
# the reference's probabilities (the images decoded by the tool); the same
# templates from a file give the same output; a saved classifier, applied
# without a text encoder, gives it again
zs_fixture=$fixtures/zeroshot/zeroshot.json
if [ -f "$zs_fixture" ] && command -v python3 > /dev/null; then
    ens_status=0
    python3 - "$fixtures" "$bin/clip-zeroshot" "$tmp" > "$tmp/ens_check.txt" 2>&1 <<'PY' || ens_status=$?
import json, struct, subprocess, sys
fixtures, tool, tmp = sys.argv[1:4]
spec = json.load(open(f"{fixtures}/zeroshot/zeroshot.json"))
classes, images = spec["classes"], spec["images"]
model = f"{fixtures}/models/tiny-gelu/hf"
raw = open(f"{fixtures}/zeroshot/tiny-gelu/probs.f32", "rb").read()
ref = struct.unpack(f"<{len(images) * len(classes)}f", raw)
def ranked(args):
    out = subprocess.run([tool, "--model", model, *args], check=True, capture_output=True, text=True).stdout
    return {line.split("%", 1)[1].strip(): float(line.split("%", 1)[0]) / 100 for line in out.splitlines()}
subprocess.run([tool, "--model", model, "--templates", "imagenet", "--save-classifier", f"{tmp}/zs.lclip",
                *classes], check=True, capture_output=True)
worst, same_file, same_saved = 0.0, True, True
for row, image in enumerate(images):
    path = f"{fixtures}/images/{image}"
    probs = ranked(["--templates", "imagenet", path, *classes])
    worst = max([worst] + [abs(probs[c] - ref[row * len(classes) + i]) for i, c in enumerate(classes)])
    same_file &= ranked(["--templates", f"{fixtures}/zeroshot/templates.txt", path, *classes]) == probs
    same_saved &= ranked(["--classifier", f"{tmp}/zs.lclip", path]) == probs
print(f"file templates same: {same_file}, saved classifier same: {same_saved}")
print(f"max probability difference {worst:.2e}")
sys.exit(0 if worst <= 2e-3 and same_file and same_saved else 1)
PY
    check "clip-zeroshot --templates imagenet reproduces zeroshot.json; a template file and --classifier agree ($(tr '\n' ' ' < "$tmp/ens_check.txt"))" \
        test "$ens_status" = 0
fi
status=0
"$bin/clip-zeroshot" --model "$model" --template "{} and {}" "$images/photo_astronaut_512x512.png" cat dog \
    2> "$tmp/err.txt" || status=$?
check "clip-zeroshot with a two-slot template exits 1 naming it" \
    test "$status$(grep -c 'more than one "{}"' "$tmp/err.txt")" = 11
status=0
"$bin/clip-zeroshot" --model "$model" --template "{}" --templates imagenet "$images/photo_astronaut_512x512.png" \
    cat dog 2> /dev/null || status=$?
check "clip-zeroshot with --template and --templates is a usage error (exit 2)" test "$status" = 2
printf 'LCLIPCLS' > "$tmp/bad.lclip"
status=0
"$bin/clip-zeroshot" --model "$model" --classifier "$tmp/bad.lclip" "$images/photo_astronaut_512x512.png" \
    2> "$tmp/err.txt" || status=$?
check "clip-zeroshot --classifier on a malformed file exits 1 with the reason" \
    test "$status$(grep -c 'shorter than any classifier file' "$tmp/err.txt")" = 11

# clip-probe: two classes of fixture images (and a file that is no image)
probe_dir=$tmp/probe
mkdir -p "$probe_dir/photo" "$probe_dir/synthetic"
cp "$images"/photo_* "$probe_dir/photo/"
cp "$images"/synth_* "$probe_dir/synthetic/"
echo "not an image" > "$probe_dir/synthetic/notes.png"
"$bin/clip-probe" train --model "$model" --out "$tmp/probe.lclip" "$probe_dir" > "$tmp/probe_out.txt" 2> "$tmp/probe_err.txt"
check "clip-probe train prints the held-out accuracy of 2 held-out images" \
    grep -Eq '^held-out accuracy: [0-9.]+% \([0-2] of 2 images\)$' "$tmp/probe_out.txt"
check "clip-probe train reports progress, the skipped file and the chosen C on stderr" \
    test "$(grep -c -e 'embedded 14/14 images' -e 'skipping .*notes.png' -e 'C = .*cross-validated' "$tmp/probe_err.txt")" = 3
"$bin/clip-probe" apply --model "$model" --classifier "$tmp/probe.lclip" "$images/photo_astronaut_512x512.png" \
    > "$tmp/apply.txt"
check "clip-probe apply ranks the 2 classes with probabilities summing to 100%" \
    test "$(awk '{ sum += $1 } END { printf "%d %.0f", NR, sum }' "$tmp/apply.txt")" = "2 100"
"$bin/clip-zeroshot" --model "$model" --classifier "$tmp/probe.lclip" "$images/photo_astronaut_512x512.png" \
    > "$tmp/apply_zs.txt"
check "clip-zeroshot --classifier applies a probe as clip-probe apply does" cmp -s "$tmp/apply.txt" "$tmp/apply_zs.txt"
"$bin/clip-probe" apply --model "$model" --classifier "$tmp/probe.lclip" --top 1 \
    "$images/photo_astronaut_512x512.png" "$images/synth_gray_300x200.png" > "$tmp/apply2.txt"
check "clip-probe apply on 2 images prints a header and the top class for each" \
    test "$(grep -c ':$' "$tmp/apply2.txt") $(wc -l < "$tmp/apply2.txt")" = "2 4"
"$bin/clip-probe" train --model "$model" --out "$tmp/probe_c.lclip" --c 2 --holdout 0 "$probe_dir" \
    > "$tmp/probe_out.txt" 2> /dev/null
check "clip-probe train --holdout 0 --c 2 holds nothing out and saves" \
    test "$(cat "$tmp/probe_out.txt")$(test -s "$tmp/probe_c.lclip" && echo saved)" = "held-out accuracy: none held outsaved"
mkdir -p "$tmp/one_class/only"
cp "$images/synth_gray_300x200.png" "$tmp/one_class/only/"
status=0
"$bin/clip-probe" train --model "$model" --out "$tmp/never.lclip" "$tmp/one_class" 2> "$tmp/err.txt" || status=$?
check "clip-probe train on one class exits 1, writing nothing" \
    test "$status$(grep -c 'at least 2' "$tmp/err.txt")$(test -e "$tmp/never.lclip" && echo written)" = 11
mkdir -p "$tmp/one_class/empty"
status=0
"$bin/clip-probe" train --model "$model" --out "$tmp/never.lclip" "$tmp/one_class" 2> "$tmp/err.txt" || status=$?
check "clip-probe train with an empty class directory exits 1" \
    test "$status$(grep -c 'no images' "$tmp/err.txt")" = 11
status=0
"$bin/clip-probe" train --model "$model" "$probe_dir" > /dev/null 2>&1 || status=$?
check "clip-probe train without --out exits 2" test "$status" = 2
status=0
"$bin/clip-probe" apply --model "$model" --classifier "$tmp/probe.lclip" > /dev/null 2>&1 || status=$?
check "clip-probe apply without images exits 2" test "$status" = 2

# exit codes: 1 for a failure with a message, 2 for usage
set +e
"$bin/clip-embed" --model "$model" --image "$tmp/texts.txt" 2> "$tmp/err.txt"
check "clip-embed on a non-image exits 1 with a message" test "$?$(grep -c 'not a PNG, JPEG, WebP, GIF or BMP image' "$tmp/err.txt")" = 11
"$bin/clip-zeroshot" --model "$model" "$images/missing.png" cat dog 2> /dev/null
check "clip-zeroshot on a missing image exits 1" test $? = 1
"$bin/clip-embed" --text "no model" > /dev/null 2>&1
check "clip-embed without --model exits 2" test $? = 2
"$bin/clip-zeroshot" --model "$model" "$images/photo_astronaut_512x512.png" > /dev/null 2>&1
check "clip-zeroshot without labels exits 2" test $? = 2
set -e
echo "$failures failed"
[ "$failures" -eq 0 ]
