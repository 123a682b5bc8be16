"""Fixtures shared by every test: the real test corpus, laid out as the app expects it."""

from __future__ import annotations

import pathlib

import pytest

from tests import corpus


@pytest.fixture(scope="session")
def cifar10_root(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """A data dir holding the real CIFAR-10 test images as `cifar-10-batches-py`, checksums
    accepted by torchvision for the whole session."""
    if not corpus.CIFAR_NPZ.exists():
        pytest.fail(f"test corpus missing: {corpus.CIFAR_NPZ}")
    root = tmp_path_factory.mktemp("cifar")
    md5s = corpus.write_cifar_batches(root)
    with corpus.cifar_checksums(md5s):
        yield root
