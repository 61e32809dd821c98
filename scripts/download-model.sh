#!/usr/bin/env bash
# Downloads a CLIP checkpoint from Hugging Face and verifies it.
#
#   scripts/download-model.sh [REPO [DEST]]
#   REPO: a Hugging Face CLIP repository (default openai/clip-vit-base-patch32)
#   DEST: the directory to fill (default models/<name of REPO>)
#
# Fetches the five files libclip reads (config.json, preprocessor_config.json,
# vocab.json, merges.txt, model.safetensors). Before downloading, it asks the
# Hub's API for each file's size and, for large (LFS) files, SHA-256; after
# downloading it checks both, and finally opens the checkpoint with clip-info
# (when built) so that a truncated or wrong file is caught here rather than
# later. Files already present and verified are not downloaded again.
# Exit codes: 0 verified, 1 download or verification failed, 2 usage.
set -euo pipefail
cd "$(dirname "$0")/.."

repo=${1:-openai/clip-vit-base-patch32}
dest=${2:-models/${repo##*/}}
files=(config.json preprocessor_config.json vocab.json merges.txt model.safetensors)
hub=${HF_ENDPOINT:-https://huggingface.co} # HF_ENDPOINT: a mirror, as for HF's own tools
case "$repo" in
    */*) ;;
    *) echo "usage: $0 [OWNER/REPO [DEST]]" >&2; exit 2 ;;
esac

fail() {
    echo "download-model: $*" >&2
    exit 1
}

command -v curl > /dev/null || fail "needs curl (apt-get install curl)"
command -v python3 > /dev/null || fail "needs python3 to read the Hub's file list"

# One line per file: "name size sha256-or-dash", from the repository's tree.
listing=$(curl -fsSL --connect-timeout 15 "$hub/api/models/$repo/tree/main") ||
    fail "cannot reach $hub (no network?) to list $repo; download the files listed in docs/models.md by hand"
expected=$(python3 -c '
import json, sys
for entry in json.load(sys.stdin):
    lfs = entry.get("lfs") or {}
    print(entry["path"], lfs.get("size", entry.get("size", -1)), lfs.get("oid", "-"))
' <<< "$listing") || fail "unexpected answer from the Hub listing $repo"

mkdir -p "$dest"
for f in "${files[@]}"; do
    read -r _ size sha < <(grep "^$f " <<< "$expected" || true) || true
    [ -n "${size:-}" ] || fail "$repo has no $f"
    target=$dest/$f
    if [ ! -f "$target" ] || [ "$(stat -c %s "$target")" != "$size" ]; then
        echo "downloading $repo/$f ($size bytes)"
        curl -fL --progress-bar --connect-timeout 15 --retry 2 -o "$target.part" \
            "$hub/$repo/resolve/main/$f" || { rm -f "$target.part"; fail "download of $f failed"; }
        mv "$target.part" "$target"
    fi
    [ "$(stat -c %s "$target")" = "$size" ] || fail "$target: size differs from the Hub's ($size bytes)"
    if [ "$sha" != "-" ]; then
        [ "$(sha256sum "$target" | cut -d' ' -f1)" = "$sha" ] || fail "$target: SHA-256 differs from the Hub's"
    fi
    echo "verified $target"
done

if [ -x build/examples/clip-info ]; then
    build/examples/clip-info "$dest" > /dev/null || fail "$dest does not open as a CLIP checkpoint"
    echo "opened $dest with clip-info"
fi
echo "$dest"
