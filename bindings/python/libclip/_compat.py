"""Optional numpy support.

numpy is used when it can be imported, so that embeddings come back as
``numpy.ndarray`` float32 arrays; without it the binding returns plain lists
of floats. Setting the environment variable ``LIBCLIP_NO_NUMPY=1`` before the
first ``import libclip`` forces the list behaviour even when numpy is
installed (useful to test the numpy-less path). Code elsewhere in the package
reads :data:`numpy` at call time, so tests may also monkeypatch it to None.
"""

from __future__ import annotations

import os
from types import ModuleType
from typing import Optional

__all__ = ["numpy", "NO_NUMPY_ENV"]

NO_NUMPY_ENV = "LIBCLIP_NO_NUMPY"


def _import_numpy() -> Optional[ModuleType]:
    if os.environ.get(NO_NUMPY_ENV, "").strip() not in ("", "0"):
        return None
    try:
        import numpy as np
    except ImportError:
        return None
    return np


numpy: Optional[ModuleType] = _import_numpy()
