#!/usr/bin/python3
"""Write a random-weight CLIP model at a real architecture's shapes.

    /usr/bin/python3 bench/make_model.py --arch ViT-B/32 --out /tmp/models/vit-b-32 \
        [--vocab-from /work/shared/fixtures/models/tiny-gelu/hf] [--seed 0]
    /usr/bin/python3 bench/make_model.py --arch RN50 --out /tmp/models/rn50

A ViT gets the Hugging Face layout: config.json (transformers' CLIPConfig keys),
preprocessor_config.json, model.safetensors (float32, transformers' CLIPModel tensor names) and,
from --vocab-from, the real CLIP vocabulary (vocab.json, merges.txt and the tokenizer configs), so
that libclip can tokenize strings. A ResNet (RN50, RN101, RN50x4, ...; transformers has no ResNet
CLIP) gets the open_clip layout: open_clip_config.json and open_clip_model.safetensors with
OpenAI's state-dict names, BatchNorm statistics and int64 num_batches_tracked included, and
bpe_simple_vocab_16e6.txt.gz when --vocab-from holds it. Benchmarks never need trained weights:
random weights at the same shapes do exactly the same arithmetic.

Weights and biases are drawn from N(0, 0.02), LayerNorm and BatchNorm gammas from 1 + N(0, 0.02),
and logit_scale is ln(100). ResNet convolutions are drawn from N(0, 2 / fan_in) and BatchNorm
variances from 1 + |N(0, 0.1)|, so that activations keep their scale through the deep tower
(N(0, 0.02) would shrink them towards float32's underflow). Every tensor has its own generator seeded from --seed and the tensor's
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


@dataclass(frozen=True)
class ResNetArch:
    image_size: int
    layers: tuple[int, int, int, int]
    width: int
    text_width: int
    text_layers: int
    text_heads: int
    embed_dim: int


# OpenAI's ModifiedResNet CLIP models (clip.available_models()); vision heads = width * 32 / 64.
RESNET_ARCHS: dict[str, ResNetArch] = {
    "RN50": ResNetArch(224, (3, 4, 6, 3), 64, 512, 12, 8, 1024),
    "RN101": ResNetArch(224, (3, 4, 23, 3), 64, 512, 12, 8, 512),
    "RN50x4": ResNetArch(288, (4, 6, 10, 6), 80, 640, 12, 10, 640),
    "RN50x16": ResNetArch(384, (6, 8, 18, 8), 96, 768, 12, 12, 768),
    "RN50x64": ResNetArch(448, (3, 15, 36, 10), 128, 1024, 12, 16, 1024),
}


# kind: "w" = N(0, STD), "gamma" = 1 + N(0, STD), "logit" = ln(100), "conv" = N(0, 2 / fan_in),
# "var" = 1 + |N(0, 0.1)|, "count" = an int64 scalar (BatchNorm's num_batches_tracked)
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


def open_clip_config(arch: ResNetArch) -> dict[str, object]:
    """open_clip_config.json as open_clip's hub checkpoints carry it (model_cfg + preprocess_cfg)."""
    return {"model_cfg": {"embed_dim": arch.embed_dim, "quick_gelu": True,
                          "vision_cfg": {"image_size": arch.image_size, "layers": list(arch.layers),
                                         "width": arch.width, "patch_size": None},
                          "text_cfg": {"context_length": CONTEXT_LENGTH, "vocab_size": VOCAB_SIZE,
                                       "width": arch.text_width, "heads": arch.text_heads,
                                       "layers": arch.text_layers}},
            "preprocess_cfg": {"size": arch.image_size, "mean": IMAGE_MEAN, "std": IMAGE_STD,
                               "interpolation": "bicubic", "resize_mode": "shortest"}}


def batch_norm(prefix: str, channels: int) -> Iterator[TensorSpec]:
    yield f"{prefix}.weight", (channels,), "gamma"
    yield f"{prefix}.bias", (channels,), "w"
    yield f"{prefix}.running_mean", (channels,), "w"
    yield f"{prefix}.running_var", (channels,), "var"
    yield f"{prefix}.num_batches_tracked", (), "count"


def resnet_tensors(arch: ResNetArch) -> Iterator[TensorSpec]:
    """visual.* of OpenAI's ModifiedResNet: 3-conv stem, Bottlenecks (expansion 4), attention pool."""
    w = arch.width
    for i, (cin, cout) in enumerate(((3, w // 2), (w // 2, w // 2), (w // 2, w)), start=1):
        yield f"visual.conv{i}.weight", (cout, cin, 3, 3), "conv"
        yield from batch_norm(f"visual.bn{i}", cout)
    inplanes = w
    for layer, blocks in enumerate(arch.layers, start=1):
        planes = w * 2 ** (layer - 1)
        for b in range(blocks):
            p = f"visual.layer{layer}.{b}"
            yield f"{p}.conv1.weight", (planes, inplanes, 1, 1), "conv"
            yield from batch_norm(f"{p}.bn1", planes)
            yield f"{p}.conv2.weight", (planes, planes, 3, 3), "conv"
            yield from batch_norm(f"{p}.bn2", planes)
            yield f"{p}.conv3.weight", (4 * planes, planes, 1, 1), "conv"
            yield from batch_norm(f"{p}.bn3", 4 * planes)
            if b == 0:  # the first block changes the channels (and, from layer 2, strides)
                yield f"{p}.downsample.0.weight", (4 * planes, inplanes, 1, 1), "conv"
                yield from batch_norm(f"{p}.downsample.1", 4 * planes)
            inplanes = 4 * planes
    c = 32 * w
    grid = arch.image_size // 32
    yield "visual.attnpool.positional_embedding", (grid * grid + 1, c), "w"
    for proj in ("q_proj", "k_proj", "v_proj"):
        yield f"visual.attnpool.{proj}.weight", (c, c), "w"
        yield f"visual.attnpool.{proj}.bias", (c,), "w"
    yield "visual.attnpool.c_proj.weight", (arch.embed_dim, c), "w"
    yield "visual.attnpool.c_proj.bias", (arch.embed_dim,), "w"


def openai_text_tensors(arch: ResNetArch) -> Iterator[TensorSpec]:
    """The text tower under OpenAI's state-dict names (fused in_proj, projection [width, embed])."""
    tw = arch.text_width
    yield "token_embedding.weight", (VOCAB_SIZE, tw), "w"
    yield "positional_embedding", (CONTEXT_LENGTH, tw), "w"
    for n in range(arch.text_layers):
        p = f"transformer.resblocks.{n}"
        yield f"{p}.attn.in_proj_weight", (3 * tw, tw), "w"
        yield f"{p}.attn.in_proj_bias", (3 * tw,), "w"
        yield f"{p}.attn.out_proj.weight", (tw, tw), "w"
        yield f"{p}.attn.out_proj.bias", (tw,), "w"
        for ln in ("ln_1", "ln_2"):
            yield f"{p}.{ln}.weight", (tw,), "gamma"
            yield f"{p}.{ln}.bias", (tw,), "w"
        yield f"{p}.mlp.c_fc.weight", (4 * tw, tw), "w"
        yield f"{p}.mlp.c_fc.bias", (4 * tw,), "w"
        yield f"{p}.mlp.c_proj.weight", (tw, 4 * tw), "w"
        yield f"{p}.mlp.c_proj.bias", (tw,), "w"
    yield "ln_final.weight", (tw,), "gamma"
    yield "ln_final.bias", (tw,), "w"
    yield "text_projection", (tw, arch.embed_dim), "w"


def resnet_model_tensors(arch: ResNetArch) -> list[TensorSpec]:
    return sorted([("logit_scale", (), "logit"), *resnet_tensors(arch), *openai_text_tensors(arch)])


def make_tensor(name: str, shape: tuple[int, ...], kind: str, seed: int) -> np.ndarray:
    if kind == "logit":
        return np.array(math.log(100.0), dtype=np.float32).reshape(shape)
    if kind == "count":
        return np.array(0, dtype=np.int64).reshape(shape)
    rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
    values = rng.standard_normal(size=shape, dtype=np.float32)
    if kind == "conv":
        values *= np.float32(math.sqrt(2.0 / math.prod(shape[1:])))
    elif kind == "var":
        values = np.float32(1.0) + np.abs(values) * np.float32(0.1)
    else:
        values *= np.float32(STD)
    if kind == "gamma":
        values += np.float32(1.0)
    return values


def write_safetensors(path: Path, specs: list[TensorSpec], seed: int) -> int:
    """Streams the tensors one at a time (ViT-L/14 is 1.7 GB); returns the file size."""
    header: dict[str, object] = {"__metadata__": {"format": "pt"}}
    offset = 0
    for name, shape, kind in specs:
        size = 8 * math.prod(shape) if kind == "count" else 4 * math.prod(shape)
        header[name] = {"dtype": "I64" if kind == "count" else "F32", "shape": list(shape),
                        "data_offsets": [offset, offset + size]}
        offset += size
    blob = json.dumps(header, separators=(",", ":")).encode()
    blob += b" " * (-len(blob) % 8)  # data starts 8-byte aligned
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as f:
        f.write(struct.pack("<Q", len(blob)))
        f.write(blob)
        for name, shape, kind in specs:
            values = make_tensor(name, shape, kind, seed)
            f.write(values.astype("<i8" if kind == "count" else "<f4", copy=False).tobytes())
    tmp.replace(path)  # rename in: never leave a half-written weights file under the real name
    return 8 + len(blob) + offset


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--arch", choices=sorted([*ARCHS, *RESNET_ARCHS]), default="ViT-B/32")
    ap.add_argument("--out", type=Path, required=True, help="output directory (created)")
    ap.add_argument("--vocab-from", type=Path,
                    default=Path("/work/shared/fixtures/models/tiny-gelu/hf"),
                    help="directory holding vocab.json and merges.txt (ViT) or bpe_simple_vocab_16e6.txt.gz "
                    "(ResNet) to copy: the real CLIP vocabulary")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    args.out.mkdir(parents=True, exist_ok=True)
    if args.arch in RESNET_ARCHS:
        return write_resnet(args)
    arch = ARCHS[args.arch]
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


def write_resnet(args: argparse.Namespace) -> int:
    arch = RESNET_ARCHS[args.arch]
    (args.out / "open_clip_config.json").write_text(json.dumps(open_clip_config(arch), indent=2) + "\n")
    vocab = args.vocab_from / "bpe_simple_vocab_16e6.txt.gz"
    if not vocab.is_file():
        vocab = args.vocab_from.parent.parent.parent / "bpe_simple_vocab_16e6.txt.gz"  # the fixtures' root
    if vocab.is_file():
        shutil.copyfile(vocab, args.out / vocab.name)
    else:
        print(f"note: no bpe_simple_vocab_16e6.txt.gz from {args.vocab_from}: libclip's own vocabulary "
              "is used", file=sys.stderr)
    specs = resnet_model_tensors(arch)
    size = write_safetensors(args.out / "open_clip_model.safetensors", specs, args.seed)
    params = sum(math.prod(s) for _, s, kind in specs if kind != "count")
    print(f"{args.arch}: {len(specs)} tensors, {params / 1e6:.1f} M parameters, {size / 2**20:.0f} MiB "
          f"-> {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
