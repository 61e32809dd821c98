"""Python callbacks run by libclip: the log callback, progress with
cancellation, and per-input errors.

Exceptions cannot cross C frames. The progress and per-input-error callbacks
keep an exception (the progress callback also cancels the C call at once),
and :meth:`BatchCall.check` raises it once C has returned.

Signals: while C runs with the GIL released, CPython only notes a signal; its
Python handler runs at the next check of the main thread's interpreter loop.
In a callback the first check is at the start of its frame, before any
``try``, so an exception the handler raises there (KeyboardInterrupt,
SystemExit from a SIGTERM handler calling sys.exit, a SIGALRM timeout) would
be printed by ctypes ("Exception ignored on calling ctypes callback") and
lost, and C would get an undefined return value. So these two callbacks run
in a generator of the call that C code resumes: a resumed generator frame
checks for signals where it stopped, inside its ``try``. The ctypes target
that does this is ``max(*args, key=generator.send)`` (see :func:`_c_target`).

The log callback cannot be a generator (libclip may call it from several
threads at once), so it stays a plain function: an exception that a signal
handler raises at the instant a log message is delivered on the main thread
is reported by ctypes through ``sys.unraisablehook`` and lost. Log messages
are rare: decoder warnings and notes at open.
"""

from __future__ import annotations

import ctypes
import enum
import functools
import logging
import threading
from collections.abc import Generator, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Callable, Optional

from . import _lib
from ._errors import ClipError, Status
from ._lib import check

__all__ = ["LogCallback", "LogLevel", "ProgressCallback", "BatchCall", "c_log_callback", "log_to_logging"]


class LogLevel(enum.IntEnum):
    """The ``lclip_log_level`` of a message, most severe first."""

    WARNING = 1
    INFO = 2


#: ``log(level, message)``: level is a :class:`LogLevel` (a plain ``int`` for
#: levels newer than this binding), message one line of text.
LogCallback = Callable[[int, str], object]
#: ``progress(done, total)``: inputs done so far and in all. Its return value
#: is ignored; an exception it raises stops the call.
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


def c_log_callback(log: Optional[LogCallback], inside: Callable[[], AbstractContextManager[None]]) -> Optional[Any]:
    """The ``lclip_log_fn`` that calls ``log`` (None: no callback), within
    ``inside()``, which marks the thread as in a callback of the encoder.
    libclip may call it from its helper threads, concurrently; an exception
    raised by ``log`` is reported through ``sys.unraisablehook`` by ctypes."""
    if log is None:
        return None
    if not callable(log):
        raise TypeError(f"log must be callable or None, not {type(log).__name__}")

    def call(user: Optional[int], level: int, message: bytes) -> None:
        with inside():
            log(_log_level(level), message.decode("utf-8", "replace"))

    return _lib.LogFn(call)


def _c_target(receiver: Generator[int, Any, None], *first: int) -> Callable[..., Any]:
    """The ctypes target that resumes ``receiver`` with a callback's
    arguments (``first`` before them), one value per resumption.

    ctypes calls its target with all the C arguments and ``send`` takes one
    value; ``max(*args, key=send)`` sends them in order without a Python
    frame of its own, and returns the first argument whose key (the value
    the receiver yields) is the largest."""
    next(receiver)  # up to its first yield
    return functools.partial(max, *first, key=receiver.send)


def _on_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


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
        self._done = 0  # inputs of the Python call finished before the current C call
        self._picked: Sequence[int] = ()
        self._raised: Optional[BaseException] = None
        #: Per-input errors, in the order they were reported.
        self.errors: list[ClipError] = []

    @contextmanager
    def options(self, picked: Sequence[int]) -> Iterator[Any]:
        """A pointer to the ``lclip_batch_options`` of one ``_ex`` call, whose
        input k is input ``picked[k]`` of the Python call. On the main thread
        the progress callback is set even without ``progress``, so that
        Ctrl-C cancels a long batch at its next pass."""
        batch = _lib.default_batch_options()  # keeps the ctypes callbacks alive
        if self._progress is not None or _on_main_thread():
            # A leading 0: max() returns it (go on) unless _on_progress
            # makes total's key the largest (stop; total > 0).
            batch.on_progress = _lib.ProgressFn(_c_target(self._receive(4, self._on_progress), 0))
        if self.each:
            batch.on_item_error = _lib.ItemErrorFn(_c_target(self._receive(4, self._on_item_error)))
        self._picked = picked
        yield ctypes.byref(batch)
        self._done += len(picked)

    def check(self, status: int) -> None:
        """After an ``_ex`` call: raises what was raised during a callback
        (the cause of LCLIP_E_CANCELLED), else ClipError for a failure."""
        if self._raised is not None:
            error, self._raised = self._raised, None
            raise error
        check(status)

    def failed(self, index: int, error: ClipError) -> None:
        """Records the failure of input ``index`` (of the Python call)."""
        error.index = index
        self.errors.append(error)

    def refused(self, index: int, error: ValueError) -> None:
        """Records an input that cannot be passed to C (a NUL character) as
        its LCLIP_E_INVALID_ARGUMENT failure. Call before any C call."""
        status = Status.E_INVALID_ARGUMENT
        self.failed(index, ClipError(status, str(error), _lib.strerror(status)))
        self._done += 1

    def progressed(self) -> None:
        """Reports an input encoded by a single C call; an exception raised
        by ``progress`` propagates."""
        self._done += 1
        if self._progress is not None:
            self._progress(self._done, self._total)

    def _receive(self, nargs: int, handle: Callable[..., int]) -> Generator[int, Any, None]:
        """Receives a callback's ``nargs`` arguments, one per resumption (see
        :func:`_c_target`), and calls ``handle`` with them; its result is
        the key of the last argument (1 if ``handle`` raised). An exception
        raised at a resumption (by a signal handler) or by ``handle`` is
        kept for :meth:`check`."""
        key = 0
        while True:
            args: list[Any] = []
            while len(args) < nargs:
                try:
                    args.append((yield key))
                except GeneratorExit:
                    return
                except BaseException as e:
                    self._keep(e)
                    args.append(None)  # the value sent with it is lost
                key = 0
            try:
                key = handle(*args)
            except BaseException as e:
                self._keep(e)
                key = 1

    def _keep(self, error: BaseException) -> None:
        if self._raised is None:
            self._raised = error

    def _on_progress(self, _zero: int, _user: None, done: int, _total: int) -> int:
        """1 (stop) once an exception has been kept."""
        if self._raised is None and self._progress is not None:
            self._progress(self._done + done, self._total)
        return int(self._raised is not None)

    def _on_item_error(self, _user: None, index: int, status: int, message: bytes) -> int:
        if self._raised is None:  # else the call raises, and an argument may be lost
            error = ClipError(status, message.decode("utf-8", "replace"), _lib.strerror(status))
            self.failed(self._picked[index], error)
        return 0
