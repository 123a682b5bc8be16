"""Datasets page code: each view's block builds the dataset itself and prints what the view
shows (a learner copies one block, so none relies on another)."""

from __future__ import annotations

from collections.abc import Sequence

from core.snippets._text import comment


def _dataset(kind: str, root: str, *, train: bool) -> str:
    if kind == "cifar10":
        return (
            "from torchvision.datasets import CIFAR10\n\n"
            f"dataset = CIFAR10(root={root!r}, train={train}, download=True)\n"
        )
    return f"from torchvision.datasets import ImageFolder\n\ndataset = ImageFolder(root={root!r})\n"


def overview_code(kind: str, root: str, *, train: bool = False, language: str = "en") -> str:
    """Code that builds the dataset and prints the Overview: its repr, length, first targets,
    classes, images per class and the per-channel mean and std for `Normalize`.

    Args:
        kind: "cifar10" (torchvision's CIFAR10 in `root`) or "folder" (an ImageFolder).
        root: the data directory or the folder the page names.
        train: CIFAR-10's split.
        language: the UI language of the comments.
    """
    if kind == "cifar10":
        shape = "print(len(dataset), dataset.data.shape)\n"
        pixels = f"pixels = dataset.data.reshape(-1, 3) / 255.0  # {comment(language, 'rgb')}\n"
    else:
        shape = "print(len(dataset))\n"
        pixels = (
            "pixels = np.concatenate([np.asarray(image).reshape(-1, 3) for image, _ in dataset])"
            " / 255.0\n"
        )
    return (
        "import numpy as np\n"
        + _dataset(kind, root, train=train)
        + "print(dataset)\n"
        + shape
        + "print(dataset.targets[:10])\n"
        + "print(dataset.classes)\n"
        + "print(dataset.class_to_idx)\n\n"
        + f"# {comment(language, 'per_class_normalize')}\n"
        + "print(np.bincount(dataset.targets, minlength=len(dataset.classes)))\n"
        + pixels
        + "print(pixels.mean(axis=0), pixels.std(axis=0))\n"
    )


def browse_code(
    kind: str,
    root: str,
    *,
    train: bool = False,
    classes: Sequence[int],
    names: Sequence[str],
    page: int,
    page_size: int,
    seed: int | None,
    language: str = "en",
) -> str:
    """Code that picks the indices the grid shows and prints them with their labels.

    Args:
        classes: the class indices the filter keeps (none: every class).
        names: their names, for a comment.
        page: the 0-based page (ignored when `seed` is given).
        page_size: images per page.
        seed: the random order's seed, or None for pages in dataset order.
    """
    if classes:
        chosen = (
            f"indices = np.flatnonzero(np.isin(targets, {list(classes)}))  # {', '.join(names)}\n"
        )
    else:
        chosen = "indices = np.arange(len(targets))\n"
    if seed is None:
        start = page * page_size
        shown = (
            f"shown = indices[{start}:{start + page_size}]  "
            f"# {comment(language, 'page', page=page + 1)}\n"
        )
    else:
        shown = (
            f"rng = np.random.default_rng({seed})\n"
            f"shown = rng.choice(indices, size=min({page_size}, len(indices)), replace=False)\n"
        )
    return (
        "import numpy as np\n"
        + _dataset(kind, root, train=train)
        + "\ntargets = np.array(dataset.targets)\n"
        + chosen
        + shown
        + "labels = [dataset.classes[target] for target in targets[shown]]\n"
        + "print(len(shown), len(indices))\n"
        + "print(shown.tolist())\n"
        + "print(labels)\n"
    )


def detail_code(
    kind: str, root: str, *, train: bool = False, index: int, language: str = "en"
) -> str:
    """Code that reads sample `index` and prints what the detail view shows: its class name and
    index, and each channel's min, max, mean and std in [0, 1], rounded to 4 places."""
    return (
        "import numpy as np\n"
        + _dataset(kind, root, train=train)
        + f"\nimage, label = dataset[{index}]  # {comment(language, 'pil_and_label')}\n"
        + "print(dataset.classes[label], label)\n"
        + f"pixels = np.asarray(image).reshape(-1, 3) / 255.0  # {comment(language, 'rgb')}\n"
        + "for name in ('min', 'max', 'mean', 'std'):\n"
        + "    print(name, getattr(pixels, name)(axis=0).round(4))\n"
        + f"red, green, blue = image.split()  # {comment(language, 'channels')}\n"
    )
