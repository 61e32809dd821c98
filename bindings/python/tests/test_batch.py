"""Batch calls: per-input results (encode_each), progress, cancellation, and
exceptions raised in the progress callback, Ctrl-C included."""

from __future__ import annotations

import math
import signal
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import libclip
from conftest import model_path, text_encoder


@pytest.fixture(scope="module")
def encoders(fixtures: Path) -> Any:
    path = model_path(fixtures, "tiny-gelu", "hf")
    with libclip.ImageEncoder(path) as img, libclip.TextEncoder(path) as txt:
        yield img, txt


@pytest.fixture
def broken(tmp_path: Path, image_paths: list[str]) -> dict[str, str]:
    """A truncated JPEG, a file that is no image, and a missing file."""
    jpeg = next(p for p in image_paths if p.endswith(".jpg"))
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(Path(jpeg).read_bytes()[:600])
    text = tmp_path / "not_an_image.png"
    text.write_text("hello\n")
    return {"truncated": str(truncated), "text": str(text), "missing": str(tmp_path / "missing.png")}


def test_encode_each_images(encoders, image_paths, broken):
    img, _ = encoders
    good = image_paths[:5]
    items = [good[0], broken["truncated"], good[1], good[2], broken["text"], good[3], broken["missing"], good[4]]
    rows, errors = img.encode_each(items)
    assert rows.shape == (len(items), img.dim) and rows.dtype == np.float32
    assert [(e.index, e.status_name) for e in errors] == [
        (1, "LCLIP_E_FORMAT"),
        (4, "LCLIP_E_UNSUPPORTED"),
        (6, "LCLIP_E_IO"),
    ]
    assert all(isinstance(e, libclip.ClipError) and e.message and e.description for e in errors)
    assert "missing.png" in errors[2].message
    failed = {e.index for e in errors}
    for i, path in enumerate(items):
        if i in failed:
            assert np.isnan(rows[i]).all()
        else:
            assert np.allclose(rows[i], img.encode(path), rtol=0, atol=1e-5), path
    # The good images' rows are those of a batch of the good images alone.
    assert np.array_equal(rows[[i for i in range(len(items)) if i not in failed]], img.encode(good))


def test_encode_each_with_libclip_threads(fixtures, image_paths, broken, run_python):
    """threads=2: the team decodes, and the calling thread redoes a failed
    input to report it (in a child: threads=N sets OpenBLAS process-wide)."""
    items = [image_paths[0], broken["truncated"], image_paths[1], broken["missing"]]
    script = f"""
import numpy as np, libclip
with libclip.ImageEncoder({model_path(fixtures, "tiny-gelu", "hf")!r}, threads=2) as img:
    rows, errors = img.encode_each({items!r})
    assert [(e.index, e.status_name) for e in errors] == [(1, "LCLIP_E_FORMAT"), (3, "LCLIP_E_IO")], errors
    assert "missing.png" in errors[1].message
    assert np.isnan(rows[[1, 3]]).all()
    assert np.allclose(rows[[0, 2]], img.encode({[image_paths[0], image_paths[1]]!r}), rtol=0, atol=1e-5)
print("ok")
"""
    assert run_python(script).stdout.strip() == "ok"


def test_encode_each_mixes_item_kinds(encoders, image_paths, broken):
    img, _ = encoders
    data = Path(image_paths[1]).read_bytes()
    items = [image_paths[0], b"not an image", Path(broken["truncated"]), data]
    result = img.encode_each(items)
    assert isinstance(result, libclip.BatchResult)
    assert [(e.index, e.status_name) for e in result.errors] == [(1, "LCLIP_E_UNSUPPORTED"), (2, "LCLIP_E_FORMAT")]
    assert np.array_equal(result.embeddings[0], img.encode([image_paths[0]])[0])
    assert np.array_equal(result.embeddings[3], img.encode(data))
    assert np.isnan(result.embeddings[1:3]).all()


def test_encode_each_all_good_and_empty(encoders, image_paths, texts):
    img, txt = encoders
    rows, errors = img.encode_each(image_paths)
    assert errors == [] and np.array_equal(rows, img.encode(image_paths))
    rows, errors = txt.encode_each(texts)
    assert errors == [] and np.array_equal(rows, txt.encode(texts))
    assert img.encode_each([]).embeddings.shape == (0, img.dim)
    assert txt.encode_each(iter([])).embeddings.shape == (0, txt.dim)


def test_encode_each_refuses_single_items(encoders, image_paths):
    img, txt = encoders
    with pytest.raises(TypeError, match="encode_each"):
        img.encode_each(image_paths[0])
    with pytest.raises(TypeError, match="encode_each"):
        txt.encode_each("a cat")
    with pytest.raises(TypeError, match="expected a path"):
        img.encode_each([image_paths[0], 42])  # wrong types still raise, before any C call


def test_encode_each_texts(fixtures, texts):
    with libclip.TextEncoder(model_path(fixtures, "tiny-gelu", "hf"), max_text_bytes=40) as txt:
        long_text = "a photo of a cat sitting on a red sofa in the sun"
        assert len(long_text.encode()) > 40
        items = ["a cat", long_text, "a dog"]
        rows, errors = txt.encode_each(items)
        assert [(e.index, e.status_name) for e in errors] == [(1, "LCLIP_E_TOO_LARGE")]
        assert np.isnan(rows[1]).all()
        assert np.allclose(rows[[0, 2]], txt.encode(["a cat", "a dog"]), rtol=0, atol=1e-5)


def test_encode_each_without_a_vocabulary_raises(fixtures):
    """A missing vocabulary is the encoder's failure, not each text's: the call raises."""
    with libclip.TextEncoder(model_path(fixtures, "tiny-gelu", "open_clip"), log=None) as bare:
        with pytest.raises(libclip.ClipError) as caught:
            bare.encode_each(["a", "b"])
    assert caught.value.status_name == "LCLIP_E_UNSUPPORTED"
    assert caught.value.index is None


def test_encode_each_without_numpy(encoders, image_paths, broken, no_numpy, monkeypatch):
    img, txt = encoders
    rows, errors = img.encode_each([image_paths[0], broken["text"], b"junk"])
    assert [e.index for e in errors] == [1, 2]
    assert type(rows) is list and all(type(v) is float for row in rows for v in row)
    assert all(math.isnan(v) for v in rows[1] + rows[2])
    text_rows, text_errors = txt.encode_each(["a cat"])
    assert text_errors == [] and type(text_rows[0][0]) is float
    monkeypatch.undo()
    assert np.array_equal(np.array(rows[0], dtype=np.float32), img.encode([image_paths[0]])[0])


def test_clip_error_index_survives_pickling():
    import pickle

    err = libclip.ClipError(3, "x.jpg: truncated", "malformed input", 7)
    clone = pickle.loads(pickle.dumps(err))
    assert (clone.index, clone.status_name) == (7, "LCLIP_E_FORMAT")
    assert "index=7" in repr(clone)
    assert libclip.ClipError(2).index is None


def _many(image_paths: list[str], n: int) -> list[str]:
    """n paths cycling through the fixtures: several passes through the tower
    (a tiny-model pass holds 45 images)."""
    return [image_paths[i % len(image_paths)] for i in range(n)]


def test_progress_reports_every_pass(encoders, image_paths, texts):
    img, txt = encoders
    paths = _many(image_paths, 100)
    seen: list[tuple[int, int]] = []
    rows = img.encode(paths, progress=lambda done, total: seen.append((done, total)))
    assert len(seen) >= 3 and seen[-1] == (100, 100)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen) and {t for _, t in seen} == {100}
    assert np.array_equal(rows, img.encode(paths))
    seen.clear()
    txt.encode(texts * 3, progress=lambda done, total: seen.append((done, total)))
    assert len(seen) >= 2 and seen[-1] == (len(texts) * 3, len(texts) * 3)
    seen.clear()
    txt.encode_tokens([txt.tokenize(t) for t in texts], progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (len(texts), len(texts))
    seen.clear()
    img.encode_each(paths[:3] + [b"junk"], progress=lambda done, total: seen.append((done, total)))
    assert seen == [(3, 4), (4, 4)]  # the paths' pass, then the bytes item


def test_true_from_progress_cancels(encoders, image_paths, texts):
    img, txt = encoders
    calls: list[int] = []

    def stop_after_first(done: int, total: int) -> bool:
        calls.append(done)
        return True

    with pytest.raises(libclip.ClipError) as info:
        img.encode(_many(image_paths, 100), progress=stop_after_first)
    assert info.value.status == libclip.Status.E_CANCELLED == 7
    assert info.value.status_name == "LCLIP_E_CANCELLED"
    assert len(calls) == 1 and "cancelled" in info.value.message
    with pytest.raises(libclip.ClipError) as info:
        txt.encode_each(texts, progress=stop_after_first)
    assert info.value.status_name == "LCLIP_E_CANCELLED"
    with pytest.raises(libclip.ClipError) as info:  # a bytes item's progress, reported by the binding
        img.encode([Path(image_paths[0]).read_bytes()], progress=stop_after_first)
    assert info.value.status_name == "LCLIP_E_CANCELLED"


def test_exception_in_progress_cancels_and_propagates(encoders, image_paths):
    img, _ = encoders

    class Stop(Exception):
        pass

    calls: list[int] = []

    def fail(done: int, total: int) -> None:
        calls.append(done)
        raise Stop(done)

    with pytest.raises(Stop) as info:
        img.encode_each(_many(image_paths, 100), progress=fail)
    assert calls == [info.value.args[0]]  # the call stopped at the first pass
    # The encoder stays usable, and the SIGINT handler is the original again.
    assert img.encode(image_paths[0]).shape == (img.dim,)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_libclip_calls_inside_progress(encoders, image_paths):
    img, txt = encoders
    inner: list[Any] = []
    img.encode(_many(image_paths, 60), progress=lambda done, total: inner.append(txt.encode("a cat")))
    assert len(inner) >= 2 and all(np.array_equal(v, inner[0]) for v in inner)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


CTRL_C = """
import os, signal, threading, time, libclip
paths = ({paths!r} * 200)[:2000]
with libclip.ImageEncoder({model!r}) as img:
    img.encode(paths[:45])  # warm up
    passes = []
    progress = {progress}
    timer = threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT))
    start = time.perf_counter()
    timer.start()
    try:
        img.encode(paths, progress=progress)
    except KeyboardInterrupt:
        elapsed = time.perf_counter() - start
        start = time.perf_counter()
        img.encode(paths)
        print("interrupted", len(passes), elapsed < time.perf_counter() - start)
    else:
        print("not interrupted")
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
"""


@pytest.mark.parametrize("progress", ["None", "lambda done, total: passes.append(done)"], ids=["none", "user"])
def test_ctrl_c_stops_a_long_batch(fixtures, image_paths, run_python, progress):
    """SIGINT while C encodes: KeyboardInterrupt comes out of encode() after
    the current pass, not after the whole batch (in a child interpreter, so
    that a failure cannot interrupt pytest itself)."""
    script = CTRL_C.format(
        paths=image_paths, model=model_path(fixtures, "tiny-gelu", "hf"), progress=progress
    )
    words = run_python(script).stdout.split()
    assert words[0] == "interrupted", words
    assert words[2] == "True"  # sooner than the whole batch takes
    if progress != "None":
        assert int(words[1]) < 2000 // 45  # not every pass ran


def test_progress_must_be_callable(encoders, image_paths, fixtures):
    img, _ = encoders
    with pytest.raises(TypeError, match="progress"):
        img.encode(image_paths, progress=3)
    with text_encoder(fixtures, "tiny-gelu", "open_clip", log=None) as txt:
        with pytest.raises(TypeError, match="progress"):
            txt.encode("a", progress="no")
