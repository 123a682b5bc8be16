"""Datasets as cached resources: loaded once per process, shared by every session; and the
browser's grid, rendered as one HTML block of tiny PNGs that the browser scales up crisply."""

from __future__ import annotations

import base64
import dataclasses
import html
import pathlib
from collections.abc import Sequence

import numpy as np
import streamlit as st
from torchvision.datasets import CIFAR10

from core import config
from core import datasets as core_datasets
from core.datasets import load_cifar10
from ui.i18n import catalog, language

DATA_DIR_KEY = "data_dir"  # session override of config.DATA_DIR (set on the Datasets page)
GRID_KEY = "datasets_grid"
GRID_CELL_PX = 64  # each thumbnail's on-screen side
_BMP_MAX_SIDE = 32  # tiles up to this side go as BMP: fast to write, still small


def data_dir() -> pathlib.Path:
    """The data directory of this session: its override, else `config.DATA_DIR`."""
    return pathlib.Path(st.session_state.get(DATA_DIR_KEY) or config.DATA_DIR)


@st.cache_resource(show_spinner=False, max_entries=4)
def cifar10(root: str, train: bool) -> CIFAR10:
    """CIFAR-10 split from `root`; raises core.datasets.DatasetError when it is not there."""
    return load_cifar10(pathlib.Path(root), train=train)


@dataclasses.dataclass(frozen=True)
class Source:
    """Which dataset a session browses: CIFAR-10 in `root` (one split), or an image folder."""

    kind: str  # "cifar10" or "folder"
    root: str
    train: bool = False

    @property
    def name(self) -> str:
        if self.kind == "cifar10":
            return f"CIFAR-10 {'train' if self.train else 'test'}"
        return pathlib.Path(self.root).name or self.root


@st.cache_resource(show_spinner=False, max_entries=4)
def browsable(source: Source) -> core_datasets.Browsable:
    """The dataset behind `source`, loaded once per process; raises DatasetError."""
    if source.kind == "cifar10":
        return core_datasets.CifarImages(cifar10(source.root, source.train))
    return core_datasets.FolderImages(core_datasets.load_image_folder(pathlib.Path(source.root)))


@st.cache_data(show_spinner=False, max_entries=8)
def stats(source: Source) -> core_datasets.ChannelStats:
    """Per-channel mean and std of `source`, computed once."""
    return core_datasets.dataset_stats(browsable(source))


@st.cache_data(show_spinner=False, max_entries=64)
def grid_html(source: Source, indices: tuple[int, ...], labels: tuple[str, ...]) -> str:
    """The grid of `indices` in `source`, rendered once per page (see `render_grid`)."""
    return render_grid(browsable(source), indices, labels)


def render_grid(
    data: core_datasets.Browsable, indices: Sequence[int], labels: Sequence[str]
) -> str:
    """One HTML block: a tile per sample with `#index` and its label under it. Tiles are PNGs at
    the images' own size; the browser scales them up with nearest-neighbour pixels."""
    pixels = data.pixels(indices)
    kind = "bmp" if pixels.shape[1] <= _BMP_MAX_SIDE else "png"
    tiles = []
    for index, label, image in zip(indices, labels, pixels, strict=True):
        encoded = core_datasets.encode_image(image, format=kind.upper())
        data_uri = base64.b64encode(encoded).decode("ascii")
        tiles.append(
            f'<figure data-index="{index}" style="margin:0;text-align:center">'
            f'<img src="data:image/{kind};base64,{data_uri}" width="{GRID_CELL_PX}" '
            f'height="{GRID_CELL_PX}" style="image-rendering:pixelated" alt="{html.escape(label)}">'
            f'<figcaption style="font-size:0.7rem;line-height:1.1">#{index}<br>'
            f'<span class="label">{html.escape(label)}</span></figcaption></figure>'
        )
    return (
        '<div class="dataset-grid" style="display:grid;gap:6px;'
        f'grid-template-columns:repeat(auto-fill,minmax({GRID_CELL_PX + 8}px,1fr))">'
        + "".join(tiles)
        + "</div>"
    )


def labels_of(data: core_datasets.Browsable, indices: np.ndarray) -> tuple[str, ...]:
    """The class name of each sample in `indices`, as the UI language shows it."""
    return tuple(class_label(data.classes[target]) for target in data.targets[indices])


def class_label(name: str) -> str:
    """A class name as shown: CIFAR-10's are bilingual in Chinese (`cat（猫）`); code and
    `dataset.classes` keep torchvision's English names."""
    return catalog(language()).get(f"cifar10_classes.{name}", name)


def split_sizes(root: str) -> dict[str, int | None]:
    """How many images each CIFAR-10 split in `root` holds, counted from the loaded data
    (None: that split cannot be loaded)."""
    sizes: dict[str, int | None] = {}
    for split in ("train", "test"):
        try:
            sizes[split] = len(cifar10(root, split == "train"))
        except core_datasets.DatasetError:
            sizes[split] = None
    return sizes


# Tiles are our own HTML (labels escaped); the script only reports which tile was clicked.
_GRID_JS = """
export default function (component) {
  const { data, setTriggerValue, parentElement } = component;
  let host = parentElement.querySelector(".dataset-grid-host");
  if (!host) {
    host = document.createElement("div");
    host.className = "dataset-grid-host";
    parentElement.appendChild(host);
  }
  host.innerHTML = data;
  host.querySelectorAll("figure[data-index]").forEach((tile) => {
    tile.style.cursor = "pointer";
    tile.onclick = () => setTriggerValue("clicked", Number(tile.dataset.index));
  });
}
"""
_grid_component = st.components.v2.component("datasets_grid", js=_GRID_JS, isolate_styles=False)


def clickable_grid(body: str, *, on_click) -> None:
    """The grid's HTML, each tile reporting a click to `on_click(index)`."""

    def clicked() -> None:
        index = getattr(st.session_state[GRID_KEY], "clicked", None)
        if index is not None:
            on_click(int(index))

    _grid_component(data=body, key=GRID_KEY, on_clicked_change=clicked)


# --- The PyTorch code behind each view (tests run it and compare with what the page shows) ----


def overview_code(source: Source) -> str:
    """Code that builds `source` and prints what the Overview shows."""
    if source.kind == "cifar10":
        build = (
            "from torchvision.datasets import CIFAR10\n\n"
            f"dataset = CIFAR10(root={source.root!r}, train={source.train}, download=True)\n"
        )
        shape = "print(len(dataset), dataset.data.shape)\n"
        pixels = "pixels = dataset.data.reshape(-1, 3) / 255.0  # each pixel's RGB in [0, 1]\n"
    else:
        build = (
            "from torchvision.datasets import ImageFolder\n\n"
            f"dataset = ImageFolder(root={source.root!r})\n"
        )
        shape = "print(len(dataset))\n"
        pixels = (
            "pixels = np.concatenate([np.asarray(image).reshape(-1, 3) for image, _ in dataset])"
            " / 255.0\n"
        )
    return (
        "import numpy as np\n"
        + build
        + "print(dataset)\n"
        + shape
        + "print(dataset.targets[:10])\n"
        + "print(dataset.classes)\n"
        + "print(dataset.class_to_idx)\n\n"
        + "# Images per class, and the per-channel numbers for transforms.Normalize(mean, std)\n"
        + "print(np.bincount(dataset.targets, minlength=len(dataset.classes)))\n"
        + pixels
        + "print(pixels.mean(axis=0), pixels.std(axis=0))\n"
    )


def browse_code(
    classes: list[int], *, names: list[str], page: int, page_size: int, seed: int | None
) -> str:
    """Code that picks the indices the grid shows (given `dataset` from the Overview)."""
    if classes:
        comment = ", ".join(names)
        chosen = f"indices = np.flatnonzero(np.isin(targets, {classes}))  # {comment}\n"
    else:
        chosen = "indices = np.arange(len(targets))\n"
    if seed is None:
        start = page * page_size
        shown = f"shown = indices[{start}:{start + page_size}]  # page {page + 1}\n"
    else:
        shown = (
            f"rng = np.random.default_rng({seed})\n"
            f"shown = rng.choice(indices, size=min({page_size}, len(indices)), replace=False)\n"
        )
    return (
        "import numpy as np\n\n"
        "targets = np.array(dataset.targets)\n"
        + chosen
        + shown
        + "labels = [dataset.classes[target] for target in targets[shown]]\n"
    )


def detail_code(index: int) -> str:
    """Code that reads sample `index` and computes what the detail view shows."""
    return (
        "import numpy as np\n\n"
        f"image, label = dataset[{index}]  # a PIL image and its class index\n"
        "print(dataset.classes[label], label)\n"
        "pixels = np.asarray(image) / 255.0  # (H, W, 3) in [0, 1]\n"
        "print(pixels.mean(axis=(0, 1)), pixels.std(axis=(0, 1)))\n"
        "red, green, blue = image.split()  # one greyscale image per channel\n"
    )
