"""Paths into ../shared/test-corpus/ and a layout of its real CIFAR-10 test split in the
official `cifar-10-batches-py` pickle format, so the app's real loading code runs on real data.

The official training split is not in the corpus: the five training batches here hold the same
10,000 test images, 2,000 each, in order. torchvision's CIFAR10 checks each batch's MD5, so the
fixture swaps the expected checksums for those of the files written here (never in the app).
"""

from __future__ import annotations

import contextlib
import hashlib
import pathlib
import pickle
from collections.abc import Iterator

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "test-corpus"
PILLOW_IMAGES = CORPUS / "pillow-images"
CIFAR_NPZ = CORPUS / "cifar10-test" / "cifar10_test.npz"
SAMPLES = ROOT / "assets" / "samples"

TRAIN_BATCHES = 5


def load_cifar_npz() -> dict[str, np.ndarray]:
    """The corpus's CIFAR-10 test split: data (10000, 32, 32, 3) uint8, labels, classes."""
    with np.load(CIFAR_NPZ) as archive:
        return {name: archive[name] for name in archive.files}


def write_cifar_batches(root: pathlib.Path) -> dict[str, str]:
    """Write `root/cifar-10-batches-py/` from the corpus; return each file's MD5."""
    arrays = load_cifar_npz()
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    data, labels = arrays["data"], arrays["labels"]
    rows = data.transpose(0, 3, 1, 2).reshape(len(data), -1)  # HWC -> CHW, flattened
    batches = {"test_batch": np.arange(len(data))}
    for number, part in enumerate(np.array_split(np.arange(len(data)), TRAIN_BATCHES), start=1):
        batches[f"data_batch_{number}"] = part
    for name, indices in batches.items():
        entry = {
            "batch_label": name,
            "labels": [int(label) for label in labels[indices]],
            "data": rows[indices],
            "filenames": [f"{index:05d}.png" for index in indices],
        }
        (folder / name).write_bytes(pickle.dumps(entry, protocol=2))
    meta = {"label_names": [str(name) for name in arrays["classes"]], "num_vis": 3072}
    (folder / "batches.meta").write_bytes(pickle.dumps(meta, protocol=2))
    return {path.name: hashlib.md5(path.read_bytes()).hexdigest() for path in folder.iterdir()}


@contextlib.contextmanager
def cifar_checksums(md5s: dict[str, str]) -> Iterator[None]:
    """Make torchvision's CIFAR10 expect the checksums of the files `write_cifar_batches` made."""
    from torchvision.datasets import CIFAR10

    saved = (CIFAR10.train_list, CIFAR10.test_list, CIFAR10.meta)
    CIFAR10.train_list = [[f"data_batch_{n}", md5s[f"data_batch_{n}"]] for n in range(1, 6)]
    CIFAR10.test_list = [["test_batch", md5s["test_batch"]]]
    CIFAR10.meta = {**CIFAR10.meta, "md5": md5s["batches.meta"]}
    try:
        yield
    finally:
        CIFAR10.train_list, CIFAR10.test_list, CIFAR10.meta = saved


def write_sitecustomize(folder: pathlib.Path, md5s: dict[str, str]) -> pathlib.Path:
    """A `sitecustomize.py` in `folder` that makes torchvision's CIFAR10 expect `md5s`.

    Put `folder` on PYTHONPATH of a subprocess that runs shown code against the corpus layout;
    the same swap as `cifar_checksums`, done at interpreter start (tests only, never shown).
    """
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "sitecustomize.py"
    path.write_text(
        "from torchvision.datasets import CIFAR10\n\n"
        f"_MD5 = {md5s!r}\n"
        'CIFAR10.train_list = [[f"data_batch_{n}", _MD5[f"data_batch_{n}"]] for n in range(1, 6)]\n'
        'CIFAR10.test_list = [["test_batch", _MD5["test_batch"]]]\n'
        'CIFAR10.meta = {**CIFAR10.meta, "md5": _MD5["batches.meta"]}\n'
    )
    return path
