"""Turning Python keyword arguments into an ``lclip_options`` struct.

ctypes silently wraps integers that do not fit a C field, so every value is
range-checked here; semantic checks (negative thread counts, flags other than
0/1) are left to the library, which reports them as LCLIP_E_INVALID_ARGUMENT.
The engine and precision are names (:class:`Engine`, :class:`Precision`),
checked here against the values the binding knows.
"""

from __future__ import annotations

import ctypes
import enum
import operator
import os
from typing import Any, Union

from . import _lib

__all__ = [
    "Engine",
    "NulError",
    "PathArg",
    "Precision",
    "fs_path",
    "build_options",
    "COMMON_OPTIONS",
    "IMAGE_OPTIONS",
    "TEXT_OPTIONS",
]

PathArg = Union[str, "os.PathLike[str]"]

_INT_BITS = 8 * ctypes.sizeof(ctypes.c_int)
_INT_MIN, _INT_MAX = -(2 ** (_INT_BITS - 1)), 2 ** (_INT_BITS - 1) - 1
_U64_MAX = 2**64 - 1

# Options every encoder reads (model-file limits), and those of one tower only.
# Passing a field the encoder would ignore is a TypeError: it is almost
# always a typo or a misunderstanding.
COMMON_OPTIONS = frozenset({"max_header_bytes", "max_tensor_count"})
IMAGE_OPTIONS = COMMON_OPTIONS | {"max_image_pixels", "exif_orientation"}
TEXT_OPTIONS = COMMON_OPTIONS | {"max_text_bytes", "vocab_path", "truncate_text"}

_C_TYPES = {name: ctype for name, ctype in _lib.Options._fields_}


class Engine(enum.StrEnum):
    """What runs the matrix products of the linear layers (``lclip_engine``).
    Members are strings: ``engine="onednn"`` and ``engine=Engine.ONEDNN``
    are the same."""

    #: oneDNN when the library has it and it has a JIT kernel for this CPU, else CBLAS.
    AUTO = "auto"
    #: The CBLAS libclip is built against, on the float32 weights in place.
    CBLAS = "cblas"
    #: oneDNN, weights packed once at open (LCLIP_E_UNSUPPORTED if not built in).
    ONEDNN = "onednn"


class Precision(enum.StrEnum):
    """The numbers the linear layers' products run in (``lclip_precision``)."""

    #: float32 throughout.
    F32 = "f32"
    #: bfloat16 weights and product inputs, float32 accumulation; oneDNN on a
    #: CPU with native bfloat16 only, else LCLIP_E_UNSUPPORTED.
    BF16 = "bf16"


# The C values of the LCLIP_ENGINE_* and LCLIP_PRECISION_* constants.
_C_ENGINES = {Engine.AUTO: 0, Engine.CBLAS: 1, Engine.ONEDNN: 2}
_C_PRECISIONS = {Precision.F32: 0, Precision.BF16: 1}


class NulError(ValueError):
    """A path or text holds a NUL character, which C strings cannot hold:
    the call's ValueError, or in ``encode_each`` that input's error."""


def fs_path(path: Any, what: str) -> bytes:
    """``path`` (str or os.PathLike) as the bytes the C library expects.

    Bytes paths are refused on purpose: in ``ImageEncoder.encode`` bytes mean
    image data, and one meaning everywhere is easier to remember."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{what} must be a str or os.PathLike, not {type(path).__name__}")
    raw = os.fsencode(path)
    if b"\0" in raw:
        raise NulError(f"{what} contains a NUL character: {path!r}")
    return raw


def _int_value(name: str, value: Any) -> int:
    if isinstance(value, bool):
        return int(value)
    try:
        number = operator.index(value)
    except TypeError:
        raise TypeError(f"option {name} must be an int, not {type(value).__name__}") from None
    if _C_TYPES[name] is ctypes.c_uint64:
        if not 0 <= number <= _U64_MAX:
            raise ValueError(f"option {name} must be in [0, 2**64), got {number} (0 selects the default)")
    elif not _INT_MIN <= number <= _INT_MAX:
        raise ValueError(f"option {name} does not fit a C int: {number}")
    return number


def _choice(name: str, value: Any, kind: type[enum.StrEnum], c_values: dict[Any, int]) -> int:
    """The C value of ``value``, a member of ``kind`` or its string."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, not {type(value).__name__}")
    try:
        return c_values[kind(value)]
    except ValueError:
        valid = ", ".join(repr(m.value) for m in kind)
        raise ValueError(f"{name} must be one of {valid}, not {value!r}") from None


def build_options(
    allowed: frozenset[str], threads: int, normalize: bool, engine: str, precision: str, **options: Any
) -> tuple[_lib.Options, list[object]]:
    """An ``lclip_options`` started by ``lclip_options_init`` with the given
    values applied, and the Python objects that must stay alive until the
    open call returns (the library copies strings at open)."""
    opts = _lib.default_options()
    keep_alive: list[object] = []
    opts.n_threads = _int_value("n_threads", threads)
    opts.normalize = _int_value("normalize", normalize)
    opts.engine = _choice("engine", engine, Engine, _C_ENGINES)
    opts.precision = _choice("precision", precision, Precision, _C_PRECISIONS)
    for name, value in options.items():
        if name in ("n_threads", "normalize", "struct_size"):
            hint = {"n_threads": "threads=", "normalize": "normalize="}.get(name)
            raise TypeError(f"option {name} cannot be set this way" + (f"; use {hint}" if hint else ""))
        if name not in allowed:
            raise TypeError(
                f"unknown option {name!r} for this encoder; valid options: {', '.join(sorted(allowed))}"
            )
        if name == "vocab_path":
            if value is None:
                opts.vocab_path = None
            else:
                raw = fs_path(value, "vocab_path")
                keep_alive.append(raw)
                opts.vocab_path = raw
        else:
            setattr(opts, name, _int_value(name, value))
    return opts, keep_alive
