#!/usr/bin/env bash
# Sets up a fresh Debian machine, builds libclip, finds a real CLIP checkpoint
# and runs the main job on it.
#   examples/quickstart.sh [MODEL_PATH]
# MODEL_PATH: a Hugging Face CLIP directory or an open_clip .safetensors file.
# Without it, openai/clip-vit-base-patch32 is downloaded into models/ when the
# network allows.
set -euo pipefail
cd "$(dirname "$0")/.."

model=${1:-}
hf_repo=openai/clip-vit-base-patch32
default_dir=models/clip-vit-base-patch32

install_packages() {
    local missing=()
    for p in $(cat .ci/packages); do
        dpkg -s "$p" > /dev/null 2>&1 || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    echo "installing: ${missing[*]}"
    $sudo apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

download_model() {
    mkdir -p "$default_dir"
    for f in config.json preprocessor_config.json vocab.json merges.txt model.safetensors; do
        [ -s "$default_dir/$f" ] && continue
        echo "downloading $hf_repo/$f"
        if ! curl -fL --connect-timeout 15 --retry 2 -o "$default_dir/$f.part" \
                "https://huggingface.co/$hf_repo/resolve/main/$f"; then
            rm -f "$default_dir/$f.part"
            return 1
        fi
        mv "$default_dir/$f.part" "$default_dir/$f"
    done
}

install_packages
cmake -S . -B build > /dev/null
cmake --build build -j"$(nproc)" > /dev/null

if [ -z "$model" ]; then
    if [ -s "$default_dir/model.safetensors" ] || download_model; then
        model=$default_dir
    else
        cat >&2 <<MSG
No CLIP checkpoint: none was given and $hf_repo could not be downloaded.
Get one on a machine with network access, for example
    git clone https://huggingface.co/$hf_repo
(needs git-lfs), or download config.json, preprocessor_config.json,
vocab.json, merges.txt and model.safetensors from the repository's "Files"
page, copy the directory here, and run
    examples/quickstart.sh PATH/TO/clip-vit-base-patch32
MSG
        exit 1
    fi
fi

build/examples/clip-info "$model"
