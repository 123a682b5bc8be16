"""The model registry, the offline Lite0 model and classification."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import threading

import pytest
import torch
import torchvision
from PIL import Image
from torch import nn

from core import downloads, models, samples
from core.errors import ImageDecodeError
from core.trained import TrainedModel

TORCHVISION_RECORDS = [record for record in models.registry().values() if record.source == "url"]


@pytest.fixture(scope="module")
def lite0() -> models.Classifier:
    return models.load("efficientnet_lite0", device=torch.device("cpu"))


@pytest.fixture(scope="module")
def coffee() -> Image.Image:
    return samples.load_sample("coffee")


def test_lite0_classifies_the_coffee_sample_as_espresso(lite0, coffee):
    predictions = models.classify(coffee, model=lite0)
    assert predictions[0].label == "espresso"
    assert predictions[0].probability > 0.5
    assert len(predictions) == 5
    assert [p.probability for p in predictions] == sorted(
        (p.probability for p in predictions), reverse=True
    )


def test_classify_bytes_decodes_a_jpeg_at_the_scale_the_model_needs(lite0, coffee):
    buffer = io.BytesIO()
    coffee.resize((2400, 1600)).save(buffer, format="JPEG", quality=90)
    result = models.classify_bytes(buffer.getvalue(), model=lite0)
    assert result.predictions[0].label == "espresso"
    assert 0 < result.forward_seconds <= result.seconds


def test_classify_bytes_rejects_bytes_that_are_not_an_image(lite0):
    with pytest.raises(ImageDecodeError):
        models.classify_bytes(b"definitely not a photo", model=lite0)


def test_the_default_model_is_the_offline_lite0():
    assert next(iter(models.registry())) == models.DEFAULT_MODEL == "efficientnet_lite0"
    assert models.is_cached(models.get_record(models.DEFAULT_MODEL))


@pytest.mark.parametrize("record", models.registry().values(), ids=lambda record: record.name)
def test_registry_labels_are_torchvision_categories(record):
    expected = torchvision.models.AlexNet_Weights.IMAGENET1K_V1.meta["categories"]
    assert list(record.meta.categories) == expected


@pytest.mark.parametrize("record", TORCHVISION_RECORDS, ids=lambda record: record.name)
def test_torchvision_records_match_their_weights(record):
    weights = models.torchvision_weights(record)
    preset = weights.transforms()
    assert record.weights == weights.url
    assert list(record.meta.categories) == weights.meta["categories"]
    assert record.meta.num_params == weights.meta["num_params"]
    assert record.meta.acc1 == weights.meta["_metrics"]["ImageNet-1K"]["acc@1"]
    assert record.meta.acc5 == weights.meta["_metrics"]["ImageNet-1K"]["acc@5"]
    assert record.meta.file_size_mb == weights.meta["_file_size"]
    assert record.preprocessing.resize_size == preset.resize_size[0]
    assert record.preprocessing.crop_size == preset.crop_size[0]
    assert record.preprocessing.interpolation == preset.interpolation.value
    assert list(record.preprocessing.mean) == list(preset.mean)
    assert list(record.preprocessing.std) == list(preset.std)
    assert downloads.hash_prefix(downloads.filename_of(record.weights))


@pytest.mark.parametrize(
    "record",
    [record for record in TORCHVISION_RECORDS if record.cam_layer],
    ids=lambda record: record.name,
)
def test_cam_layer_is_the_last_spatial_feature_map(record):
    with torch.device("meta"):  # shapes only: no weights, no compute
        module = torchvision.models.get_model(record.builder, weights=None).eval()
        seen = {}
        layer = dict(module.named_modules())[record.cam_layer]
        layer.register_forward_hook(lambda _module, _inputs, output: seen.setdefault("map", output))
        module(torch.empty(1, 3, 224, 224))
    assert seen["map"].ndim == 4  # (batch, channels, height, width)
    height, width = seen["map"].shape[-2:]
    assert height == width > 1


def test_only_the_vision_transformer_has_no_cam_layer():
    without = [record.name for record in models.registry().values() if record.cam_layer is None]
    assert without == ["vit_b_16"]


def test_lite0_record_counts_the_parameters_of_the_built_network(lite0):
    assert lite0.record.meta.num_params == sum(p.numel() for p in lite0.module.parameters())
    assert not lite0.module.training


def test_lite0_package_file_matches_the_hash_in_its_name():
    path = models.lite0_weights_file()
    prefix = downloads.hash_prefix(path.name)
    assert prefix and hashlib.sha256(path.read_bytes()).hexdigest().startswith(prefix)


def test_match_in_order_pairs_tensors_by_position():
    target = {"a.weight": torch.zeros(2, 3), "a.bias": torch.zeros(2)}
    source = {"_x.w": torch.ones(2, 3), "_x.b": torch.full((2,), 5.0)}
    matched = models.match_in_order(target, source)
    assert list(matched) == ["a.weight", "a.bias"]
    assert torch.equal(matched["a.bias"], torch.full((2,), 5.0))


@pytest.mark.parametrize(
    "source",
    [
        {"_x.w": torch.ones(3, 2), "_x.b": torch.ones(2)},  # a shape differs
        {"_x.w": torch.ones(2, 3)},  # a tensor is missing
    ],
)
def test_match_in_order_refuses_a_checkpoint_that_does_not_fit(source):
    target = {"a.weight": torch.zeros(2, 3), "a.bias": torch.zeros(2)}
    with pytest.raises(ValueError):
        models.match_in_order(target, source)


def test_loading_lite0_checks_every_shape(tmp_path, monkeypatch):
    checkpoint = torch.load(models.lite0_weights_file(), map_location="cpu", weights_only=True)
    name = next(iter(checkpoint))
    checkpoint[name] = checkpoint[name][:1]  # one filter fewer in the stem
    broken = tmp_path / "efficientnet-lite0-00000000.pth"
    torch.save(checkpoint, broken)
    monkeypatch.setattr(models, "lite0_weights_file", lambda: broken)
    with pytest.raises(ValueError, match=name):
        models.build_lite0()


def test_preprocessing_steps_give_the_same_tensor_as_the_transform(lite0, coffee):
    steps = models.preprocessing_steps(coffee, preprocessing=lite0.record.preprocessing)
    assert min(steps.resized.size) == 256
    assert steps.cropped.size == (224, 224)
    assert steps.tensor.shape == (3, 224, 224)
    assert 0.0 <= float(steps.tensor.min()) <= float(steps.tensor.max()) <= 1.0
    assert torch.equal(steps.normalized, lite0.record.preprocessing.transform()(coffee))


def test_loading_a_torchvision_model_without_its_weights_says_where_to_put_them(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(models.WeightsNotCachedError) as caught:
        models.load("alexnet", device=torch.device("cpu"))
    assert caught.value.key == "classify.not_cached"
    assert caught.value.params["path"].startswith(str(tmp_path))
    assert not models.is_cached(models.get_record("alexnet"))


def test_a_torchvision_model_loads_from_the_hub_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    record = models.get_record("mobilenet_v3_large")
    path = downloads.cache_path(record.weights)
    path.parent.mkdir(parents=True)
    torch.manual_seed(0)
    torch.save(torchvision.models.mobilenet_v3_large(weights=None).state_dict(), path)
    classifier = models.load("mobilenet_v3_large", device=torch.device("cpu"))
    assert classifier.record is record
    assert not classifier.module.training
    assert len(models.classify(Image.new("RGB", (64, 48)), model=classifier)) == 5


class _TinyNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 6, 3))
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(6, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def tiny_trained_model() -> TrainedModel:
    """A three-class 16×16 network, as the Train page would hand it over."""
    return TrainedModel(
        name="Tiny",
        net="tiny",
        module=_TinyNet().eval(),
        categories=("ant", "bee", "cat"),
        mean=(0.5, 0.5, 0.5),
        std=(0.25, 0.25, 0.25),
        image_size=16,
    )


def test_a_model_trained_in_the_app_classifies_with_its_own_labels():
    trained = tiny_trained_model()
    classifier = models.from_trained(trained)
    predictions = models.classify(Image.new("RGB", (40, 30), "red"), model=classifier, top_k=5)
    assert sorted(p.label for p in predictions) == ["ant", "bee", "cat"]
    assert classifier.record.cam_layer == "features.2"
    assert classifier.record.preprocessing.crop_size == 16


def test_concurrent_sessions_get_the_same_answer(lite0, coffee):
    expected = models.classify(coffee, model=lite0)
    results: list[list[models.Prediction]] = []

    def work() -> None:
        results.append(models.classify(coffee, model=lite0))

    threads = [threading.Thread(target=work) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [[p.index for p in result] for result in results] == [[p.index for p in expected]] * 3


def test_records_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        models.get_record("alexnet").title = "changed"
