"""Finding the shared library: LIBCLIP_PATH, the package directory, the
system loader, and the errors when none works."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

import libclip
from conftest import PACKAGE_ROOT


def test_loaded_from_libclip_path():
    env = os.environ.get("LIBCLIP_PATH")
    if not env:
        pytest.skip("LIBCLIP_PATH is not set")
    assert Path(libclip.library_path) == Path(env).resolve() or libclip.library_path == os.path.abspath(env)


def test_bad_libclip_path_is_a_clear_import_error(tmp_path, run_python):
    missing = tmp_path / "nowhere" / "libclip.so"
    result = run_python("import libclip", env={"LIBCLIP_PATH": str(missing)}, check=False)
    assert result.returncode != 0
    assert "ImportError" in result.stderr and "LIBCLIP_PATH" in result.stderr and str(missing) in result.stderr
    not_a_library = tmp_path / "libclip.so"
    not_a_library.write_text("not an ELF file")
    result = run_python("import libclip", env={"LIBCLIP_PATH": str(not_a_library)}, check=False)
    assert result.returncode != 0
    assert "cannot load" in result.stderr


def test_not_libclip_is_rejected(run_python):
    """A loadable shared library that is not libclip (here the C library,
    found in /proc/self/maps) is refused at import with the missing symbol."""
    maps = Path("/proc/self/maps")
    if not maps.is_file():
        pytest.skip("no /proc/self/maps to find another shared library")
    libc = next((line.split()[-1] for line in maps.read_text().splitlines() if "/libc.so" in line), None)
    if libc is None:
        pytest.skip("libc not found in /proc/self/maps")
    result = run_python("import libclip", env={"LIBCLIP_PATH": libc}, check=False)
    assert result.returncode != 0 and "does not export lclip_" in result.stderr


@pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler to build a stand-in library")
@pytest.mark.parametrize("number", [None, 299], ids=["0.1-no-version-number", "version-number-299"])
def test_library_older_than_0_3_is_refused(tmp_path, run_python, number):
    """A library with 0.1.0's functions but no lclip_version_number (or one
    below 300) is refused at import: the binding calls 0.2 and 0.3 functions."""
    from libclip import _lib

    stubs = [f"void {name}(void) {{}}" for name in _lib.PROTOS_0_1 if name != "lclip_version"]
    stubs.append('const char *lclip_version(void) { return "0.1.9"; }')
    if number is not None:
        stubs.append(f"unsigned lclip_version_number(void) {{ return {number}; }}")
    source = tmp_path / "old.c"
    source.write_text("\n".join(stubs) + "\n")
    old = tmp_path / "libclip.so"
    subprocess.run(["cc", "-shared", "-fPIC", "-o", str(old), str(source)], check=True)
    result = run_python("import libclip", env={"LIBCLIP_PATH": str(old)}, check=False)
    assert result.returncode != 0
    assert "ImportError" in result.stderr and "libclip 0.1.9" in result.stderr
    assert "needs libclip 0.3.0 or later" in result.stderr


@pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler to build a stand-in library")
def test_library_0_3_loads_without_classifiers(tmp_path, run_python):
    """A 0.3 library (every 0.1 to 0.3 function, none of 0.4) is accepted at
    import; only the classifier calls fail, with LCLIP_E_UNSUPPORTED."""
    from libclip import _lib

    given = {"lclip_version", "lclip_version_number", "lclip_strerror", "lclip_last_error"}
    names = [*_lib.PROTOS_0_1, *_lib.PROTOS_0_2, *_lib.PROTOS_0_3]
    stubs = [f"void {name}(void) {{}}" for name in names if name not in given]
    stubs += [
        'const char *lclip_version(void) { return "0.3.9"; }',
        "unsigned lclip_version_number(void) { return 309; }",
        'const char *lclip_strerror(int s) { (void)s; return "unsupported"; }',
        'const char *lclip_last_error(void) { return ""; }',
    ]
    source = tmp_path / "old.c"
    source.write_text("\n".join(stubs) + "\n")
    old = tmp_path / "libclip.so"
    subprocess.run(["cc", "-shared", "-fPIC", "-o", str(old), str(source)], check=True)
    script = """
import libclip
assert not libclip._lib.has_classifiers
for call in (lambda: libclip.template_set("photo"), lambda: libclip.Classifier.load("x"),
             lambda: libclip.Classifier.from_vectors([[1.0]], ["a"]), lambda: libclip.select_c([[1.0]], [0])):
    try:
        call()
    except libclip.ClipError as e:
        assert e.status_name == "LCLIP_E_UNSUPPORTED" and "0.4.0" in e.message, e
    else:
        raise AssertionError("no error")
print("ok")
"""
    result = run_python(script, env={"LIBCLIP_PATH": str(old)})
    assert result.stdout.strip() == "ok"


def _copy_package(tmp_path: Path) -> Path:
    target = tmp_path / "site"
    shutil.copytree(PACKAGE_ROOT / "libclip", target / "libclip", ignore=shutil.ignore_patterns("__pycache__"))
    return target


def test_found_next_to_the_package(tmp_path, run_python):
    site = _copy_package(tmp_path)
    real = Path(libclip.library_path).resolve()
    shutil.copy(real, site / "libclip" / "libclip.so.0")
    result = run_python(
        "import libclip; print(libclip.library_path); print(libclip.library_version())",
        env={"LIBCLIP_PATH": None, "PYTHONPATH": str(site)},
    )
    loaded, version = result.stdout.split()
    assert Path(loaded) == site / "libclip" / "libclip.so.0"
    assert version == libclip.library_version()


def test_nothing_found_is_a_clear_import_error(tmp_path, run_python):
    # Probed in a child: this process already has libclip.so.0 loaded, and the
    # dynamic loader would match its SONAME.
    site = _copy_package(tmp_path)
    result = run_python("import libclip", env={"LIBCLIP_PATH": None, "PYTHONPATH": str(site)}, check=False)
    if result.returncode == 0:
        pytest.skip("libclip is installed where the system loader finds it")
    assert "ImportError" in result.stderr
    assert "libclip.so was not found" in result.stderr and "LIBCLIP_PATH" in result.stderr
