"""Every deploy target: exported, loaded back by its own runtime and compared with eager PyTorch on
64 real CIFAR-10 test images; every shown program runs as shown in an empty folder."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image

from core import deploy, models, training
from core.trained import TrainedModel, state_dict_file
from tests.corpus import load_cifar_npz

IMAGES = 64
TOLERANCE = 1e-4  # max |Δ logits| for the fp32 formats
PROGRAM_TIMEOUT_S = 600


@pytest.fixture(scope="module")
def cifar() -> dict[str, np.ndarray]:
    return load_cifar_npz()


@pytest.fixture(scope="module")
def trained(cifar) -> TrainedModel:
    """ResNet-8 with random weights and BatchNorm statistics that are not the defaults."""
    torch.set_num_threads(1)
    net = training.seeded_model("ResNet-8", seed=0, num_classes=10)
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
    return TrainedModel(
        name="ResNet-8 · test",
        net="ResNet-8",
        module=net.eval(),
        categories=tuple(str(name) for name in cifar["classes"]),
        mean=training.CIFAR10_MEAN,
        std=training.CIFAR10_STD,
        image_size=32,
    )


@pytest.fixture(scope="module")
def subject(trained) -> deploy.Subject:
    return deploy.from_trained(trained)


@pytest.fixture(scope="module")
def photos(cifar) -> list[Image.Image]:
    return [Image.fromarray(pixels) for pixels in cifar["data"][:IMAGES]]


@pytest.fixture(scope="module")
def inputs(subject, photos) -> torch.Tensor:
    return deploy.preprocess(photos, preprocessing=subject.preprocessing)


@pytest.fixture(scope="module")
def expected(subject, inputs) -> torch.Tensor:
    return deploy.eager_check(subject, inputs)[1]


@pytest.fixture(scope="module")
def exported(subject, tmp_path_factory):
    """Each format exported once for the whole module, on first use."""
    folder = tmp_path_factory.mktemp("deploy")
    cache: dict[str, deploy.Exported] = {}

    def get(format: str) -> deploy.Exported:
        if format not in cache:
            cache[format] = deploy.export(format, subject, folder=folder)
        return cache[format]

    return get


def run_program(code: str, folder: pathlib.Path, *, shell: bool = False) -> list[str]:
    """Run a shown program as shown: a fresh interpreter (or bash) in `folder`, nothing added."""
    command = ["bash", "-e", "-c", code] if shell else [sys.executable, "-c", code]
    done = subprocess.run(
        command,
        cwd=folder,
        capture_output=True,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        timeout=PROGRAM_TIMEOUT_S,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip().splitlines()


def classify_top(trained: TrainedModel, image: pathlib.Path) -> list[tuple[float, str]]:
    """What the Classify page answers for this file: (probability, label), best first."""
    classifier = models.from_trained(trained)
    predictions = models.classify_bytes(image.read_bytes(), model=classifier).predictions
    return [(p.probability, p.label) for p in predictions]


def assert_same_top(lines: list[str], expected: list[tuple[float, str]]) -> None:
    """Printed `0.1234  label` lines, one per class: the same top-1 class as Classify."""
    printed = [(float(line.split("  ")[0]), line.split("  ", 1)[1]) for line in lines]
    assert len(printed) == len(expected)
    assert printed[0][1] == expected[0][1], (printed, expected)


@pytest.mark.slow
@pytest.mark.parametrize("format", deploy.FORMATS)
def test_each_format_reloads_with_its_own_runtime_and_agrees_on_real_images(
    format, subject, exported, inputs, expected
):
    result = exported(format)
    assert result.path.name == subject.file_name(format) and result.size > 1000
    check = deploy.check(result, subject, inputs, expected)
    assert check.images == IMAGES
    assert check.max_abs_difference <= TOLERANCE
    assert check.all_agree
    assert check.seconds_per_image > 0


def test_a_trained_net_is_offered_every_target_and_lite0_all_but_two(subject):
    assert subject.formats == deploy.FORMATS
    assert subject.file_name("executorch") == "resnet-8_xnnpack.pte"
    # Classify's code for a trained model reads the state_dict file this page offers.
    assert subject.file_name("state_dict") == state_dict_file("ResNet-8")
    lite0 = deploy.Subject(
        title="Lite0",
        slug="efficientnet_lite0",
        module=torch.nn.Identity(),
        categories=("a",),
        preprocessing=subject.preprocessing,
        net=None,
    )
    assert "state_dict" not in lite0.formats and "hub" not in lite0.formats
    with pytest.raises(deploy.ExportError):
        deploy.export("hub", lite0, folder=pathlib.Path("/nonexistent"))


def test_torchscript_deprecation_warnings_are_kept_for_the_learner(exported):
    warned = exported("torchscript").warnings
    assert any("torch.jit.trace` is deprecated" in message for message in warned)


def test_a_changed_model_is_caught_by_the_check(subject, exported, inputs):
    other = training.seeded_model("ResNet-8", seed=5, num_classes=10).eval()
    with torch.inference_mode():
        wrong = other(inputs)
    check = deploy.check(exported("export"), subject, inputs, wrong)
    assert check.max_abs_difference > 1e-2 and not check.all_agree


class DataDependent(torch.nn.Module):
    """A branch on a tensor's value: torch.export refuses it, tracing records one path."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(3, 2)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        pooled = images.mean(dim=(2, 3))
        if pooled.sum() > 0:
            return self.linear(pooled)
        return -self.linear(pooled)


def test_one_failing_format_gives_its_reason_and_the_others_still_export(subject, tmp_path):
    broken = deploy.Subject(
        title="Branchy",
        slug="branchy",
        module=DataDependent().eval(),
        categories=("a", "b"),
        preprocessing=subject.preprocessing,
        net=None,
    )
    with pytest.raises(deploy.ExportError) as caught:
        deploy.export("export", broken, folder=tmp_path)
    assert caught.value.key == "deploy.failed"
    assert caught.value.params["format"] == "export" and caught.value.params["reason"]
    assert deploy.export("torchscript", broken, folder=tmp_path).size > 0


def test_exports_leave_the_model_untouched(trained, exported):
    before = {name: value.clone() for name, value in trained.module.state_dict().items()}
    exported("torchscript")
    exported("export")
    assert not trained.module.training
    assert all(
        torch.equal(before[name], value) for name, value in trained.module.state_dict().items()
    )


def _image(photos, folder: pathlib.Path, index: int = 3) -> pathlib.Path:
    path = folder / "image.png"
    photos[index].save(path)
    return path


@pytest.mark.slow
@pytest.mark.parametrize(
    ("format", "language"),
    [("export", "en"), ("torchscript", "zh"), ("onnx", "en"), ("executorch", "zh")],
)
def test_the_shown_export_program_writes_a_file_that_agrees(
    format, language, subject, trained, exported, inputs, expected, tmp_path
):
    # The program starts from the state_dict file the page offers, in an otherwise empty folder.
    state_dict = exported("state_dict").path
    (tmp_path / state_dict.name).write_bytes(state_dict.read_bytes())
    lines = run_program(deploy.export_code(format, subject, language=language), tmp_path)
    written = tmp_path / subject.file_name(format)
    assert lines[-1] == f"wrote {written.name}"
    mine = deploy.Exported(format=format, path=written, size=written.stat().st_size, seconds=0)
    check = deploy.check(mine, subject, inputs, expected)
    assert check.max_abs_difference <= TOLERANCE and check.all_agree


@pytest.mark.slow
@pytest.mark.parametrize(
    ("format", "language"),
    [
        ("state_dict", "en"),
        ("export", "zh"),
        ("torchscript", "en"),
        ("onnx", "zh"),
        ("executorch", "en"),
        ("hub", "en"),
    ],
)
def test_the_shown_load_program_answers_like_classify(
    format, language, subject, trained, exported, photos, tmp_path
):
    result = exported(format)
    if format == "hub":
        with zipfile.ZipFile(result.path) as archive:
            archive.extractall(tmp_path)
    else:
        (tmp_path / result.path.name).write_bytes(result.path.read_bytes())
    image = _image(photos, tmp_path)
    lines = run_program(deploy.load_code(format, subject, language=language), tmp_path)
    # The Hub case is torch.hub.load(folder, entry, source="local") in a fresh interpreter.
    assert_same_top(lines, classify_top(trained, image))


@pytest.mark.slow
def test_the_shown_cpp_program_builds_with_its_cmakelists_and_answers_like_python(
    subject, trained, exported, photos, tmp_path
):
    # One LibTorch build for the whole test run: the slowest step here.
    with zipfile.ZipFile(exported("cpp").path) as archive:
        archive.extractall(tmp_path)
    assert set(deploy.cpp_files(subject)) <= set(os.listdir(tmp_path))
    image = _image(photos, tmp_path, index=7)
    lines = run_program(deploy.cpp_commands(subject), tmp_path, shell=True)
    assert lines[0] == "wrote image.bin and categories.txt"
    assert_same_top(lines[-deploy.TOP_K :], classify_top(trained, image))


@pytest.mark.slow
def test_lite0_goes_to_torch_export_and_agrees(photos, tmp_path):
    lite0 = deploy.from_classifier(models.load(models.DEFAULT_MODEL))
    assert lite0.formats == ("export", "torchscript", "onnx", "executorch", "cpp")
    inputs = deploy.preprocess(photos[:16], preprocessing=lite0.preprocessing)  # 224×224 each
    _, expected = deploy.eager_check(lite0, inputs)
    check = deploy.check(deploy.export("export", lite0, folder=tmp_path), lite0, inputs, expected)
    assert check.max_abs_difference <= TOLERANCE and check.all_agree


@pytest.mark.parametrize("language", ["en", "zh"])
def test_shown_programs_compile_and_import_no_app_module(subject, language):
    programs = [deploy.load_code(f, subject, language=language) for f in deploy.FORMATS[:5]]
    programs += [deploy.export_code(f, subject, language=language) for f in deploy.FORMATS[1:6]]
    programs += [deploy.hubconf_code(subject), deploy.cpp_files(subject)["prepare_image.py"]]
    for code in programs:
        assert "from core" not in code and "import core" not in code
        compile(code, "shown", "exec")
