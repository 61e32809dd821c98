"""``ImageEncoder`` and ``TextEncoder``: Python objects owning libclip handles.

Design notes:

* Each encoder owns one C handle. ``close()`` frees it deterministically; it
  waits for encode calls already running on other threads to return (the C
  API forbids closing a handle while it is in use) and makes later calls
  raise ``ValueError``, as Python's closed files do. A finaliser frees the
  handle of an encoder that is garbage-collected without being closed.
* Batches go to the batched C functions (``lclip_image_encode_files``,
  ``lclip_text_encode_batch``), which run one pass through the tower for all
  inputs instead of one per input.
* A single input returns one vector (shape ``(dim,)``); a list, tuple or other
  iterable returns a matrix (shape ``(n, dim)``), even with one element.
* ctypes releases the GIL for the duration of each C call, so several Python
  threads can encode on one encoder at the same time.
* Batch calls go through the ``_ex`` functions with a progress callback, so
  that a Python exception (Ctrl-C included) can stop them between passes; the
  same calls with per-input results back ``encode_each``.
"""

from __future__ import annotations

import ctypes
import os
import threading
import weakref
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Callable, NamedTuple, Optional, Self, Union

from . import _compat, _lib
from ._callbacks import BatchCall, LogCallback, ProgressCallback, c_log_callback, log_to_logging, sigint
from ._errors import ClipError
from ._lib import check, lib
from ._options import IMAGE_OPTIONS, TEXT_OPTIONS, PathArg, build_options, fs_path
from ._rows import Rows

__all__ = ["BatchResult", "ImageEncoder", "TextEncoder"]

if TYPE_CHECKING:
    import numpy.typing as npt

_BytesLike = (bytes, bytearray, memoryview)
#: What ImageEncoder.encode accepts as one image.
ImageItem = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview, "npt.NDArray[Any]"]
_INT_MAX = 2 ** (8 * ctypes.sizeof(ctypes.c_int) - 1) - 1


class BatchResult(NamedTuple):
    """What ``encode_each`` returns."""

    #: ``(n, dim)`` float32 (lists without numpy), a row per input in input
    #: order; the rows of failed inputs are NaN.
    embeddings: Any
    #: The failed inputs' errors in input order, each with its ``index``.
    errors: list[ClipError]


class _Handle:
    """A C handle with "in use" accounting, so that close() never frees it
    under a call running on another thread."""

    def __init__(self, address: int, closer: Callable[[int], None], kind: str, keep_alive: object) -> None:
        self._address: Optional[int] = address
        self._closer = closer
        self._kind = kind
        # What C holds a pointer to while the handle lives (the log callback).
        self._keep_alive = keep_alive
        self._users = 0
        self._freed = False
        self._cond = threading.Condition()

    @property
    def closed(self) -> bool:
        return self._address is None

    @contextmanager
    def use(self) -> Iterator[int]:
        """Yields the handle's address; ValueError if it is closed."""
        with self._cond:
            if self._address is None:
                raise ValueError(f"operation on a closed {self._kind}")
            self._users += 1
            address = self._address
        try:
            yield address
        finally:
            with self._cond:
                self._users -= 1
                if self._users == 0:
                    self._cond.notify_all()

    def close(self) -> None:
        """Frees the handle once no call uses it. Idempotent; a concurrent
        second close() also returns only after the handle has been freed."""
        with self._cond:
            address, self._address = self._address, None
            if address is None:
                while not self._freed:
                    self._cond.wait()
                return
            while self._users:
                self._cond.wait()
            self._closer(address)
            self._keep_alive = None
            self._freed = True
            self._cond.notify_all()


def _open(open_fn: Any, model_path: PathArg, opts: _lib.Options, log: Optional[LogCallback]) -> tuple[int, Any]:
    """Calls an ``lclip_*_open`` function; returns the new handle's address
    and the C log callback, which must live as long as the handle."""
    path = fs_path(model_path, "model_path")
    log_fn = c_log_callback(log)
    if log_fn is not None:
        opts.log = log_fn
    out = ctypes.c_void_p()
    with sigint.deferred():
        check(open_fn(path, ctypes.byref(opts), ctypes.byref(out)))
    assert out.value is not None
    return out.value, log_fn


class _Encoder:
    """What both encoders share: the handle, close() and the context manager."""

    def __init__(self, address: int, closer: Callable[[int], None], model_path: PathArg, log_fn: Any) -> None:
        self._handle = _Handle(address, closer, type(self).__name__, log_fn)
        self._model_path = os.fsdecode(model_path)
        # Runs close() if the encoder is collected (or at exit) while open.
        self._finalizer = weakref.finalize(self, self._handle.close)

    @property
    def model_path(self) -> str:
        """The model path the encoder was opened from."""
        return self._model_path

    @property
    def closed(self) -> bool:
        """True once :meth:`close` has been called."""
        return self._handle.closed

    def close(self) -> None:
        """Frees the C handle and unmaps the model now rather than at garbage
        collection. Waits for calls in progress on other threads; calling it
        again is a no-op; any later encode call raises ValueError. Metadata
        (``dim``, ``logit_scale``, ...) stays readable."""
        self._finalizer.detach()
        self._handle.close()

    def __enter__(self) -> Self:
        self._ensure_open()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<libclip.{type(self).__name__} {self._model_path!r} {state}>"

    def _ensure_open(self) -> None:
        with self._handle.use():
            pass

    @contextmanager
    def _calling(self) -> Iterator[int]:
        """The handle's address for C calls that may run Python callbacks
        (log, progress), with SIGINT deferred meanwhile (see _callbacks)."""
        with self._handle.use() as h, sigint.deferred():
            yield h


class ImageEncoder(_Encoder):
    """The vision tower of a CLIP checkpoint.

    Args:
        model_path: a Hugging Face CLIP directory, an open_clip/OpenAI-named
            ``.safetensors`` file, or a directory holding
            ``open_clip_model.safetensors``.
        threads: threads per encode call, libclip's own (OpenBLAS is then set
            to one thread, process-wide); 0 (default) runs on the calling
            thread and leaves OpenBLAS alone (see docs/api.md, "Threads").
        normalize: return L2-normalised embeddings (default) or the raw
            projection output.
        log: ``log(level, message)`` receives libclip's diagnostics that are
            not errors (decoder warnings, choices made at open), possibly from
            libclip's threads at once; the default passes them to the
            ``logging`` logger "libclip"; None drops them.
        **options: further ``lclip_options`` fields that concern images:
            ``max_image_pixels``, ``exif_orientation``, ``max_header_bytes``,
            ``max_tensor_count``.

    Raises:
        ClipError: the model cannot be opened (LCLIP_E_IO, LCLIP_E_FORMAT, ...).
    """

    def __init__(
        self,
        model_path: PathArg,
        threads: int = 0,
        normalize: bool = True,
        log: Optional[LogCallback] = log_to_logging,
        **options: Any,
    ) -> None:
        opts, keep_alive = build_options(IMAGE_OPTIONS, threads, normalize, **options)
        address, log_fn = _open(lib.lclip_image_encoder_open, model_path, opts, log)
        del keep_alive
        super().__init__(address, lib.lclip_image_encoder_close, model_path, log_fn)
        self._dim = int(lib.lclip_image_encoder_dim(address))
        self._image_size = int(lib.lclip_image_encoder_image_size(address))
        self._logit_scale = float(lib.lclip_image_encoder_logit_scale(address))

    @property
    def dim(self) -> int:
        """Embedding dimension."""
        return self._dim

    @property
    def image_size(self) -> int:
        """Square input resolution of the vision tower, in pixels."""
        return self._image_size

    @property
    def logit_scale(self) -> float:
        """exp(logit_scale): the multiplier of cosine similarities for
        zero-shot logits (100 for trained OpenAI models)."""
        return self._logit_scale

    def encode(
        self, items: Union[ImageItem, Iterable[ImageItem]], *, progress: Optional[ProgressCallback] = None
    ) -> Any:
        """Embeds one image or a batch of images.

        An item is a path (``str`` or ``os.PathLike``) of a PNG or JPEG file,
        the encoded file's content (``bytes``, ``bytearray``, ``memoryview``),
        or decoded pixels as a ``H x W x 3`` ``uint8`` numpy array in RGB
        order. Paths are encoded in one batched pass; bytes and arrays one
        call each (the C API has no batch form for them).

        Args:
            progress: ``progress(done, total)`` is called on this thread
                after each pass through the tower (and after each bytes or
                array item). An exception it raises stops the call and is
                re-raised; a true return value stops it with ClipError
                LCLIP_E_CANCELLED.

        Returns:
            For a single item, one vector: a float32 ndarray of shape
            ``(dim,)`` (a list of floats without numpy). For a list, tuple or
            other iterable of items (or a ``N x H x W x 3`` array), a float32
            ndarray of shape ``(n, dim)`` (a list of lists), in input order.

        Raises:
            ClipError: decoding or encoding failed (LCLIP_E_IO for a missing
                file, LCLIP_E_FORMAT for a corrupt image, ...).
            TypeError, ValueError: an item of the wrong type, dtype or shape.
        """
        batch, single = self._items(items, "encode")
        rows = self._encode_batch(batch, BatchCall(progress, len(batch), each=False))
        return rows.vector() if single else rows.matrix()

    def encode_each(
        self, items: Iterable[ImageItem], *, progress: Optional[ProgressCallback] = None
    ) -> BatchResult:
        """Embeds a batch of images as :meth:`encode` does, except that an
        image that cannot be read or decoded does not fail the call: its row
        is NaN and its ClipError (with ``index``) is in ``errors``.

        Failures that are not one image's (out of memory for the batch,
        cancellation) still raise, as do the TypeError and ValueError of
        :meth:`encode` for items of the wrong type, dtype or shape.
        """
        batch, single = self._items(items, "encode_each")
        if single:
            raise TypeError("encode_each() takes an iterable of images; use encode() for one image")
        call = BatchCall(progress, len(batch), each=True)
        rows = self._encode_batch(batch, call)
        return BatchResult(rows.matrix(), sorted(call.errors, key=lambda e: e.index))

    def encode_rgb(self, pixels: Union[bytes, bytearray, memoryview], width: int, height: int, stride: int = 0) -> Any:
        """Embeds raw 8-bit RGB pixels without numpy: row ``r`` starts at byte
        ``r * stride`` (``stride`` 0 means ``3 * width``). Returns one vector,
        as :meth:`encode` does for a single item."""
        width, height = _dimension(width, "width"), _dimension(height, "height")
        stride = int(stride) or 3 * width
        if stride < 3 * width:
            raise ValueError(f"stride {stride} is smaller than 3 * width ({3 * width})")
        buffer, size = _c_buffer(pixels)
        needed = stride * (height - 1) + 3 * width
        if size < needed:
            raise ValueError(f"{size} bytes of pixels are fewer than the {needed} that {width}x{height} RGB needs")
        rows = Rows(1, self._dim)
        with self._calling() as h:
            check(lib.lclip_image_encode_rgb(h, buffer, width, height, stride, rows.ptr()))
        return rows.vector()

    def preprocess(self, path: PathArg) -> Any:
        """The model's input tensor for an image file, exactly as the encoder
        computes it: float32 of shape ``(3, image_size, image_size)``, channels
        R, G, B, normalised with the model's mean and std (nested lists
        without numpy). Useful to compare with another pipeline."""
        raw = fs_path(path, "path")
        size = self._image_size
        rows = Rows(1, 3 * size * size)
        with self._calling() as h:
            check(lib.lclip_image_preprocess_file(h, raw, rows.ptr()))
        return rows.tensor((3, size, size))

    def _items(self, items: Any, method: str) -> tuple[list[Any], bool]:
        """The images of an encode call as a list, and whether ``items`` was
        a single image."""
        np = _compat.numpy
        if _is_single_image(items):
            return [items], True
        if np is not None and isinstance(items, np.ndarray):
            if items.ndim != 4:
                raise ValueError(
                    f"an image array must be H x W x 3 (or N x H x W x 3 for a batch), got shape {items.shape}"
                )
            return list(items), False
        if not isinstance(items, Iterable):
            raise TypeError(
                f"{method}() takes a path, bytes, an H x W x 3 uint8 array, or an iterable of those; "
                f"got {type(items).__name__}"
            )
        return list(items), False

    def _encode_batch(self, items: list[Any], call: BatchCall) -> Rows:
        """Encodes items into an (n, dim) block, paths in one batched call."""
        # Validate and convert everything before the first C call, so that a
        # bad item fails fast instead of after an expensive batch.
        paths: list[tuple[int, bytes]] = []
        others: list[tuple[int, Any]] = []
        for i, item in enumerate(items):
            if isinstance(item, (str, os.PathLike)):
                paths.append((i, fs_path(item, f"image {i}")))
            elif isinstance(item, _BytesLike):
                others.append((i, _c_buffer(item)))
            else:
                others.append((i, _rgb_array(item, i)))
        out = Rows(len(items), self._dim)
        with self._calling() as h:
            if paths:
                names = (ctypes.c_char_p * len(paths))(*(p for _, p in paths))
                whole = len(paths) == len(items)
                target = out if whole else Rows(len(paths), self._dim)
                with call.options(None if whole else [i for i, _ in paths]) as batch:
                    call.check(lib.lclip_image_encode_files_ex(h, names, len(paths), target.ptr(), batch))
                if not whole:
                    for k, (i, _) in enumerate(paths):
                        out.copy_row_from(i, target, k)
            for done, (i, prepared) in enumerate(others, len(paths) + 1):
                try:
                    if isinstance(prepared, tuple):
                        buffer, size = prepared
                        check(lib.lclip_image_encode_memory(h, buffer, size, out.ptr(i)))
                    else:
                        array, stride = prepared.array, prepared.stride
                        height, width = array.shape[0], array.shape[1]
                        check(lib.lclip_image_encode_rgb(h, array.ctypes.data, width, height, stride, out.ptr(i)))
                except ClipError as e:
                    if not call.each:
                        raise
                    # A single-input call's failure is that input's.
                    call.failed(i, e)
                    out.fill_nan(i)
                call.progressed(done)
        return out


class TextEncoder(_Encoder):
    """The text tower and tokenizer of a CLIP checkpoint.

    Args:
        model_path: as for :class:`ImageEncoder`.
        threads: as for :class:`ImageEncoder`.
        normalize: return L2-normalised embeddings (default) or the raw
            projection output.
        vocab_path: ``bpe_simple_vocab_16e6.txt.gz`` for checkpoints without
            a vocabulary beside the weights (open_clip / OpenAI layout).
            None: look beside the weights. With no vocabulary at all the
            encoder opens, but only :meth:`encode_tokens` works.
        truncate: cut texts longer than the context as ``clip.tokenize
            (truncate=True)`` does; False makes them LCLIP_E_TOO_LARGE.
        log: as for :class:`ImageEncoder`.
        **options: ``max_text_bytes``, ``max_header_bytes``, ``max_tensor_count``.
    """

    def __init__(
        self,
        model_path: PathArg,
        threads: int = 0,
        normalize: bool = True,
        vocab_path: Optional[PathArg] = None,
        truncate: bool = True,
        log: Optional[LogCallback] = log_to_logging,
        **options: Any,
    ) -> None:
        opts, keep_alive = build_options(
            TEXT_OPTIONS, threads, normalize, vocab_path=vocab_path, truncate_text=truncate, **options
        )
        address, log_fn = _open(lib.lclip_text_encoder_open, model_path, opts, log)
        del keep_alive  # the library copied vocab_path at open
        super().__init__(address, lib.lclip_text_encoder_close, model_path, log_fn)
        self._dim = int(lib.lclip_text_encoder_dim(address))
        self._context_length = int(lib.lclip_text_encoder_context_length(address))
        self._logit_scale = float(lib.lclip_text_encoder_logit_scale(address))

    @property
    def dim(self) -> int:
        """Embedding dimension."""
        return self._dim

    @property
    def context_length(self) -> int:
        """Tokens per text, start and end tokens included (77 for CLIP)."""
        return self._context_length

    @property
    def logit_scale(self) -> float:
        """exp(logit_scale), the zero-shot multiplier of cosine similarities."""
        return self._logit_scale

    def encode(self, texts: Union[str, Iterable[str]], *, progress: Optional[ProgressCallback] = None) -> Any:
        """Embeds one text or a batch of texts (one batched C call).

        Args:
            progress: as for :meth:`ImageEncoder.encode`, called after each
                pass through the tower.

        Returns:
            For a ``str``, a float32 ndarray of shape ``(dim,)`` (list of
            floats without numpy); for an iterable of ``str``, shape
            ``(n, dim)`` (list of lists), in input order.

        Raises:
            UnicodeEncodeError: a text holds a lone surrogate (e.g. from
                ``surrogateescape`` decoding) and so has no UTF-8 form.
            ValueError: a text contains a NUL character (C strings end there).
            ClipError: e.g. LCLIP_E_TOO_LARGE (over ``max_text_bytes``, or too
                long with ``truncate=False``), LCLIP_E_UNSUPPORTED (no vocabulary).
        """
        if isinstance(texts, str):
            return self._encode_batch([_utf8(texts, None)], BatchCall(progress, 1, each=False)).vector()
        if isinstance(texts, _BytesLike) or not isinstance(texts, Iterable):
            raise TypeError(f"encode() takes a str or an iterable of str, not {type(texts).__name__}")
        raw = [_utf8(t, i) for i, t in enumerate(texts)]
        return self._encode_batch(raw, BatchCall(progress, len(raw), each=False)).matrix()

    def encode_each(self, texts: Iterable[str], *, progress: Optional[ProgressCallback] = None) -> BatchResult:
        """Embeds a batch of texts as :meth:`encode` does, except that a text
        the library refuses (LCLIP_E_TOO_LARGE: over ``max_text_bytes``, or
        too long with ``truncate=False``) does not fail the call: its row is
        NaN and its ClipError (with ``index``) is in ``errors``. On an encoder
        without a vocabulary, every text fails so (LCLIP_E_UNSUPPORTED).

        Failures that are not one text's still raise, as do the TypeError,
        ValueError and UnicodeEncodeError of :meth:`encode`, raised before
        any text is encoded.
        """
        if isinstance(texts, (str,) + _BytesLike) or not isinstance(texts, Iterable):
            raise TypeError(f"encode_each() takes an iterable of str, not {type(texts).__name__}")
        raw = [_utf8(t, i) for i, t in enumerate(texts)]
        call = BatchCall(progress, len(raw), each=True)
        rows = self._encode_batch(raw, call)
        return BatchResult(rows.matrix(), call.errors)

    def tokenize(self, text: str) -> list[int]:
        """The token ids of ``text`` exactly as the reference ``clip.tokenize``:
        start token 49406, the text's ids, end token 49407, then zeros up to
        :attr:`context_length` (the list always has that length)."""
        raw = _utf8(text, None)
        n = self._context_length
        tokens = (ctypes.c_int32 * n)()
        with self._handle.use() as h:
            check(lib.lclip_tokenize(h, raw, tokens, n, None))
        return list(tokens)

    def encode_tokens(self, tokens: Any, *, progress: Optional[ProgressCallback] = None) -> Any:
        """Embeds already-tokenized texts: one row of :attr:`context_length`
        ids as :meth:`tokenize` returns it (gives a ``(dim,)`` vector), or a
        sequence / 2-D array of such rows (gives ``(n, dim)``). Works also
        when the encoder was opened without a vocabulary. ``progress`` as
        for :meth:`encode`."""
        rows = tokens.tolist() if hasattr(tokens, "tolist") else list(tokens)
        single = bool(rows) and not isinstance(rows[0], Iterable)
        if single:
            rows = [rows]
        n, ctx = len(rows), self._context_length
        flat: list[int] = []
        for i, row in enumerate(rows):
            row = list(row)
            if len(row) != ctx:
                raise ValueError(f"token row {i} has {len(row)} ids, the context length is {ctx}")
            for t in row:
                if isinstance(t, bool) or not isinstance(t, int):
                    raise TypeError(f"token ids must be int, not {type(t).__name__}")
                if not -(2**31) <= t < 2**31:
                    raise ValueError(f"token id {t} does not fit int32")
            flat.extend(row)
        ids = (ctypes.c_int32 * max(len(flat), 1))(*flat)
        out = Rows(n, self._dim)
        call = BatchCall(progress, n, each=False)
        with self._calling() as h:
            if n:
                with call.options() as batch:
                    call.check(lib.lclip_text_encode_tokens_ex(h, ids, n, out.ptr(), batch))
        return out.vector() if single else out.matrix()

    def _encode_batch(self, raw: list[bytes], call: BatchCall) -> Rows:
        out = Rows(len(raw), self._dim)
        array = (ctypes.c_char_p * max(len(raw), 1))(*raw)
        with self._calling() as h:
            if raw:
                with call.options() as batch:
                    call.check(lib.lclip_text_encode_batch_ex(h, array, len(raw), out.ptr(), batch))
        return out


# ---------------------------------------------------------------------------
# Input conversion helpers.


class _RGB:
    """A validated pixel array and the row stride to pass with it."""

    __slots__ = ("array", "stride")

    def __init__(self, array: Any, stride: int) -> None:
        self.array = array
        self.stride = stride


def _is_single_image(item: Any) -> bool:
    if isinstance(item, (str, os.PathLike) + _BytesLike):
        return True
    np = _compat.numpy
    return np is not None and isinstance(item, np.ndarray) and item.ndim == 3


def _dimension(value: Any, what: str) -> int:
    value = int(value)
    if not 1 <= value <= _INT_MAX:
        raise ValueError(f"image {what} must be between 1 and {_INT_MAX}, got {value}")
    return value


def _c_buffer(data: Union[bytes, bytearray, memoryview]) -> tuple[Any, int]:
    """A pointer-compatible view of bytes-like data and its size in bytes,
    without copying when the buffer allows it (bytes, bytearray, writable
    contiguous memoryviews)."""
    if isinstance(data, bytes):
        return data, len(data)
    view = memoryview(data)
    if not view.c_contiguous:
        view = memoryview(view.tobytes())
    view = view.cast("B")
    size = view.nbytes
    if size == 0:
        return b"", 0
    if view.readonly:
        return view.tobytes(), size
    return (ctypes.c_char * size).from_buffer(view), size


def _rgb_array(item: Any, index: int) -> _RGB:
    """Checks an ``H x W x 3`` uint8 array and picks a layout the C function
    can read: C-contiguous, or rows of packed pixels with a larger row stride
    (a crop of a bigger image is passed without copying)."""
    np = _compat.numpy
    if np is None or not isinstance(item, np.ndarray):
        raise TypeError(
            f"image {index}: expected a path (str or os.PathLike), bytes, or an H x W x 3 uint8 "
            f"numpy array, got {type(item).__name__}"
        )
    if item.dtype != np.uint8:
        raise TypeError(f"image {index}: pixel arrays must have dtype uint8, got {item.dtype}")
    if item.ndim != 3 or item.shape[2] != 3:
        raise ValueError(f"image {index}: pixel arrays must have shape H x W x 3 (RGB), got {item.shape}")
    _dimension(item.shape[0], "height")
    width = _dimension(item.shape[1], "width")
    s0, s1, s2 = item.strides
    if item.flags.c_contiguous:
        return _RGB(item, 3 * width)
    if s2 == 1 and s1 == 3 and s0 >= 3 * width:
        return _RGB(item, s0)
    return _RGB(np.ascontiguousarray(item), 3 * width)


def _utf8(text: Any, index: Optional[int]) -> bytes:
    """``text`` as NUL-terminated-safe UTF-8 for the C library."""
    where = "text" if index is None else f"text {index}"
    if not isinstance(text, str):
        raise TypeError(f"{where} must be a str, not {type(text).__name__}")
    try:
        raw = text.encode("utf-8")
    except UnicodeEncodeError as e:
        e.add_note(f"libclip: {where} contains a lone surrogate and has no UTF-8 form")
        raise
    if b"\0" in raw:
        raise ValueError(f"{where} contains a NUL character, which C strings cannot hold")
    return raw
