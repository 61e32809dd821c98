"""Opening, closing, the context manager, ClipError and use from threads."""

from __future__ import annotations

import copy
import gc
import pickle
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import libclip
from conftest import model_path
from libclip import _lib, encoders


def test_missing_model_is_io_error(tmp_path):
    missing = tmp_path / "no-such-model"
    for cls in (libclip.ImageEncoder, libclip.TextEncoder):
        with pytest.raises(libclip.ClipError) as info:
            cls(missing)
        err = info.value
        assert isinstance(err, Exception)
        assert err.status == 2 and err.status_name == "LCLIP_E_IO"
        assert "no-such-model" in err.message
        assert err.description == "I/O error"
        assert str(err).startswith("LCLIP_E_IO")


def test_corrupt_model_is_format_error(tmp_path):
    bad = tmp_path / "model.safetensors"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all}")
    with pytest.raises(libclip.ClipError) as info:
        libclip.ImageEncoder(bad)
    assert info.value.status_name == "LCLIP_E_FORMAT"
    assert info.value.message


def test_clip_error_is_picklable_and_handles_unknown_codes():
    err = libclip.ClipError(3, "model.safetensors: truncated", "malformed input")
    for clone in (pickle.loads(pickle.dumps(err)), copy.copy(err)):
        assert (clone.status, clone.status_name, clone.message) == (3, "LCLIP_E_FORMAT", "model.safetensors: truncated")
    future = libclip.ClipError(99, "")
    assert future.status == 99 and future.status_name == "LCLIP_STATUS_99"
    assert "LCLIP_STATUS_99" in str(future)


def test_close_is_idempotent_and_closed_encoders_raise(fixtures, image_paths):
    path = model_path(fixtures, "tiny-gelu", "hf")
    img, txt = libclip.ImageEncoder(path), libclip.TextEncoder(path)
    dim = img.dim
    assert not img.closed and not txt.closed
    for enc in (img, txt):
        enc.close()
        enc.close()
        assert enc.closed
        assert "closed" in repr(enc)
    assert img.dim == dim  # metadata stays readable
    calls = [
        lambda: img.encode(image_paths[0]),
        lambda: img.encode([]),
        lambda: img.encode_rgb(b"\0" * 3, 1, 1),
        lambda: img.preprocess(image_paths[0]),
        lambda: txt.encode("a cat"),
        lambda: txt.encode([]),
        lambda: txt.tokenize("a cat"),
        lambda: txt.encode_tokens([49406, 49407] + [0] * 75),
        lambda: img.__enter__(),
    ]
    for call in calls:
        with pytest.raises(ValueError, match="closed"):
            call()


def test_context_manager_closes(fixtures, image_paths):
    path = model_path(fixtures, "tiny-gelu", "hf")
    with libclip.ImageEncoder(path) as img, libclip.TextEncoder(path) as txt:
        assert img.encode(image_paths[0]).shape == (img.dim,)
        assert txt.encode("x").shape == (txt.dim,)
    assert img.closed and txt.closed
    with pytest.raises(ZeroDivisionError):
        with libclip.ImageEncoder(path) as img2:
            1 / 0
    assert img2.closed


def test_garbage_collected_encoder_is_freed(fixtures):
    enc = libclip.TextEncoder(model_path(fixtures, "tiny-gelu", "hf"))
    handle = enc._handle
    del enc
    gc.collect()
    assert handle.closed


def test_shared_encoder_across_threads(fixtures, image_paths, texts):
    path = model_path(fixtures, "tiny-quickgelu", "hf")
    with libclip.ImageEncoder(path) as img, libclip.TextEncoder(path) as txt:
        image_expected = img.encode(image_paths)
        text_expected = txt.encode(texts)

        def work(i: int) -> tuple[np.ndarray, np.ndarray]:
            return img.encode(image_paths), txt.encode(texts)

        with ThreadPoolExecutor(max_workers=4) as pool:
            for images, texts_out in pool.map(work, range(12)):
                assert np.array_equal(images, image_expected)
                assert np.array_equal(texts_out, text_expected)


def test_error_messages_are_per_thread(fixtures, tmp_path):
    """Each thread's ClipError carries the message of its own failure."""
    path = model_path(fixtures, "tiny-gelu", "hf")
    barrier = threading.Barrier(4)
    with libclip.ImageEncoder(path) as img:

        def fail(i: int) -> str:
            barrier.wait()
            for _ in range(20):
                try:
                    img.encode(tmp_path / f"missing-{i}.png")
                except libclip.ClipError as e:
                    if f"missing-{i}.png" not in e.message:
                        return e.message
            return ""

        with ThreadPoolExecutor(max_workers=4) as pool:
            assert list(pool.map(fail, range(4))) == [""] * 4


def test_close_waits_for_running_calls(fixtures, image_paths):
    """close() from another thread while encodes run never frees the handle
    under them: every call either completes or raises ValueError."""
    enc = libclip.ImageEncoder(model_path(fixtures, "tiny-gelu", "hf"))
    expected = enc.encode(image_paths)
    started = threading.Event()
    outcomes: list[str] = []

    def loop() -> None:
        while True:
            try:
                rows = enc.encode(image_paths)
            except ValueError:
                outcomes.append("closed")
                return
            started.set()
            outcomes.append("ok" if np.array_equal(rows, expected) else "wrong")

    threads = [threading.Thread(target=loop) for _ in range(3)]
    for t in threads:
        t.start()
    started.wait(timeout=30)
    enc.close()
    for t in threads:
        t.join(timeout=60)
    assert outcomes.count("closed") == 3
    assert "wrong" not in outcomes and "ok" in outcomes


def test_concurrent_close_calls_return_after_the_free(fixtures):
    enc = libclip.ImageEncoder(model_path(fixtures, "tiny-gelu", "hf"))
    in_call = threading.Event()
    freed: list[int] = []
    freed_when_returned: list[bool] = []
    close_handle = enc._handle._closer

    def slow_close(address: int) -> None:
        threading.Event().wait(0.2)
        close_handle(address)
        freed.append(address)

    enc._handle._closer = slow_close

    def encode() -> None:
        with enc._handle.use():  # hold the handle as a long encode call does
            in_call.set()
            threading.Event().wait(0.3)

    def close() -> None:
        in_call.wait()
        enc.close()
        freed_when_returned.append(len(freed) == 1)

    threads = [threading.Thread(target=encode)] + [threading.Thread(target=close) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert freed_when_returned == [True, True]


@pytest.mark.parametrize("cls", [libclip.ImageEncoder, libclip.TextEncoder])
def test_open_interrupted_after_c_returned_does_not_leak(fixtures, monkeypatch, cls):
    """An exception raised once the C open has returned a handle (Ctrl-C
    between two bytecodes) must not lose the handle: the encoder closes it."""
    closed: list[int] = []
    name = "lclip_image_encoder_close" if cls is libclip.ImageEncoder else "lclip_text_encoder_close"
    c_close = getattr(_lib.lib, name)
    monkeypatch.setattr(_lib.lib, name, lambda address: (closed.append(address), c_close(address)))

    def interrupted(status: int) -> None:
        assert status == 0
        raise KeyboardInterrupt

    monkeypatch.setattr(encoders, "check", interrupted)
    with pytest.raises(KeyboardInterrupt):
        cls(model_path(fixtures, "tiny-gelu", "hf"))
    assert len(closed) == 1 and closed[0]
