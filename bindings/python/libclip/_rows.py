"""Output buffers for embeddings: numpy arrays when numpy is available, plain
ctypes arrays turned into lists of lists otherwise.

The C encode functions write ``n * dim`` float32 values into caller memory; a
:class:`Rows` owns that memory and hands the library row pointers, so the same
encoder code serves both result types without copying on the numpy path.
"""

from __future__ import annotations

import ctypes
import math
from typing import Any

from . import _compat

__all__ = ["Rows", "FloatPtr"]

FloatPtr = ctypes.POINTER(ctypes.c_float)
_FLOAT_SIZE = ctypes.sizeof(ctypes.c_float)


class Rows:
    """``n`` rows of ``width`` float32 values in one C-contiguous block."""

    def __init__(self, n: int, width: int) -> None:
        self.n = n
        self.width = width
        np = _compat.numpy
        self._numpy = np is not None
        if np is not None:
            self._data: Any = np.empty((n, width), dtype=np.float32)
            self._address = self._data.ctypes.data
        else:
            # At least one element so that the address is a real allocation.
            self._data = (ctypes.c_float * max(n * width, 1))()
            self._address = ctypes.addressof(self._data)

    def ptr(self, row: int = 0) -> Any:
        """A ``float *`` to the start of ``row`` (valid while self lives)."""
        return ctypes.cast(self._address + row * self.width * _FLOAT_SIZE, FloatPtr)

    def copy_row_from(self, row: int, other: "Rows", other_row: int) -> None:
        """Copies one row of ``other`` (same width) into ``row``."""
        ctypes.memmove(
            self._address + row * self.width * _FLOAT_SIZE,
            other._address + other_row * other.width * _FLOAT_SIZE,
            self.width * _FLOAT_SIZE,
        )

    def fill_nan(self, row: int) -> None:
        """Fills ``row`` with NaN, as libclip marks a failed input's row."""
        w = self.width
        if self._numpy:
            self._data[row] = math.nan
        else:
            self._data[row * w : (row + 1) * w] = [math.nan] * w

    def matrix(self) -> Any:
        """All rows: an ``(n, width)`` float32 ndarray, or a list of n lists."""
        if self._numpy:
            return self._data
        w = self.width
        return [self._data[i * w : (i + 1) * w] for i in range(self.n)]

    def vector(self) -> Any:
        """The only row of a one-row block: shape ``(width,)`` or a list."""
        if self._numpy:
            return self._data.reshape(self.width)
        return self._data[: self.width]

    def tensor(self, shape: tuple[int, ...]) -> Any:
        """The block reshaped to ``shape`` (nested lists without numpy)."""
        if self._numpy:
            return self._data.reshape(shape)
        flat: list[Any] = self._data[: self.n * self.width]
        for size in reversed(shape[1:]):
            flat = [flat[i : i + size] for i in range(0, len(flat), size)]
        return flat
