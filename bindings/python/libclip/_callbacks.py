"""Python callbacks run by libclip: the log callback, progress with
cancellation, per-input errors, and Ctrl-C while C runs.

Exceptions cannot cross C frames, so every callback here either keeps the
exception for the caller's thread (progress, per-input errors: stored, the C
call is cancelled, and :meth:`BatchCall.check` re-raises it once C has
returned) or lets ctypes report it as unraisable (log messages, which cannot
cancel anything).

Ctrl-C: while C runs with the GIL released, CPython only notes the SIGINT;
its handler then runs at the first Python code on the main thread, which is
the entry of the next callback, before any ``try`` in it can catch the
KeyboardInterrupt (ctypes would print and drop it). So while the main thread
is in a libclip call, :data:`sigint` swaps the SIGINT handler for one that
only notes the signal, and runs the original handler inside the progress
callback's ``try`` (cancelling the batch) or when the call returns.
"""

from __future__ import annotations

import ctypes
import enum
import logging
import signal
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import FrameType
from typing import Any, Callable, Optional

from . import _lib
from ._errors import ClipError, Status
from ._lib import check

__all__ = ["LogCallback", "LogLevel", "ProgressCallback", "BatchCall", "c_log_callback", "log_to_logging", "sigint"]


class LogLevel(enum.IntEnum):
    """The ``lclip_log_level`` of a message, most severe first."""

    WARNING = 1
    INFO = 2


#: ``log(level, message)``: level is a :class:`LogLevel` (a plain ``int`` for
#: levels newer than this binding), message one line of text.
LogCallback = Callable[[int, str], object]
#: ``progress(done, total)``: inputs done so far and in all; a true return
#: value cancels the call.
ProgressCallback = Callable[[int, int], object]

logger = logging.getLogger("libclip")
# A library leaves output to the application's logging configuration.
logger.addHandler(logging.NullHandler())
_LOGGING_LEVELS = {LogLevel.WARNING: logging.WARNING, LogLevel.INFO: logging.INFO}


def log_to_logging(level: int, message: str) -> None:
    """The encoders' default ``log``: libclip's messages go to the
    :mod:`logging` logger ``"libclip"`` (LogLevel.WARNING as
    logging.WARNING, LogLevel.INFO as logging.INFO)."""
    logger.log(_LOGGING_LEVELS.get(level, logging.DEBUG), message)


def _log_level(level: int) -> int:
    try:
        return LogLevel(level)
    except ValueError:
        return level


def c_log_callback(log: Optional[LogCallback]) -> Optional[Any]:
    """The ``lclip_log_fn`` that calls ``log`` (None: no callback). libclip may
    call it from its helper threads, concurrently; an exception raised by
    ``log`` is reported through ``sys.unraisablehook`` by ctypes."""
    if log is None:
        return None
    if not callable(log):
        raise TypeError(f"log must be callable or None, not {type(log).__name__}")

    def call(user: Optional[int], level: int, message: bytes) -> None:
        log(_log_level(level), message.decode("utf-8", "replace"))

    return _lib.LogFn(call)


def _on_main_thread() -> bool:
    return threading.get_ident() == threading.main_thread().ident


class _SigintDeferral:
    """The main thread's SIGINT handling during libclip calls (see the module
    docstring). Only the main thread runs Python signal handlers, so only it
    needs this, and its state needs no lock."""

    def __init__(self) -> None:
        self._depth = 0  # nested calls: a callback may call libclip again
        self._original: Any = None
        self._pending: Optional[tuple[int, Optional[FrameType]]] = None

    def _note(self, signum: int, frame: Optional[FrameType]) -> None:
        if self._pending is None:
            self._pending = (signum, frame)

    @contextmanager
    def deferred(self) -> Iterator[None]:
        """The scope of a libclip call."""
        if not _on_main_thread():
            yield
            return
        if self._depth == 0:
            handler = signal.getsignal(signal.SIGINT)
            if not callable(handler):  # SIG_DFL, SIG_IGN, or not set from Python
                yield
                return
            self._original = handler
            signal.signal(signal.SIGINT, self._note)
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1
            if self._depth == 0:
                signal.signal(signal.SIGINT, self._original)
                self.deliver()

    def deliver(self) -> None:
        """On the main thread, runs the original handler for a SIGINT noted
        so far; the default handler raises KeyboardInterrupt here."""
        if not _on_main_thread():
            return
        pending, self._pending = self._pending, None
        if pending is not None:
            self._original(*pending)


sigint = _SigintDeferral()


class BatchCall:
    """The ``lclip_batch_options`` callbacks of one Python-level batch call,
    which may span one ``_ex`` call and further single-input calls (an image
    list mixing paths with bytes or arrays).

    Args:
        progress: the caller's progress callback, or None.
        total: the inputs of the whole Python call (progress's ``total``).
        each: collect per-input errors (``encode_each``) instead of failing.
    """

    def __init__(self, progress: Optional[ProgressCallback], total: int, each: bool) -> None:
        if progress is not None and not callable(progress):
            raise TypeError(f"progress must be callable or None, not {type(progress).__name__}")
        self._progress = progress
        self._total = total
        self.each = each
        self._indices: Optional[Sequence[int]] = None
        self._raised: Optional[BaseException] = None
        #: Per-input errors, in the order they were reported.
        self.errors: list[ClipError] = []

    @contextmanager
    def options(self, indices: Optional[Sequence[int]] = None) -> Iterator[Any]:
        """A pointer to the ``lclip_batch_options`` of one ``_ex`` call, whose
        input k is input ``indices[k]`` of the Python call (None: input k).
        The progress callback is always set, even without ``progress``, so
        that Ctrl-C cancels a long batch."""
        batch = _lib.default_batch_options()
        batch.on_progress = _PROGRESS
        if self.each:
            batch.on_item_error = _ITEM_ERROR
        key = id(self)
        batch.user = key
        self._indices = indices
        _active[key] = self
        try:
            yield ctypes.byref(batch)
        finally:
            del _active[key]

    def check(self, status: int) -> None:
        """After an ``_ex`` call: re-raises what a callback raised (the
        cause of LCLIP_E_CANCELLED), else raises ClipError for a failure."""
        if self._raised is not None:
            error, self._raised = self._raised, None
            raise error
        check(status)

    def failed(self, index: int, error: ClipError) -> None:
        """Records the failure of input ``index`` (of the Python call)."""
        error.index = index
        self.errors.append(error)

    def progressed(self, done: int) -> None:
        """Reports progress made in Python (an input encoded by a single C
        call): exceptions propagate, a true return value cancels."""
        sigint.deliver()
        if self._progress is not None and self._progress(done, self._total):
            raise ClipError(
                Status.E_CANCELLED,
                f"cancelled by the progress callback after {done} of {self._total} inputs",
                _lib.strerror(Status.E_CANCELLED),
            )

    def _on_progress(self, done: int) -> int:
        try:
            sigint.deliver()
            # An _ex call runs before any single-input call of the same
            # Python call, so its count is the Python call's count.
            if self._progress is not None and self._progress(done, self._total):
                return 1
        except BaseException as e:  # KeyboardInterrupt included: cancel, re-raise in check()
            self._raised = e
            return 1
        return 0

    def _on_item_error(self, index: int, status: int, message: bytes) -> None:
        try:
            at = index if self._indices is None else self._indices[index]
            self.failed(at, ClipError(status, message.decode("utf-8", "replace"), _lib.strerror(status)))
        except BaseException as e:  # cannot cancel from here: re-raised in check()
            if self._raised is None:
                self._raised = e


# The C callbacks are created once; ``user`` names the BatchCall they serve.
_active: dict[int, BatchCall] = {}
_PROGRESS = _lib.ProgressFn(lambda user, done, total: _active[user]._on_progress(done))
_ITEM_ERROR = _lib.ItemErrorFn(lambda user, index, status, message: _active[user]._on_item_error(index, status, message))
