"""Datasets the app browses and trains on, wrapped around torchvision's own classes."""

from __future__ import annotations

import pathlib

from torchvision.datasets import CIFAR10

from core.errors import PlaygroundError


class DatasetError(PlaygroundError):
    """A dataset that is missing, corrupt or cannot be downloaded."""

    key = "dataset"


def load_cifar10(root: pathlib.Path, *, train: bool) -> CIFAR10:
    """CIFAR-10 from `root/cifar-10-batches-py`, checked by torchvision's MD5s.

    Args:
        root: the data directory that holds (or will hold) `cifar-10-batches-py`.
        train: the 50,000-image training split when True, else the 10,000-image test split.

    Raises:
        DatasetError: the folder is missing or a batch file fails its checksum.
    """
    try:
        return CIFAR10(str(root), train=train, download=False)
    except RuntimeError as error:  # torchvision: "Dataset not found or corrupted."
        raise DatasetError(
            f"CIFAR-10 was not found (or is corrupted) in {root}. Download it, or point the data "
            "directory at a folder that holds cifar-10-batches-py.",
            key="cifar_missing",
            root=str(root),
        ) from error
