"""engine= and precision= (lclip_options.engine, .precision) and the
encoders' describe() (lclip_*_encoder_describe), on whichever engines the
library under test was built with."""

from __future__ import annotations

import ctypes
from pathlib import Path

import numpy as np
import pytest

import libclip
from libclip import Engine, Precision, _lib
from conftest import LAYOUTS, MODELS, model_path, text_encoder

HAVE_ONEDNN = "onednn" in libclip.build_info()["engines"].split(",")
needs_onednn = pytest.mark.skipif(not HAVE_ONEDNN, reason="libclip was built without oneDNN")

ENCODERS = [libclip.ImageEncoder, libclip.TextEncoder]


def _c_open(path: str, engine: int, precision: int) -> tuple[int, str]:
    """lclip_image_encoder_open's own status and message for these values."""
    opts = _lib.default_options()
    opts.engine, opts.precision = engine, precision
    out = ctypes.c_void_p()
    status = _lib.lib.lclip_image_encoder_open(path.encode(), ctypes.byref(opts), ctypes.byref(out))
    message = _lib.last_error() if status else ""
    _lib.lib.lclip_image_encoder_close(out)
    return status, message


@pytest.mark.parametrize("cls", ENCODERS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("engine", list(Engine))
def test_engines(fixtures, cls, engine):
    """Each engine opens (ONEDNN only when built in) and describe() names
    the engine the encoder got; the plain string works as the member does."""
    path = model_path(fixtures, "tiny-gelu", "hf")
    if engine is Engine.ONEDNN and not HAVE_ONEDNN:
        with pytest.raises(libclip.ClipError) as info:
            cls(path, engine=engine.value)
        assert info.value.status == libclip.Status.E_UNSUPPORTED
        assert "built without oneDNN" in info.value.message
        return
    with cls(path, engine=engine.value) as enc:
        described = enc.describe()
        assert enc.describe_string() == " ".join(f"{k}={v}" for k, v in described.items())
    assert enc.describe() == described  # read at open, kept after close
    assert described["precision"] == "f32" and described["threads"] == "0"
    if engine is Engine.AUTO:  # oneDNN if built in, unless it has no kernel for this CPU
        assert described["engine"] in libclip.build_info()["engines"].split(",")
    else:
        assert described["engine"] == engine.value
    if described["engine"] == "cblas":
        assert described["blas"] == libclip.build_info()["blas"]
    else:
        assert int(described["packed_bytes"]) > 0 and described["isa"]


def test_defaults_and_members(fixtures):
    path = model_path(fixtures, "tiny-gelu", "hf")
    with libclip.ImageEncoder(path) as default, libclip.ImageEncoder(
        path, engine=Engine.AUTO, precision=Precision.F32
    ) as explicit:
        assert default.describe() == explicit.describe()


@pytest.mark.parametrize("cls", ENCODERS, ids=lambda c: c.__name__)
def test_bad_values_are_refused_before_c(fixtures, cls):
    path = model_path(fixtures, "tiny-gelu", "hf")
    for bad in ("gpu", "ONEDNN", ""):
        with pytest.raises(ValueError, match=r"engine must be one of 'auto', 'cblas', 'onednn', not"):
            cls(path, engine=bad)
    with pytest.raises(ValueError, match=r"precision must be one of 'f32', 'bf16', not 'fp16'"):
        cls(path, precision="fp16")
    with pytest.raises(TypeError, match="engine must be a str, not int"):
        cls(path, engine=1)
    with pytest.raises(TypeError, match="precision must be a str, not NoneType"):
        cls(path, precision=None)


def test_the_library_refuses_unknown_values(fixtures):
    """Values only the raw struct can hold reach the fields the header
    names (the mirror's offsets) and are LCLIP_E_INVALID_ARGUMENT."""
    path = model_path(fixtures, "tiny-gelu", "hf")
    assert _c_open(path, 3, 0) == (libclip.Status.E_INVALID_ARGUMENT, "options: engine 3 is not an LCLIP_ENGINE_ value")
    status, message = _c_open(path, 0, -1)
    assert status == libclip.Status.E_INVALID_ARGUMENT and "precision -1" in message


@pytest.mark.parametrize("cls", ENCODERS, ids=lambda c: c.__name__)
def test_bf16_works_or_is_unsupported(fixtures, image_paths, texts, cls):
    """BF16 runs where the library and the CPU can, and is otherwise the
    library's own LCLIP_E_UNSUPPORTED error; with CBLAS it never runs."""
    path = model_path(fixtures, "tiny-gelu", "hf")
    status, message = _c_open(path, 0, 1)
    if status != libclip.Status.OK:
        assert status == libclip.Status.E_UNSUPPORTED
        with pytest.raises(libclip.ClipError) as info:
            cls(path, precision="bf16")
        assert (info.value.status, info.value.message) == (status, message)
        assert message in str(info.value)
        if not HAVE_ONEDNN:
            assert "built without oneDNN" in message
    else:
        inputs = image_paths if cls is libclip.ImageEncoder else texts
        with cls(path, precision="bf16") as bf16, cls(path) as f32:
            assert bf16.describe()["precision"] == "bf16" and bf16.describe()["engine"] == "onednn"
            low, full = bf16.encode(inputs), f32.encode(inputs)
        assert (low * full).sum(axis=1).min() > 0.999  # unit rows: cosines
        assert not np.array_equal(low, full)
    with pytest.raises(libclip.ClipError) as info:
        cls(path, engine="cblas", precision="bf16")
    assert info.value.status == libclip.Status.E_UNSUPPORTED and "oneDNN" in info.value.message


@needs_onednn
def test_bf16_unsupported_on_a_cpu_without_bfloat16(fixtures, run_python):
    """oneDNN limited to AVX2 (its DNNL_MAX_CPU_ISA) stands in for a CPU
    without bfloat16 instructions: BF16 is LCLIP_E_UNSUPPORTED, F32 runs."""
    script = f"""
import libclip
path = {model_path(fixtures, "tiny-gelu", "hf")!r}
try:
    libclip.ImageEncoder(path, precision="bf16")
except libclip.ClipError as e:
    print(e.status_name, e.message)
with libclip.ImageEncoder(path, engine="onednn") as enc:
    print(enc.describe_string())
"""
    isa = {"DNNL_MAX_CPU_ISA": "AVX2", "ONEDNN_MAX_CPU_ISA": "AVX2"}
    refused, described = run_python(script, env=isa).stdout.splitlines()
    assert refused.startswith("LCLIP_E_UNSUPPORTED precision BF16 needs native bfloat16 instructions")
    assert "engine=onednn" in described and "precision=f32" in described and "bf16" not in described


def _embeddings(
    fixtures: Path, model: str, layout: str, engine: str, image_paths: list[str], texts: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    path = model_path(fixtures, model, layout)
    with libclip.ImageEncoder(path, engine=engine) as img, text_encoder(fixtures, model, layout, engine=engine) as txt:
        assert img.describe()["engine"] == txt.describe()["engine"] == engine
        return img.encode(image_paths), txt.encode(texts)


@needs_onednn
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("model", MODELS)
def test_onednn_f32_agrees_with_cblas(fixtures, image_paths, texts, model, layout):
    cblas = _embeddings(fixtures, model, layout, "cblas", image_paths, texts)
    onednn = _embeddings(fixtures, model, layout, "onednn", image_paths, texts)
    for what, a, b in zip(("images", "texts"), cblas, onednn):
        assert a.shape == b.shape
        assert np.abs(a - b).max() <= 1e-5, what
