"""The code shown on the Classify page runs outside the app and prints the page's top-5."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from core import models, nets, samples, snippets
from core.training import seeded_model
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
    printed = [tuple(line.split("  ", 1)) for line in finished.stdout.splitlines()]
    expected = models.classify(samples.load_sample("coffee"), model=lite0)
    assert printed == [(f"{p.probability:.1%}", p.label) for p in expected]  # as the chart
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


@pytest.mark.parametrize("net", list(nets.NETS))
@pytest.mark.parametrize("language", ["en", "zh"])
def test_net_code_is_the_same_network_with_the_same_seeded_weights(net, language):
    code = (
        snippets.net_imports(net) + "\n" + snippets.net_code(net, num_classes=7, language=language)
    )
    namespace: dict = {}  # the class source alone, nothing injected
    exec(compile(code, "net.py", "exec"), namespace)  # our own generated code
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(3)
        printed = namespace[snippets.CLASS_NAMES[net]]()
    expected = seeded_model(net, seed=3, num_classes=7).state_dict()
    state = printed.state_dict()
    assert list(state) == list(expected)
    assert all(torch.equal(state[name], expected[name]) for name in expected)
    assert "import core" not in code and "from core" not in code
