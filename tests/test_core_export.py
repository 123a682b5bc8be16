"""Exports reload outside the app and agree with PyTorch; the shown load code runs."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import numpy as np
import onnx
import pytest
import torch
from PIL import Image

from core import export, training
from tests.corpus import ROOT, load_cifar_npz

CATEGORIES = tuple(f"class{index}" for index in range(10))


@pytest.fixture(scope="module")
def model() -> torch.nn.Module:
    """ResNet-8 with random weights and BatchNorm statistics that are not the defaults."""
    torch.set_num_threads(1)
    net = training.seeded_model("ResNet-8", seed=0, num_classes=10)
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
    return net.eval()


@pytest.fixture(scope="module")
def images() -> torch.Tensor:
    """64 real CIFAR-10 test images, (64, 3, 32, 32) uint8."""
    return torch.from_numpy(load_cifar_npz()["data"][:64]).permute(0, 3, 1, 2).contiguous()


@pytest.fixture(scope="module")
def inputs(images) -> torch.Tensor:
    return training.to_inputs(images, mean=training.CIFAR10_MEAN, std=training.CIFAR10_STD)


@pytest.fixture(scope="module")
def onnx_file(model) -> bytes:
    return export.onnx_bytes(model)


def test_state_dict_reloads_into_a_fresh_net(model, inputs):
    fresh = training.build("ResNet-8")
    fresh.load_state_dict(torch.load(io.BytesIO(export.state_dict_bytes(model)), weights_only=True))
    with torch.inference_mode():
        assert torch.equal(fresh.eval()(inputs), model(inputs))


@pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:FutureWarning")
def test_torchscript_reloads_without_the_model_code_and_agrees(model, inputs):
    loaded = torch.jit.load(io.BytesIO(export.torchscript_bytes(model)))
    with torch.inference_mode():
        assert torch.allclose(loaded(inputs), model(inputs), atol=1e-5)


def test_onnx_file_is_valid_with_a_dynamic_batch(onnx_file):
    proto = onnx.load_from_string(onnx_file)
    onnx.checker.check_model(proto)
    (graph_input,) = proto.graph.input
    assert graph_input.name == export.INPUT_NAME
    assert not graph_input.type.tensor_type.shape.dim[0].HasField("dim_value")


@pytest.mark.parametrize("batch", [1, 7, 64])
def test_onnx_runtime_agrees_with_pytorch_on_real_images(model, inputs, onnx_file, batch):
    check = export.check_onnx(onnx_file, model, inputs[:batch])
    assert check.images == batch
    assert check.max_abs_difference <= 1e-4
    assert check.all_agree


def test_a_changed_model_is_caught_by_the_check(model, inputs, onnx_file):
    other = training.seeded_model("ResNet-8", seed=5, num_classes=10).eval()
    check = export.check_onnx(onnx_file, other, inputs)
    assert check.max_abs_difference > 1e-2 and not check.all_agree


def test_exports_leave_the_model_untouched(model):
    before = {name: value.clone() for name, value in model.state_dict().items()}
    export.torchscript_bytes(model)
    assert not model.training
    assert all(torch.equal(before[name], value) for name, value in model.state_dict().items())


@pytest.mark.parametrize("kind", list(export.FILE_NAMES))
def test_the_shown_load_code_runs_and_predicts_like_pytorch(
    kind, model, images, onnx_file, tmp_path
):
    files = {
        "state_dict": export.state_dict_bytes,
        "torchscript": export.torchscript_bytes,
        "onnx": lambda _model: onnx_file,
    }
    (tmp_path / export.FILE_NAMES[kind]).write_bytes(files[kind](model))
    Image.fromarray(images[3].permute(1, 2, 0).numpy()).save(tmp_path / "image.png")
    code = export.load_code(
        kind,
        net="ResNet-8",
        categories=CATEGORIES,
        mean=training.CIFAR10_MEAN,
        std=training.CIFAR10_STD,
    )
    completed = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"},
        timeout=300,
        check=True,
    )
    probabilities = training.predict_probabilities(model, images[3:4])
    assert completed.stdout.strip() == CATEGORIES[int(probabilities.argmax())]


def test_preprocessing_in_the_load_code_matches_the_app(images, tmp_path, monkeypatch):
    Image.fromarray(images[0].permute(1, 2, 0).numpy()).save(tmp_path / "image.png")
    code = export.load_code(
        "onnx",
        net="ResNet-8",
        categories=CATEGORIES,
        mean=training.CIFAR10_MEAN,
        std=training.CIFAR10_STD,
    ).split("import onnxruntime")[0]
    namespace: dict = {}
    exec(compile(code, "load_code", "exec"), namespace)  # our own generated code, not user text
    monkeypatch.chdir(tmp_path)
    shown = namespace["preprocess"]("image.png")
    app = training.to_inputs(images[:1], mean=training.CIFAR10_MEAN, std=training.CIFAR10_STD)
    assert shown.shape == (1, 3, 32, 32) and shown.dtype == np.float32
    assert np.abs(shown - app.numpy()).max() < 1e-5
