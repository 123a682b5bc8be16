"""A model trained in the app, as the Classify page needs it: the network, its own labels and
the preprocessing it was trained with."""

from __future__ import annotations

import dataclasses
import re

import torch


@dataclasses.dataclass(frozen=True)
class TrainedModel:
    """A classifier trained on the Train page, offered on the Classify page.

    Attributes:
        name: shown in the model picker, e.g. "SmallVGG · CIFAR-10 · 3 epochs".
        net: its architecture, a key of `core.nets.NETS` (to rebuild it from a state_dict).
        module: the network in eval mode on the CPU; never mutated after it is stored.
        categories: its class names, index i is output logit i.
        mean, std: per-channel Normalize values it was trained with (RGB, inputs in [0, 1]).
        image_size: its square input side, e.g. 32 for CIFAR-10.
    """

    name: str
    net: str
    module: torch.nn.Module
    categories: tuple[str, ...]
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    image_size: int


def file_stem(net: str) -> str:
    """How the files exported from a trained `net` are named: "ResNet-8" -> "resnet-8"."""
    return re.sub(r"[^a-z0-9]+", "-", net.lower()).strip("-") or "model"


def state_dict_file(net: str) -> str:
    """The state_dict file the Deploy page offers for a trained `net`: "resnet-8_state_dict.pt"."""
    return f"{file_stem(net)}_state_dict.pt"
