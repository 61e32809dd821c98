"""The ctypes mirror of lclip_options and the keyword arguments mapped onto it."""

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


def test_struct_size_matches_the_library():
    """lclip_options_init writes sizeof(lclip_options) as the library was
    compiled; the mirror must have exactly that size."""
    assert _lib.library_options_size() == ctypes.sizeof(_lib.Options)
    opts = _lib.default_options()
    assert opts.struct_size == ctypes.sizeof(_lib.Options)


def test_defaults_come_from_lclip_options_init():
    opts = _lib.default_options()
    assert (opts.n_threads, opts.normalize, opts.truncate_text, opts.exif_orientation) == (0, 1, 1, 0)
    assert opts.max_header_bytes == 100 * 1024 * 1024
    assert opts.max_tensor_count == 65536
    assert opts.max_text_bytes == 1024 * 1024
    assert opts.max_image_pixels == 178956970
    assert opts.vocab_path is None


@pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler to read the header's layout")
@pytest.mark.skipif(not HEADER.is_file(), reason=f"{HEADER} not found")
def test_field_offsets_match_the_header(tmp_path):
    """Compiles a probe against include/libclip.h: every field's offset and
    size, and the struct's size, must equal the ctypes mirror's."""
    fields = [name for name, _ in _lib.Options._fields_]
    lines = [
        f'printf("{name} %zu %zu\\n", offsetof(lclip_options, {name}), sizeof(((lclip_options *)0)->{name}));'
        for name in fields
    ]
    source = tmp_path / "probe.c"
    source.write_text(
        "#include <stddef.h>\n#include <stdio.h>\n#include \"libclip.h\"\nint main(void) {\n"
        + "\n".join(lines)
        + '\nprintf("sizeof %zu 0\\n", sizeof(lclip_options));\nreturn 0;\n}\n'
    )
    exe = tmp_path / "probe"
    subprocess.run(["cc", "-std=c11", "-I", str(HEADER.parent), str(source), "-o", str(exe)], check=True)
    output = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout
    c_layout = {name: (int(off), int(size)) for name, off, size in (line.split() for line in output.splitlines())}
    for name, ctype in _lib.Options._fields_:
        assert c_layout[name] == (getattr(_lib.Options, name).offset, ctypes.sizeof(ctype)), name
    assert c_layout["sizeof"][0] == ctypes.sizeof(_lib.Options)
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
    """threads=N sets OpenBLAS's process-wide thread count, so it runs in a
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
