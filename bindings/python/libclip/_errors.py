"""The exception type of the binding and the mapping of libclip status codes.

Every failing libclip call is turned into a :class:`ClipError` that carries the
numeric status, its ``LCLIP_*`` name and the library's own detail message, so
that callers can branch on ``status_name`` and still show users the precise
reason ("model.safetensors: tensor 'visual.proj' has shape ...").
"""

from __future__ import annotations

import enum
from typing import Optional

__all__ = ["ClipError", "Status"]


class Status(enum.IntEnum):
    """The ``lclip_status`` codes of ``libclip.h``; values are part of the ABI."""

    OK = 0
    E_INVALID_ARGUMENT = 1
    E_IO = 2
    E_FORMAT = 3
    E_UNSUPPORTED = 4
    E_NOMEM = 5
    E_TOO_LARGE = 6
    E_CANCELLED = 7


def status_name(status: int) -> str:
    """The C enumerator name of ``status`` (``"LCLIP_E_IO"``), or a synthetic
    ``"LCLIP_STATUS_<n>"`` for codes a newer library may add."""
    try:
        return "LCLIP_" + Status(status).name
    except ValueError:
        return f"LCLIP_STATUS_{int(status)}"


class ClipError(Exception):
    """A libclip call failed.

    Attributes:
        status: the ``lclip_status`` value (an ``int``; a :class:`Status`
            member when this version of the binding knows the code).
        status_name: its C name, e.g. ``"LCLIP_E_FORMAT"``.
        message: the detail message from ``lclip_last_error()`` read on the
            failing thread right after the call (may be empty).
        description: the library's generic description (``lclip_strerror``).
        index: for a per-input failure (``encode_each``), the input's
            position in the call; None for the failure of a whole call.
    """

    def __init__(self, status: int, message: str = "", description: str = "", index: Optional[int] = None) -> None:
        # args are exactly the constructor's parameters so that the exception
        # pickles and copies (Exception.__reduce__ calls cls(*args)).
        super().__init__(status, message, description, index)
        try:
            self.status: int = Status(status)
        except ValueError:
            self.status = int(status)
        self.status_name: str = status_name(status)
        self.message: str = message
        self.description: str = description
        self.index: Optional[int] = index

    def __str__(self) -> str:
        detail = self.message or self.description or "no detail message"
        if self.description and self.message:
            return f"{self.status_name} ({self.description}): {self.message}"
        return f"{self.status_name}: {detail}"

    def __repr__(self) -> str:
        where = "" if self.index is None else f", index={self.index}"
        return f"ClipError({self.status_name}, {self.message!r}{where})"
