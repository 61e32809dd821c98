"""The log= callback: decoder warnings, messages at open, the logging default,
helper threads, and exceptions raised by the callback."""

from __future__ import annotations

import gc
import logging
import sys
import threading
import weakref
from typing import Any

import pytest

import libclip
from conftest import model_path, small_vocab_model


class Recorder:
    """A thread-safe log callback that keeps (level, message, thread id)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.records: list[tuple[int, str, int]] = []

    def __call__(self, level: int, message: str) -> None:
        with self.lock:
            self.records.append((level, message, threading.get_ident()))

    def messages(self, level: int) -> list[str]:
        return [m for lv, m, _ in self.records if lv == level]


def test_jpeg_warning_reaches_the_callback(fixtures, warning_jpeg):
    log = Recorder()
    with libclip.ImageEncoder(model_path(fixtures, "tiny-gelu", "hf"), log=log) as img:
        assert log.records == []  # an HF directory with every file: nothing to say at open
        vec = img.encode(warning_jpeg)
        original = img.encode(fixtures / "images" / "photo_chelsea_451x300_q90_420.jpg")
        (level, message, _), = log.records
        assert level is libclip.LogLevel.WARNING and level == 1
        assert "extraneous.jpg" in message and "JPEG warning" in message and "extraneous bytes" in message
        assert (vec == original).all()  # a warning, not an error
        log.records.clear()
        img.encode(warning_jpeg.read_bytes())
        assert [m for m in log.messages(libclip.LogLevel.WARNING) if "JPEG warning" in m]


def test_warnings_from_helper_threads(fixtures, warning_jpeg, run_python):
    """With threads=2, decoding runs on libclip's threads too: the callback
    is called there (and must be thread-safe). In a child: threads=N may set
    OpenBLAS's process-wide thread count."""
    script = f"""
import threading, libclip
records, lock = [], threading.Lock()
def log(level, message):
    with lock:
        records.append((level, message, threading.get_ident()))
with libclip.ImageEncoder({model_path(fixtures, "tiny-gelu", "hf")!r}, threads=2, log=log) as img:
    img.encode([{str(warning_jpeg)!r}] * 8)
jpeg = [r for r in records if "JPEG warning" in r[1]]
assert len(jpeg) == 8 and all(r[0] == libclip.LogLevel.WARNING for r in jpeg), records
print(len({{r[2] for r in jpeg}}))
"""
    assert int(run_python(script).stdout) >= 1


def test_info_at_open(fixtures, tmp_path):
    """An open_clip file without open_clip_config.json: libclip infers the
    hyperparameters and says so."""
    weights = tmp_path / "model.safetensors"
    weights.symlink_to(fixtures / "models" / "tiny-gelu" / "open_clip" / "open_clip_model.safetensors")
    log = Recorder()
    with libclip.ImageEncoder(weights, log=log) as img:
        assert img.dim == 32
    info = log.messages(libclip.LogLevel.INFO)
    assert any("hyperparameters inferred" in m and str(weights) in m for m in info), log.records


def test_no_vocabulary_is_a_warning_at_open(fixtures, tmp_path):
    log = Recorder()
    with libclip.TextEncoder(small_vocab_model(fixtures, tmp_path), log=log):
        pass
    assert any("no BPE vocabulary" in m for m in log.messages(libclip.LogLevel.WARNING)), log.records


def test_default_vocabulary_is_said_at_open(fixtures):
    """open_clip weights without a tokenizer file: libclip's own copy of
    OpenAI's vocabulary, named in the log."""
    log = Recorder()
    with libclip.TextEncoder(model_path(fixtures, "tiny-gelu", "open_clip"), log=log):
        pass
    info = log.messages(libclip.LogLevel.INFO)
    assert any("BPE vocabulary builtin:" in m for m in info), log.records


def test_default_goes_to_the_libclip_logger(fixtures, warning_jpeg, caplog):
    with caplog.at_level(logging.DEBUG, logger="libclip"):
        with libclip.ImageEncoder(model_path(fixtures, "tiny-gelu", "hf")) as img:
            img.encode(warning_jpeg)
        libclip.log_to_logging(libclip.LogLevel.INFO, "info line")
        libclip.log_to_logging(9, "a level newer than the binding")
    (record,) = [r for r in caplog.records if "JPEG warning" in r.getMessage()]
    assert record.name == "libclip" and record.levelno == logging.WARNING
    levels = {r.getMessage(): r.levelno for r in caplog.records}
    assert levels["info line"] == logging.INFO and levels["a level newer than the binding"] == logging.DEBUG


def test_log_none_drops_messages(fixtures, warning_jpeg, caplog):
    with caplog.at_level(logging.DEBUG, logger="libclip"):
        with libclip.ImageEncoder(model_path(fixtures, "tiny-gelu", "hf"), log=None) as img:
            img.encode(warning_jpeg)
    assert not [r for r in caplog.records if r.name == "libclip"]


def test_exception_in_log_is_unraisable(fixtures, warning_jpeg, monkeypatch):
    """An exception raised by log cannot stop C: ctypes reports it through
    sys.unraisablehook and the call succeeds."""
    reported: list[Any] = []
    monkeypatch.setattr(sys, "unraisablehook", reported.append)

    def log(level: int, message: str) -> None:
        raise RuntimeError(f"bad logger: {message}")

    with libclip.ImageEncoder(model_path(fixtures, "tiny-gelu", "hf"), log=log) as img:
        vec = img.encode(warning_jpeg)
        assert vec.shape == (img.dim,)
    assert len(reported) == 1 and isinstance(reported[0].exc_value, RuntimeError)
    assert "JPEG warning" in str(reported[0].exc_value)


def test_callback_lives_as_long_as_the_encoder(fixtures, warning_jpeg):
    """The encoder keeps the log callback alive while C may call it, and
    drops it when it is closed."""
    log = Recorder()
    alive = weakref.ref(log)
    img = libclip.ImageEncoder(model_path(fixtures, "tiny-gelu", "hf"), log=log)
    del log
    gc.collect()
    assert alive() is not None
    img.encode(warning_jpeg)
    assert len(alive().records) == 1
    img.close()
    gc.collect()
    assert alive() is None


def test_log_must_be_callable(fixtures):
    with pytest.raises(TypeError, match="log"):
        libclip.ImageEncoder(model_path(fixtures, "tiny-gelu", "hf"), log="stderr")
