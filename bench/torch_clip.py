"""A small CLIP in PyTorch, the architecture of openai/CLIP's model.py, loading float32 weights
with NumPy alone: the comparison baseline of compare.py and the module exported to ONNX. Two
layouts: an HF directory (config.json + model.safetensors, ViT) or an open_clip directory
(open_clip_config.json + open_clip_model.safetensors with OpenAI's names, ModifiedResNet image
tower, as bench/make_model.py writes them).

Vision: patch convolution (no bias), class token, positions, ln_pre, pre-LN residual blocks,
ln_post of the class token, projection. Text: token + position embeddings, the same blocks with a
causal mask, ln_final, pooled at the argmax of the ids (the end token), projection. Activation
quick_gelu (x * sigmoid(1.702 x)) or exact gelu, as config.json says. Attention is written out
(one fused q/k/v linear, as the reference's in_proj, then batched matmuls), so that the ONNX export
is plain MatMul/Softmax and both runtimes run the same graph.

ModifiedResNet: a stem of three 3x3 convolutions (the first with stride 2) with BatchNorm and
ReLU, a 2x2 average pool, four layers of Bottleneck blocks whose stride is an average pool before
the last 1x1 convolution (and in the shortcut), and an attention pool whose one query is the mean
of the final grid's tokens. BatchNorm runs in eval mode, unfused, as the reference runs it.
"""
from __future__ import annotations

import json
import math
import struct
from pathlib import Path

import numpy as np
import torch
from torch import nn


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """float32 tensors of a safetensors file, as read-only views of a memory map."""
    raw = np.memmap(path, dtype=np.uint8, mode="r")
    (header_len,) = struct.unpack("<Q", raw[:8].tobytes())
    header = json.loads(raw[8:8 + header_len].tobytes())
    base = 8 + header_len
    out: dict[str, np.ndarray] = {}
    for name, info in header.items():
        if name == "__metadata__" or info["dtype"] != "F32":
            continue
        begin, end = info["data_offsets"]
        out[name] = raw[base + begin:base + end].view("<f4").reshape(info["shape"])
    return out


class Block(nn.Module):
    def __init__(self, width: int, heads: int, mlp: int, act: str) -> None:
        super().__init__()
        self.heads = heads
        self.ln_1 = nn.LayerNorm(width, eps=1e-5)
        self.in_proj = nn.Linear(width, 3 * width)
        self.out_proj = nn.Linear(width, width)
        self.ln_2 = nn.LayerNorm(width, eps=1e-5)
        self.fc1 = nn.Linear(width, mlp)
        self.fc2 = nn.Linear(mlp, width)
        self.quick_gelu = act == "quick_gelu"

    def forward(self, x: torch.Tensor, causal: bool) -> torch.Tensor:
        b, n, w = x.shape
        hd = w // self.heads
        qkv = self.in_proj(self.ln_1(x)).reshape(b, n, 3, self.heads, hd).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        scores = torch.matmul(q * (1.0 / math.sqrt(hd)), k.transpose(-2, -1))
        if causal:
            idx = torch.arange(n, device=x.device)
            scores = scores.masked_fill(idx[None, :] > idx[:, None], float("-inf"))
        attended = torch.matmul(scores.softmax(dim=-1), v).transpose(1, 2).reshape(b, n, w)
        x = x + self.out_proj(attended)
        h = self.fc1(self.ln_2(x))
        h = h * torch.sigmoid(1.702 * h) if self.quick_gelu else nn.functional.gelu(h)
        return x + self.fc2(h)


class Tower(nn.Module):
    def __init__(self, cfg: dict, embed_dim: int) -> None:
        super().__init__()
        width, act = cfg["hidden_size"], cfg.get("hidden_act", "quick_gelu")
        self.blocks = nn.ModuleList(
            Block(width, cfg["num_attention_heads"], cfg.get("intermediate_size", 4 * width), act)
            for _ in range(cfg["num_hidden_layers"]))
        self.proj = nn.Linear(width, embed_dim, bias=False)


class VisionTower(Tower):
    def __init__(self, cfg: dict, embed_dim: int) -> None:
        super().__init__(cfg, embed_dim)
        width, p, size = cfg["hidden_size"], cfg["patch_size"], cfg["image_size"]
        self.conv = nn.Conv2d(3, width, kernel_size=p, stride=p, bias=False)
        self.class_embedding = nn.Parameter(torch.zeros(width))
        self.positions = nn.Parameter(torch.zeros((size // p) ** 2 + 1, width))
        self.ln_pre = nn.LayerNorm(width, eps=1e-5)
        self.ln_post = nn.LayerNorm(width, eps=1e-5)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        x = self.conv(pixels).flatten(2).transpose(1, 2)  # [B, grid*grid, W]
        cls = self.class_embedding.expand(x.shape[0], 1, -1)
        x = self.ln_pre(torch.cat([cls, x], dim=1) + self.positions)
        for block in self.blocks:
            x = block(x, causal=False)
        return self.proj(self.ln_post(x[:, 0, :]))


class TextTower(Tower):
    def __init__(self, cfg: dict, embed_dim: int) -> None:
        super().__init__(cfg, embed_dim)
        width = cfg["hidden_size"]
        self.token_embedding = nn.Embedding(cfg.get("vocab_size", 49408), width)
        self.positions = nn.Parameter(torch.zeros(cfg.get("max_position_embeddings", 77), width))
        self.ln_final = nn.LayerNorm(width, eps=1e-5)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """tokens [B, L] int64, L <= context (padding after the end token may be cut off)."""
        n = tokens.shape[1]
        x = self.token_embedding(tokens) + self.positions[:n]
        for block in self.blocks:
            x = block(x, causal=True)
        x = self.ln_final(x)
        # the reference pools at argmax(ids): the end token (ids < 2**24 are exact in float)
        eot = tokens.to(torch.float32).argmax(dim=-1)
        return self.proj(x[torch.arange(x.shape[0]), eot])


def _load_tower(tower: Tower, w: dict[str, np.ndarray], prefix: str) -> None:
    def t(name: str) -> torch.Tensor:
        return torch.from_numpy(np.array(w[name]))

    for i, block in enumerate(tower.blocks):
        p = f"{prefix}.encoder.layers.{i}"
        block.in_proj.weight.data = torch.cat([t(f"{p}.self_attn.{x}_proj.weight") for x in "qkv"])
        block.in_proj.bias.data = torch.cat([t(f"{p}.self_attn.{x}_proj.bias") for x in "qkv"])
        for mine, theirs in (("out_proj", "self_attn.out_proj"), ("ln_1", "layer_norm1"),
                             ("ln_2", "layer_norm2"), ("fc1", "mlp.fc1"), ("fc2", "mlp.fc2")):
            module = getattr(block, mine)
            module.weight.data = t(f"{p}.{theirs}.weight")
            module.bias.data = t(f"{p}.{theirs}.bias")


class Bottleneck(nn.Module):
    def __init__(self, inplanes: int, planes: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.pool = nn.AvgPool2d(stride) if stride > 1 else nn.Identity()
        self.conv3 = nn.Conv2d(planes, 4 * planes, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(4 * planes)
        self.downsample = None
        if stride > 1 or inplanes != 4 * planes:
            self.downsample = nn.Sequential(nn.AvgPool2d(stride) if stride > 1 else nn.Identity(),
                                            nn.Conv2d(inplanes, 4 * planes, 1, bias=False),
                                            nn.BatchNorm2d(4 * planes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        out = torch.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(self.pool(out)))
        return torch.relu(out + (self.downsample(x) if self.downsample is not None else x))


class ResNetTower(nn.Module):
    def __init__(self, layers: list[int], width: int, image_size: int, embed_dim: int) -> None:
        super().__init__()
        half = width // 2
        self.stem = nn.ModuleList([nn.Conv2d(3, half, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(half),
                                   nn.Conv2d(half, half, 3, padding=1, bias=False), nn.BatchNorm2d(half),
                                   nn.Conv2d(half, width, 3, padding=1, bias=False), nn.BatchNorm2d(width)])
        blocks, inplanes = [], width
        for i, count in enumerate(layers):
            planes = width * 2 ** i
            for b in range(count):
                blocks.append(Bottleneck(inplanes, planes, 2 if i > 0 and b == 0 else 1))
                inplanes = 4 * planes
        self.blocks = nn.ModuleList(blocks)
        c = 32 * width
        self.heads = c // 64
        self.positions = nn.Parameter(torch.zeros((image_size // 32) ** 2 + 1, c))
        self.q, self.k, self.v = nn.Linear(c, c), nn.Linear(c, c), nn.Linear(c, c)
        self.c_proj = nn.Linear(c, embed_dim)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        x = pixels
        for i in range(0, 6, 2):
            x = torch.relu(self.stem[i + 1](self.stem[i](x)))
        x = nn.functional.avg_pool2d(x, 2)
        for block in self.blocks:
            x = block(x)
        x = x.flatten(2).transpose(1, 2)  # [B, HW, C]
        x = torch.cat([x.mean(dim=1, keepdim=True), x], dim=1) + self.positions
        b, n, c = x.shape
        hd = c // self.heads
        q = self.q(x[:, :1]).reshape(b, 1, self.heads, hd).transpose(1, 2)
        k = self.k(x).reshape(b, n, self.heads, hd).transpose(1, 2)
        v = self.v(x).reshape(b, n, self.heads, hd).transpose(1, 2)
        scores = torch.matmul(q * (1.0 / math.sqrt(hd)), k.transpose(-2, -1))
        pooled = torch.matmul(scores.softmax(dim=-1), v).reshape(b, c)
        return self.c_proj(pooled)


def _load_batch_norm(bn: nn.BatchNorm2d, w: dict[str, np.ndarray], prefix: str) -> None:
    for mine, theirs in (("weight", "weight"), ("bias", "bias"), ("running_mean", "running_mean"),
                         ("running_var", "running_var")):
        getattr(bn, mine).data = torch.from_numpy(np.array(w[f"{prefix}.{theirs}"]))


def _load_resnet(tower: ResNetTower, w: dict[str, np.ndarray], layers: list[int]) -> None:
    def t(name: str) -> torch.Tensor:
        return torch.from_numpy(np.array(w[name]))

    for i in range(3):
        tower.stem[2 * i].weight.data = t(f"visual.conv{i + 1}.weight")
        _load_batch_norm(tower.stem[2 * i + 1], w, f"visual.bn{i + 1}")
    blocks = iter(tower.blocks)
    for layer, count in enumerate(layers, start=1):
        for b in range(count):
            block, p = next(blocks), f"visual.layer{layer}.{b}"
            for n in (1, 2, 3):
                getattr(block, f"conv{n}").weight.data = t(f"{p}.conv{n}.weight")
                _load_batch_norm(getattr(block, f"bn{n}"), w, f"{p}.bn{n}")
            if block.downsample is not None:
                block.downsample[1].weight.data = t(f"{p}.downsample.0.weight")
                _load_batch_norm(block.downsample[2], w, f"{p}.downsample.1")
    tower.positions.data = t("visual.attnpool.positional_embedding")
    for mine, theirs in (("q", "q_proj"), ("k", "k_proj"), ("v", "v_proj"), ("c_proj", "c_proj")):
        getattr(tower, mine).weight.data = t(f"visual.attnpool.{theirs}.weight")
        getattr(tower, mine).bias.data = t(f"visual.attnpool.{theirs}.bias")


def _load_openai_text(text: TextTower, w: dict[str, np.ndarray]) -> None:
    def t(name: str) -> torch.Tensor:
        return torch.from_numpy(np.array(w[name]))

    for i, block in enumerate(text.blocks):
        p = f"transformer.resblocks.{i}"
        block.in_proj.weight.data = t(f"{p}.attn.in_proj_weight")
        block.in_proj.bias.data = t(f"{p}.attn.in_proj_bias")
        for mine, theirs in (("out_proj", "attn.out_proj"), ("ln_1", "ln_1"), ("ln_2", "ln_2"),
                             ("fc1", "mlp.c_fc"), ("fc2", "mlp.c_proj")):
            getattr(block, mine).weight.data = t(f"{p}.{theirs}.weight")
            getattr(block, mine).bias.data = t(f"{p}.{theirs}.bias")
    text.token_embedding.weight.data = t("token_embedding.weight")
    text.positions.data = t("positional_embedding")
    text.ln_final.weight.data = t("ln_final.weight")
    text.ln_final.bias.data = t("ln_final.bias")
    text.proj.weight.data = t("text_projection").T.contiguous()


def load_open_clip(model_dir: Path) -> tuple[ResNetTower, TextTower]:
    model_cfg = json.loads((model_dir / "open_clip_config.json").read_text())["model_cfg"]
    vision_cfg, text_cfg, embed = model_cfg["vision_cfg"], model_cfg["text_cfg"], model_cfg["embed_dim"]
    if not isinstance(vision_cfg.get("layers"), list):
        raise ValueError(f"{model_dir}: torch_clip reads open_clip directories with a ResNet image tower only")
    w = read_safetensors(model_dir / "open_clip_model.safetensors")
    vision = ResNetTower(vision_cfg["layers"], vision_cfg["width"], vision_cfg["image_size"], embed)
    _load_resnet(vision, w, vision_cfg["layers"])
    act = "quick_gelu" if model_cfg.get("quick_gelu") else "gelu"
    text = TextTower({"hidden_size": text_cfg["width"], "num_attention_heads": text_cfg["heads"],
                      "num_hidden_layers": text_cfg["layers"], "hidden_act": act,
                      "vocab_size": text_cfg["vocab_size"], "max_position_embeddings": text_cfg["context_length"]},
                     embed)
    _load_openai_text(text, w)
    return vision.eval(), text.eval()


def load(model_dir: Path) -> tuple[nn.Module, TextTower]:
    if not (model_dir / "config.json").is_file() and (model_dir / "open_clip_config.json").is_file():
        return load_open_clip(model_dir)
    cfg = json.loads((model_dir / "config.json").read_text())
    embed = cfg.get("projection_dim", 512)
    w = read_safetensors(model_dir / "model.safetensors")

    def t(name: str) -> torch.Tensor:
        return torch.from_numpy(np.array(w[name]))

    vision = VisionTower(cfg["vision_config"], embed)
    _load_tower(vision, w, "vision_model")
    vision.conv.weight.data = t("vision_model.embeddings.patch_embedding.weight")
    vision.class_embedding.data = t("vision_model.embeddings.class_embedding")
    vision.positions.data = t("vision_model.embeddings.position_embedding.weight")
    for mine, theirs in (("ln_pre", "pre_layrnorm"), ("ln_post", "post_layernorm")):
        getattr(vision, mine).weight.data = t(f"vision_model.{theirs}.weight")
        getattr(vision, mine).bias.data = t(f"vision_model.{theirs}.bias")
    vision.proj.weight.data = t("visual_projection.weight")

    text = TextTower(cfg["text_config"], embed)
    _load_tower(text, w, "text_model")
    text.token_embedding.weight.data = t("text_model.embeddings.token_embedding.weight")
    text.positions.data = t("text_model.embeddings.position_embedding.weight")
    text.ln_final.weight.data = t("text_model.final_layer_norm.weight")
    text.ln_final.bias.data = t("text_model.final_layer_norm.bias")
    text.proj.weight.data = t("text_projection.weight")
    return vision.eval(), text.eval()
