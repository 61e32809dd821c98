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
from ._errors import ClipError, Status
from .encoders import ImageEncoder, TextEncoder
from .zeroshot import zero_shot

__all__ = [
    "ClipError",
    "ImageEncoder",
    "Status",
    "TextEncoder",
    "library_path",
    "library_version",
    "zero_shot",
    "__version__",
]

__version__ = "0.1.0"

#: The file the shared library was loaded from (or the name the loader resolved).
library_path: str = _lib.library_path


def library_version() -> str:
    """``lclip_version()``: "MAJOR.MINOR.PATCH" of the loaded shared library."""
    return _lib.version()
