"""Which device computes: CUDA when there is a GPU, else Apple's MPS, else the CPU."""

from __future__ import annotations

import dataclasses

import torch


@dataclasses.dataclass(frozen=True)
class DeviceInfo:
    """What the app computes on, for display."""

    kind: str  # "cuda", "mps" or "cpu"
    name: str  # the GPU's name, "Apple MPS" or "CPU"
    threads: int  # torch's intra-op CPU threads


ACCELERATORS = ("cuda", "mps")  # in order of preference


def available(kind: str) -> bool:
    """Whether this machine has device `kind` ("cuda", "mps" or "cpu"): the app's one probe."""
    if kind == "cuda":
        return torch.cuda.is_available()
    if kind == "mps":
        return torch.backends.mps.is_available()
    return kind == "cpu"


def available_devices() -> list[str]:
    """The devices this machine can compute on, best first; "cpu" is always last."""
    return [*(kind for kind in ACCELERATORS if available(kind)), "cpu"]


def pick_device() -> torch.device:
    """The best device available: `cuda`, then `mps`, then `cpu`."""
    return torch.device(available_devices()[0])


def describe_device() -> DeviceInfo:
    """The device `pick_device` chooses, with a human name."""
    device = pick_device()
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
    elif device.type == "mps":
        name = "Apple MPS"
    else:
        name = "CPU"
    return DeviceInfo(kind=device.type, name=name, threads=torch.get_num_threads())
