"""The numpy-less path: plain lists that equal the numpy results exactly.

Two ways of hiding numpy are tested: monkeypatching ``libclip._compat.numpy``
(the ``no_numpy`` fixture) and, in a child interpreter, making ``import
numpy`` fail outright or setting ``LIBCLIP_NO_NUMPY=1``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import libclip
from conftest import model_path, text_encoder


def _is_list_of_floats(value: object, length: int) -> bool:
    return isinstance(value, list) and len(value) == length and all(type(v) is float for v in value)


@pytest.fixture(scope="module")
def encoders(fixtures: Path):
    path = model_path(fixtures, "tiny-quickgelu", "hf")
    with libclip.ImageEncoder(path) as img, libclip.TextEncoder(path) as txt:
        yield img, txt


def test_images_as_lists(encoders, image_paths, no_numpy, monkeypatch):
    img, _ = encoders
    rows = img.encode(image_paths)
    assert isinstance(rows, list) and len(rows) == len(image_paths)
    assert all(_is_list_of_floats(row, img.dim) for row in rows)
    one = img.encode(image_paths[0])
    assert _is_list_of_floats(one, img.dim)
    data = Path(image_paths[1]).read_bytes()
    from_bytes = img.encode([data])
    assert img.encode([]) == []
    pre = img.preprocess(image_paths[0])
    assert len(pre) == 3 and len(pre[0]) == img.image_size and _is_list_of_floats(pre[0][0], img.image_size)
    monkeypatch.undo()  # numpy back: the same inputs must give the same numbers
    assert np.array_equal(np.array(rows, dtype=np.float32), img.encode(image_paths))
    assert np.array_equal(np.array(one, dtype=np.float32), img.encode(image_paths[0]))
    assert np.array_equal(np.array(from_bytes, dtype=np.float32), img.encode([data]))
    assert np.array_equal(np.array(pre, dtype=np.float32), img.preprocess(image_paths[0]))


def test_rgb_bytes_without_numpy(encoders, fixtures, manifest, no_numpy, monkeypatch):
    img, _ = encoders
    entry = next(e for e in manifest["images"] if "decoded_rgb8" in e)
    height, width, _ = entry["decoded_rgb8"]["shape"]
    pixels = (fixtures / entry["decoded_rgb8"]["file"]).read_bytes()
    vec = img.encode_rgb(pixels, width, height)
    assert _is_list_of_floats(vec, img.dim)
    with pytest.raises(TypeError, match="numpy array"):
        img.encode([object()])
    monkeypatch.undo()
    assert np.array_equal(np.array(vec, dtype=np.float32), img.encode(str(fixtures / entry["file"])))


def test_texts_as_lists(encoders, texts, no_numpy, monkeypatch):
    _, txt = encoders
    rows = txt.encode(texts)
    assert all(_is_list_of_floats(row, txt.dim) for row in rows)
    one = txt.encode(texts[0])
    assert _is_list_of_floats(one, txt.dim)
    tokens = [txt.tokenize(t) for t in texts[:3]]
    from_tokens = txt.encode_tokens(tokens)
    monkeypatch.undo()
    assert np.array_equal(np.array(rows, dtype=np.float32), txt.encode(texts))
    assert np.array_equal(np.array(one, dtype=np.float32), txt.encode(texts[0]))
    assert np.array_equal(np.array(from_tokens, dtype=np.float32), txt.encode_tokens(tokens))


def test_zero_shot_lists(fixtures, manifest, image_paths, no_numpy, monkeypatch):
    import json

    name = "tiny-gelu"
    golden = json.loads((fixtures / manifest["models"][name]["golden"]["zero_shot"]).read_text(encoding="utf-8"))
    with libclip.ImageEncoder(model_path(fixtures, name, "open_clip")) as img, text_encoder(
        fixtures, name, "open_clip"
    ) as txt:
        image_vecs = img.encode(image_paths)
        text_vecs = txt.encode(golden["texts"])
        probs = libclip.zero_shot(image_vecs, text_vecs, img.logit_scale)
        first = libclip.zero_shot(image_vecs[0], text_vecs, img.logit_scale)
    assert isinstance(probs, list) and all(_is_list_of_floats(row, 5) for row in probs)
    assert _is_list_of_floats(first, 5) and first == probs[0]
    tolerance = manifest["tolerances"]["zero_shot"]["probs_max_abs_diff"]
    assert np.abs(np.array(probs) - np.array(golden["probs"])).max() <= tolerance
    monkeypatch.undo()
    with_numpy = libclip.zero_shot(np.array(image_vecs, np.float32), np.array(text_vecs, np.float32), img.logit_scale)
    assert np.allclose(with_numpy, probs, rtol=0, atol=1e-12)


SCRIPT = """
import sys, libclip
from libclip import _compat
assert _compat.numpy is None, "numpy should be hidden"
img = libclip.ImageEncoder({model!r})
txt = libclip.TextEncoder({model!r})
rows = img.encode({images!r})
texts = txt.encode(["a photo of a cat", "a photo of a dog"])
assert type(rows) is list and type(rows[0]) is list and type(rows[0][0]) is float
probs = libclip.zero_shot(rows[0], texts, img.logit_scale)
assert type(probs) is list and abs(sum(probs) - 1) < 1e-12
img.close(); txt.close()
print(repr(rows))
"""


@pytest.mark.parametrize(
    "how",
    ["import-blocked", "env-var"],
)
def test_child_interpreter_without_numpy(fixtures, image_paths, run_python, how):
    """The package imports and works when numpy cannot be imported at all,
    and LIBCLIP_NO_NUMPY=1 forces the same behaviour; both equal numpy's."""
    model = model_path(fixtures, "tiny-gelu", "hf")
    script = SCRIPT.format(model=model, images=image_paths[:3])
    if how == "import-blocked":
        result = run_python("import sys; sys.modules['numpy'] = None\n" + script)
    else:
        result = run_python(script, env={"LIBCLIP_NO_NUMPY": "1"})
    rows = eval(result.stdout)  # a repr of a list of lists of floats
    with libclip.ImageEncoder(model) as img:
        assert np.array_equal(np.array(rows, dtype=np.float32), img.encode(image_paths[:3]))
