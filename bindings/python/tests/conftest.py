"""Shared test helpers: where the fixtures and the C tools are, and loaders.

Environment:
    LIBCLIP_PATH           the shared library under test (required in CI).
    LIBCLIP_FIXTURES_DIR   the shared fixtures (default: <repo>/../shared/fixtures);
                           tests that need them skip when the directory is absent.
    LIBCLIP_CLIP_EMBED     the clip-embed tool used as the C reference (default:
                           <build>/examples/clip-embed next to <build>/lib/libclip.so);
                           tests that need it skip when it is absent.

The tests import the package from this source tree (bindings/python), not
from an installed copy.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pytest

PACKAGE_ROOT = Path(__file__).resolve().parents[1]  # bindings/python
REPO_ROOT = PACKAGE_ROOT.parents[1]
sys.path.insert(0, str(PACKAGE_ROOT))

import libclip  # noqa: E402  (after the sys.path change on purpose)
from libclip import _compat  # noqa: E402

MODELS = ("tiny-quickgelu", "tiny-gelu")
LAYOUTS = ("hf", "open_clip")


def fixtures_dir() -> Path:
    env = os.environ.get("LIBCLIP_FIXTURES_DIR")
    return Path(env) if env else REPO_ROOT.parent / "shared" / "fixtures"


def clip_embed_path() -> Path | None:
    env = os.environ.get("LIBCLIP_CLIP_EMBED")
    if env:
        return Path(env)
    candidate = Path(libclip.library_path).resolve().parent.parent / "examples" / "clip-embed"
    return candidate if candidate.is_file() else None


@pytest.fixture(scope="session")
def fixtures() -> Path:
    path = fixtures_dir()
    if not (path / "manifest.json").is_file():
        pytest.skip(f"fixtures not found at {path} (set LIBCLIP_FIXTURES_DIR)")
    return path


@pytest.fixture(scope="session")
def manifest(fixtures: Path) -> dict[str, Any]:
    return json.loads((fixtures / "manifest.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def image_paths(fixtures: Path, manifest: dict[str, Any]) -> list[str]:
    """Every fixture image, in manifest order (the golden rows' order)."""
    return [str(fixtures / entry["file"]) for entry in manifest["images"]]


@pytest.fixture(scope="session")
def texts(manifest: dict[str, Any]) -> list[str]:
    """The texts of golden/text_tokens.i32 and text_embeds.f32, in row order."""
    return list(manifest["texts"]["list"])


@pytest.fixture(scope="session")
def vocab(fixtures: Path) -> str:
    return str(fixtures / "bpe_simple_vocab_16e6.txt.gz")


def model_path(fixtures: Path, model: str, layout: str) -> str:
    """The checkpoint of ``model`` in ``layout``: the HF directory, or the
    open_clip ``.safetensors`` file."""
    if layout == "hf":
        return str(fixtures / "models" / model / "hf")
    return str(fixtures / "models" / model / "open_clip" / "open_clip_model.safetensors")


def text_encoder(fixtures: Path, model: str, layout: str, **kwargs: Any) -> libclip.TextEncoder:
    """A text encoder; the open_clip layout has no vocabulary beside the
    weights: it gets the fixtures' (libclip's own copy would do too)."""
    if layout == "open_clip":
        kwargs.setdefault("vocab_path", str(fixtures / "bpe_simple_vocab_16e6.txt.gz"))
    return libclip.TextEncoder(model_path(fixtures, model, layout), **kwargs)


def small_vocab_model(fixtures: Path, directory: Path) -> str:
    """tiny-quickgelu's open_clip weights alone (hyperparameters inferred)
    with the token embedding cut to its first 1000 rows: too few ids for
    CLIP's vocabulary, so the text encoder uses none, not even libclip's own
    copy, and opens for token ids only. Returns the file's path."""
    blob = (fixtures / "models" / "tiny-quickgelu" / "open_clip" / "open_clip_model.safetensors").read_bytes()
    length = int.from_bytes(blob[:8], "little")
    header = json.loads(blob[8 : 8 + length])
    header.pop("__metadata__", None)
    data = blob[8 + length :]
    table, chunks, at = {}, [], 0
    for name, tensor in header.items():
        begin, end = tensor["data_offsets"]
        chunk, shape = data[begin:end], list(tensor["shape"])
        if name == "token_embedding.weight":
            chunk = chunk[: len(chunk) // shape[0] * 1000]
            shape[0] = 1000
        table[name] = {"dtype": tensor["dtype"], "shape": shape, "data_offsets": [at, at + len(chunk)]}
        chunks.append(chunk)
        at += len(chunk)
    text = json.dumps(table).encode()
    text += b" " * (-len(text) % 8)
    path = directory / "model.safetensors"
    path.write_bytes(len(text).to_bytes(8, "little") + text + b"".join(chunks))
    return str(path)


def read_f32(path: Path, shape: tuple[int, ...]) -> np.ndarray:
    return np.fromfile(path, dtype="<f4").reshape(shape)


@pytest.fixture(scope="session")
def clip_embed() -> Path:
    path = clip_embed_path()
    if path is None or not path.is_file():
        pytest.skip("clip-embed not found (build the examples or set LIBCLIP_CLIP_EMBED)")
    return path


def run_clip_embed(tool: Path, model: str, args: list[str], dim: int, tmp_path: Path) -> np.ndarray:
    """Runs the C tool and returns its float32 rows."""
    out = tmp_path / "clip-embed.f32"
    cmd = [str(tool), "--model", model, "--format", "f32", "--out", str(out), *args]
    result = subprocess.run(cmd, capture_output=True, text=True)
    assert result.returncode == 0, f"{cmd[:6]}... failed: {result.stderr}"
    return np.fromfile(out, dtype="<f4").reshape(-1, dim)


def assert_within_embedding_tolerance(actual: np.ndarray, golden: np.ndarray, tol: dict[str, float]) -> None:
    """The manifest's per-row rule: cosine >= min_cosine and
    max|x - ref| <= max_abs_diff_rel * max|ref|."""
    assert actual.shape == golden.shape
    for i, (x, ref) in enumerate(zip(actual.astype(np.float64), golden.astype(np.float64))):
        cosine = x @ ref / (np.linalg.norm(x) * np.linalg.norm(ref))
        assert cosine >= tol["min_cosine"], f"row {i}: cosine {cosine}"
        assert np.abs(x - ref).max() <= tol["max_abs_diff_rel"] * np.abs(ref).max(), f"row {i}"


@pytest.fixture
def warning_jpeg(fixtures: Path, tmp_path: Path) -> Path:
    """A fixture JPEG with bytes inserted before its EOI marker: libjpeg
    decodes it and warns about extraneous bytes."""
    data = (fixtures / "images" / "photo_chelsea_451x300_q90_420.jpg").read_bytes()
    assert data.endswith(b"\xff\xd9")
    path = tmp_path / "extraneous.jpg"
    path.write_bytes(data[:-2] + b"garbage!" + data[-2:])
    return path


@pytest.fixture
def no_numpy(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Makes the package behave as if numpy were not installed."""
    monkeypatch.setattr(_compat, "numpy", None)
    yield


@pytest.fixture
def run_python() -> Any:
    """Runs a Python script in a child interpreter that imports this source
    tree's package and the library under test; returns the CompletedProcess
    (asserting success unless check=False). timeout (seconds) fails a child
    that hangs."""

    def run(
        script: str, env: dict[str, str | None] | None = None, check: bool = True, timeout: float | None = None
    ) -> subprocess.CompletedProcess[str]:
        child_env = dict(os.environ)
        child_env["PYTHONPATH"] = os.pathsep.join([str(PACKAGE_ROOT), child_env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
        child_env.setdefault("LIBCLIP_PATH", libclip.library_path)
        for key, value in (env or {}).items():
            if value is None:
                child_env.pop(key, None)
            else:
                child_env[key] = value
        result = subprocess.run(
            [sys.executable, "-c", script], env=child_env, capture_output=True, text=True, timeout=timeout
        )
        if check:
            assert result.returncode == 0, result.stderr
        return result

    return run
