"""``ImageEncoder`` and ``TextEncoder``: Python objects owning libclip handles.

Design notes:

* Each encoder owns one C handle. ``close()`` frees it deterministically; it
  waits for encode calls already running on other threads to return (the C
  API forbids closing a handle while it is in use) and makes later calls
  raise ``ValueError``, as Python's closed files do. A finaliser frees the
  handle of an encoder that is garbage-collected without being closed.
* Batches go to the ``_ex`` batch functions (``lclip_image_encode_files_ex``,
  ``lclip_text_encode_batch_ex``, ``lclip_text_encode_tokens_ex``): one C
  call per batch, which runs the inputs through the tower in passes of
  several inputs instead of one pass per input. Their callbacks report
  progress, let a Python exception (Ctrl-C included) stop the call between
  passes, and give ``encode_each`` its per-input results.
* A single input returns one vector (shape ``(dim,)``); a list, tuple or other
  iterable returns a matrix (shape ``(n, dim)``), even with one element.
* ctypes releases the GIL for the duration of each C call, so several Python
  threads can encode on one encoder at the same time.
"""

from __future__ import annotations

import ctypes
import os
import threading
import weakref
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Callable, NamedTuple, Optional, Self, Union

from . import _compat, _lib
from ._callbacks import BatchCall, LogCallback, ProgressCallback, c_log_callback, log_to_logging
from ._errors import ClipError
from ._lib import check, lib
from ._options import IMAGE_OPTIONS, TEXT_OPTIONS, Engine, NulError, PathArg, Precision, build_options, fs_path
from ._rows import Rows

__all__ = ["BatchResult", "ImageEncoder", "TextEncoder"]

if TYPE_CHECKING:
    import numpy.typing as npt

_BytesLike = (bytes, bytearray, memoryview)
#: What ImageEncoder.encode accepts as one image.
ImageItem = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview, "npt.NDArray[Any]"]
_INT_MAX = 2 ** (8 * ctypes.sizeof(ctypes.c_int) - 1) - 1


class BatchResult(NamedTuple):
    """What ``encode_each`` and ``encode_tokens_each`` return."""

    #: ``(n, dim)`` float32 (lists without numpy), a row per input in input
    #: order; the rows of failed inputs are NaN.
    embeddings: Any
    #: The failed inputs' errors in input order, each with its ``index``.
    errors: list[ClipError]


class _Handle:
    """A C handle with "in use" accounting, so that close() never frees it
    under a call running on another thread, nor waits for a call that its
    own thread is making (from a callback of that call)."""

    def __init__(self, kind: str, closer: Callable[[int], None]) -> None:
        # The open call writes the address here itself: an exception raised
        # once C has returned cannot leave the handle without an owner.
        self._ptr = ctypes.c_void_p()
        self._closer = closer
        self._kind = kind
        # What C holds a pointer to while the handle lives (the log callback).
        self._keep_alive: object = None
        self._closing = False
        self._users = 0
        # Threads in a call or callback of the handle: ident -> depth.
        self._threads: dict[int, int] = {}
        self._cond = threading.Condition()

    def open(self, open_fn: Any, path: bytes, opts: _lib.Options, log: Optional[LogCallback]) -> None:
        """Calls an ``lclip_*_open`` function into this handle."""
        self._keep_alive = c_log_callback(log, self.inside)
        if self._keep_alive is not None:
            opts.log = self._keep_alive
        self.create(lambda out: open_fn(path, ctypes.byref(opts), out))

    def create(self, make: Callable[[Any], int]) -> None:
        """Calls ``make(out)``, a C function returning an ``lclip_status``
        that writes a new handle's address through the pointer ``out``."""
        with self.inside():
            check(make(ctypes.byref(self._ptr)))

    @property
    def closed(self) -> bool:
        return self._closing or self._ptr.value is None

    @contextmanager
    def inside(self) -> Iterator[None]:
        """Marks the calling thread as in a call or callback of the handle."""
        ident = threading.get_ident()
        with self._cond:
            self._threads[ident] = self._threads.get(ident, 0) + 1
        try:
            yield
        finally:
            with self._cond:
                self._threads[ident] -= 1
                if not self._threads[ident]:
                    del self._threads[ident]

    @contextmanager
    def use(self) -> Iterator[int]:
        """Yields the handle's address; ValueError if it is closed."""
        with self._cond:
            if self.closed:
                raise ValueError(f"operation on a closed {self._kind}")
            self._users += 1
        try:
            with self.inside():
                yield self._ptr.value
        finally:
            with self._cond:
                self._users -= 1
                if self._users == 0:
                    self._cond.notify_all()

    def close(self) -> None:
        """Frees the handle once no call uses it. Idempotent; a concurrent
        second close() also returns only after the handle has been freed."""
        with self._cond:
            if threading.get_ident() in self._threads:
                raise RuntimeError(
                    f"close() of a {self._kind} inside one of its own calls (from a progress, "
                    f"per-input error or log callback) would wait for that call forever; "
                    f"close it once the call has returned"
                )
            self._closing = True
            while self._users:
                self._cond.wait()
            address, self._ptr.value = self._ptr.value, None
            if address is not None:
                self._closer(address)
            self._keep_alive = None


class _Encoder:
    """What both encoders share: the handle, close() and the context manager."""

    def __init__(
        self, open_fn: Any, closer: Callable[[int], None], model_path: PathArg, opts: _lib.Options,
        log: Optional[LogCallback],
    ) -> None:
        path = fs_path(model_path, "model_path")
        self._model_path = os.fsdecode(model_path)
        self._handle = _Handle(type(self).__name__, closer)
        # Runs close() if the encoder is collected (or at exit) while open;
        # registered before the open, so that it also covers an open that
        # succeeded in C but is interrupted before __init__ returns.
        self._finalizer = weakref.finalize(self, self._handle.close)
        try:
            self._handle.open(open_fn, path, opts, log)
        except BaseException:
            self.close()
            raise

    @property
    def model_path(self) -> str:
        """The model path the encoder was opened from."""
        return self._model_path

    @property
    def closed(self) -> bool:
        """True once :meth:`close` has been called."""
        return self._handle.closed

    def describe_string(self) -> str:
        """``lclip_*_encoder_describe()``: what the encoder runs on, as
        space-separated "key=value" fields, e.g. ``"engine=onednn
        isa=avx512_core_bf16 precision=bf16 packed_bytes=176160768
        threads=0"`` or ``"engine=cblas precision=f32 blas=OpenBLAS
        kernels=Haswell threads=0"``. Read at open; stays readable after
        :meth:`close`."""
        return self._description

    def describe(self) -> dict[str, str]:
        """:meth:`describe_string` as a dict, e.g. ``{"engine": "cblas",
        "precision": "f32", "blas": "OpenBLAS", ...}``. ``engine`` and
        ``precision`` are always there (the values of :class:`Engine` and
        :class:`Precision` the encoder got; never ``"auto"``); other keys
        depend on the engine and may be added by newer libraries."""
        return _lib.key_values(self._description, " ")

    def close(self) -> None:
        """Frees the C handle and unmaps the model now rather than at garbage
        collection. Waits for calls in progress on other threads; calling it
        again is a no-op; any later encode call raises ValueError. Metadata
        (``dim``, ``logit_scale``, ...) stays readable.

        Raises:
            RuntimeError: called from a callback (``progress``, ``log``) of
                a call on this encoder, which close() would wait for forever.
        """
        self._handle.close()
        self._finalizer.detach()

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


class ImageEncoder(_Encoder):
    """The vision tower of a CLIP checkpoint.

    Args:
        model_path: a Hugging Face CLIP directory, an open_clip/OpenAI-named
            ``.safetensors`` file, or a directory holding
            ``open_clip_model.safetensors``.
        threads: threads per encode call, libclip's own (on the CBLAS engine
            OpenBLAS is then set to one thread, process-wide); 0 (default)
            runs on the calling thread and leaves OpenBLAS alone (see
            docs/api.md, "Threads").
        normalize: return L2-normalised embeddings (default) or the raw
            projection output.
        log: ``log(level, message)`` receives libclip's diagnostics that are
            not errors (decoder warnings, choices made at open), possibly from
            libclip's threads at once; the default passes them to the
            ``logging`` logger "libclip"; None drops them.
        engine: what runs the matrix products, an :class:`Engine` or its
            name: ``"auto"`` (default: oneDNN when the library has it and
            it runs on this CPU, else CBLAS), ``"cblas"`` or ``"onednn"``.
            :meth:`describe` tells which one the encoder got.
        precision: ``"f32"`` (default) or ``"bf16"`` (a :class:`Precision`):
            bfloat16 weights and product inputs with float32 accumulation,
            on oneDNN with a CPU that has bfloat16 instructions only.
        **options: further ``lclip_options`` fields that concern images:
            ``max_image_pixels``, ``exif_orientation``, ``max_header_bytes``,
            ``max_tensor_count``.

    Raises:
        ClipError: the model cannot be opened (LCLIP_E_IO, LCLIP_E_FORMAT,
            ...), or the library cannot run the engine or precision asked
            for (LCLIP_E_UNSUPPORTED: built without oneDNN, or "bf16" on a
            CPU without bfloat16 instructions).
        TypeError, ValueError: an engine or precision that is not one of
            the names above.
    """

    def __init__(
        self,
        model_path: PathArg,
        threads: int = 0,
        normalize: bool = True,
        log: Optional[LogCallback] = log_to_logging,
        *,
        engine: Union[Engine, str] = Engine.AUTO,
        precision: Union[Precision, str] = Precision.F32,
        **options: Any,
    ) -> None:
        opts, keep_alive = build_options(IMAGE_OPTIONS, threads, normalize, engine, precision, **options)
        super().__init__(lib.lclip_image_encoder_open, lib.lclip_image_encoder_close, model_path, opts, log)
        del keep_alive
        with self._handle.use() as h:
            self._dim = int(lib.lclip_image_encoder_dim(h))
            self._image_size = int(lib.lclip_image_encoder_image_size(h))
            self._logit_scale = float(lib.lclip_image_encoder_logit_scale(h))
            self._description = lib.lclip_image_encoder_describe(h).decode("utf-8", "replace")

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

        An item is a path (``str`` or ``os.PathLike``) of a PNG, JPEG, WebP,
        GIF or BMP file, the encoded file's content (``bytes``, ``bytearray``, ``memoryview``),
        or decoded pixels as a ``H x W x 3`` ``uint8`` numpy array in RGB
        order. The paths of a call go to one batched C call, which runs them
        through the tower in passes of several images; bytes and arrays are
        encoded one call each (the C API has no batch form for them).

        Args:
            progress: ``progress(done, total)`` is called on this thread
                after each pass through the tower (and after each bytes or
                array item); its return value is ignored. An exception it
                raises stops the call after that pass and is raised by
                ``encode`` once C has returned.

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
        image that cannot be read or decoded, or a path with a NUL character,
        does not fail the call: its row is NaN and its ClipError (with
        ``index``; LCLIP_E_INVALID_ARGUMENT for the NUL) is in ``errors``.

        Failures that are not one image's (out of memory for the batch, an
        exception from ``progress``, Ctrl-C) still raise, as do the
        TypeError and ValueError of :meth:`encode` for items of the wrong
        type, dtype or shape.
        """
        batch, single = self._items(items, "encode_each")
        if single:
            raise TypeError("encode_each() takes an iterable of images; use encode() for one image")
        call = BatchCall(progress, len(batch), each=True)
        return _result(self._encode_batch(batch, call), call)

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
        with self._handle.use() as h:
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
        with self._handle.use() as h:
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
        refused: list[tuple[int, NulError]] = []
        for i, item in enumerate(items):
            if isinstance(item, (str, os.PathLike)):
                try:
                    paths.append((i, fs_path(item, f"image {i}")))
                except NulError as e:
                    if not call.each:
                        raise
                    refused.append((i, e))
            elif isinstance(item, _BytesLike):
                others.append((i, _c_buffer(item)))
            else:
                others.append((i, _rgb_array(item, i)))
        out = _refuse(Rows(len(items), self._dim), refused, call)
        with self._handle.use() as h:
            if paths:
                names = (ctypes.c_char_p * len(paths))(*(p for _, p in paths))
                _run_ex(call, out, [i for i, _ in paths],
                        lambda rows, batch: lib.lclip_image_encode_files_ex(h, names, len(paths), rows.ptr(), batch))
            for i, prepared in others:
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
                call.progressed()
        return out


class TextEncoder(_Encoder):
    """The text tower and tokenizer of a CLIP checkpoint.

    Args:
        model_path: as for :class:`ImageEncoder`.
        threads: as for :class:`ImageEncoder`.
        normalize: return L2-normalised embeddings (default) or the raw
            projection output.
        vocab_path: a ``bpe_simple_vocab_16e6.txt.gz`` (or a directory
            holding it or vocab.json + merges.txt). None: the vocabulary
            beside the weights, else libclip's own installed copy of
            OpenAI's (``describe()["vocab"]`` says which). With no
            vocabulary at all the encoder opens, but only
            :meth:`encode_tokens` works.
        truncate: cut texts longer than the context as ``clip.tokenize
            (truncate=True)`` does; False makes them LCLIP_E_TOO_LARGE.
        log: as for :class:`ImageEncoder`.
        engine, precision: as for :class:`ImageEncoder`.
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
        *,
        engine: Union[Engine, str] = Engine.AUTO,
        precision: Union[Precision, str] = Precision.F32,
        **options: Any,
    ) -> None:
        opts, keep_alive = build_options(
            TEXT_OPTIONS, threads, normalize, engine, precision, vocab_path=vocab_path, truncate_text=truncate,
            **options,
        )
        super().__init__(lib.lclip_text_encoder_open, lib.lclip_text_encoder_close, model_path, opts, log)
        del keep_alive  # the library copied vocab_path at open
        with self._handle.use() as h:
            self._dim = int(lib.lclip_text_encoder_dim(h))
            self._context_length = int(lib.lclip_text_encoder_context_length(h))
            self._logit_scale = float(lib.lclip_text_encoder_logit_scale(h))
            self._description = lib.lclip_text_encoder_describe(h).decode("utf-8", "replace")

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
        """Embeds one text or a batch of texts (one batched C call, which runs
        the texts through the tower in passes).

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
            return self._encode_batch([texts], BatchCall(progress, 1, each=False), single=True).vector()
        if isinstance(texts, _BytesLike) or not isinstance(texts, Iterable):
            raise TypeError(f"encode() takes a str or an iterable of str, not {type(texts).__name__}")
        texts = list(texts)
        return self._encode_batch(texts, BatchCall(progress, len(texts), each=False)).matrix()

    def encode_each(self, texts: Iterable[str], *, progress: Optional[ProgressCallback] = None) -> BatchResult:
        """Embeds a batch of texts as :meth:`encode` does, except that a text
        the library refuses (LCLIP_E_TOO_LARGE: over ``max_text_bytes``, or
        too long with ``truncate=False``) or that contains a NUL character
        (LCLIP_E_INVALID_ARGUMENT) does not fail the call: its row is NaN and
        its ClipError (with ``index``) is in ``errors``.

        Failures that are not one text's still raise: ClipError
        LCLIP_E_UNSUPPORTED on an encoder opened without a vocabulary, an
        exception from ``progress``, Ctrl-C, and the TypeError and
        UnicodeEncodeError of :meth:`encode`, raised before any text is
        encoded.
        """
        if isinstance(texts, (str,) + _BytesLike) or not isinstance(texts, Iterable):
            raise TypeError(f"encode_each() takes an iterable of str, not {type(texts).__name__}")
        texts = list(texts)
        call = BatchCall(progress, len(texts), each=True)
        return _result(self._encode_batch(texts, call), call)

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
        for :meth:`encode`.

        Raises:
            TypeError, ValueError: a row of the wrong length, an id that is
                not an int or does not fit int32.
            ClipError: LCLIP_E_INVALID_ARGUMENT for an id outside the
                vocabulary.
        """
        ids, n, single = self._token_ids(tokens)
        out = self._encode_tokens(ids, n, BatchCall(progress, n, each=False))
        return out.vector() if single else out.matrix()

    def encode_tokens_each(self, tokens: Any, *, progress: Optional[ProgressCallback] = None) -> BatchResult:
        """Embeds rows of token ids as :meth:`encode_tokens` does, except
        that a row with an id outside the vocabulary does not fail the call:
        its embedding is NaN and its ClipError (LCLIP_E_INVALID_ARGUMENT,
        with ``index``) is in ``errors``. Malformed rows (wrong length, ids
        that are not int32) still raise before anything is encoded."""
        ids, n, single = self._token_ids(tokens)
        if single:
            raise TypeError("encode_tokens_each() takes rows of token ids; use encode_tokens() for one row")
        call = BatchCall(progress, n, each=True)
        return _result(self._encode_tokens(ids, n, call), call)

    def _token_ids(self, tokens: Any) -> tuple[Any, int, bool]:
        """The rows of ``tokens`` as one int32 array, their number, and
        whether ``tokens`` was a single row."""
        rows = tokens.tolist() if hasattr(tokens, "tolist") else list(tokens)
        single = bool(rows) and not isinstance(rows[0], Iterable)
        if single:
            rows = [rows]
        ctx = self._context_length
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
        return (ctypes.c_int32 * max(len(flat), 1))(*flat), len(rows), single

    def _encode_tokens(self, ids: Any, n: int, call: BatchCall) -> Rows:
        out = Rows(n, self._dim)
        with self._handle.use() as h:
            if n:
                _run_ex(call, out, range(n),
                        lambda rows, batch: lib.lclip_text_encode_tokens_ex(h, ids, n, rows.ptr(), batch))
        return out

    def _encode_batch(self, texts: list[Any], call: BatchCall, single: bool = False) -> Rows:
        """Encodes texts into an (n, dim) block in one batched call; with
        ``call.each``, a text with a NUL character is that text's error."""
        raw: list[tuple[int, bytes]] = []
        refused: list[tuple[int, NulError]] = []
        for i, text in enumerate(texts):
            try:
                raw.append((i, _utf8(text, None if single else i)))
            except NulError as e:
                if not call.each:
                    raise
                refused.append((i, e))
        out = _refuse(Rows(len(texts), self._dim), refused, call)
        array = (ctypes.c_char_p * max(len(raw), 1))(*(r for _, r in raw))
        with self._handle.use() as h:
            if raw:
                _run_ex(call, out, [i for i, _ in raw],
                        lambda rows, batch: lib.lclip_text_encode_batch_ex(h, array, len(raw), rows.ptr(), batch))
        return out


# ---------------------------------------------------------------------------
# Batch helpers.


def _run_ex(call: BatchCall, out: Rows, picked: Sequence[int], run: Callable[[Rows, Any], int]) -> None:
    """Makes one ``_ex`` call over the inputs ``picked`` (in order) of the
    Python call, whose rows are out's: ``run(rows, batch)`` calls the C
    function with output rows and batch options."""
    whole = len(picked) == out.n
    rows = out if whole else Rows(len(picked), out.width)
    with call.options(picked) as batch:
        call.check(run(rows, batch))
    if not whole:
        for k, i in enumerate(picked):
            out.copy_row_from(i, rows, k)


def _refuse(out: Rows, refused: list[tuple[int, NulError]], call: BatchCall) -> Rows:
    """Records the inputs of ``encode_each`` that cannot be passed to C as
    their errors, with NaN rows in ``out``; returns ``out``."""
    for i, error in refused:
        call.refused(i, error)
        out.fill_nan(i)
    return out


def _result(out: Rows, call: BatchCall) -> BatchResult:
    return BatchResult(out.matrix(), sorted(call.errors, key=lambda e: e.index))


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
        raise NulError(f"{where} contains a NUL character, which C strings cannot hold")
    return raw
