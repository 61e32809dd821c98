"""Batch calls: per-input results (encode_each, encode_tokens_each),
progress, and exceptions that stop a call: raised by the progress callback,
by a signal handler (Ctrl-C included) or by close() in a callback."""

from __future__ import annotations

import math
import signal
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import libclip
from conftest import model_path, small_vocab_model, text_encoder


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
    input to report it (in a child: threads=N may set OpenBLAS
    process-wide)."""
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


def test_encode_each_nul_is_that_inputs_error(encoders, image_paths, texts):
    """A NUL character cannot reach C: encode_each makes it that input's
    LCLIP_E_INVALID_ARGUMENT (encode raises ValueError, test_image/test_text)."""
    img, txt = encoders
    seen: list[tuple[int, int]] = []
    items = [image_paths[0], "a\0b.png", Path(image_paths[1]).read_bytes(), image_paths[2]]
    rows, errors = img.encode_each(items, progress=lambda done, total: seen.append((done, total)))
    assert [(e.index, e.status_name) for e in errors] == [(1, "LCLIP_E_INVALID_ARGUMENT")]
    assert "NUL" in errors[0].message and errors[0].description
    assert np.isnan(rows[1]).all()
    assert np.array_equal(rows[[0, 3]], img.encode([image_paths[0], image_paths[2]]))
    assert np.array_equal(rows[2], img.encode(items[2]))
    assert seen[-1] == (4, 4)  # the refused input counts as done
    rows, errors = txt.encode_each([texts[0], "a\0b", texts[1]])
    assert [(e.index, e.status_name) for e in errors] == [(1, "LCLIP_E_INVALID_ARGUMENT")]
    assert np.isnan(rows[1]).all() and np.array_equal(rows[[0, 2]], txt.encode([texts[0], texts[1]]))
    rows, errors = txt.encode_each(["\0"])
    assert len(errors) == 1 and np.isnan(rows).all()


def test_encode_tokens_each(encoders, texts):
    img, txt = encoders
    good = [txt.tokenize(t) for t in texts[:3]]
    bad = list(good[1])
    bad[1] = 10**6  # outside the vocabulary
    seen: list[tuple[int, int]] = []
    rows, errors = txt.encode_tokens_each([good[0], bad, good[2]], progress=lambda d, t: seen.append((d, t)))
    assert [(e.index, e.status_name) for e in errors] == [(1, "LCLIP_E_INVALID_ARGUMENT")]
    assert errors[0].message and seen[-1] == (3, 3)
    assert np.isnan(rows[1]).all()
    assert np.allclose(rows[[0, 2]], txt.encode_tokens([good[0], good[2]]), rtol=0, atol=1e-5)
    with pytest.raises(libclip.ClipError):
        txt.encode_tokens([good[0], bad])
    with pytest.raises(TypeError, match="encode_tokens_each"):
        txt.encode_tokens_each(good[0])  # one row
    with pytest.raises(ValueError, match="context length"):
        txt.encode_tokens_each([good[0][:5]])  # malformed rows still raise
    assert txt.encode_tokens_each([]).embeddings.shape == (0, txt.dim)


def test_encode_each_without_a_vocabulary_raises(fixtures, tmp_path):
    """A missing vocabulary is the encoder's failure, not each text's: the call raises."""
    with libclip.TextEncoder(small_vocab_model(fixtures, tmp_path), log=None) as bare:
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


def test_progress_return_value_is_ignored(encoders, image_paths, texts):
    """progress=lambda d, t: sys.stderr.write(...) returns an int: it must
    not stop the call (only an exception does)."""
    img, txt = encoders
    paths = _many(image_paths, 100)
    calls: list[int] = []

    def truthy(done: int, total: int) -> int:
        calls.append(done)
        return sys.stderr.write("")  + 1

    assert np.array_equal(img.encode(paths, progress=truthy), img.encode(paths))
    assert calls[-1] == 100 and len(calls) >= 3
    assert txt.encode_each(texts, progress=truthy).errors == []
    assert img.encode([Path(image_paths[0]).read_bytes()], progress=truthy).shape == (1, img.dim)


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
    with pytest.raises(Stop):  # a bytes item's progress, reported by the binding
        img.encode([Path(image_paths[0]).read_bytes()], progress=fail)
    assert img.encode(image_paths[0]).shape == (img.dim,)  # the encoder stays usable


def test_libclip_calls_inside_progress(encoders, image_paths):
    img, txt = encoders
    inner: list[Any] = []
    img.encode(_many(image_paths, 60), progress=lambda done, total: inner.append(txt.encode("a cat")))
    assert len(inner) >= 2 and all(np.array_equal(v, inner[0]) for v in inner)


def test_close_from_a_callback_raises(fixtures, image_paths, warning_jpeg, run_python):
    """close() inside a call on the same encoder would wait for that call
    forever: RuntimeError instead, and the encoder stays open. From the
    progress callback, and from the log callback on the calling thread and
    on libclip's threads (in a child with a time limit, as a regression
    hangs; threads=N may also set OpenBLAS process-wide)."""
    script = f"""
import libclip
model, paths, jpeg = {model_path(fixtures, "tiny-gelu", "hf")!r}, {image_paths!r} * 10, {str(warning_jpeg)!r}
img = libclip.ImageEncoder(model)
try:
    img.encode(paths, progress=lambda done, total: img.close())
except RuntimeError as e:
    assert "close" in str(e), e
else:
    raise AssertionError("no RuntimeError")
assert not img.closed and img.encode(paths[0]).shape == (img.dim,)
img.close()
for threads in (0, 3):
    calls, raised = [], []
    def log(level, message):
        calls.append(message)
        try:
            logging_img.close()
        except RuntimeError as e:
            raised.append(e)
    logging_img = libclip.ImageEncoder(model, threads=threads, log=log)
    logging_img.encode([jpeg] * 6)
    assert len(raised) == len(calls) >= 6 and not logging_img.closed, (threads, calls, raised)
    logging_img.close()
print("ok")
"""
    assert run_python(script, timeout=120).stdout.strip() == "ok"


def test_handler_installed_in_a_callback_survives(encoders, image_paths):
    img, _ = encoders
    original = signal.getsignal(signal.SIGINT)

    def handler(signum: int, frame: Any) -> None:
        pass

    try:
        img.encode(_many(image_paths, 60), progress=lambda done, total: signal.signal(signal.SIGINT, handler))
        assert signal.getsignal(signal.SIGINT) is handler
    finally:
        signal.signal(signal.SIGINT, original)


# A long batch (some 20 passes) in a child interpreter, so that a failure
# cannot interrupt pytest itself; a timer thread sends the signal after the
# time of two passes.
SIGNAL_DURING_BATCH = """
import os, signal, sys, threading, time, libclip

class Timeout(Exception):
    pass

def alarm(signum, frame):
    raise Timeout()

signal.signal(signal.SIGALRM, alarm)
signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(3))
good = ({paths!r} * 100)[:1000]
paths = list(good)
if {each!r}:  # a failed input in every pass: its callback comes first after the signal
    paths[::2] = [os.devnull + "-missing.png"] * 500
with libclip.ImageEncoder({model!r}) as img:
    start = time.perf_counter()
    img.encode(good[:45])  # warm up, and time one pass
    one_pass = time.perf_counter() - start
    full = one_pass * len(paths) / 45
    passes = []
    progress = {progress}
    threading.Timer(2 * one_pass, os.kill, (os.getpid(), signal.{signal})).start()
    start = time.perf_counter()
    try:
        (img.encode_each if {each!r} else img.encode)(paths, progress=progress)
    except {exception} as e:
        print("stopped", len(passes), time.perf_counter() - start < full / 2)
    else:
        print("not stopped")
"""


@pytest.mark.parametrize(
    "signal_name, exception, each, progress",
    [
        ("SIGINT", "KeyboardInterrupt", False, None),
        ("SIGINT", "KeyboardInterrupt", False, "lambda done, total: passes.append(done)"),
        ("SIGINT", "KeyboardInterrupt", True, None),
        ("SIGALRM", "Timeout", False, "lambda done, total: passes.append(done)"),
        ("SIGALRM", "Timeout", True, None),
        ("SIGTERM", "SystemExit", False, None),
        ("SIGTERM", "SystemExit", True, "lambda done, total: passes.append(done)"),
    ],
)
def test_signal_handler_exception_stops_a_long_batch(fixtures, image_paths, run_python, signal_name, exception,
                                                     each, progress):
    """An exception raised by a signal handler while C encodes (Ctrl-C, a
    SIGALRM timeout, SIGTERM -> sys.exit) comes out of the call after the
    current pass, not after the whole batch, and is not reported as
    "Exception ignored" by ctypes, also when the per-input error callback is
    the first Python code to run after the signal."""
    script = SIGNAL_DURING_BATCH.format(
        paths=image_paths, model=model_path(fixtures, "tiny-gelu", "hf"), signal=signal_name,
        exception=exception, each=each, progress=progress,
    )
    result = run_python(script)
    words = result.stdout.split()
    assert words[0] == "stopped", (words, result.stderr)
    assert words[2] == "True"  # sooner than the whole batch takes
    if progress is not None:
        assert 0 < int(words[1]) < 1000 // 45  # not every pass ran
    assert "Exception ignored" not in result.stderr, result.stderr


def test_custom_sigint_handler_runs_once(fixtures, image_paths, run_python):
    """A SIGINT handler that does not raise runs once and does not stop the batch."""
    script = f"""
import os, signal, threading, libclip
calls = []
signal.signal(signal.SIGINT, lambda signum, frame: calls.append(signum))
paths = ({image_paths!r} * 100)[:1000]
with libclip.ImageEncoder({model_path(fixtures, "tiny-gelu", "hf")!r}) as img:
    passes = []
    threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT)).start()
    rows = img.encode(paths, progress=lambda done, total: passes.append(done))
print(len(calls), len(rows), passes[-1], len(passes) > 5)
"""
    assert run_python(script).stdout.split() == ["1", "1000", "1000", "True"]


def test_progress_must_be_callable(encoders, image_paths, fixtures):
    img, _ = encoders
    with pytest.raises(TypeError, match="progress"):
        img.encode(image_paths, progress=3)
    with text_encoder(fixtures, "tiny-gelu", "open_clip", log=None) as txt:
        with pytest.raises(TypeError, match="progress"):
            txt.encode("a", progress="no")
