"""A small CLIP in PyTorch, the architecture of openai/CLIP's model.py, loading an HF-layout
model.safetensors (float32) with NumPy alone: the comparison baseline of compare.py and the
module exported to ONNX.

Vision: patch convolution (no bias), class token, positions, ln_pre, pre-LN residual blocks,
ln_post of the class token, projection. Text: token + position embeddings, the same blocks with a
causal mask, ln_final, pooled at the argmax of the ids (the end token), projection. Activation
quick_gelu (x * sigmoid(1.702 x)) or exact gelu, as config.json says. Attention is written out
(one fused q/k/v linear, as the reference's in_proj, then batched matmuls), so that the ONNX export
is plain MatMul/Softmax and both runtimes run the same graph.
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


def load(model_dir: Path) -> tuple[VisionTower, TextTower]:
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
