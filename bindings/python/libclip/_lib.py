"""Finding and loading the libclip shared library, and declaring its C API.

Only :mod:`ctypes` is used. Every function of ``include/libclip.h`` gets exact
``argtypes``/``restype`` here so that ctypes converts and checks arguments
(a wrong prototype would silently truncate 64-bit sizes or pointers).

The library is looked up, in order:

1. ``LIBCLIP_PATH``: the path of the shared library file. When it is set it is
   authoritative: a bad value is an error, never a silent fallback.
2. ``libclip.so*`` (``libclip*.dylib`` / ``clip.dll`` elsewhere) inside this
   package's directory, for wheels that ship the library.
3. The system loader: ``ctypes.util.find_library("clip")``, then the SONAME
   ``libclip.so.0``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
from pathlib import Path

from ._errors import ClipError, Status

__all__ = [
    "lib",
    "library_path",
    "BatchOptions",
    "ItemErrorFn",
    "LogFn",
    "Options",
    "ProbeOptions",
    "ProgressFn",
    "check",
    "last_error",
    "strerror",
]

ENV_VAR = "LIBCLIP_PATH"
SONAME = "libclip.so.0"

_c_size_p = ctypes.POINTER(ctypes.c_size_t)
_c_float_p = ctypes.POINTER(ctypes.c_float)
_c_int32_p = ctypes.POINTER(ctypes.c_int32)
_c_char_pp = ctypes.POINTER(ctypes.c_char_p)
_c_void_pp = ctypes.POINTER(ctypes.c_void_p)


#: ``lclip_log_fn``: void (*)(void *user, lclip_log_level level, const char *message).
LogFn = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p)
#: ``lclip_progress_fn``: int (*)(void *user, size_t done, size_t total).
ProgressFn = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_size_t)
#: ``lclip_item_error_fn``: void (*)(void *user, size_t index, lclip_status status, const char *message).
ItemErrorFn = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_char_p)


class Options(ctypes.Structure):
    """Mirror of ``lclip_options`` in ``libclip.h``: same fields, same order,
    same C types. The struct may only grow at its end (``struct_size``
    versions it), so new fields are appended here in the header's order."""

    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        # 0.1.0
        ("n_threads", ctypes.c_int),
        ("normalize", ctypes.c_int),
        ("max_header_bytes", ctypes.c_uint64),
        ("max_tensor_count", ctypes.c_uint64),
        ("vocab_path", ctypes.c_char_p),
        ("truncate_text", ctypes.c_int),
        ("max_text_bytes", ctypes.c_uint64),
        ("max_image_pixels", ctypes.c_uint64),
        ("exif_orientation", ctypes.c_int),
        # 0.2.0; on 32-bit targets the header keeps these fields past the
        # padding that may end 0.1.0's struct.
        *([("reserved_ilp32", ctypes.c_int32)] if ctypes.sizeof(ctypes.c_void_p) == 4 else []),
        ("log", LogFn),
        ("log_user", ctypes.c_void_p),
        # 0.3.0
        ("engine", ctypes.c_int),
        ("precision", ctypes.c_int),
    ]


class BatchOptions(ctypes.Structure):
    """Mirror of ``lclip_batch_options`` (since 0.2.0); grows like Options."""

    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("item_status", ctypes.POINTER(ctypes.c_int)),
        ("on_item_error", ItemErrorFn),
        ("on_progress", ProgressFn),
        ("user", ctypes.c_void_p),
    ]


class ProbeOptions(ctypes.Structure):
    """Mirror of ``lclip_probe_options`` (since 0.4.0); grows like Options."""

    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("c", ctypes.c_double),
        ("tolerance", ctypes.c_double),
        ("max_iterations", ctypes.c_int),
        ("reserved", ctypes.c_int),
    ]


def _candidates() -> list[tuple[str, str]]:
    """(how it was found, what to pass to CDLL) for the package and system
    steps of the search order; LIBCLIP_PATH is handled by :func:`_load`."""
    found: list[tuple[str, str]] = []
    here = Path(__file__).resolve().parent
    patterns = {"darwin": ("libclip*.dylib",), "win32": ("clip.dll", "libclip.dll")}.get(
        sys.platform, ("libclip.so*",)
    )
    for pattern in patterns:
        # Shortest name first: libclip.so before libclip.so.0.1.0.
        for path in sorted(here.glob(pattern), key=lambda p: (len(p.name), p.name)):
            found.append((f"package directory ({path})", str(path)))
    name = ctypes.util.find_library("clip")
    if name:
        found.append((f"ctypes.util.find_library('clip') -> {name}", name))
    found.append((f"system loader ({SONAME})", SONAME))
    return found


def _load() -> tuple[ctypes.CDLL, str]:
    """Loads the library following the documented search order."""
    env = os.environ.get(ENV_VAR)
    if env:
        if not os.path.isfile(env):
            raise ImportError(
                f"libclip: {ENV_VAR}={env!r} is not a file; set it to the path of the shared "
                f"library (e.g. build/lib/libclip.so) or unset it to search the package "
                f"directory and the system loader"
            )
        try:
            return ctypes.CDLL(os.path.abspath(env)), os.path.abspath(env)
        except OSError as e:
            raise ImportError(f"libclip: cannot load {ENV_VAR}={env!r}: {e}") from e
    tried: list[str] = [f"{ENV_VAR} (not set)"]
    for how, target in _candidates():
        try:
            handle = ctypes.CDLL(target)
        except OSError as e:
            tried.append(f"{how}: {e}")
            continue
        return handle, getattr(handle, "_name", target)
    raise ImportError(
        "libclip: the shared library libclip.so was not found. Build it with CMake and set "
        f"{ENV_VAR} to its path (e.g. {ENV_VAR}=build/lib/libclip.so), copy it into the "
        "package directory, or install it where the system loader finds it. Tried:\n  "
        + "\n  ".join(tried)
    )


#: lclip_version_number() of the oldest library this binding works with:
#: it uses the sized initialisers, the _ex batch functions and the log
#: callback of 0.2.0, and the engine options and describe functions of 0.3.0.
MIN_VERSION_NUMBER = 300

_status = ctypes.c_int
_vp = ctypes.c_void_p
_opts_p = ctypes.POINTER(Options)
_batch_p = ctypes.POINTER(BatchOptions)
_probe_p = ctypes.POINTER(ProbeOptions)
_size = ctypes.c_size_t
_c_double_p = ctypes.POINTER(ctypes.c_double)

#: (restype, argtypes) of the functions of libclip 0.1.0.
PROTOS_0_1: dict[str, tuple[object, list[object]]] = {
    "lclip_strerror": (ctypes.c_char_p, [ctypes.c_int]),
    "lclip_last_error": (ctypes.c_char_p, []),
    "lclip_version": (ctypes.c_char_p, []),
    "lclip_options_init": (None, [_opts_p]),
    "lclip_image_encoder_open": (_status, [ctypes.c_char_p, _opts_p, _c_void_pp]),
    "lclip_image_encoder_close": (None, [_vp]),
    "lclip_image_encoder_dim": (ctypes.c_size_t, [_vp]),
    "lclip_image_encoder_image_size": (ctypes.c_int, [_vp]),
    "lclip_image_encoder_logit_scale": (ctypes.c_float, [_vp]),
    "lclip_text_encoder_open": (_status, [ctypes.c_char_p, _opts_p, _c_void_pp]),
    "lclip_text_encoder_close": (None, [_vp]),
    "lclip_text_encoder_dim": (ctypes.c_size_t, [_vp]),
    "lclip_text_encoder_context_length": (ctypes.c_int, [_vp]),
    "lclip_text_encoder_logit_scale": (ctypes.c_float, [_vp]),
    "lclip_tokenize": (_status, [_vp, ctypes.c_char_p, _c_int32_p, ctypes.c_size_t, _c_size_p]),
    "lclip_text_encode": (_status, [_vp, ctypes.c_char_p, _c_float_p]),
    "lclip_text_encode_batch": (_status, [_vp, _c_char_pp, ctypes.c_size_t, _c_float_p]),
    "lclip_text_encode_tokens": (_status, [_vp, _c_int32_p, ctypes.c_size_t, _c_float_p]),
    "lclip_image_preprocess_file": (_status, [_vp, ctypes.c_char_p, _c_float_p]),
    "lclip_image_encode_file": (_status, [_vp, ctypes.c_char_p, _c_float_p]),
    "lclip_image_encode_files": (_status, [_vp, _c_char_pp, ctypes.c_size_t, _c_float_p]),
    "lclip_image_encode_memory": (_status, [_vp, _vp, ctypes.c_size_t, _c_float_p]),
    "lclip_image_encode_rgb": (_status, [_vp, _vp, ctypes.c_int, ctypes.c_int, ctypes.c_size_t, _c_float_p]),
    "lclip_image_encode_pixels": (_status, [_vp, _c_float_p, ctypes.c_size_t, _c_float_p]),
}

#: The functions added in 0.2.0.
PROTOS_0_2: dict[str, tuple[object, list[object]]] = {
    "lclip_version_number": (ctypes.c_uint, []),
    "lclip_build_info": (ctypes.c_char_p, []),
    "lclip_options_init_sized": (_status, [_opts_p, ctypes.c_size_t]),
    "lclip_batch_options_init_sized": (_status, [_batch_p, ctypes.c_size_t]),
    "lclip_text_encode_batch_ex": (_status, [_vp, _c_char_pp, ctypes.c_size_t, _c_float_p, _batch_p]),
    "lclip_text_encode_tokens_ex": (_status, [_vp, _c_int32_p, ctypes.c_size_t, _c_float_p, _batch_p]),
    "lclip_image_encode_files_ex": (_status, [_vp, _c_char_pp, ctypes.c_size_t, _c_float_p, _batch_p]),
    "lclip_image_encode_pixels_ex": (_status, [_vp, _c_float_p, ctypes.c_size_t, _c_float_p, _batch_p]),
}

#: The functions added in 0.3.0.
PROTOS_0_3: dict[str, tuple[object, list[object]]] = {
    "lclip_image_encoder_describe": (ctypes.c_char_p, [_vp]),
    "lclip_text_encoder_describe": (ctypes.c_char_p, [_vp]),
}


#: The functions added in 0.4.0: classifiers. Bound when the library has
#: them; with an older one the rest of the binding still works and the
#: classifier calls raise (see :func:`require_classifiers`).
PROTOS_0_4: dict[str, tuple[object, list[object]]] = {
    "lclip_template_set": (_c_char_pp, [ctypes.c_char_p, _c_size_p]),
    "lclip_classifier_zeroshot": (_status, [_vp, _c_char_pp, _size, _c_char_pp, _size, _batch_p, _c_void_pp]),
    "lclip_probe_options_init_sized": (_status, [_probe_p, _size]),
    "lclip_classifier_train_probe": (
        _status, [_c_float_p, _size, _size, _c_int32_p, _c_char_pp, _size, _probe_p, _c_void_pp]
    ),
    "lclip_probe_select_c": (
        _status,
        [_c_float_p, _size, _size, _c_int32_p, _size, _c_double_p, _size, ctypes.c_int, _probe_p, _c_double_p,
         _c_double_p],
    ),
    "lclip_classifier_create": (_status, [_c_float_p, _c_float_p, _c_char_pp, _size, _size, ctypes.c_float, _c_void_pp]),
    "lclip_classifier_free": (None, [_vp]),
    "lclip_classifier_classes": (_size, [_vp]),
    "lclip_classifier_dim": (_size, [_vp]),
    "lclip_classifier_get_kind": (ctypes.c_int, [_vp]),
    "lclip_classifier_class_name": (ctypes.c_char_p, [_vp, _size]),
    "lclip_classifier_logit_scale": (ctypes.c_float, [_vp]),
    "lclip_classifier_vectors": (_c_float_p, [_vp]),
    "lclip_classifier_bias": (_c_float_p, [_vp]),
    "lclip_classifier_apply": (_status, [_vp, _c_float_p, _size, _size, _c_float_p, _c_float_p]),
    "lclip_classifier_save": (_status, [_vp, ctypes.c_char_p]),
    "lclip_classifier_load": (_status, [ctypes.c_char_p, _c_void_pp]),
    "lclip_classifier_load_memory": (_status, [_vp, _size, _c_void_pp]),
}

def _bind(cdll: ctypes.CDLL, protos: dict[str, tuple[object, list[object]]]) -> None:
    for name, (restype, argtypes) in protos.items():
        try:
            fn = getattr(cdll, name)
        except AttributeError as e:
            raise ImportError(
                f"libclip: {library_path} does not export {name}; it is not libclip or is an "
                f"incompatible version"
            ) from e
        fn.restype = restype
        fn.argtypes = argtypes


def _declare(cdll: ctypes.CDLL) -> None:
    """Sets argtypes/restype for every function of the public header, after
    checking that the library is recent enough for this binding."""
    _bind(cdll, PROTOS_0_1)
    found = cdll.lclip_version().decode("ascii", "replace")
    try:
        number_fn = cdll.lclip_version_number
    except AttributeError:
        number = None  # 0.1.x had no lclip_version_number
    else:
        number_fn.restype, number_fn.argtypes = PROTOS_0_2["lclip_version_number"]
        number = int(number_fn())
    if number is None or number < MIN_VERSION_NUMBER:
        raise ImportError(
            f"libclip: {library_path} is libclip {found}, but this binding needs libclip 0.3.0 or later; "
            f"build a newer libclip and point {ENV_VAR} at it"
        )
    _bind(cdll, PROTOS_0_2)
    _bind(cdll, PROTOS_0_3)
    # By symbol rather than version number: a library is 0.4.0 once it
    # exports the whole 0.4.0 node, which _bind checks.
    if hasattr(cdll, "lclip_classifier_create"):
        _bind(cdll, PROTOS_0_4)


lib, library_path = _load()
_declare(lib)
#: Whether the loaded library has the classifier functions of 0.4.0.
has_classifiers: bool = hasattr(lib, "lclip_classifier_create")


def require_classifiers() -> None:
    """Raises ClipError LCLIP_E_UNSUPPORTED when the loaded library predates
    the classifiers (0.4.0)."""
    if not has_classifiers:
        status = Status.E_UNSUPPORTED
        raise ClipError(
            status,
            f"{library_path} is libclip {version()}; classifiers need libclip 0.4.0 or later",
            strerror(status),
        )


def strerror(status: int) -> str:
    """``lclip_strerror``: the static English description of a status."""
    return lib.lclip_strerror(status).decode("utf-8", "replace")


def last_error() -> str:
    """``lclip_last_error``: this thread's most recent failure message."""
    return lib.lclip_last_error().decode("utf-8", "replace")


def check(status: int) -> None:
    """Raises :class:`ClipError` for a non-OK status.

    Must be called on the thread that made the failing call, before any other
    libclip call on it: the detail message is thread-local and is replaced by
    the next failure (ctypes runs foreign calls on the calling OS thread, so a
    Python thread always reads its own message)."""
    if status != Status.OK:
        raise ClipError(status, last_error(), strerror(status))


def default_options() -> Options:
    """A fresh ``lclip_options`` filled by ``lclip_options_init_sized`` with
    the size of *our* mirror: it tells the library which fields this binding
    knows (a newer library defaults the rest)."""
    opts = Options()
    check(lib.lclip_options_init_sized(ctypes.byref(opts), ctypes.sizeof(Options)))
    return opts


def default_batch_options() -> BatchOptions:
    """A fresh ``lclip_batch_options`` (no callbacks), sized like default_options()."""
    batch = BatchOptions()
    check(lib.lclip_batch_options_init_sized(ctypes.byref(batch), ctypes.sizeof(BatchOptions)))
    return batch


def default_probe_options() -> ProbeOptions:
    """A fresh ``lclip_probe_options`` with the library's defaults, sized
    like default_options()."""
    probe = ProbeOptions()
    check(lib.lclip_probe_options_init_sized(ctypes.byref(probe), ctypes.sizeof(ProbeOptions)))
    return probe


def version() -> str:
    """``lclip_version``: "MAJOR.MINOR.PATCH" of the loaded library."""
    return lib.lclip_version().decode("ascii")


def version_number() -> int:
    """``lclip_version_number``: MAJOR * 10000 + MINOR * 100 + PATCH."""
    return int(lib.lclip_version_number())


def build_info() -> str:
    """``lclip_build_info``: "key=value; key=value" about the loaded library."""
    return lib.lclip_build_info().decode("utf-8", "replace")


def key_values(text: str, separator: str) -> dict[str, str]:
    """The "key=value" fields of ``text``, separated by ``separator``, as a dict."""
    fields = (field.partition("=") for field in text.split(separator) if field)
    return {key: value for key, _, value in fields}
