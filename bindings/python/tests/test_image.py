"""ImageEncoder: embeddings against the C tool (bit for bit) and the goldens,
every input kind, preprocessing and image errors."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import libclip
from conftest import (
    LAYOUTS,
    MODELS,
    assert_within_embedding_tolerance,
    model_path,
    read_f32,
    run_clip_embed,
)


@pytest.fixture(scope="module", params=[(m, l) for m in MODELS for l in LAYOUTS], ids=lambda p: f"{p[0]}-{p[1]}")
def model(request: pytest.FixtureRequest, fixtures: Path) -> tuple[str, str, str]:
    name, layout = request.param
    return name, layout, model_path(fixtures, name, layout)


@pytest.fixture(scope="module")
def encoder(fixtures: Path) -> Any:
    with libclip.ImageEncoder(model_path(fixtures, "tiny-gelu", "hf")) as enc:
        yield enc


def _decoded(fixtures: Path, manifest: dict[str, Any]) -> list[tuple[str, np.ndarray]]:
    """(image path, golden decoded H x W x 3 pixels) for the images that have them."""
    out = []
    for entry in manifest["images"]:
        if "decoded_rgb8" in entry:
            d = entry["decoded_rgb8"]
            pixels = np.fromfile(fixtures / d["file"], dtype=np.uint8).reshape(d["shape"])
            out.append((str(fixtures / entry["file"]), pixels))
    return out


@pytest.mark.parametrize("raw", [False, True], ids=["normalized", "raw"])
def test_batch_equals_clip_embed_bit_for_bit(model, image_paths, clip_embed, tmp_path, raw):
    name, layout, path = model
    with libclip.ImageEncoder(path, normalize=not raw) as enc:
        ours = enc.encode(image_paths)
        dim = enc.dim
    args = (["--raw"] if raw else []) + ["--image", *image_paths]
    theirs = run_clip_embed(clip_embed, path, args, dim, tmp_path)
    assert ours.dtype == np.float32 and ours.shape == (len(image_paths), dim)
    assert np.array_equal(ours, theirs)


def test_raw_embeddings_match_goldens(model, fixtures, manifest, image_paths):
    name, layout, path = model
    golden_info = manifest["models"][name]["golden"]["image_embeds"]
    golden = read_f32(fixtures / golden_info["file"], tuple(golden_info["shape"]))
    with libclip.ImageEncoder(path, normalize=False) as enc:
        assert enc.dim == golden.shape[1]
        assert enc.image_size == manifest["models"][name]["spec"]["image_resolution"]
        assert enc.logit_scale == pytest.approx(manifest["models"][name]["golden"]["logit_scale_exp"], rel=1e-6)
        ours = enc.encode(image_paths)
    assert_within_embedding_tolerance(ours, golden, manifest["tolerances"]["embeddings"])


def test_normalized_rows_are_unit_vectors(encoder, image_paths):
    rows = encoder.encode(image_paths)
    assert np.allclose(np.linalg.norm(rows, axis=1), 1.0, atol=1e-5)


def test_single_item_is_a_vector_and_list_is_a_matrix(encoder, image_paths):
    one = encoder.encode(image_paths[0])
    assert one.shape == (encoder.dim,) and one.dtype == np.float32
    listed = encoder.encode([image_paths[0]])
    assert listed.shape == (1, encoder.dim)
    assert np.array_equal(listed[0], one)
    assert encoder.encode(tuple(image_paths[:2])).shape == (2, encoder.dim)
    assert encoder.encode(iter(image_paths[:3])).shape == (3, encoder.dim)
    assert encoder.encode([]).shape == (0, encoder.dim)
    assert np.array_equal(encoder.encode(Path(image_paths[0])), one)


def test_bytes_bytearray_memoryview_equal_path(encoder, image_paths):
    for path in image_paths:
        expected = encoder.encode(path)
        data = Path(path).read_bytes()
        assert np.array_equal(encoder.encode(data), expected), path
        assert np.array_equal(encoder.encode(bytearray(data)), expected), path
        assert np.array_equal(encoder.encode(memoryview(data)), expected), path
        assert np.array_equal(encoder.encode(memoryview(bytearray(data))), expected), path
    # A memoryview that is not contiguous is copied first.
    data = Path(image_paths[0]).read_bytes()
    doubled = bytes(b for b in data for _ in (0, 1))
    assert np.array_equal(encoder.encode(memoryview(doubled)[::2]), encoder.encode(data))


def test_numpy_rgb_equals_path(encoder, fixtures, manifest):
    cases = _decoded(fixtures, manifest)
    assert cases, "the manifest lists decoded pixels"
    for path, pixels in cases:
        assert np.array_equal(encoder.encode(pixels), encoder.encode(path)), path
        # encode_rgb takes the same pixels as bytes, for callers without numpy.
        h, w, _ = pixels.shape
        assert np.array_equal(encoder.encode_rgb(pixels.tobytes(), w, h), encoder.encode(path)), path


def test_numpy_rgb_views_and_copies(encoder, fixtures, manifest):
    _, pixels = _decoded(fixtures, manifest)[0]
    crop = pixels[10:200, 20:300]  # rows of packed pixels with a larger stride
    assert not crop.flags.c_contiguous
    assert np.array_equal(encoder.encode(crop), encoder.encode(np.ascontiguousarray(crop)))
    mirrored = pixels[::-1, ::-1]  # negative strides: copied to C order first
    assert np.array_equal(encoder.encode(mirrored), encoder.encode(np.ascontiguousarray(mirrored)))
    bgr_swapped = pixels[:, :, ::-1]
    assert np.array_equal(encoder.encode(bgr_swapped), encoder.encode(np.ascontiguousarray(bgr_swapped)))
    fortran = np.asfortranarray(pixels)
    assert np.array_equal(encoder.encode(fortran), encoder.encode(pixels))
    # A strided crop through encode_rgb's explicit stride gives the same.
    h, w, _ = crop.shape
    stride = pixels.strides[0]
    start = 10 * stride + 20 * 3
    raw = pixels.tobytes()[start : start + stride * (h - 1) + 3 * w]
    assert np.array_equal(encoder.encode_rgb(raw, w, h, stride), encoder.encode(crop))


def test_numpy_batch_4d(encoder, fixtures, manifest):
    _, pixels = _decoded(fixtures, manifest)[0]
    batch = np.stack([pixels, pixels[::-1]])
    rows = encoder.encode(batch)
    assert rows.shape == (2, encoder.dim)
    assert np.array_equal(rows[0], encoder.encode(pixels))
    assert np.array_equal(rows[1], encoder.encode(pixels[::-1]))


def test_mixed_list_keeps_input_order(encoder, image_paths, fixtures, manifest):
    path_a, path_b = image_paths[0], image_paths[1]
    decoded_path, pixels = _decoded(fixtures, manifest)[1]
    items = [path_a, Path(decoded_path).read_bytes(), path_b, pixels]
    rows = encoder.encode(items)
    paths_batch = encoder.encode([path_a, path_b])  # what the batched path call gives
    assert np.array_equal(rows[0], paths_batch[0])
    assert np.array_equal(rows[2], paths_batch[1])
    assert np.array_equal(rows[1], encoder.encode(decoded_path))
    assert np.array_equal(rows[3], encoder.encode(pixels))


def test_bad_pixel_arrays(encoder):
    with pytest.raises(TypeError, match="uint8"):
        encoder.encode(np.zeros((8, 8, 3), dtype=np.float32))
    with pytest.raises(ValueError, match="H x W x 3"):
        encoder.encode(np.zeros((8, 8, 4), dtype=np.uint8))
    with pytest.raises(ValueError, match="H x W x 3"):
        encoder.encode([np.zeros((8, 8), dtype=np.uint8)])
    with pytest.raises(ValueError):
        encoder.encode(np.zeros((8, 8), dtype=np.uint8))
    with pytest.raises(ValueError, match="between 1"):
        encoder.encode(np.zeros((0, 8, 3), dtype=np.uint8))
    with pytest.raises(TypeError, match="expected a path"):
        encoder.encode([42])
    with pytest.raises(TypeError):
        encoder.encode(42)
    with pytest.raises(ValueError, match="fewer than"):
        encoder.encode_rgb(b"\0" * 10, 2, 2)
    with pytest.raises(ValueError, match="NUL"):
        encoder.encode("a\0b.png")


def test_corrupt_image_bytes_is_format_error(encoder, image_paths):
    with pytest.raises(libclip.ClipError) as info:
        encoder.encode(b"\x89PNG\r\n\x1a\n this is not a png")
    assert info.value.status_name == "LCLIP_E_FORMAT"
    assert info.value.status == libclip.Status.E_FORMAT == 3
    assert info.value.message  # the library's detail message
    jpeg = next(p for p in image_paths if p.endswith(".jpg"))
    truncated = Path(jpeg).read_bytes()[:600]
    with pytest.raises(libclip.ClipError) as info:
        encoder.encode([truncated])
    assert info.value.status_name == "LCLIP_E_FORMAT"
    with pytest.raises(libclip.ClipError) as info:
        encoder.encode(b"")
    assert info.value.status_name == "LCLIP_E_FORMAT"
    with pytest.raises(libclip.ClipError) as info:
        encoder.encode(b"II*\x00 a TIFF header: not supported")
    assert info.value.status_name == "LCLIP_E_UNSUPPORTED"


def test_missing_image_file_is_io_error(encoder, tmp_path, image_paths):
    missing = tmp_path / "missing.png"
    with pytest.raises(libclip.ClipError) as info:
        encoder.encode([image_paths[0], missing])
    assert info.value.status_name == "LCLIP_E_IO"
    assert "missing.png" in info.value.message
    assert "missing.png" in str(info.value)


def test_file_with_garbage_is_format_error(encoder, tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff" + b"garbage" * 10)
    with pytest.raises(libclip.ClipError) as info:
        encoder.encode(bad)
    assert info.value.status_name == "LCLIP_E_FORMAT"


def test_preprocess_matches_golden_and_clip_embed(encoder, fixtures, manifest, clip_embed, tmp_path):
    size = encoder.image_size
    for entry in manifest["images"]:
        golden_info = entry["preprocess"][str(size)]
        golden = read_f32(fixtures / golden_info["file"], tuple(golden_info["shape"]))
        ours = encoder.preprocess(fixtures / entry["file"])
        assert ours.shape == (3, size, size) and ours.dtype == np.float32
        assert np.abs(ours - golden).max() <= manifest["tolerances"]["preprocess"]["max_abs_diff"], entry["name"]
    first = str(fixtures / manifest["images"][0]["file"])
    out = tmp_path / "pre.f32"
    subprocess.run(
        [str(clip_embed), "--model", encoder.model_path, "--preprocess", "--image", first, "--out", str(out)],
        check=True,
    )
    assert np.array_equal(encoder.preprocess(first), read_f32(out, (3, size, size)))


def test_preprocess_errors(encoder, tmp_path):
    with pytest.raises(libclip.ClipError) as info:
        encoder.preprocess(tmp_path / "nope.png")
    assert info.value.status_name == "LCLIP_E_IO"
    with pytest.raises(TypeError):
        encoder.preprocess(io.BytesIO(b""))


def test_max_image_pixels_option(fixtures, image_paths):
    with libclip.ImageEncoder(model_path(fixtures, "tiny-gelu", "hf"), max_image_pixels=100) as enc:
        with pytest.raises(libclip.ClipError) as info:
            enc.encode(image_paths[0])
    assert info.value.status_name == "LCLIP_E_TOO_LARGE"


def test_exif_orientation_option(fixtures):
    exif = str(fixtures / "images" / "photo_astronaut_240x250_exif6.jpg")
    path = model_path(fixtures, "tiny-gelu", "hf")
    with libclip.ImageEncoder(path) as plain, libclip.ImageEncoder(path, exif_orientation=True) as rotated:
        assert not np.array_equal(plain.encode(exif), rotated.encode(exif))
