"""Small networks for 32×32 images that train in minutes on a CPU, and a per-layer summary.

Builders take keyword-only options, like torchvision's `resnet18(*, weights=None, ...)`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import torch
from torch import nn
from torchvision.models.resnet import BasicBlock


def small_vgg(*, num_classes: int = 10, width: int = 16) -> nn.Sequential:
    """A tiny VGG-style network: three stages of two 3×3 conv-BN-ReLU layers and a max-pool.

    Args:
        num_classes: the number of output logits.
        width: channels of the first stage; the next stages double it.

    Returns:
        A network mapping (B, 3, H, W) float images to (B, num_classes) logits.
    """
    layers: list[nn.Module] = []
    channels_in = 3
    for stage in range(3):
        channels = width * 2**stage
        for _ in range(2):
            layers += [
                nn.Conv2d(channels_in, channels, 3, padding=1, bias=False),
                nn.BatchNorm2d(channels),
                nn.ReLU(inplace=True),
            ]
            channels_in = channels
        layers.append(nn.MaxPool2d(2))
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels_in, num_classes)]
    return nn.Sequential(*layers)


class CifarResNet(nn.Module):
    """The ResNet of He et al. (2016) for CIFAR: a 3×3 stem, three stages of torchvision's
    `BasicBlock` at 16, 32 and 64 channels, global average pooling and a linear layer."""

    def __init__(self, *, blocks_per_stage: int, num_classes: int = 10, width: int = 16) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, width, 3, padding=1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
        )
        stages: list[nn.Module] = []
        channels_in = width
        for stage in range(3):
            channels = width * 2**stage
            stride = 1 if stage == 0 else 2
            blocks: list[nn.Module] = []
            for index in range(blocks_per_stage):
                downsample = None
                if index == 0 and (stride != 1 or channels_in != channels):
                    downsample = nn.Sequential(
                        nn.Conv2d(channels_in, channels, 1, stride=stride, bias=False),
                        nn.BatchNorm2d(channels),
                    )
                blocks.append(
                    BasicBlock(channels_in, channels, stride if index == 0 else 1, downsample)
                )
                channels_in = channels
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.Sequential(*stages)
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels_in, num_classes)
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """images: (B, 3, H, W) float → (B, num_classes) logits."""
        return self.head(self.stages(self.stem(images)))


def resnet8(*, num_classes: int = 10, width: int = 16) -> CifarResNet:
    """ResNet-8 for 32×32 images (one block per stage, about 78 thousand parameters)."""
    return CifarResNet(blocks_per_stage=1, num_classes=num_classes, width=width)


def resnet20(*, num_classes: int = 10, width: int = 16) -> CifarResNet:
    """ResNet-20 for 32×32 images (three blocks per stage, about 270 thousand parameters)."""
    return CifarResNet(blocks_per_stage=3, num_classes=num_classes, width=width)


# The networks the app offers, by the name it shows; the one place a new net is added.
NETS: dict[str, Callable[..., nn.Module]] = {
    "SmallVGG": small_vgg,
    "ResNet-8": resnet8,
    "ResNet-20": resnet20,
}


def build(name: str, *, num_classes: int = 10, width: int = 16) -> nn.Module:
    """A freshly initialised network from `NETS`.

    Raises:
        KeyError: `name` is not in `NETS`.
    """
    return NETS[name](num_classes=num_classes, width=width)


@dataclasses.dataclass(frozen=True)
class LayerRow:
    """One leaf layer of a network as it runs on an example input."""

    name: str  # dotted path, e.g. "stages.0.0.conv1"
    kind: str  # the module's class name, e.g. "Conv2d"
    output_shape: tuple[int, ...]
    params: int  # parameters owned directly by this layer


@dataclasses.dataclass(frozen=True)
class ModelSummary:
    rows: tuple[LayerRow, ...]
    total_params: int
    trainable_params: int
    output_shape: tuple[int, ...]


def count_params(model: nn.Module) -> int:
    """The number of parameters (weights and biases) of `model`."""
    return sum(parameter.numel() for parameter in model.parameters())


def summarize(model: nn.Module, *, input_shape: tuple[int, ...] = (1, 3, 32, 32)) -> ModelSummary:
    """Run `model` once on zeros of `input_shape` and record every leaf layer's output shape.

    The model is put in eval mode for the pass (BatchNorm must not update its statistics) and
    put back in the mode it was in.
    """
    rows: list[LayerRow] = []
    handles = []

    def record(name: str, module: nn.Module):
        def hook(_module, _inputs, output) -> None:
            rows.append(
                LayerRow(
                    name=name,
                    kind=type(module).__name__,
                    output_shape=tuple(output.shape),
                    params=sum(p.numel() for p in module.parameters(recurse=False)),
                )
            )

        return hook

    for name, module in model.named_modules():
        if name and not any(True for _ in module.children()):
            handles.append(module.register_forward_hook(record(name, module)))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            device = next(model.parameters()).device
            output = model(torch.zeros(input_shape, device=device))
    finally:
        model.train(was_training)
        for handle in handles:
            handle.remove()
    return ModelSummary(
        rows=tuple(rows),
        total_params=count_params(model),
        trainable_params=sum(p.numel() for p in model.parameters() if p.requires_grad),
        output_shape=tuple(output.shape),
    )
