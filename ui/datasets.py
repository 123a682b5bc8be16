"""Datasets as cached resources: loaded once per process, shared by every session; and the
browser's grid, rendered as one HTML block of tiny PNGs that the browser scales up crisply."""

from __future__ import annotations

import base64
import dataclasses
import html
import pathlib
from collections.abc import Sequence
from typing import NoReturn

import numpy as np
import streamlit as st
from torchvision.datasets import CIFAR10

from core import datasets as core_datasets
from core.datasets import load_cifar10
from core.errors import PlaygroundError
from ui import state
from ui.i18n import catalog, language, show_error, t

GRID_KEY = "datasets_grid"
GRID_CELL_PX = 64  # each thumbnail's on-screen side
_BMP_MAX_SIDE = 32  # tiles up to this side go as BMP: fast to write, still small
CACHE_TTL_S = 3600  # entries keyed by user input expire an hour after they were made


@st.cache_resource(show_spinner=False, max_entries=4, ttl=CACHE_TTL_S)
def cifar10(root: str, train: bool) -> CIFAR10:
    """CIFAR-10 split from `root`; raises core.datasets.DatasetError when it is not there."""
    return load_cifar10(pathlib.Path(root), train=train)


@dataclasses.dataclass(frozen=True)
class Source:
    """Which dataset a session browses: CIFAR-10 in `root` (one split), or an image folder."""

    kind: str  # "cifar10" or "folder"
    root: str
    train: bool = False
    roots: tuple[str, ...] = ()  # for a folder: where it may lie (see ui.folders.roots)

    @property
    def name(self) -> str:
        if self.kind == "cifar10":
            return f"CIFAR-10 {'train' if self.train else 'test'}"
        return pathlib.Path(self.root).name or self.root


# Keyed by what users type or upload: bounded in entries and time, so memory plateaus.
@st.cache_resource(show_spinner=False, max_entries=4, ttl=CACHE_TTL_S)
def browsable(source: Source) -> core_datasets.Browsable:
    """The dataset behind `source`, loaded once per process; raises PlaygroundError."""
    if source.kind == "cifar10":
        return core_datasets.CifarImages(cifar10(source.root, source.train))
    allowed = [pathlib.Path(root) for root in source.roots]
    folder = core_datasets.load_image_folder(pathlib.Path(source.root), roots=allowed)
    return core_datasets.FolderImages(folder)


@st.cache_data(show_spinner=False, max_entries=8, ttl=CACHE_TTL_S)
def stats(source: Source) -> core_datasets.ChannelStats:
    """Per-channel mean and std of `source`, computed once."""
    return core_datasets.dataset_stats(browsable(source))


@st.cache_data(show_spinner=False, max_entries=32, ttl=CACHE_TTL_S)
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


def say_cifar_missing() -> None:
    """CIFAR-10 is not in this session's data dir yet: say where it was looked for, and link to
    the Datasets page, which downloads it."""
    st.info(t("train.cifar_missing", root=str(state.data_dir())), icon=":material/inventory_2:")
    st.page_link(
        "pages/datasets.py", label=t("train.open_datasets"), icon=":material/arrow_forward:"
    )


def stop_for_data(error: PlaygroundError, *, source: str) -> NoReturn:
    """Say why a page's training images could not be read, then end the run: CIFAR-10 not
    downloaded yet points to the Datasets page; a folder's own problem is its message."""
    if isinstance(error, core_datasets.DatasetError) and source == "cifar10":
        say_cifar_missing()
    else:
        show_error(error)
    state.stop()
