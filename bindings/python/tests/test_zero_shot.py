"""zero_shot: the golden probabilities from images and prompts end to end."""

from __future__ import annotations

import json

import numpy as np
import pytest

import libclip
from conftest import LAYOUTS, MODELS, model_path, text_encoder


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", MODELS)
def test_reproduces_golden_probabilities(fixtures, manifest, name, layout):
    golden = json.loads((fixtures / manifest["models"][name]["golden"]["zero_shot"]).read_text(encoding="utf-8"))
    tolerance = manifest["tolerances"]["zero_shot"]["probs_max_abs_diff"]
    images = [str(fixtures / "images" / image) for image in golden["images"]]
    assert golden["images"] == [entry["name"] for entry in manifest["images"]]
    with libclip.ImageEncoder(model_path(fixtures, name, layout)) as img, text_encoder(fixtures, name, layout) as txt:
        image_vecs = img.encode(images)
        text_vecs = txt.encode(golden["texts"])
        assert img.logit_scale == pytest.approx(golden["logit_scale_exp"], rel=1e-6)
        assert txt.logit_scale == img.logit_scale
        probs = libclip.zero_shot(image_vecs, text_vecs, img.logit_scale)
        assert probs.shape == (len(images), len(golden["texts"]))
        assert np.abs(probs - np.array(golden["probs"])).max() <= tolerance
        # One image at a time gives one row of probabilities.
        first = libclip.zero_shot(image_vecs[0], text_vecs, img.logit_scale)
        assert first.shape == (len(golden["texts"]),)
        assert np.allclose(first, probs[0], rtol=0, atol=1e-12)


def test_unnormalised_inputs_give_the_same_probabilities(fixtures, image_paths):
    path = model_path(fixtures, "tiny-gelu", "hf")
    prompts = ["a photo of a cat", "a photo of a rocket", "a diagram"]
    with libclip.ImageEncoder(path) as unit_img, libclip.ImageEncoder(path, normalize=False) as raw_img, \
            libclip.TextEncoder(path) as unit_txt, libclip.TextEncoder(path, normalize=False) as raw_txt:
        unit = libclip.zero_shot(unit_img.encode(image_paths), unit_txt.encode(prompts), unit_img.logit_scale)
        raw = libclip.zero_shot(raw_img.encode(image_paths), raw_txt.encode(prompts), raw_img.logit_scale)
    assert np.allclose(unit, raw, rtol=0, atol=1e-6)
    assert np.allclose(unit.sum(axis=1), 1.0)


def test_input_checks():
    texts = [[1.0, 0.0], [0.0, 1.0]]
    with pytest.raises(ValueError, match="dim"):
        libclip.zero_shot([1.0, 0.0, 0.0], texts, 10.0)
    with pytest.raises(ValueError, match="zero vector"):
        libclip.zero_shot([0.0, 0.0], texts, 10.0)
    with pytest.raises(ValueError, match="k >= 1"):
        libclip.zero_shot([1.0, 0.0], np.zeros((0, 2)), 10.0)
    with pytest.raises(ValueError, match="finite"):
        libclip.zero_shot([1.0, 0.0], texts, float("nan"))
    # softmax(10 * [1, 0]) by hand.
    expected = np.exp([10.0, 0.0]) / np.exp([10.0, 0.0]).sum()
    assert np.allclose(libclip.zero_shot([2.0, 0.0], texts, 10.0), expected)
