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

DATA_DIR_KEY = "data_dir"  # session override of config.DATA_DIR (set on the Datasets page)
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
    """The class name of each sample in `indices`."""
    return tuple(data.classes[target] for target in data.targets[indices])
