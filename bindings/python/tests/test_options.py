"""The ctypes mirrors of lclip_options and lclip_batch_options, the keyword
arguments mapped onto them, and the version functions."""

from __future__ import annotations

import ctypes
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import libclip
from libclip import _lib
from conftest import REPO_ROOT, model_path

HEADER = REPO_ROOT / "include" / "libclip.h"


def test_struct_size_is_the_mirrors():
    """lclip_options_init_sized is given the mirror's size and writes it:
    the library then reads exactly the fields this binding knows."""
    assert _lib.default_options().struct_size == ctypes.sizeof(_lib.Options)
    assert _lib.default_batch_options().struct_size == ctypes.sizeof(_lib.BatchOptions)
    if ctypes.sizeof(ctypes.c_void_p) == 8:
        assert (ctypes.sizeof(_lib.Options), ctypes.sizeof(_lib.BatchOptions)) == (96, 40)  # LP64, 0.3.0
    if _lib.has_classifiers:
        probe = _lib.default_probe_options()
        assert probe.struct_size == ctypes.sizeof(_lib.ProbeOptions) == 32
        assert (probe.c, probe.tolerance, probe.max_iterations, probe.reserved) == (1.0, 1e-6, 1000, 0)


def test_defaults_come_from_lclip_options_init():
    opts = _lib.default_options()
    assert (opts.n_threads, opts.normalize, opts.truncate_text, opts.exif_orientation) == (0, 1, 1, 0)
    assert opts.max_header_bytes == 100 * 1024 * 1024
    assert opts.max_tensor_count == 65536
    assert opts.max_text_bytes == 1024 * 1024
    assert opts.max_image_pixels == 178956970
    assert opts.vocab_path is None
    assert not opts.log and opts.log_user is None
    assert (opts.engine, opts.precision) == (0, 0)  # LCLIP_ENGINE_AUTO, LCLIP_PRECISION_F32
    batch = _lib.default_batch_options()
    assert not (batch.item_status or batch.on_item_error or batch.on_progress or batch.user)


class _NewerOptions(ctypes.Structure):
    """What a binding built for a later release would pass: our fields and
    one more 8-byte unit."""

    _fields_ = [("known", _lib.Options), ("later", ctypes.c_uint64)]


def _open_status(opts: ctypes.Structure, path: str) -> tuple[int, str]:
    """lclip_image_encoder_open's status and message for an options struct."""
    out = ctypes.c_void_p()
    status = _lib.lib.lclip_image_encoder_open(
        path.encode(), ctypes.cast(ctypes.byref(opts), ctypes.POINTER(_lib.Options)), ctypes.byref(out)
    )
    message = _lib.last_error() if status else ""
    _lib.lib.lclip_image_encoder_close(out)
    return status, message


def test_options_of_a_newer_struct_size(fixtures):
    """A struct larger than the library knows: the init zeroes the tail;
    open accepts it while the unknown tail is zero and refuses it otherwise."""
    path = model_path(fixtures, "tiny-gelu", "hf")
    newer = _NewerOptions()
    ctypes.memset(ctypes.byref(newer), 0xAB, ctypes.sizeof(newer))
    size = ctypes.sizeof(_NewerOptions)
    options_p = ctypes.cast(ctypes.byref(newer), ctypes.POINTER(_lib.Options))
    assert _lib.lib.lclip_options_init_sized(options_p, size) == 0
    assert newer.known.struct_size == size and newer.later == 0 and newer.known.normalize == 1
    assert _open_status(newer, path) == (0, "")
    newer.later = 1
    status, message = _open_status(newer, path)
    assert status == libclip.Status.E_INVALID_ARGUMENT
    assert f"byte {ctypes.sizeof(_lib.Options)} is set" in message


def test_options_of_the_0_1_layout(fixtures):
    """lclip_options_init, frozen to 0.1.0's layout, writes only its fields
    and their size; such a struct still opens (the 0.2 fields default)."""
    opts = _lib.Options()
    ctypes.memset(ctypes.byref(opts), 0xAB, ctypes.sizeof(opts))
    _lib.lib.lclip_options_init(ctypes.byref(opts))
    size_0_1 = _lib.Options.log.offset
    assert opts.struct_size == size_0_1 and opts.normalize == 1
    tail = ctypes.string_at(ctypes.addressof(opts) + size_0_1, ctypes.sizeof(opts) - size_0_1)
    assert tail == b"\xab" * len(tail)  # nothing written beyond the 0.1.0 struct
    assert _open_status(opts, model_path(fixtures, "tiny-gelu", "hf")) == (0, "")


def test_options_of_the_0_2_layout(fixtures):
    """The sized initialiser with 0.2.0's size (up to log_user) writes
    nothing beyond it; such a struct opens with the 0.3 fields' defaults."""
    opts = _lib.Options()
    ctypes.memset(ctypes.byref(opts), 0xAB, ctypes.sizeof(opts))
    size_0_2 = _lib.Options.engine.offset
    assert _lib.lib.lclip_options_init_sized(ctypes.byref(opts), size_0_2) == 0
    assert opts.struct_size == size_0_2 and opts.normalize == 1
    tail = ctypes.string_at(ctypes.addressof(opts) + size_0_2, ctypes.sizeof(opts) - size_0_2)
    assert tail == b"\xab" * len(tail)
    assert _open_status(opts, model_path(fixtures, "tiny-gelu", "hf")) == (0, "")


def test_sized_init_refuses_sizes_of_no_release():
    opts = _lib.Options()
    for size in (0, 8, _lib.Options.log.offset + 8, 1 << 20):
        assert _lib.lib.lclip_options_init_sized(ctypes.byref(opts), size) == libclip.Status.E_INVALID_ARGUMENT, size
    batch = _lib.BatchOptions()
    assert _lib.lib.lclip_batch_options_init_sized(ctypes.byref(batch), 8) == libclip.Status.E_INVALID_ARGUMENT


@pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler to read the header's layout")
@pytest.mark.skipif(not HEADER.is_file(), reason=f"{HEADER} not found")
@pytest.mark.parametrize(
    "mirror, c_name",
    [(_lib.Options, "lclip_options"), (_lib.BatchOptions, "lclip_batch_options"),
     (_lib.ProbeOptions, "lclip_probe_options")],
)
def test_field_offsets_match_the_header(tmp_path, mirror, c_name):
    """Compiles a probe against include/libclip.h: every field's offset and
    size, and the struct's size, must equal the ctypes mirror's."""
    fields = [name for name, _ in mirror._fields_]
    lines = [
        f'printf("{name} %zu %zu\\n", offsetof({c_name}, {name}), sizeof((({c_name} *)0)->{name}));'
        for name in fields
    ]
    source = tmp_path / "probe.c"
    source.write_text(
        "#include <stddef.h>\n#include <stdio.h>\n#include \"libclip.h\"\nint main(void) {\n"
        + "\n".join(lines)
        + f'\nprintf("sizeof %zu 0\\n", sizeof({c_name}));\nreturn 0;\n}}\n'
    )
    exe = tmp_path / "probe"
    subprocess.run(["cc", "-std=c11", "-I", str(HEADER.parent), str(source), "-o", str(exe)], check=True)
    output = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout
    c_layout = {name: (int(off), int(size)) for name, off, size in (line.split() for line in output.splitlines())}
    for name, ctype in mirror._fields_:
        assert c_layout[name] == (getattr(mirror, name).offset, ctypes.sizeof(ctype)), name
    assert c_layout["sizeof"][0] == ctypes.sizeof(mirror)
    assert list(c_layout)[:-1] == fields  # same order


def test_version_matches_header():
    assert libclip.library_version().count(".") == 2
    if HEADER.is_file():
        text = HEADER.read_text()
        parts = [
            next(line.split()[2] for line in text.splitlines() if line.startswith(f"#define LCLIP_VERSION_{p} "))
            for p in ("MAJOR", "MINOR", "PATCH")
        ]
        assert libclip.library_version() == ".".join(parts)
    major, minor, patch = (int(p) for p in libclip.library_version().split("."))
    assert libclip.version_number() == major * 10000 + minor * 100 + patch >= 300


def test_build_info():
    text = libclip.build_info_string()
    info = libclip.build_info()
    assert "; ".join(f"{k}={v}" for k, v in info.items()) == text
    assert info["version"] == libclip.library_version()
    assert {"blas", "blas_config", "blas_threading", "engines", "simd", "compiler"} <= set(info)
    assert info["blas_threading"] in ("pthreads", "openmp", "serial", "unknown")


def test_option_validation(fixtures):
    path = model_path(fixtures, "tiny-gelu", "hf")
    with pytest.raises(TypeError, match="unknown option"):
        libclip.ImageEncoder(path, max_pixels=10)
    with pytest.raises(TypeError, match="unknown option"):
        libclip.ImageEncoder(path, vocab_path="x")  # a text-only option
    with pytest.raises(TypeError, match="unknown option"):
        libclip.TextEncoder(path, exif_orientation=True)  # an image-only option
    with pytest.raises(TypeError, match="threads="):
        libclip.ImageEncoder(path, n_threads=2)
    with pytest.raises(TypeError, match="cannot be set"):
        libclip.TextEncoder(path, struct_size=8)
    with pytest.raises(ValueError, match="2\\*\\*64"):
        libclip.ImageEncoder(path, max_image_pixels=-1)
    with pytest.raises(TypeError, match="must be an int"):
        libclip.ImageEncoder(path, max_image_pixels=1.5)
    with pytest.raises(ValueError, match="C int"):
        libclip.ImageEncoder(path, threads=2**40)
    with pytest.raises(TypeError):
        libclip.ImageEncoder(b"/bytes/path")
    # Values ctypes can hold but the library rejects come back as ClipError.
    with pytest.raises(libclip.ClipError) as info:
        libclip.ImageEncoder(path, threads=-1)
    assert info.value.status_name == "LCLIP_E_INVALID_ARGUMENT"
    assert "n_threads" in info.value.message
    with pytest.raises(libclip.ClipError) as info:
        libclip.TextEncoder(path, normalize=2)
    assert info.value.status_name == "LCLIP_E_INVALID_ARGUMENT"


def test_model_limits(fixtures):
    path = model_path(fixtures, "tiny-gelu", "hf")
    for cls in (libclip.ImageEncoder, libclip.TextEncoder):
        with pytest.raises(libclip.ClipError) as info:
            cls(path, max_header_bytes=16)
        assert info.value.status_name == "LCLIP_E_TOO_LARGE"
        with pytest.raises(libclip.ClipError) as info:
            cls(path, max_tensor_count=3)
        assert info.value.status_name == "LCLIP_E_TOO_LARGE"


def test_normalize_false_gives_the_raw_projection(fixtures, image_paths):
    path = model_path(fixtures, "tiny-gelu", "hf")
    with libclip.ImageEncoder(path) as unit_enc, libclip.ImageEncoder(path, normalize=False) as raw_enc:
        unit = unit_enc.encode(image_paths)
        unnormalised = raw_enc.encode(image_paths)
    assert not np.allclose(np.linalg.norm(unnormalised, axis=1), 1.0)
    assert np.allclose(unnormalised / np.linalg.norm(unnormalised, axis=1, keepdims=True), unit, atol=1e-6)


def test_threads_option(fixtures, image_paths, run_python):
    """threads=N may set OpenBLAS's process-wide thread count, so it runs in a
    child process rather than changing it for the other tests."""
    script = f"""
import numpy as np, libclip
path, images = {model_path(fixtures, "tiny-gelu", "hf")!r}, {image_paths!r}
with libclip.ImageEncoder(path) as default, libclip.ImageEncoder(path, threads=1) as one:
    a, b = default.encode(images), one.encode(images)
assert np.allclose(a, b, rtol=0, atol=1e-5), abs(a - b).max()
print("ok")
"""
    assert run_python(script).stdout.strip() == "ok"


def test_paths_may_be_pathlike(fixtures, vocab):
    model = Path(model_path(fixtures, "tiny-gelu", "open_clip"))
    with libclip.TextEncoder(model, vocab_path=Path(vocab)) as enc:
        assert enc.model_path == str(model)
        assert enc.tokenize("a cat")[:4] == [49406, 320, 2368, 49407]


def test_package_version_matches_pyproject():
    import tomllib

    from conftest import PACKAGE_ROOT

    project = tomllib.loads((PACKAGE_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["version"] == libclip.__version__
