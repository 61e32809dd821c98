"""Classifiers (libclip 0.4.0): zero-shot prompt ensembles against the
reference, linear probes, the classifier file, errors, lifetime, and the
numpy-less path."""

from __future__ import annotations

import gc
import json
import math
import pickle
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import libclip
from conftest import LAYOUTS, MODELS, model_path, read_f32, small_vocab_model, text_encoder
from libclip import _lib

pytestmark = pytest.mark.skipif(
    not _lib.has_classifiers, reason=f"{_lib.library_path} is libclip {_lib.version()}, without classifiers (0.4.0)"
)


@pytest.fixture(scope="module")
def zeroshot(fixtures: Path) -> dict[str, Any]:
    path = fixtures / "zeroshot" / "zeroshot.json"
    if not path.is_file():
        pytest.skip(f"{path} not found (fixtures older than the zero-shot ones)")
    return json.loads(path.read_text(encoding="utf-8"))


def _close_rows(actual: np.ndarray, ref: np.ndarray) -> None:
    """zeroshot.json's class-vector tolerance: per row cosine >= 0.99999 and
    max-abs <= 1e-4 * max|ref|."""
    assert actual.shape == ref.shape
    for i, (x, r) in enumerate(zip(actual.astype(np.float64), ref.astype(np.float64))):
        cosine = x @ r / (np.linalg.norm(x) * np.linalg.norm(r))
        assert cosine >= 0.99999, f"row {i}: cosine {cosine}"
        assert np.abs(x - r).max() <= 1e-4 * np.abs(r).max(), f"row {i}"


def _clusters(seed: int = 7, per_class: int = 12, dim: int = 16, classes: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Well separated clusters: class k around a distinct direction."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(classes, dim)).astype(np.float32) * 4
    labels = np.repeat(np.arange(classes), per_class)
    points = centres[labels] + rng.normal(size=(len(labels), dim)).astype(np.float32) * 0.3
    return points.astype(np.float32), labels


def _softmax(x: np.ndarray) -> np.ndarray:
    x = x - x.max(axis=-1, keepdims=True)
    e = np.exp(x)
    return e / e.sum(axis=-1, keepdims=True)


# ---------------------------------------------------------------------------
# Template sets.


def test_template_sets(fixtures, zeroshot):
    imagenet = libclip.template_set("imagenet")
    lines = (fixtures / "zeroshot" / zeroshot["templates_file"]).read_text(encoding="utf-8").splitlines()
    assert imagenet == [line for line in lines if line]
    assert len(imagenet) == zeroshot["n_templates"] == 80
    assert libclip.template_set("photo") == ["a photo of a {}."]
    with pytest.raises(ValueError, match="unknown template set 'nope'"):
        libclip.template_set("nope")
    with pytest.raises(TypeError):
        libclip.template_set(None)


# ---------------------------------------------------------------------------
# Zero-shot against the reference.


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", MODELS)
def test_zero_shot_matches_the_reference(fixtures, manifest, zeroshot, name, layout):
    ref = zeroshot["models"][name]
    classes = zeroshot["classes"]
    tolerance = zeroshot["tolerances"]["probs_max_abs_diff"]
    with text_encoder(fixtures, name, layout) as txt:
        cls = libclip.Classifier.zero_shot(txt, classes)  # the "imagenet" set by default
        scale = txt.logit_scale
    with cls:
        assert cls.classes == tuple(classes) and len(cls) == 6
        assert cls.kind == libclip.ClassifierKind.ZERO_SHOT == "zero_shot"
        assert cls.dim == 32 and cls.logit_scale == scale == pytest.approx(ref["logit_scale_exp"], rel=1e-6)
        assert np.array_equal(cls.bias, np.zeros(6, np.float32))
        vectors = cls.vectors
        assert vectors.dtype == np.float32
        _close_rows(vectors, read_f32(fixtures / "zeroshot" / ref["class_vectors"], tuple(ref["shape"])))
        assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-6)

        # The reference's image embeddings (raw, from the same pixels) give
        # the reference's probabilities.
        assert zeroshot["images"] == [entry["name"] for entry in manifest["images"]]
        embeds = read_f32(fixtures / manifest["models"][name]["golden"]["image_embeds"]["file"], (13, 32))
        expected = read_f32(fixtures / "zeroshot" / ref["probs"], tuple(ref["probs_shape"]))
        probs = cls.probs(embeds)
        assert probs.shape == (13, 6) and probs.dtype == np.float32
        assert np.abs(probs - expected).max() <= tolerance
        assert np.allclose(probs.sum(axis=1), 1, atol=1e-5)
        # And so do our own, from the image files.
        with libclip.ImageEncoder(model_path(fixtures, name, layout)) as img:
            ours = img.encode([str(fixtures / "images" / image) for image in zeroshot["images"]])
        assert np.abs(cls.probs(ours) - expected).max() <= tolerance
        # logits = logit_scale * cosine (biases are 0), in float32.
        unit = embeds / np.linalg.norm(embeds, axis=1, keepdims=True)
        logits = cls.logits(embeds)
        assert np.allclose(logits, scale * unit @ vectors.T, rtol=0, atol=1e-4 * scale)
        assert np.allclose(_softmax(logits.astype(np.float64)), probs, rtol=0, atol=1e-5)
        # One embedding gives one row.
        assert cls.probs(embeds[3]).shape == (6,)
        assert np.array_equal(cls.probs(embeds[3]), probs[3])


def test_zero_shot_templates(fixtures):
    """Templates as a list; "photo" is the one-template list; a template
    without "{}" gets a space and the name appended."""
    names = ["cat", "rocket"]
    with text_encoder(fixtures, "tiny-gelu", "hf") as txt:
        photo = libclip.Classifier.zero_shot(txt, names, "photo")
        listed = libclip.Classifier.zero_shot(txt, names, ["a photo of a {}."])
        suffix = libclip.Classifier.zero_shot(txt, names, ["a photo of a"])
        two = libclip.Classifier.zero_shot(txt, names, ["a photo of a {}.", "a sketch of a {}."])
        one = txt.encode(["a photo of a cat.", "a photo of a rocket."])
        bare = txt.encode(["a photo of a cat", "a photo of a rocket"])
        sketches = txt.encode(["a sketch of a cat.", "a sketch of a rocket."])
    assert np.array_equal(photo.vectors, listed.vectors)
    assert np.allclose(photo.vectors, one, atol=1e-6)
    assert np.allclose(suffix.vectors, bare, atol=1e-6)
    mean = one + sketches
    assert np.allclose(two.vectors, mean / np.linalg.norm(mean, axis=1, keepdims=True), atol=1e-6)


def test_zero_shot_progress_and_cancellation(fixtures):
    names = ["cat", "astronaut", "rocket"]
    seen: list[tuple[int, int]] = []
    with text_encoder(fixtures, "tiny-quickgelu", "hf") as txt:
        libclip.Classifier.zero_shot(txt, names, "photo", progress=lambda done, total: seen.append((done, total)))
        assert seen == [(1, 3), (2, 3), (3, 3)]

        class Stop(Exception):
            pass

        def stop(done: int, total: int) -> None:
            raise Stop(done)

        with pytest.raises(Stop):
            libclip.Classifier.zero_shot(txt, names, "photo", progress=stop)
        with pytest.raises(RuntimeError, match="close"):
            libclip.Classifier.zero_shot(txt, names, "photo", progress=lambda done, total: txt.close())
        assert not txt.closed


def test_zero_shot_errors(fixtures, tmp_path):
    with text_encoder(fixtures, "tiny-gelu", "hf") as txt:
        for names, templates in (([], "photo"), (["cat", "cat"], "photo"), (["cat", ""], "photo"),
                                 (["cat"], []), (["cat"], ["{} and {}"]), (["\udcff"], "photo")):
            if names == ["\udcff"]:
                with pytest.raises(UnicodeEncodeError):
                    libclip.Classifier.zero_shot(txt, names, templates)
                continue
            with pytest.raises(libclip.ClipError) as info:
                libclip.Classifier.zero_shot(txt, names, templates)
            assert info.value.status_name == "LCLIP_E_INVALID_ARGUMENT", (names, templates)
            assert info.value.message
        with pytest.raises(ValueError, match="unknown template set"):
            libclip.Classifier.zero_shot(txt, ["cat"], "a photo of a {}.")
        with pytest.raises(ValueError, match="NUL"):
            libclip.Classifier.zero_shot(txt, ["c\0t"], "photo")
        with pytest.raises(TypeError):
            libclip.Classifier.zero_shot(txt, "cat", "photo")  # a str is not a list of names
        with pytest.raises(TypeError):
            libclip.Classifier.zero_shot(object(), ["cat"], "photo")
    with pytest.raises(ValueError, match="closed"):
        libclip.Classifier.zero_shot(txt, ["cat"], "photo")
    with libclip.TextEncoder(small_vocab_model(fixtures, tmp_path), log=None) as bare:
        with pytest.raises(libclip.ClipError) as info:
            libclip.Classifier.zero_shot(bare, ["cat"], "photo")
        assert info.value.status_name == "LCLIP_E_UNSUPPORTED"
    with text_encoder(fixtures, "tiny-gelu", "hf", truncate=False) as strict:
        with pytest.raises(libclip.ClipError) as info:
            libclip.Classifier.zero_shot(strict, ["cat " * 100], "photo")
        assert info.value.status_name == "LCLIP_E_TOO_LARGE"


# ---------------------------------------------------------------------------
# Classifiers from vectors: apply.


def _made() -> libclip.Classifier:
    vectors = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 2]], np.float32)
    return libclip.Classifier.from_vectors(vectors, ["x", "y", "z"], bias=[0.5, 0, -1], logit_scale=10)


def test_from_vectors_logits_and_probs():
    with _made() as cls:
        assert cls.kind == libclip.ClassifierKind.VECTORS
        assert cls.classes == ("x", "y", "z") and cls.dim == 3 and cls.logit_scale == 10
        assert np.array_equal(cls.vectors[2], [0, 0, 2])  # used as given, not normalised
        assert np.array_equal(cls.bias, np.array([0.5, 0, -1], np.float32))
        embeds = np.array([[3, 4, 0], [0, 0, 0.5], [1, 1, 1]], np.float32)
        unit = embeds / np.linalg.norm(embeds, axis=1, keepdims=True)
        expected = 10 * unit @ cls.vectors.T + cls.bias
        logits = cls.logits(embeds)
        assert logits.dtype == np.float32 and logits.shape == (3, 3)
        assert np.allclose(logits, expected, rtol=0, atol=1e-5)
        assert np.allclose(cls.probs(embeds), _softmax(expected.astype(np.float64)), rtol=0, atol=1e-6)
        # Raw and normalised embeddings, float64 input and lists: the same.
        assert np.array_equal(cls.logits(unit), logits) or np.allclose(cls.logits(unit), logits, atol=1e-6)
        assert np.array_equal(cls.logits(embeds.astype(np.float64)), logits)
        assert np.array_equal(cls.logits(embeds.tolist()), logits)
        assert np.array_equal(cls.logits(embeds[0]), logits[0])
        assert cls.logits(np.zeros((0, 3), np.float32)).shape == (0, 3)
        # A non-contiguous view is copied, not misread.
        wide = np.zeros((3, 6), np.float32)
        wide[:, ::2] = embeds
        assert np.array_equal(cls.logits(wide[:, ::2]), logits)


def test_apply_errors():
    with _made() as cls:
        with pytest.raises(ValueError, match="dimension 4"):
            cls.probs(np.ones((2, 4), np.float32))
        with pytest.raises(ValueError, match="shape"):
            cls.probs(np.ones((2, 3, 1), np.float32))
        with pytest.raises(TypeError):
            cls.probs("abc")
        with pytest.raises(TypeError):
            cls.probs(np.array([["a", "b", "c"]]))
        for bad in ([1.0, math.nan, 0.0], [math.inf, 0.0, 0.0], [0.0, 0.0, 0.0]):
            with pytest.raises(libclip.ClipError) as info:
                cls.logits([[1.0, 0.0, 0.0], bad])
            assert info.value.status_name == "LCLIP_E_INVALID_ARGUMENT"
            assert info.value.message


def test_from_vectors_errors():
    with pytest.raises(ValueError, match="2 class vectors but 3 class names"):
        libclip.Classifier.from_vectors(np.eye(2, 3), ["a", "b", "c"])
    with pytest.raises(ValueError, match="bias has 3 values"):
        libclip.Classifier.from_vectors(np.eye(2, 3), ["a", "b"], bias=[1, 2, 3])
    with pytest.raises(ValueError, match=r"shape \(n, dim\)"):
        libclip.Classifier.from_vectors([1.0, 2.0], ["a"])
    with pytest.raises(libclip.ClipError) as info:
        libclip.Classifier.from_vectors(np.eye(2, 3), ["a", "a"])
    assert info.value.status_name == "LCLIP_E_INVALID_ARGUMENT"
    for bad in (dict(logit_scale=math.nan), dict(bias=[math.inf, 0]), dict(bias=[3e38, 0], logit_scale=3e38)):
        # The last: finite values whose logits would overflow float.
        with pytest.raises(libclip.ClipError) as info:
            libclip.Classifier.from_vectors(np.eye(2, 3), ["a", "b"], **bad)
        assert info.value.status_name == "LCLIP_E_INVALID_ARGUMENT", bad
    with pytest.raises(TypeError, match="Classifier.zero_shot"):
        libclip.Classifier()


def test_properties_are_copies():
    with _made() as cls:
        vectors, bias = cls.vectors, cls.bias
        vectors[:] = 7
        bias[:] = 7
        assert cls.vectors[0, 0] == 1 and cls.bias[0] == 0.5


# ---------------------------------------------------------------------------
# The classifier file.


def test_save_and_load_round_trip(fixtures, tmp_path):
    with text_encoder(fixtures, "tiny-quickgelu", "open_clip") as txt:
        original = libclip.Classifier.zero_shot(txt, ["cat", "Ærøskøbing harbour", "rocket"], "photo")
    path = tmp_path / "zs.classifier"
    original.save(path)
    embeds = np.random.default_rng(1).normal(size=(5, 32)).astype(np.float32)
    data = path.read_bytes()
    for loaded in (libclip.Classifier.load(path), libclip.Classifier.load(str(path)),
                   libclip.Classifier.from_bytes(data), libclip.Classifier.from_bytes(bytearray(data))):
        with loaded:
            assert loaded.classes == original.classes
            assert loaded.kind == original.kind and loaded.dim == original.dim
            assert loaded.logit_scale == original.logit_scale
            assert np.array_equal(loaded.vectors, original.vectors)
            assert np.array_equal(loaded.bias, original.bias)
            assert np.array_equal(loaded.probs(embeds), original.probs(embeds))
    # Saving again gives the same bytes; and over an existing file.
    original.save(path)
    assert path.read_bytes() == data
    assert original.to_bytes() == data
    clone = pickle.loads(pickle.dumps(original))
    assert type(clone) is libclip.Classifier and clone.to_bytes() == data
    assert np.array_equal(clone.probs(embeds), original.probs(embeds))
    probe = libclip.Classifier.train_probe(*_clusters(), ["a", "b", "c"])
    probe.save(tmp_path / "probe.classifier")
    again = libclip.Classifier.load(tmp_path / "probe.classifier")
    assert again.kind == libclip.ClassifierKind.PROBE
    assert np.array_equal(again.vectors, probe.vectors) and np.array_equal(again.bias, probe.bias)


def test_bad_classifier_files(tmp_path):
    with _made() as cls:
        cls.save(tmp_path / "good")
    data = (tmp_path / "good").read_bytes()
    with pytest.raises(libclip.ClipError) as info:
        libclip.Classifier.load(tmp_path / "missing")
    assert info.value.status_name == "LCLIP_E_IO"
    for what, blob in (("empty", b""), ("truncated", data[: len(data) // 2]), ("one byte short", data[:-1]),
                       ("not a classifier", b"\x89PNG\r\n\x1a\n" + bytes(64))):
        with pytest.raises(libclip.ClipError) as info:
            libclip.Classifier.from_bytes(blob)
        assert info.value.status_name == "LCLIP_E_FORMAT", what
        assert info.value.message, what
    # Every single flipped byte is caught (header fields or the checksum).
    for i in range(len(data)):
        corrupt = bytearray(data)
        corrupt[i] ^= 0x40
        with pytest.raises(libclip.ClipError) as info:
            libclip.Classifier.from_bytes(corrupt)
        assert info.value.status_name in ("LCLIP_E_FORMAT", "LCLIP_E_UNSUPPORTED"), i
    with pytest.raises(TypeError):
        libclip.Classifier.from_bytes("not bytes")
    with pytest.raises(libclip.ClipError) as info:
        _made().save(tmp_path / "no-such-dir" / "x")
    assert info.value.status_name == "LCLIP_E_IO"
    assert not (tmp_path / "no-such-dir").exists()


# ---------------------------------------------------------------------------
# Linear probes.


def test_probe_separates_clusters():
    points, labels = _clusters()
    cls = libclip.Classifier.train_probe(points, labels, ["a", "b", "c"], c=10.0)
    assert cls.kind == libclip.ClassifierKind.PROBE and cls.logit_scale == 1 and cls.dim == 16
    assert cls.classes == ("a", "b", "c")
    assert np.array_equal(cls.probs(points).argmax(axis=1), labels)
    # Fresh points from the same clusters, and scaled ones (normalised first).
    fresh, fresh_labels = _clusters(seed=7, per_class=12)
    assert np.array_equal(cls.logits(3 * fresh).argmax(axis=1), fresh_labels)
    # Labels as a list and embeddings as lists train the same probe.
    again = libclip.Classifier.train_probe(points.tolist(), labels.tolist(), ["a", "b", "c"], c=10.0)
    assert np.array_equal(again.vectors, cls.vectors) and np.array_equal(again.bias, cls.bias)
    # Stronger regularisation (smaller C) gives smaller weights.
    weak = libclip.Classifier.train_probe(points, labels, ["a", "b", "c"], c=0.01)
    assert np.linalg.norm(weak.vectors) < np.linalg.norm(cls.vectors)


def test_probe_matches_scikit_learn():
    sklearn = pytest.importorskip("sklearn.linear_model", reason="scikit-learn not installed")
    rng = np.random.default_rng(3)
    points, labels = _clusters(seed=3, per_class=15, dim=8)
    points += rng.normal(size=points.shape).astype(np.float32) * 2  # overlapping: C matters
    unit = points / np.linalg.norm(points, axis=1, keepdims=True)
    for c in (0.1, 1.0, 10.0):
        ours = libclip.Classifier.train_probe(points, labels, ["a", "b", "c"], c=c, tolerance=1e-10,
                                              max_iterations=10000)
        ref = sklearn.LogisticRegression(C=c, tol=1e-10, max_iter=10000).fit(unit.astype(np.float64), labels)
        assert np.abs(ours.probs(points) - ref.predict_proba(unit)).max() <= 1e-3, c


def test_select_c():
    points, labels = _clusters(per_class=10)
    best = libclip.select_c(points, labels, folds=5)
    assert isinstance(best, libclip.CSelection)
    assert best.accuracy == 1.0 and 1e-2 <= best.c <= 1e4
    # Separable clusters: every C of a grid scores 1, and ties go to the smallest.
    assert libclip.select_c(points, labels, 3, grid=[100.0, 1.0, 10.0], folds=2) == (1.0, 1.0)
    with pytest.raises(libclip.ClipError) as info:
        libclip.select_c(points, labels, folds=11)  # a class has fewer than 11 examples
    assert info.value.status_name == "LCLIP_E_INVALID_ARGUMENT"
    with pytest.raises(libclip.ClipError):
        libclip.select_c(points, labels, folds=1)


def test_probe_errors():
    points, labels = _clusters()
    names = ["a", "b", "c"]
    cases = {
        "label out of range": (points, np.where(labels == 2, 3, labels), names),
        "negative label": (points, np.where(labels == 2, -1, labels), names),
        "class without examples": (points, np.where(labels == 2, 1, labels), names),
        "one class": (points[:12], labels[:12], ["a"]),
        "NaN embedding": (np.where(np.arange(16) == 3, np.nan, points).astype(np.float32), labels, names),
        "zero embedding": (np.where(np.arange(36)[:, None] == 5, 0, points).astype(np.float32), labels, names),
    }
    for what, (x, y, n) in cases.items():
        with pytest.raises(libclip.ClipError) as info:
            libclip.Classifier.train_probe(x, y, n)
        assert info.value.status_name == "LCLIP_E_INVALID_ARGUMENT", what
        assert info.value.message, what
    with pytest.raises(ValueError, match="35 labels for 36"):
        libclip.Classifier.train_probe(points, labels[:-1], names)
    with pytest.raises(ValueError, match="c must be"):
        libclip.Classifier.train_probe(points, labels, names, c=0)
    with pytest.raises(ValueError, match="out of range"):
        libclip.Classifier.train_probe(points, [2**31] + [0] * 35, names)
    with pytest.raises(TypeError):
        libclip.Classifier.train_probe(points, [0.5] * 36, names)
    with pytest.raises(ValueError, match="max_iterations"):
        libclip.Classifier.train_probe(points, labels, names, max_iterations=0)


# ---------------------------------------------------------------------------
# Lifetime and threads.


def test_close_context_manager_and_finaliser():
    cls = _made()
    classes, vectors = cls.classes, cls.vectors
    cls.close()
    cls.close()
    assert cls.closed and "closed" in repr(cls)
    assert cls.classes == classes and np.array_equal(cls.vectors, vectors)  # still readable
    for call in (lambda: cls.probs([1, 0, 0]), lambda: cls.logits(np.zeros((0, 3))),
                 lambda: cls.save("/nonexistent"), cls.to_bytes, lambda: pickle.dumps(cls), cls.__enter__):
        with pytest.raises(ValueError, match="closed"):
            call()
    with _made() as used:
        pass
    assert used.closed
    collected = _made()
    handle = collected._handle
    del collected
    gc.collect()
    assert handle.closed


def test_shared_across_threads():
    points, labels = _clusters(per_class=40)
    cls = libclip.Classifier.train_probe(points, labels, ["a", "b", "c"])
    expected = cls.probs(points)
    barrier = threading.Barrier(4)

    def work(i: int) -> bool:
        barrier.wait()
        return all(np.array_equal(cls.probs(points), expected) for _ in range(50))

    with ThreadPoolExecutor(4) as pool:
        assert all(pool.map(work, range(4)))
    cls.close()


# ---------------------------------------------------------------------------
# Without numpy.


def _is_floats(value: object, n: int) -> bool:
    return isinstance(value, list) and len(value) == n and all(type(v) is float for v in value)


def test_lists_without_numpy(no_numpy, monkeypatch, tmp_path):
    points, labels = _clusters()
    x, y = points.tolist(), labels.tolist()
    cls = libclip.Classifier.train_probe(x, y, ["a", "b", "c"])
    probs = cls.probs(x)
    one = cls.logits(x[0])
    vectors, bias = cls.vectors, cls.bias
    assert isinstance(probs, list) and all(_is_floats(row, 3) for row in probs)
    assert _is_floats(one, 3) and _is_floats(bias, 3)
    assert isinstance(vectors, list) and all(_is_floats(row, 16) for row in vectors)
    vectors[0][0] = 99.0
    assert cls.vectors[0][0] != 99.0
    assert cls.logits([]) == []
    best = libclip.select_c(x, y, folds=3)
    made = libclip.Classifier.from_vectors([[1.0, 0.0], [0.0, 1.0]], ["p", "q"], bias=[0.0, 1.0], logit_scale=2.0)
    assert made.logits([3.0, 4.0]) == pytest.approx([2 * 0.6, 2 * 0.8 + 1], abs=1e-6)
    cls.save(tmp_path / "c")
    monkeypatch.undo()  # numpy back: the same numbers
    with_numpy = libclip.Classifier.train_probe(points, labels, ["a", "b", "c"])
    assert np.array_equal(np.array(cls.vectors, np.float32), with_numpy.vectors)
    assert np.array_equal(np.array(probs, np.float32), with_numpy.probs(points))
    assert np.array_equal(np.array(one, np.float32), with_numpy.logits(points[0]))
    assert libclip.select_c(points, labels, folds=3) == best


SCRIPT = """
import libclip
from libclip import _compat
assert _compat.numpy is None
cls = libclip.Classifier.load({path!r})
probs = cls.probs({rows!r})
assert type(probs) is list and type(probs[0]) is list and type(probs[0][0]) is float
print(repr(probs))
"""


def test_child_interpreter_without_numpy(tmp_path, run_python):
    points, labels = _clusters()
    with libclip.Classifier.train_probe(points, labels, ["a", "b", "c"]) as cls:
        cls.save(tmp_path / "probe")
        expected = cls.probs(points[:4])
    script = SCRIPT.format(path=str(tmp_path / "probe"), rows=points[:4].tolist())
    result = run_python("import sys; sys.modules['numpy'] = None\n" + script)
    assert np.array_equal(np.array(eval(result.stdout), np.float32), expected)
