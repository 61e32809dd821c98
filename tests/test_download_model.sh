#!/bin/sh
# scripts/download-model.sh against a local stand-in for the Hugging Face Hub
# (HF_ENDPOINT), serving a fixture model: a clean download verifies and
# opens, a rerun downloads nothing, and a corrupted file is caught by its
# SHA-256. Exit 77 (skip) without fixtures or python3.
set -eu
source_dir=$1
fixtures=$2
model=$fixtures/models/tiny-gelu/hf
if [ ! -d "$model" ] || ! command -v python3 > /dev/null; then
    echo "skipping: needs $model and python3"
    exit 77
fi
tmp=$(mktemp -d)
server=
trap 'if [ -n "$server" ]; then kill "$server" 2>/dev/null; fi; rm -rf "$tmp"' EXIT

hub=$tmp/hub
files="config.json preprocessor_config.json vocab.json merges.txt model.safetensors"
mkdir -p "$hub/api/models/test/tiny/tree" "$hub/test/tiny/resolve/main"
for f in $files; do cp "$model/$f" "$hub/test/tiny/resolve/main/$f"; done
# The tree listing: small files by size, the weights as an LFS entry with its digest.
python3 - "$model" > "$hub/api/models/test/tiny/tree/main" <<'PY'
import hashlib, json, os, sys
model = sys.argv[1]
entries = []
for name in ["config.json", "preprocessor_config.json", "vocab.json", "merges.txt", "model.safetensors"]:
    path = os.path.join(model, name)
    entry = {"type": "file", "path": name, "size": os.path.getsize(path)}
    if name.endswith(".safetensors"):
        digest = hashlib.sha256(open(path, "rb").read()).hexdigest()
        entry["lfs"] = {"oid": digest, "size": os.path.getsize(path)}
    entries.append(entry)
print(json.dumps(entries))
PY

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 -m http.server "$port" --bind 127.0.0.1 --directory "$hub" > "$tmp/server.log" 2>&1 &
server=$!
for _ in 1 2 3 4 5 6 7 8 9 10; do
    curl -fs "http://127.0.0.1:$port/api/models/test/tiny/tree/main" > /dev/null && break
    sleep 0.3
done

export HF_ENDPOINT="http://127.0.0.1:$port"
dest=$tmp/model
failures=0
"$source_dir/scripts/download-model.sh" test/tiny "$dest" > "$tmp/first.log" 2>&1 || failures=$((failures + 1))
grep -q "verified $dest/model.safetensors" "$tmp/first.log" || { echo "FAILED: first download"; cat "$tmp/first.log"; failures=$((failures + 1)); }
cmp -s "$dest/model.safetensors" "$model/model.safetensors" || { echo "FAILED: weights differ"; failures=$((failures + 1)); }

"$source_dir/scripts/download-model.sh" test/tiny "$dest" > "$tmp/second.log" 2>&1 || failures=$((failures + 1))
if grep -q "^downloading" "$tmp/second.log"; then echo "FAILED: rerun downloaded again"; failures=$((failures + 1)); fi

# Same size, one byte different: only the digest can tell.
printf 'X' | dd of="$dest/model.safetensors" bs=1 seek=100 conv=notrunc 2> /dev/null
if "$source_dir/scripts/download-model.sh" test/tiny "$dest" > "$tmp/third.log" 2>&1; then
    echo "FAILED: corrupted weights passed"; failures=$((failures + 1))
fi
grep -q "SHA-256 differs" "$tmp/third.log" || { echo "FAILED: no digest message"; cat "$tmp/third.log"; failures=$((failures + 1)); }

echo "$failures failed"
[ "$failures" -eq 0 ]
