#!/bin/sh
# clip-search on the reference images: indexing (with bad files, a
# subdirectory and a symlink loop), queries by image and by text, resuming an
# interrupted run, corrupt index files, and the exit codes.
# Usage: test_clip_search.sh BIN_DIR FIXTURES_DIR. Exit 77 (skip) without fixtures.
set -eu
bin=$1
fixtures=$2
if [ ! -f "$fixtures/manifest.json" ]; then
    echo "skipping: reference fixtures not found at $fixtures"
    exit 77
fi
search=$bin/clip-search
model=$fixtures/models/tiny-gelu/hf
open_clip_model=$fixtures/models/tiny-gelu/open_clip
other_model=$fixtures/models/tiny-quickgelu/hf
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
pass() { echo "ok: $1"; }
fail() { echo "FAILED: $1"; failures=$((failures + 1)); }
check() { # description, command...
    what=$1
    shift
    if "$@"; then pass "$what"; else fail "$what"; fi
}
# expect CODE PATTERN DESCRIPTION COMMAND...: exits with CODE, stderr matches PATTERN
expect() {
    code=$1 pattern=$2 what=$3
    shift 3
    set +e
    "$@" > "$tmp/out" 2> "$tmp/err"
    rc=$?
    set -e
    if [ "$rc" = "$code" ] && { [ -z "$pattern" ] || grep -q -- "$pattern" "$tmp/err"; }; then
        pass "$what"
    else
        fail "$what (exit $rc, wanted $code; stderr follows)"
        sed 's/^/    /' "$tmp/err"
    fi
}
# patch_bytes FILE OFFSET PRINTF-BYTES: overwrites bytes in place
patch_bytes() {
    # shellcheck disable=SC2059 # the bytes are given as printf escapes
    printf "$3" | dd of="$1" bs=1 seek="$2" conv=notrunc 2> /dev/null
}

# The image tree: 13 images, 3 of them in subdirectories, a truncated PNG, a
# text file named .JPG, a README (not an image by name) and a symlink loop.
images=$tmp/images
mkdir -p "$images/sub/deeper"
cp "$fixtures"/images/* "$images/"
mv "$images/synth_gray_300x200.png" "$images/synth_tiny_17x33.png" "$images/sub/"
mv "$images/photo_rocket_640x427_q92_444.jpg" "$images/sub/deeper/"
head -c 3000 "$fixtures/images/synth_rgba_256x192.png" > "$images/sub/corrupt.png"
echo "not an image" > "$images/notes.JPG"
ln -s .. "$images/sub/deeper/loop"
root=$(cd "$images" && pwd -P) # the index stores absolute paths

# --- a full index -------------------------------------------------------
index=$tmp/full.idx
"$search" index --model "$model" "$images" --index "$index" --batch 4 > "$tmp/summary" 2> "$tmp/log"
check "index reports 13 indexed, 2 skipped" \
    grep -q '^indexed 13 images, skipped 2 (0 already indexed, 13 in the index)$' "$tmp/summary"
check "index warns about the corrupt PNG with libclip's reason" \
    grep -q "warning: skipping $root/sub/corrupt.png: .*truncated" "$tmp/log"
check "index warns about the text file named .JPG" \
    grep -q "warning: skipping $root/notes.JPG: not a PNG, JPEG, WebP, GIF or BMP image" "$tmp/log"
check "index shows plain progress lines when stderr is not a terminal" \
    grep -q '^clip-search: 15/15 images (100%), .* images/s, ETA ' "$tmp/log"

# every image finds itself first, with a cosine of 1
misses=0
for image in $(cd "$images" && find . -name '*.png' -o -name '*.jpg' | grep -v corrupt | sed 's|^\./||' | sort); do
    "$search" query --model "$model" --index "$index" --image "$images/$image" --top 3 > "$tmp/hits"
    if ! head -n 1 "$tmp/hits" | grep -q "^1\.0000  $root/$image\$"; then
        echo "    $image: $(head -n 1 "$tmp/hits")"
        misses=$((misses + 1))
    fi
done
check "each of the 13 images is its own best match with score 1.0000" test "$misses" = 0

# a text query: K lines, best first; default K is 10; the index holds 13 distinct paths
"$search" query --model "$model" --index "$index" --text "a photo of a cat" --top 5 > "$tmp/hits"
check "--text --top 5 prints 5 lines" test "$(wc -l < "$tmp/hits")" = 5
check "the lines are sorted by descending score" sort -c -r -n -k1,1 "$tmp/hits"
check "each line is 'score  path'" test "$(grep -c "^-\{0,1\}[01]\.[0-9]\{4\}  $root/" "$tmp/hits")" = 5
"$search" query --model "$model" --index "$index" --text "a photo of a cat" > "$tmp/hits"
check "the default --top is 10" test "$(wc -l < "$tmp/hits")" = 10
"$search" query --model "$model" --index "$index" --text "a diagram" --top 100 > "$tmp/all"
check "--top beyond the index prints all 13 distinct images" \
    test "$(wc -l < "$tmp/all") $(cut -c9- "$tmp/all" | sort -u | wc -l)" = "13 13"

# indexing again embeds nothing
wc -c < "$index" > "$tmp/full.size"
"$search" index --model "$model" "$images" --index "$index" > "$tmp/summary" 2> "$tmp/log"
check "a second run finds all 13 already indexed" \
    grep -q '^indexed 0 images, skipped 2 (13 already indexed, 13 in the index)$' "$tmp/summary"
check "a second run's file is unchanged in size" test "$(wc -c < "$index")" = "$(cat "$tmp/full.size")"

# --- an interrupt cancels the batch in flight ------------------------------
cancelled=$tmp/cancelled.idx
expect 130 "interrupted: 0 images indexed" "an interrupt during a batch cancels it and exits 130" \
    env CLIP_SEARCH_TEST_INTERRUPT_IN_PASS=1 "$search" index --model "$model" "$images" --index "$cancelled" --batch 100
"$search" index --model "$model" "$images" --index "$cancelled" > "$tmp/summary" 2> "$tmp/log"
check "nothing of the cancelled batch was committed: the rerun embeds all 13" \
    grep -q '^indexed 13 images, skipped 2 (0 already indexed, 13 in the index)$' "$tmp/summary"

# --- resuming an interrupted run ------------------------------------------
# The test hook sends the process SIGINT after 2 committed batches of 2; then
# a torn record (bytes past the committed count) is appended as a crash would.
resumed=$tmp/resumed.idx
expect 130 "interrupted: .*rerun the same command to resume" "an interrupted index run exits 130 and says so" \
    env CLIP_SEARCH_TEST_INTERRUPT_AFTER=2 "$search" index --model "$model" "$images" --index "$resumed" --batch 2
"$search" query --model "$model" --index "$resumed" --text "x" --top 100 > "$tmp/partial"
done_before=$(wc -l < "$tmp/partial")
check "the interrupted run committed its 2 batches (3 images and a bad file)" test "$done_before" = 3
printf 'torn record' >> "$resumed"
expect 0 "ignoring 11 bytes after the last record" "a query warns about, and ignores, a torn trailing record" \
    "$search" query --model "$model" --index "$resumed" --text "x" --top 100
check "...and still lists the committed images" cmp -s "$tmp/out" "$tmp/partial"
"$search" index --model "$model" "$images" --index "$resumed" --batch 2 > "$tmp/summary" 2> "$tmp/log"
check "the rerun drops the torn record" grep -q "dropped 11 bytes after record 3: an unfinished batch" "$tmp/log"
check "the rerun logs the images already indexed" \
    grep -q "15 image files under .*: 3 already indexed, 12 to embed" "$tmp/log"
check "the rerun embeds only the rest" \
    grep -q '^indexed 10 images, skipped 2 (3 already indexed, 13 in the index)$' "$tmp/summary"
"$search" query --model "$model" --index "$resumed" --text "a diagram" --top 100 > "$tmp/all"
check "the resumed index holds each of the 13 images once" \
    test "$(wc -l < "$tmp/all") $(cut -c9- "$tmp/all" | sort -u | wc -l)" = "13 13"
check "the resumed index is exactly as large as the one built in one go" \
    test "$(wc -c < "$resumed")" = "$(wc -c < "$index")"

# new images are added to an existing index
mkdir "$images/later"
cp "$fixtures/images/synth_gray_300x200.png" "$images/later/copy.png"
"$search" index --model "$model" "$images" --index "$resumed" > "$tmp/summary" 2> "$tmp/log"
check "a new image is added by the next run" \
    grep -q '^indexed 1 images, skipped 2 (13 already indexed, 14 in the index)$' "$tmp/summary"
rm -r "$images/later"

# --- the open_clip layout, and other models ---------------------------------
open_clip_index=$tmp/open_clip.idx
"$search" index --model "$open_clip_model" "$images" --index "$open_clip_index" > "$tmp/summary" 2> /dev/null
check "the open_clip layout indexes the same 13 images" \
    grep -q '^indexed 13 images, skipped 2 ' "$tmp/summary"
"$search" query --model "$open_clip_model" --index "$open_clip_index" \
    --image "$images/photo_chelsea_451x300_q90_420.jpg" > "$tmp/hits"
check "an open_clip index finds an image itself" \
    grep -q "^1\.0000  $root/photo_chelsea_451x300_q90_420.jpg\$" "$tmp/hits"
expect 0 "warning: .* was built with another model" "querying with another model of the same dim warns" \
    "$search" query --model "$other_model" --index "$index" --text "a cat"
expect 1 "was built with another model .* use another --index file" "adding to an index with another model is refused" \
    "$search" index --model "$other_model" "$images" --index "$index"

# --- corrupt index files: exit 1 with a clear message -----------------------
size=$(wc -c < "$index")
corrupt() { # NAME: a fresh copy of the good index
    cp "$index" "$tmp/$1.idx"
    echo "$tmp/$1.idx"
}
query() { # INDEX: a text query
    "$search" query --model "$model" --index "$1" --text "a cat"
}
f=$(corrupt truncated) && head -c $((size - 10)) "$index" > "$f"
expect 1 "record 13 of 13 .*: the record needs [0-9]* bytes, the file ends after" "a truncated index" query "$f"
f=$(corrupt short_header) && head -c 30 "$index" > "$f"
expect 1 "truncated index: 30 bytes, shorter than the 64-byte header" "a truncated header" query "$f"
f=$(corrupt empty) && : > "$f"
expect 1 "empty file, not a clip-search index" "an empty file" query "$f"
f=$(corrupt magic) && patch_bytes "$f" 0 'X'
expect 1 "not a clip-search index (no LCLIPIDX magic)" "a bad magic" query "$f"
f=$(corrupt version) && patch_bytes "$f" 8 '\002'
expect 1 "unsupported index format version 2 (this clip-search reads version 1)" "a future version" query "$f"
f=$(corrupt count) && patch_bytes "$f" 32 '\377\377\377\377\377\377\377\377'
expect 1 "the header counts 18446744073709551615 records, but its $size bytes hold at most" "an absurd count" \
    query "$f"
f=$(corrupt dim) && patch_bytes "$f" 12 '\377\377\377\377'
expect 1 "embedding dim 4294967295 is outside 1..65536" "an absurd dim" query "$f"
f=$(corrupt small_dim) && patch_bytes "$f" 12 '\020'
expect 1 "holds 16-dim embeddings, but .* makes 32-dim ones" "another dim than the model's" query "$f"
f=$(corrupt path_length) && patch_bytes "$f" 64 '\377\377\377\377'
expect 1 "record 1 of 13 (at byte 64): path length 4294967295 is outside 1..4096" "an absurd path length" query "$f"
f=$(corrupt flipped) && patch_bytes "$f" 200 '\252'
expect 1 "checksum mismatch" "a damaged record" query "$f"
expect 1 "record 13 of 13" "index refuses to resume a truncated index" \
    "$search" index --model "$model" "$images" --index "$tmp/truncated.idx"
expect 1 "No such file or directory" "a missing index" query "$tmp/missing.idx"

# --- exit codes -------------------------------------------------------------
for help in "--help" "index --help" "query -h"; do
    # shellcheck disable=SC2086 # split on purpose
    expect 0 "" "clip-search $help exits 0" "$search" $help
done
check "--help prints the usage on stdout" grep -q "^usage: clip-search index" "$tmp/out"
expect 2 "usage:" "no arguments exit 2" "$search"
expect 2 "unknown command: find" "an unknown command exits 2" "$search" find
expect 2 "--model and --index are required" "index without --index exits 2" "$search" index --model "$model" "$images"
expect 2 "DIR is missing" "index without DIR exits 2" "$search" index --model "$model" --index "$index"
expect 2 "one of --text and --image, not both" "query with --text and --image exits 2" \
    "$search" query --model "$model" --index "$index" --text a --image b
expect 2 "give --text, --image or --classifier" "query with neither exits 2" \
    "$search" query --model "$model" --index "$index"
expect 2 "invalid option for this command: --top" "--top 0 exits 2" \
    "$search" query --model "$model" --index "$index" --text a --top 0
expect 2 "invalid option for this command: --batch" "--batch x exits 2" \
    "$search" index --model "$model" "$images" --index "$index" --batch x
expect 2 "invalid option for this command: --top" "--top on index exits 2" \
    "$search" index --model "$model" "$images" --index "$index" --top 3
expect 2 "missing value after --text" "--text without a value exits 2" \
    "$search" query --model "$model" --index "$index" --text
expect 1 "not a directory" "indexing a file instead of a directory exits 1" \
    "$search" index --model "$model" "$images/synth_rgba_256x192.png" --index "$tmp/x.idx"
expect 1 "$tmp/nope" "a missing model exits 1" "$search" index --model "$tmp/nope" "$images" --index "$tmp/x.idx"
expect 1 "missing.png" "a missing query image exits 1" \
    "$search" query --model "$model" --index "$index" --image "$images/missing.png"

# --- filtering by a saved classifier's class -------------------------------
# clip-zeroshot's classifier puts each image in exactly one class (its most
# likely): the class filters partition the index, and clip-zeroshot, applying
# the same file to an image, names the class the filter put it in.
classes="astronaut cat rocket coffee"
"$bin/clip-zeroshot" --model "$model" --templates imagenet --save-classifier "$tmp/zs.lclip" $classes 2> /dev/null
: > "$tmp/all_filtered"
disagree=0
for class in $classes; do
    "$search" query --index "$index" --classifier "$tmp/zs.lclip" --class "$class" --top 100 > "$tmp/class_hits"
    cat "$tmp/class_hits" >> "$tmp/all_filtered"
    for image in $(awk '{ print $2 }' "$tmp/class_hits"); do
        top=$("$bin/clip-zeroshot" --model "$model" --classifier "$tmp/zs.lclip" --top 1 "$image" | awk '{ print $2 }')
        [ "$top" = "$class" ] || { echo "    $image: filtered into $class, clip-zeroshot says $top"; disagree=$((disagree + 1)); }
    done
done
check "the class filters partition the 13 indexed images" \
    test "$(awk '{ print $2 }' "$tmp/all_filtered" | sort -u | wc -l) $(wc -l < "$tmp/all_filtered")" = "13 13"
check "each filtered image's most likely class (clip-zeroshot --classifier) is the filter's" test "$disagree" = 0
check "without a query, the score is the class's probability, at least 1/4 for the most likely of 4" \
    awk '$1 < 0.25 || $1 > 1 { exit 1 }' "$tmp/all_filtered"
"$search" query --model "$model" --index "$index" --text "a photo of a cat" --top 100 > "$tmp/text_all"
"$search" query --model "$model" --index "$index" --text "a photo of a cat" --top 100 \
    --classifier "$tmp/zs.lclip" --class cat --min-prob 0 > "$tmp/text_min0"
check "--min-prob 0 keeps every image, ranked by the text's cosine" cmp -s "$tmp/text_all" "$tmp/text_min0"
"$search" query --model "$model" --index "$index" --text "a photo of a cat" --top 100 \
    --classifier "$tmp/zs.lclip" --class cat --min-prob 1 > "$tmp/text_min1"
check "--min-prob 1 keeps no image of a 4-class zero-shot classifier" test ! -s "$tmp/text_min1"
expect 1 'has no class "dog"' "a class the classifier lacks exits 1" \
    "$search" query --index "$index" --classifier "$tmp/zs.lclip" --class dog
expect 2 "--classifier and --class go together" "--classifier without --class exits 2" \
    "$search" query --index "$index" --classifier "$tmp/zs.lclip"
expect 2 "invalid option for this command: --min-prob" "--min-prob 2 exits 2" \
    "$search" query --index "$index" --classifier "$tmp/zs.lclip" --class cat --min-prob 2
head -c 40 "$tmp/zs.lclip" > "$tmp/cut.lclip"
expect 1 "checksum" "a truncated classifier exits 1" \
    "$search" query --index "$index" --classifier "$tmp/cut.lclip" --class cat

# WebP, GIF and BMP files are picked by extension (any case); other names are not
if [ -d "$fixtures/formats/images" ]; then
    more=$tmp/more
    mkdir -p "$more"
    cp "$fixtures/formats/images/photo_chelsea_451x300_q80.webp" "$more/chelsea.WEBP"
    cp "$fixtures/formats/images/photo_coffee_201x151_anim_transp.gif" "$more/coffee.gif"
    cp "$fixtures/formats/images/photo_astronaut_300x211_gray.bmp" "$more/astronaut.Bmp"
    cp "$fixtures/formats/images/photo_rocket_640x427_24bit.bmp" "$more/rocket.tif"
    "$search" index --model "$model" "$more" --index "$tmp/more.idx" > "$tmp/summary" 2> "$tmp/log"
    check "index takes .webp, .gif and .bmp files (any case), not .tif" \
        grep -q '^indexed 3 images, skipped 0 (0 already indexed, 3 in the index)$' "$tmp/summary"
fi

echo "$failures failed"
[ "$failures" -eq 0 ]
