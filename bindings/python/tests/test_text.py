"""TextEncoder: embeddings against the C tool (bit for bit) and the goldens,
tokenization against the reference ids, and text errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import libclip
from conftest import (
    LAYOUTS,
    MODELS,
    assert_within_embedding_tolerance,
    model_path,
    read_f32,
    run_clip_embed,
    small_vocab_model,
    text_encoder,
)


@pytest.fixture(scope="module")
def encoder(fixtures: Path) -> Any:
    with libclip.TextEncoder(model_path(fixtures, "tiny-quickgelu", "hf")) as enc:
        yield enc


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("raw", [False, True], ids=["normalized", "raw"])
def test_batch_equals_clip_embed_bit_for_bit(fixtures, texts, clip_embed, tmp_path, name, raw):
    # clip-embed has no vocabulary option, so only the HF layout (vocabulary
    # beside the weights) can be compared with it.
    path = model_path(fixtures, name, "hf")
    with libclip.TextEncoder(path, normalize=not raw) as enc:
        ours = enc.encode(texts)
        dim = enc.dim
    args = (["--raw"] if raw else []) + ["--text", *texts]
    theirs = run_clip_embed(clip_embed, path, args, dim, tmp_path)
    assert ours.dtype == np.float32 and ours.shape == (len(texts), dim)
    assert np.array_equal(ours, theirs)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", MODELS)
def test_raw_embeddings_match_goldens(fixtures, manifest, texts, name, layout):
    golden_info = manifest["models"][name]["golden"]["text_embeds"]
    golden = read_f32(fixtures / golden_info["file"], tuple(golden_info["shape"]))
    with text_encoder(fixtures, name, layout, normalize=False) as enc:
        assert enc.dim == golden.shape[1]
        assert enc.context_length == manifest["tokenizer"]["context_length"]
        assert enc.logit_scale == pytest.approx(manifest["models"][name]["golden"]["logit_scale_exp"], rel=1e-6)
        ours = enc.encode(texts)
    assert_within_embedding_tolerance(ours, golden, manifest["tolerances"]["embeddings"])


def test_single_text_is_a_vector_and_list_is_a_matrix(encoder, texts):
    one = encoder.encode(texts[0])
    assert one.shape == (encoder.dim,) and one.dtype == np.float32
    listed = encoder.encode([texts[0]])
    assert listed.shape == (1, encoder.dim)
    assert np.array_equal(listed[0], one)
    assert encoder.encode(tuple(texts[:3])).shape == (3, encoder.dim)
    assert encoder.encode(t for t in texts[:2]).shape == (2, encoder.dim)
    assert encoder.encode([]).shape == (0, encoder.dim)
    assert np.allclose(np.linalg.norm(encoder.encode(texts), axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_tokenize_equals_golden_token_rows(fixtures, manifest, texts, layout):
    info = manifest["texts"]
    golden = np.fromfile(fixtures / info["tokens_file"], dtype="<i4").reshape(info["shape"])
    with text_encoder(fixtures, "tiny-gelu", layout) as enc:
        for text, row in zip(texts, golden):
            tokens = enc.tokenize(text)
            assert isinstance(tokens, list) and all(type(t) is int for t in tokens)
            assert len(tokens) == enc.context_length
            assert tokens == row.tolist(), text


def test_tokenize_equals_reference_cases(fixtures, manifest, encoder):
    # One JSON object per "\n"-terminated line; str.splitlines() would also
    # split at the U+2028 / U+0085 characters that some texts contain.
    raw = (fixtures / manifest["tokenizer"]["file"]).read_text(encoding="utf-8")
    cases = [line for line in raw.split("\n") if line]
    assert len(cases) == manifest["tokenizer"]["count"]
    for line in cases:
        case = json.loads(line)
        assert encoder.tokenize(case["text"]) == case["tokens"], case["text"]


def test_encode_tokens_equals_encode(encoder, texts):
    tokens = [encoder.tokenize(t) for t in texts[:5]]
    assert np.array_equal(encoder.encode_tokens(tokens), encoder.encode(texts[:5]))
    assert np.array_equal(encoder.encode_tokens(np.array(tokens, dtype=np.int32)), encoder.encode(texts[:5]))
    one = encoder.encode_tokens(tokens[0])
    assert one.shape == (encoder.dim,)
    assert np.array_equal(one, encoder.encode(texts[0]))
    assert encoder.encode_tokens([]).shape == (0, encoder.dim)
    with pytest.raises(ValueError, match="context length"):
        encoder.encode_tokens([1, 2, 3])
    with pytest.raises(libclip.ClipError) as info:
        encoder.encode_tokens([49406, 10**6] + [0] * 75)
    assert info.value.status_name == "LCLIP_E_INVALID_ARGUMENT"


def test_without_vocabulary(fixtures, tmp_path):
    """Without a vocabulary only pre-tokenized input works."""
    with libclip.TextEncoder(small_vocab_model(fixtures, tmp_path), log=None) as bare:
        assert bare.describe()["vocab"] == "none"
        with pytest.raises(libclip.ClipError) as info:
            bare.encode("a photo of a cat")
        assert info.value.status_name == "LCLIP_E_UNSUPPORTED"
        assert "vocab" in info.value.message
        with pytest.raises(libclip.ClipError):
            bare.tokenize("a photo of a cat")
        tokens = np.zeros((1, bare.context_length), dtype=np.int32)
        tokens[0, :4] = [5, 999, 17, 3]
        assert bare.encode_tokens(tokens).shape == (1, bare.dim)


def test_open_clip_gets_the_default_vocabulary(fixtures, texts):
    """open_clip weights without a tokenizer file use libclip's own copy of
    OpenAI's vocabulary: the same ids and embeddings as with the fixtures'."""
    with libclip.TextEncoder(model_path(fixtures, "tiny-gelu", "open_clip")) as default, text_encoder(
        fixtures, "tiny-gelu", "open_clip"
    ) as given:
        assert default.describe()["vocab"].startswith("builtin:")
        assert given.describe()["vocab"].startswith("gz:")
        assert np.array_equal(default.tokenize(texts[1]), given.tokenize(texts[1]))
        assert np.array_equal(default.encode(texts[1]), given.encode(texts[1]))


def test_lone_surrogate_raises_unicode_encode_error(encoder):
    bad = "abc\udcff"  # what os.fsdecode / surrogateescape produce for a byte 0xff
    for call in (encoder.encode, encoder.tokenize, lambda t: encoder.encode(["fine", t])):
        with pytest.raises(UnicodeEncodeError) as info:
            call(bad)
        assert any("lone surrogate" in note for note in getattr(info.value, "__notes__", []))
    assert isinstance(UnicodeEncodeError("utf-8", "", 0, 1, ""), ValueError)


def test_bad_text_arguments(encoder):
    with pytest.raises(ValueError, match="NUL"):
        encoder.encode("a\0b")
    with pytest.raises(TypeError):
        encoder.encode(b"bytes are not text")
    with pytest.raises(TypeError, match="text 1"):
        encoder.encode(["ok", 3])
    with pytest.raises(TypeError):
        encoder.encode(None)
    with pytest.raises(TypeError):
        encoder.tokenize(b"abc")


def test_truncation_options(fixtures, texts):
    long_text = max(texts, key=len)
    path = model_path(fixtures, "tiny-gelu", "hf")
    with libclip.TextEncoder(path) as cut, libclip.TextEncoder(path, truncate=False) as strict:
        tokens = cut.tokenize(long_text)
        assert tokens[-1] == 49407  # truncated: SOT, 75 ids, EOT
        with pytest.raises(libclip.ClipError) as info:
            strict.encode(long_text)
        assert info.value.status_name == "LCLIP_E_TOO_LARGE"
        with pytest.raises(libclip.ClipError):
            strict.tokenize(long_text)
    with libclip.TextEncoder(path, max_text_bytes=8) as small:
        small.encode("short")
        with pytest.raises(libclip.ClipError) as info:
            small.encode("longer than eight bytes")
        assert info.value.status_name == "LCLIP_E_TOO_LARGE"


def test_bad_vocab_path(fixtures, tmp_path):
    with pytest.raises(libclip.ClipError) as info:
        libclip.TextEncoder(model_path(fixtures, "tiny-gelu", "open_clip"), vocab_path=tmp_path / "missing.txt.gz")
    assert info.value.status_name == "LCLIP_E_IO"
