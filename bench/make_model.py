#!/usr/bin/python3
"""Write a random-weight CLIP model at a real architecture's shapes, in the Hugging Face layout.

    /usr/bin/python3 bench/make_model.py --arch ViT-B/32 --out /tmp/models/vit-b-32 \
        [--vocab-from /work/shared/fixtures/models/tiny-gelu/hf] [--seed 0]

The directory gets config.json (transformers' CLIPConfig keys), preprocessor_config.json,
model.safetensors (float32, transformers' CLIPModel tensor names) and, from --vocab-from, the
real CLIP vocabulary (vocab.json, merges.txt and the tokenizer configs), so that libclip can
tokenize strings. Benchmarks never need trained weights: random weights at the same shapes do
exactly the same arithmetic.

Weights and biases are drawn from N(0, 0.02), LayerNorm gammas from 1 + N(0, 0.02), and
logit_scale is ln(100). Every tensor has its own generator seeded from --seed and the tensor's
name, so the output is byte-for-byte reproducible. Needs only NumPy (Debian's python3-numpy).
"""
from __future__ import annotations

import argparse
import json
import math
import shutil
import struct
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

STD = 0.02
CONTEXT_LENGTH = 77
VOCAB_SIZE = 49408
IMAGE_MEAN = [0.48145466, 0.4578275, 0.40821073]
IMAGE_STD = [0.26862954, 0.26130258, 0.27577711]
VOCAB_FILES = ("vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json")


@dataclass(frozen=True)
class Arch:
    image_size: int
    patch_size: int
    vision_width: int
    vision_layers: int
    vision_heads: int
    text_width: int
    text_layers: int
    text_heads: int
    embed_dim: int


# The published OpenAI CLIP architectures (MLP width is 4x everywhere; activation quick_gelu).
ARCHS: dict[str, Arch] = {
    "ViT-B/32": Arch(224, 32, 768, 12, 12, 512, 12, 8, 512),
    "ViT-B/16": Arch(224, 16, 768, 12, 12, 512, 12, 8, 512),
    "ViT-L/14": Arch(224, 14, 1024, 24, 16, 768, 12, 12, 768),
    "ViT-L/14-336": Arch(336, 14, 1024, 24, 16, 768, 12, 12, 768),
}


def hf_config(arch: Arch) -> dict[str, object]:
    """config.json as transformers' CLIPConfig writes it (current style, real token ids)."""
    common = {"hidden_act": "quick_gelu", "layer_norm_eps": 1e-05, "projection_dim": arch.embed_dim,
              "attention_dropout": 0.0, "dropout": 0.0, "initializer_factor": 1.0,
              "initializer_range": STD}
    text = {"model_type": "clip_text_model", "hidden_size": arch.text_width,
            "intermediate_size": 4 * arch.text_width, "num_attention_heads": arch.text_heads,
            "num_hidden_layers": arch.text_layers, "max_position_embeddings": CONTEXT_LENGTH,
            "vocab_size": VOCAB_SIZE, **common,
            "bos_token_id": 49406, "eos_token_id": 49407, "pad_token_id": 1}
    vision = {"model_type": "clip_vision_model", "hidden_size": arch.vision_width,
              "intermediate_size": 4 * arch.vision_width, "num_attention_heads": arch.vision_heads,
              "num_hidden_layers": arch.vision_layers, "image_size": arch.image_size,
              "patch_size": arch.patch_size, "num_channels": 3, **common}
    return {"architectures": ["CLIPModel"], "model_type": "clip", "projection_dim": arch.embed_dim,
            "logit_scale_init_value": 2.6592, "initializer_factor": 1.0, "torch_dtype": "float32",
            "text_config": text, "vision_config": vision}


def preprocessor_config(arch: Arch) -> dict[str, object]:
    return {"crop_size": {"height": arch.image_size, "width": arch.image_size},
            "do_center_crop": True, "do_convert_rgb": True, "do_normalize": True,
            "do_rescale": True, "do_resize": True, "image_mean": IMAGE_MEAN,
            "image_processor_type": "CLIPImageProcessor", "image_std": IMAGE_STD, "resample": 3,
            "rescale_factor": 1 / 255, "size": {"shortest_edge": arch.image_size}}


# kind: "w" = N(0, STD), "gamma" = 1 + N(0, STD), "logit" = ln(100)
TensorSpec = tuple[str, tuple[int, ...], str]


def encoder_tensors(prefix: str, width: int, layers: int) -> Iterator[TensorSpec]:
    for n in range(layers):
        p = f"{prefix}.encoder.layers.{n}"
        for proj in ("q_proj", "k_proj", "v_proj", "out_proj"):
            yield f"{p}.self_attn.{proj}.weight", (width, width), "w"
            yield f"{p}.self_attn.{proj}.bias", (width,), "w"
        for ln in ("layer_norm1", "layer_norm2"):
            yield f"{p}.{ln}.weight", (width,), "gamma"
            yield f"{p}.{ln}.bias", (width,), "w"
        yield f"{p}.mlp.fc1.weight", (4 * width, width), "w"
        yield f"{p}.mlp.fc1.bias", (4 * width,), "w"
        yield f"{p}.mlp.fc2.weight", (width, 4 * width), "w"
        yield f"{p}.mlp.fc2.bias", (width,), "w"


def model_tensors(arch: Arch) -> list[TensorSpec]:
    grid = arch.image_size // arch.patch_size
    vw, tw = arch.vision_width, arch.text_width
    specs: list[TensorSpec] = [
        ("logit_scale", (), "logit"),
        ("text_model.embeddings.token_embedding.weight", (VOCAB_SIZE, tw), "w"),
        ("text_model.embeddings.position_embedding.weight", (CONTEXT_LENGTH, tw), "w"),
        *encoder_tensors("text_model", tw, arch.text_layers),
        ("text_model.final_layer_norm.weight", (tw,), "gamma"),
        ("text_model.final_layer_norm.bias", (tw,), "w"),
        ("text_projection.weight", (arch.embed_dim, tw), "w"),
        ("vision_model.embeddings.class_embedding", (vw,), "w"),
        ("vision_model.embeddings.patch_embedding.weight", (vw, 3, arch.patch_size, arch.patch_size), "w"),
        ("vision_model.embeddings.position_embedding.weight", (grid * grid + 1, vw), "w"),
        ("vision_model.pre_layrnorm.weight", (vw,), "gamma"),
        ("vision_model.pre_layrnorm.bias", (vw,), "w"),
        *encoder_tensors("vision_model", vw, arch.vision_layers),
        ("vision_model.post_layernorm.weight", (vw,), "gamma"),
        ("vision_model.post_layernorm.bias", (vw,), "w"),
        ("visual_projection.weight", (arch.embed_dim, vw), "w"),
    ]
    return sorted(specs)


def make_tensor(name: str, shape: tuple[int, ...], kind: str, seed: int) -> np.ndarray:
    if kind == "logit":
        return np.array(math.log(100.0), dtype=np.float32).reshape(shape)
    rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
    values = rng.standard_normal(size=shape, dtype=np.float32)
    values *= np.float32(STD)
    if kind == "gamma":
        values += np.float32(1.0)
    return values


def write_safetensors(path: Path, specs: list[TensorSpec], seed: int) -> int:
    """Streams the tensors one at a time (ViT-L/14 is 1.7 GB); returns the file size."""
    header: dict[str, object] = {"__metadata__": {"format": "pt"}}
    offset = 0
    for name, shape, _ in specs:
        size = 4 * math.prod(shape)
        header[name] = {"dtype": "F32", "shape": list(shape), "data_offsets": [offset, offset + size]}
        offset += size
    blob = json.dumps(header, separators=(",", ":")).encode()
    blob += b" " * (-len(blob) % 8)  # data starts 8-byte aligned
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as f:
        f.write(struct.pack("<Q", len(blob)))
        f.write(blob)
        for name, shape, kind in specs:
            f.write(make_tensor(name, shape, kind, seed).astype("<f4", copy=False).tobytes())
    tmp.replace(path)  # rename in: never leave a half-written weights file under the real name
    return 8 + len(blob) + offset


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--arch", choices=sorted(ARCHS), default="ViT-B/32")
    ap.add_argument("--out", type=Path, required=True, help="output directory (created)")
    ap.add_argument("--vocab-from", type=Path,
                    default=Path("/work/shared/fixtures/models/tiny-gelu/hf"),
                    help="directory holding vocab.json and merges.txt to copy (the real CLIP vocabulary)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    arch = ARCHS[args.arch]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "config.json").write_text(json.dumps(hf_config(arch), indent=2) + "\n")
    (args.out / "preprocessor_config.json").write_text(json.dumps(preprocessor_config(arch), indent=2) + "\n")
    copied = []
    for name in VOCAB_FILES:
        src = args.vocab_from / name
        if src.is_file():
            shutil.copyfile(src, args.out / name)
            copied.append(name)
    if "vocab.json" not in copied or "merges.txt" not in copied:
        print(f"warning: no vocab.json + merges.txt in {args.vocab_from}: the text encoder will only "
              "accept token ids", file=sys.stderr)
    specs = model_tensors(arch)
    size = write_safetensors(args.out / "model.safetensors", specs, args.seed)
    params = sum(math.prod(s) for _, s, _ in specs)
    print(f"{args.arch}: {len(specs)} tensors, {params / 1e6:.1f} M parameters, {size / 2**20:.0f} MiB "
          f"-> {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
