"""The code shown on the Classify page runs outside the app and prints the page's top-5."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from core import models, samples, snippets
from tests.corpus import SAMPLES


@pytest.fixture(scope="module")
def lite0() -> models.Classifier:
    return models.load("efficientnet_lite0", device=torch.device("cpu"))


def test_the_lite0_snippet_prints_the_same_top5_as_classify(lite0, tmp_path):
    image_path = SAMPLES / "coffee.png"
    code = snippets.classification_code(lite0.record, image_path=str(image_path))
    script = tmp_path / "classify_photo.py"
    script.write_text(code)

    finished = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )

    assert finished.returncode == 0, finished.stderr
    printed = [line.split(maxsplit=1) for line in finished.stdout.splitlines()]
    expected = models.classify(samples.load_sample("coffee"), model=lite0)
    assert [label for _, label in printed] == [p.label for p in expected]
    assert [float(probability) for probability, _ in printed] == pytest.approx(
        [p.probability for p in expected], abs=1e-4
    )
    assert printed[0][1] == "espresso"


@pytest.mark.parametrize(
    "record",
    [record for record in models.registry().values() if record.source == "url"],
    ids=lambda record: record.name,
)
def test_torchvision_snippets_name_the_models_real_weights_and_preprocessing(record):
    code = snippets.classification_code(record, image_path="photo.jpg")
    compile(code, "snippet.py", "exec")
    assert f"weights = models.{record.weights_enum}" in code
    assert f"models.{record.builder}(weights=weights)" in code
    assert f"v2.Resize({record.preprocessing.resize_size}," in code
    assert f"v2.CenterCrop({record.preprocessing.crop_size})" in code
    assert repr(list(record.preprocessing.mean)) in code
