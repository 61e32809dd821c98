"""Zero-shot classification from embeddings: softmax(logit_scale * cosine).

Vectors are normalised here, so embeddings from encoders opened with
``normalize=False`` give the same probabilities as normalised ones. The
computation is done in float64 (numpy when available, ``math`` otherwise).
"""

from __future__ import annotations

import math
from typing import Any

from . import _compat

__all__ = ["zero_shot"]


def zero_shot(image_vec: Any, text_vecs: Any, logit_scale: float) -> Any:
    """Probabilities that each text describes the image.

    Args:
        image_vec: one image embedding, shape ``(dim,)``, or several, shape
            ``(n, dim)`` (ndarray or nested lists).
        text_vecs: the candidate texts' embeddings, shape ``(k, dim)``.
        logit_scale: the similarity multiplier, normally the encoder's
            ``logit_scale`` property (already exponentiated, e.g. 100).

    Returns:
        ``softmax(logit_scale * cos(image, text_j))`` over the k texts: shape
        ``(k,)`` for one image, ``(n, k)`` for several; a float64 ndarray, or
        lists of floats without numpy. Each row sums to 1.

    Raises:
        ValueError: mismatched dimensions, no texts, or a zero vector (which
            has no direction, so no cosine).
    """
    scale = float(logit_scale)
    if not math.isfinite(scale):
        raise ValueError(f"logit_scale must be finite, got {logit_scale}")
    np = _compat.numpy
    if np is not None:
        return _zero_shot_numpy(np, image_vec, text_vecs, scale)
    return _zero_shot_lists(image_vec, text_vecs, scale)


def _zero_shot_numpy(np: Any, image_vec: Any, text_vecs: Any, scale: float) -> Any:
    images = np.asarray(image_vec, dtype=np.float64)
    texts = np.asarray(text_vecs, dtype=np.float64)
    single = images.ndim == 1
    images = np.atleast_2d(images)
    _check_shapes(images.ndim, texts.ndim, images.shape[-1], texts.shape[-1] if texts.ndim else 0, len(texts) if texts.ndim else 0)
    image_norms = np.linalg.norm(images, axis=1, keepdims=True)
    text_norms = np.linalg.norm(texts, axis=1, keepdims=True)
    if not (image_norms.all() and text_norms.all()):
        raise ValueError("zero_shot: a zero vector has no direction (cosine undefined)")
    logits = scale * (images / image_norms) @ (texts / text_norms).T
    logits -= logits.max(axis=1, keepdims=True)
    probs = np.exp(logits)
    probs /= probs.sum(axis=1, keepdims=True)
    return probs[0] if single else probs


def _rows(x: Any) -> list[Any]:
    return x.tolist() if hasattr(x, "tolist") else list(x)


def _zero_shot_lists(image_vec: Any, text_vecs: Any, scale: float) -> Any:
    images = _rows(image_vec)
    single = bool(images) and not hasattr(images[0], "__len__")
    if single:
        images = [images]
    images = [[float(v) for v in _rows(row)] for row in images]
    texts = [[float(v) for v in _rows(row)] for row in _rows(text_vecs)]
    dim = len(images[0]) if images else 0
    _check_shapes(2, 2, dim, len(texts[0]) if texts else 0, len(texts))
    if any(len(r) != dim for r in images + texts):
        raise ValueError("zero_shot: all vectors must have the same dimension")

    def unit(v: list[float]) -> list[float]:
        norm = math.sqrt(math.fsum(x * x for x in v))
        if norm == 0:
            raise ValueError("zero_shot: a zero vector has no direction (cosine undefined)")
        return [x / norm for x in v]

    unit_texts = [unit(t) for t in texts]
    result = []
    for image in images:
        u = unit(image)
        logits = [scale * math.fsum(a * b for a, b in zip(u, t)) for t in unit_texts]
        top = max(logits)
        exps = [math.exp(x - top) for x in logits]
        total = math.fsum(exps)
        result.append([e / total for e in exps])
    return result[0] if single else result


def _check_shapes(image_ndim: int, text_ndim: int, image_dim: int, text_dim: int, n_texts: int) -> None:
    if image_ndim != 2:
        raise ValueError("zero_shot: image_vec must have shape (dim,) or (n, dim)")
    if text_ndim != 2 or n_texts == 0:
        raise ValueError("zero_shot: text_vecs must have shape (k, dim) with k >= 1")
    if image_dim != text_dim:
        raise ValueError(f"zero_shot: image dim {image_dim} != text dim {text_dim}")
