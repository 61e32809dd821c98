"""Python binding of libclip: CLIP image and text embeddings from C.

Quick start::

    import libclip

    with libclip.ImageEncoder("models/clip-vit-base-patch32") as img, \\
         libclip.TextEncoder("models/clip-vit-base-patch32") as txt:
        image = img.encode("cat.jpg")                       # shape (dim,)
        texts = txt.encode(["a photo of a cat", "a photo of a dog"])  # (2, dim)
        print(libclip.zero_shot(image, texts, img.logit_scale))

The shared library is located through ``LIBCLIP_PATH``, then the package
directory, then the system loader (see docs/python.md). Only the standard
library is required; numpy is used for results when it is importable.
"""

from __future__ import annotations

from . import _lib
from ._callbacks import LogLevel, log_to_logging
from ._errors import ClipError, Status
from ._options import Engine, Precision
from .classifier import Classifier, ClassifierKind, CSelection, select_c, template_set
from .encoders import BatchResult, ImageEncoder, TextEncoder
from .zeroshot import zero_shot

__all__ = [
    "BatchResult",
    "CSelection",
    "Classifier",
    "ClassifierKind",
    "ClipError",
    "Engine",
    "ImageEncoder",
    "LogLevel",
    "Precision",
    "Status",
    "TextEncoder",
    "build_info",
    "build_info_string",
    "library_path",
    "library_version",
    "log_to_logging",
    "select_c",
    "template_set",
    "version_number",
    "zero_shot",
    "__version__",
]

__version__ = "0.4.0"

#: The file the shared library was loaded from (or the name the loader resolved).
library_path: str = _lib.library_path


def library_version() -> str:
    """``lclip_version()``: "MAJOR.MINOR.PATCH" of the loaded shared library."""
    return _lib.version()


def version_number() -> int:
    """``lclip_version_number()``: MAJOR * 10000 + MINOR * 100 + PATCH of the
    loaded shared library (400 for 0.4.0)."""
    return _lib.version_number()


def build_info_string() -> str:
    """``lclip_build_info()``: how the loaded library was built and what it
    runs on, as "key=value; key=value" text (for bug reports)."""
    return _lib.build_info()


def build_info() -> dict[str, str]:
    """:func:`build_info_string` as a dict, e.g. ``{"version": "0.4.0",
    "blas": "OpenBLAS", "blas_threading": "pthreads", "engines":
    "cblas,onednn", ...}``. Keys may be added by newer libraries; none is
    removed."""
    return _lib.key_values(build_info_string(), "; ")
