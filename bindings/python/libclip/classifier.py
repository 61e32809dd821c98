"""``Classifier``: class vectors applied to embeddings, from libclip 0.4.0.

A classifier is made from class names and prompt templates through a text
encoder (:meth:`Classifier.zero_shot`), trained on labelled embeddings
(:meth:`Classifier.train_probe`), built from the caller's vectors
(:meth:`Classifier.from_vectors`) or loaded from a classifier file
(:meth:`Classifier.load`, :meth:`Classifier.from_bytes`). It owns one C
handle, closed like an encoder's (``close()``, ``with``, or at garbage
collection), and gives logits and probabilities for any number of
embeddings, from several threads at once if need be.

Inputs are numpy arrays or nested sequences of numbers; results are float32
ndarrays, or lists without numpy (see :mod:`libclip._compat`).
"""

from __future__ import annotations

import ctypes
import enum
import math
import operator
import os
import tempfile
import weakref
from collections.abc import Iterable
from typing import Any, Callable, NamedTuple, Optional, Self, Union

from . import _compat, _lib
from ._callbacks import BatchCall, ProgressCallback
from ._lib import check, lib
from ._options import PathArg, fs_path
from ._rows import FloatPtr, Rows
from .encoders import TextEncoder, _Handle, _utf8

__all__ = ["CSelection", "Classifier", "ClassifierKind", "select_c", "template_set"]

_Int32Ptr = ctypes.POINTER(ctypes.c_int32)
_INT_MAX = 2 ** (8 * ctypes.sizeof(ctypes.c_int) - 1) - 1
_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1


class ClassifierKind(enum.StrEnum):
    """How a classifier was made (``lclip_classifier_kind``), as recorded in
    its file."""

    #: From the caller's vectors (:meth:`Classifier.from_vectors`).
    VECTORS = "vectors"
    #: Class names x prompt templates through a text encoder.
    ZERO_SHOT = "zero_shot"
    #: A linear probe trained on labelled embeddings.
    PROBE = "probe"


_KINDS = {0: ClassifierKind.VECTORS, 1: ClassifierKind.ZERO_SHOT, 2: ClassifierKind.PROBE}


class CSelection(NamedTuple):
    """What :func:`select_c` returns."""

    #: The regularisation strength of the highest mean held-out accuracy.
    c: float
    #: That accuracy, in [0, 1].
    accuracy: float


def template_set(name: str) -> list[str]:
    """A built-in set of prompt templates (``lclip_template_set``), each
    holding ``"{}"`` where the class name goes: ``"imagenet"``, the 80
    templates of the CLIP paper's ImageNet ensemble, or ``"photo"``, the
    single ``"a photo of a {}."``.

    Raises:
        ValueError: a name the library does not know.
    """
    _lib.require_classifiers()
    if not isinstance(name, str):
        raise TypeError(f"template set name must be a str, not {type(name).__name__}")
    count = ctypes.c_size_t()
    found = lib.lclip_template_set(_utf8(name, None), ctypes.byref(count))
    if not found:
        raise ValueError(f"unknown template set {name!r}; the library has 'imagenet' and 'photo'")
    return [found[i].decode("utf-8") for i in range(count.value)]


class Classifier:
    """Class vectors ``[classes][dim]``, a name per class, a logit scale and a
    bias per class. For an embedding ``e``, ``logit[c] = logit_scale *
    dot(e / |e|, vector[c]) + bias[c]``; probabilities are their softmax.
    Embeddings are normalised by the library, so raw (``normalize=False``)
    and unit embeddings give the same result.

    Make one with :meth:`zero_shot`, :meth:`train_probe`,
    :meth:`from_vectors`, :meth:`load` or :meth:`from_bytes`.
    """

    _handle: _Handle

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError(
            "make a Classifier with Classifier.zero_shot, train_probe, from_vectors, load or from_bytes"
        )

    # -- constructors ------------------------------------------------------

    @classmethod
    def zero_shot(
        cls,
        text_encoder: TextEncoder,
        class_names: Iterable[str],
        templates: Union[str, Iterable[str]] = "imagenet",
        *,
        progress: Optional[ProgressCallback] = None,
    ) -> Self:
        """The CLIP paper's prompt ensemble (``lclip_classifier_zeroshot``):
        for each class, every template with ``"{}"`` replaced by the class
        name (a template without ``"{}"`` gets a space and the name
        appended) is encoded, each embedding L2-normalised, and their mean
        L2-normalised is the class vector. The logit scale is the encoder's,
        the biases 0.

        Args:
            text_encoder: an open :class:`TextEncoder` with a vocabulary.
            class_names: the classes' names, distinct and not empty.
            templates: the name of a built-in set (:func:`template_set`:
                ``"imagenet"``, ``"photo"``) or a list of templates.
            progress: ``progress(done, total)`` after each class; an
                exception it raises stops the call and is raised here.

        Raises:
            ClipError: LCLIP_E_INVALID_ARGUMENT (no classes or templates, an
                empty or duplicate name, a template with more than one
                ``"{}"``), LCLIP_E_UNSUPPORTED (an encoder without a
                vocabulary), LCLIP_E_TOO_LARGE (a prompt too long).
            ValueError: an unknown template set name, a NUL character, a
                closed encoder.
        """
        _lib.require_classifiers()
        if not isinstance(text_encoder, TextEncoder):
            raise TypeError(f"text_encoder must be a libclip.TextEncoder, not {type(text_encoder).__name__}")
        names = _c_strings(class_names, "class_names", "class name")
        if isinstance(templates, str):
            templates = template_set(templates)
        prompts = _c_strings(templates, "templates", "template")
        call = BatchCall(progress, len(names), each=False)

        def make(out: Any) -> int:
            with text_encoder._handle.use() as h, call.options(range(len(names))) as batch:
                status = lib.lclip_classifier_zeroshot(h, names.array, len(names), prompts.array, len(prompts),
                                                       batch, out)
            call.check(status)
            return status

        return cls._create(make)

    @classmethod
    def train_probe(
        cls,
        embeddings: Any,
        labels: Any,
        class_names: Iterable[str],
        c: float = 1.0,
        *,
        tolerance: Optional[float] = None,
        max_iterations: Optional[int] = None,
    ) -> Self:
        """A linear probe, the CLIP paper's (``lclip_classifier_train_probe``):
        multinomial logistic regression with L2 regularisation on the
        L2-normalised embeddings, as scikit-learn's ``LogisticRegression(C=c)``
        with lbfgs. The class vectors are the weights, the biases the
        intercepts, the logit scale 1.

        Args:
            embeddings: ``(n, dim)`` image embeddings (raw or normalised).
            labels: ``n`` ints, ``labels[i]`` in ``[0, len(class_names))``.
            class_names: one name per class; every class needs an example.
            c: inverse regularisation strength (> 0), as scikit-learn's C;
                :func:`select_c` picks one by cross-validation.
            tolerance: stop when ``|gradient| / max(1, |parameters|)`` falls
                below it (None: the library's 1e-6).
            max_iterations: at most this many L-BFGS iterations (None: the
                library's 1000); reaching it is not an error.

        Raises:
            ClipError: LCLIP_E_INVALID_ARGUMENT (fewer than 2 classes, a
                label out of range, a class without examples, a non-finite
                or zero embedding).
            TypeError, ValueError: inputs of the wrong type or shape.
        """
        _lib.require_classifiers()
        data = _Floats(embeddings, "embeddings", two_d=True)
        ids = _labels(labels, data.n)
        names = _c_strings(class_names, "class_names", "class name")
        opts = _probe_options(c, tolerance, max_iterations)
        return cls._create(
            lambda out: lib.lclip_classifier_train_probe(
                data.ptr, data.n, data.dim, ids, names.array, len(names), ctypes.byref(opts), out
            )
        )

    @classmethod
    def from_vectors(
        cls, vectors: Any, class_names: Iterable[str], *, bias: Any = None, logit_scale: float = 1.0
    ) -> Self:
        """A classifier from the caller's class vectors ``(classes, dim)``,
        used as given (not normalised), ``bias`` (``classes`` values; None:
        zeros) and ``logit_scale`` (``lclip_classifier_create``)."""
        _lib.require_classifiers()
        matrix = _Floats(vectors, "vectors", two_d=True)
        names = _c_strings(class_names, "class_names", "class name")
        if len(names) != matrix.n:
            raise ValueError(f"{matrix.n} class vectors but {len(names)} class names")
        bias_ptr = None
        if bias is not None:
            biases = _Floats(bias, "bias", one_d=True)
            if biases.dim != matrix.n:
                raise ValueError(f"bias has {biases.dim} values for {matrix.n} classes")
            bias_ptr = biases.ptr
        scale = float(logit_scale)
        return cls._create(
            lambda out: lib.lclip_classifier_create(
                matrix.ptr, bias_ptr, names.array, len(names), matrix.dim, scale, out
            )
        )

    @classmethod
    def load(cls, path: PathArg) -> Self:
        """Loads a classifier file written by :meth:`save` (or by the C API).

        Raises:
            ClipError: LCLIP_E_IO (missing or unreadable), LCLIP_E_FORMAT
                (malformed, truncated or corrupted), LCLIP_E_UNSUPPORTED (a
                later format version).
        """
        _lib.require_classifiers()
        raw = fs_path(path, "path")
        return cls._create(lambda out: lib.lclip_classifier_load(raw, out))

    @classmethod
    def from_bytes(cls, data: Union[bytes, bytearray, memoryview]) -> Self:
        """A classifier from the content of a classifier file, as :meth:`load`."""
        _lib.require_classifiers()
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"data must be bytes-like, not {type(data).__name__}")
        blob = bytes(data)
        return cls._create(lambda out: lib.lclip_classifier_load_memory(blob, len(blob), out))

    @classmethod
    def _create(cls, make: Callable[[Any], int]) -> Self:
        """A Classifier owning the handle that ``make(out)`` creates."""
        self = object.__new__(cls)
        self._handle = _Handle(cls.__name__, lib.lclip_classifier_free)
        # As for the encoders: registered before the C call, so that a
        # handle made just before an interruption is still freed.
        self._finalizer = weakref.finalize(self, self._handle.close)
        try:
            self._handle.create(make)
            with self._handle.use() as h:
                self._read_metadata(h)
        except BaseException:
            self.close()
            raise
        return self

    def _read_metadata(self, h: int) -> None:
        n, dim = int(lib.lclip_classifier_classes(h)), int(lib.lclip_classifier_dim(h))
        self._dim = dim
        self._classes = tuple(lib.lclip_classifier_class_name(h, i).decode("utf-8") for i in range(n))
        kind = int(lib.lclip_classifier_get_kind(h))
        self._kind: Union[ClassifierKind, int] = _KINDS.get(kind, kind)
        self._logit_scale = float(lib.lclip_classifier_logit_scale(h))
        # Copies of the C arrays, so that they stay readable after close().
        self._vectors = Rows(n, dim)
        ctypes.memmove(self._vectors.ptr(), lib.lclip_classifier_vectors(h), n * dim * ctypes.sizeof(ctypes.c_float))
        self._bias = Rows(1, n)
        ctypes.memmove(self._bias.ptr(), lib.lclip_classifier_bias(h), n * ctypes.sizeof(ctypes.c_float))

    # -- what it is --------------------------------------------------------

    @property
    def classes(self) -> tuple[str, ...]:
        """The class names, in the order of the logits' columns."""
        return self._classes

    def __len__(self) -> int:
        return len(self._classes)

    @property
    def dim(self) -> int:
        """The dimension of the embeddings it classifies."""
        return self._dim

    @property
    def kind(self) -> Union[ClassifierKind, int]:
        """How it was made: a :class:`ClassifierKind` (an ``int`` for a kind
        newer than this binding)."""
        return self._kind

    @property
    def logit_scale(self) -> float:
        """The multiplier of the cosines: the text encoder's for zero-shot,
        1 for a probe."""
        return self._logit_scale

    @property
    def vectors(self) -> Any:
        """A copy of the class vectors: float32 ``(classes, dim)`` (lists
        without numpy); unit rows for zero-shot."""
        return _copy(self._vectors.matrix())

    @property
    def bias(self) -> Any:
        """A copy of the biases: float32 ``(classes,)`` (a list without numpy)."""
        return _copy(self._bias.vector())

    # -- use ---------------------------------------------------------------

    def logits(self, embeddings: Any) -> Any:
        """The logits of one embedding ``(dim,)`` (gives ``(classes,)``) or
        of several ``(n, dim)`` (gives ``(n, classes)``): float32, lists
        without numpy.

        Raises:
            ClipError: LCLIP_E_INVALID_ARGUMENT for a non-finite or zero
                embedding.
            ValueError: embeddings of another dimension, a closed classifier.
        """
        return self._apply(embeddings, want_probs=False)

    def probs(self, embeddings: Any) -> Any:
        """The softmax of :meth:`logits` over the classes, same shapes;
        each row sums to 1."""
        return self._apply(embeddings, want_probs=True)

    def _apply(self, embeddings: Any, want_probs: bool) -> Any:
        data = _Floats(embeddings, "embeddings", width=self._dim)
        out = Rows(data.n, len(self._classes))
        if data.n:
            logits, probs = (None, out.ptr()) if want_probs else (out.ptr(), None)
            with self._handle.use() as h:
                check(lib.lclip_classifier_apply(h, data.ptr, data.n, data.dim, logits, probs))
        elif self.closed:
            raise ValueError(f"operation on a closed {type(self).__name__}")
        return out.vector() if data.single else out.matrix()

    def save(self, path: PathArg) -> None:
        """Writes the classifier file (``lclip_classifier_save``): written
        beside ``path`` and renamed in, so ``path`` never holds a partial
        file. Raises ClipError LCLIP_E_IO when it cannot be written."""
        raw = fs_path(path, "path")
        with self._handle.use() as h:
            check(lib.lclip_classifier_save(h, raw))

    def to_bytes(self) -> bytes:
        """The classifier file's content, as :meth:`save` writes it (through
        a temporary file: the C API saves to paths only);
        :meth:`from_bytes` reads it back. Pickling uses it too."""
        with tempfile.TemporaryDirectory(prefix="libclip-") as tmp:
            path = os.path.join(tmp, "classifier")
            self.save(path)
            with open(path, "rb") as f:
                return f.read()

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self).from_bytes, (self.to_bytes(),))

    # -- lifetime ----------------------------------------------------------

    @property
    def closed(self) -> bool:
        """True once :meth:`close` has been called."""
        return self._handle.closed

    def close(self) -> None:
        """Frees the C classifier now rather than at garbage collection.
        Waits for calls in progress on other threads; calling it again is a
        no-op; later :meth:`logits`, :meth:`probs` and :meth:`save` raise
        ValueError. The properties stay readable."""
        self._handle.close()
        self._finalizer.detach()

    def __enter__(self) -> Self:
        with self._handle.use():
            pass
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        kind = self._kind.value if isinstance(self._kind, ClassifierKind) else self._kind
        return f"<libclip.Classifier {kind}, {len(self._classes)} classes, dim {self._dim}, {state}>"


def select_c(
    embeddings: Any,
    labels: Any,
    n_classes: Optional[int] = None,
    *,
    grid: Optional[Iterable[float]] = None,
    folds: int = 5,
    tolerance: Optional[float] = None,
    max_iterations: Optional[int] = None,
) -> CSelection:
    """Picks the probe's ``c`` by stratified k-fold cross-validation over a
    log grid (``lclip_probe_select_c``): each C of ``grid`` (None: 10^-2,
    10^-1.5, ..., 10^4) is trained on ``folds - 1`` folds and scored by
    accuracy on the held-out one; the j-th example of a class goes to fold
    j mod ``folds``.

    Args:
        embeddings, labels: as for :meth:`Classifier.train_probe`.
        n_classes: the number of classes (None: ``max(labels) + 1``).
        folds: at least 2; every class needs at least ``folds`` examples.
        tolerance, max_iterations: as for :meth:`Classifier.train_probe`.

    Returns:
        ``CSelection(c, accuracy)``: the C of the highest mean accuracy (the
        smallest on ties) and that accuracy.
    """
    _lib.require_classifiers()
    data = _Floats(embeddings, "embeddings", two_d=True)
    ids = _labels(labels, data.n)
    if n_classes is None:
        n_classes = max(ids, default=-1) + 1
    n_classes = _index(n_classes, "n_classes", 0, 2**63 - 1)
    folds = _index(folds, "folds", -_INT_MAX - 1, _INT_MAX)
    grid_array = None
    n_grid = 0
    if grid is not None:
        values = [float(v) for v in grid]
        n_grid = len(values)
        grid_array = (ctypes.c_double * max(n_grid, 1))(*values)
    opts = _probe_options(1.0, tolerance, max_iterations)
    best_c, accuracy = ctypes.c_double(), ctypes.c_double()
    check(lib.lclip_probe_select_c(
        data.ptr, data.n, data.dim, ids, n_classes, grid_array, n_grid, folds, ctypes.byref(opts),
        ctypes.byref(best_c), ctypes.byref(accuracy),
    ))
    return CSelection(best_c.value, accuracy.value)


# ---------------------------------------------------------------------------
# Input conversion.


class _Floats:
    """A float32 matrix from an ndarray or nested sequences, as C reads it:
    ``ptr`` to ``n`` rows of ``dim`` values; ``single`` for a 1-D input
    (one row). ``width``: the row length required; ``two_d``/``one_d``:
    the only number of dimensions accepted."""

    def __init__(self, value: Any, what: str, width: Optional[int] = None, two_d: bool = False,
                 one_d: bool = False) -> None:
        np = _compat.numpy
        if isinstance(value, (str, bytes, bytearray, memoryview)):
            raise TypeError(f"{what} must be an array or a sequence of numbers, not {type(value).__name__}")
        if np is not None:
            self._init_numpy(np, value, what)
        else:
            self._init_lists(value, what)
        if two_d and self.single:
            raise ValueError(f"{what} must have shape (n, dim), not a single vector")
        if one_d and not self.single:
            raise ValueError(f"{what} must be one-dimensional")
        if width is not None and self.dim != width and (self.n or self.dim):
            raise ValueError(f"{what} have dimension {self.dim}, the classifier's is {width}")

    def _init_numpy(self, np: Any, value: Any, what: str) -> None:
        array = np.asarray(value)
        if array.dtype.kind not in "fiu":
            raise TypeError(f"{what} must hold numbers, not {array.dtype}")
        if array.ndim not in (1, 2):
            raise ValueError(f"{what} must have shape (dim,) or (n, dim), not {array.shape}")
        self.single = array.ndim == 1
        self._array = np.ascontiguousarray(array.reshape(1, -1) if self.single else array, dtype=np.float32)
        self.n, self.dim = self._array.shape
        self.ptr = self._array.ctypes.data_as(FloatPtr)

    def _init_lists(self, value: Any, what: str) -> None:
        rows = value.tolist() if hasattr(value, "tolist") else list(value)
        self.single = bool(rows) and not isinstance(rows[0], Iterable)
        if self.single:
            rows = [rows]
        flat: list[float] = []
        self.dim = len(rows[0]) if rows else 0
        for i, row in enumerate(rows):
            if isinstance(row, (str, bytes)) or not isinstance(row, Iterable):
                raise TypeError(f"{what}: row {i} is not a sequence of numbers")
            row = [_number(v, what) for v in row]
            if len(row) != self.dim:
                raise ValueError(f"{what}: row {i} has {len(row)} values, row 0 has {self.dim}")
            flat.extend(row)
        self.n = len(rows)
        self._array = (ctypes.c_float * max(len(flat), 1))(*flat)
        self.ptr = ctypes.cast(self._array, FloatPtr)


def _number(v: Any, what: str) -> float:
    if isinstance(v, (bool, str, bytes)) or not (isinstance(v, (int, float)) or hasattr(v, "__float__")):
        raise TypeError(f"{what} must hold numbers, not {type(v).__name__}")
    return float(v)


def _labels(labels: Any, n: int) -> Any:
    """``labels`` as a C int32 array of ``n`` values."""
    if isinstance(labels, (str, bytes)):
        raise TypeError(f"labels must be a sequence of ints, not {type(labels).__name__}")
    values = labels.tolist() if hasattr(labels, "tolist") else list(labels)
    ids = [_index(v, "labels", _INT32_MIN, _INT32_MAX) for v in values]
    if len(ids) != n:
        raise ValueError(f"{len(ids)} labels for {n} embeddings")
    return (ctypes.c_int32 * max(n, 1))(*ids)


def _index(value: Any, what: str, low: int, high: int) -> int:
    if isinstance(value, bool):
        raise TypeError(f"{what} must be int, not bool")
    try:
        number = operator.index(value)
    except TypeError:
        raise TypeError(f"{what} must be int, not {type(value).__name__}") from None
    if not low <= number <= high:
        raise ValueError(f"{what}: {number} is out of range [{low}, {high}]")
    return number


class _CStrings:
    """A ``const char *const *`` array of UTF-8 strings kept alive with it."""

    def __init__(self, raw: list[bytes]) -> None:
        self._raw = raw
        self.array = (ctypes.c_char_p * max(len(raw), 1))(*raw)

    def __len__(self) -> int:
        return len(self._raw)


def _c_strings(values: Iterable[str], what: str, item: str) -> _CStrings:
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise TypeError(f"{what} must be an iterable of str, not {type(values).__name__}")
    return _CStrings([_utf8_item(v, item, i) for i, v in enumerate(values)])


def _utf8_item(value: Any, item: str, index: int) -> bytes:
    if not isinstance(value, str):
        raise TypeError(f"{item} {index} must be a str, not {type(value).__name__}")
    raw = value.encode("utf-8")
    if b"\0" in raw:
        raise ValueError(f"{item} {index} contains a NUL character, which C strings cannot hold")
    return raw


def _probe_options(c: float, tolerance: Optional[float], max_iterations: Optional[int]) -> _lib.ProbeOptions:
    """``lclip_probe_options``. The C API reads 0 as "the default", so a C
    of 0 or less is refused here rather than silently becoming 1."""
    opts = _lib.default_probe_options()
    c = float(c)
    if not (c > 0 and math.isfinite(c)):
        raise ValueError(f"c must be a finite number > 0, got {c}")
    opts.c = c
    if tolerance is not None:
        tolerance = float(tolerance)
        if not (tolerance > 0 and math.isfinite(tolerance)):
            raise ValueError(f"tolerance must be a finite number > 0, got {tolerance}")
        opts.tolerance = tolerance
    if max_iterations is not None:
        opts.max_iterations = _index(max_iterations, "max_iterations", 1, _INT_MAX)
    return opts


def _copy(value: Any) -> Any:
    if isinstance(value, list):
        return [list(row) if isinstance(row, list) else row for row in value]
    return value.copy()
