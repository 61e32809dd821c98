#!/usr/bin/env bash
# Sets up a fresh Debian machine, builds libclip, finds a real CLIP checkpoint
# and labels an image zero-shot with it.
#   examples/quickstart.sh [MODEL_PATH [IMAGE [LABEL...]]]
# MODEL_PATH: a Hugging Face CLIP directory or an open_clip .safetensors file.
# Without it, openai/clip-vit-base-patch32 is downloaded into models/ when the
# network allows. Without IMAGE, the two-cats photo from COCO that the CLIP
# documentation uses is downloaded.
set -euo pipefail
cd "$(dirname "$0")/.."

model=${1:-}
image=${2:-}
labels=("${@:3}")
[ ${#labels[@]} -gt 0 ] || labels=(cat dog "remote control" couch astronaut rocket "cup of coffee")
hf_repo=openai/clip-vit-base-patch32
default_dir=models/clip-vit-base-patch32
sample_url=http://images.cocodataset.org/val2017/000000039769.jpg
sample_image=models/two-cats.jpg

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

install_packages
cmake -S . -B build > /dev/null
cmake --build build -j"$(nproc)" > /dev/null

if [ -z "$model" ]; then
    if [ -s "$default_dir/model.safetensors" ] || scripts/download-model.sh "$hf_repo" "$default_dir"; then
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

if [ -z "$image" ]; then
    if [ -s "$sample_image" ] || curl -fsSL --connect-timeout 15 -o "$sample_image" "$sample_url"; then
        image=$sample_image
    else
        rm -f "$sample_image"
        echo "No image given and the sample could not be downloaded: run examples/quickstart.sh $model IMAGE [LABEL...]" >&2
        exit 1
    fi
fi

build/examples/clip-info "$model"
echo
echo "zero-shot labels for $image:"
build/examples/clip-zeroshot --model "$model" "$image" "${labels[@]}"
