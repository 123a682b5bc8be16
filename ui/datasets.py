"""Datasets as cached resources: loaded once per process, shared by every session."""

from __future__ import annotations

import pathlib

import streamlit as st
from torchvision.datasets import CIFAR10

from core import config
from core.datasets import load_cifar10

DATA_DIR_KEY = "data_dir"  # session override of config.DATA_DIR (set on the Datasets page)


def data_dir() -> pathlib.Path:
    """The data directory of this session: its override, else `config.DATA_DIR`."""
    return pathlib.Path(st.session_state.get(DATA_DIR_KEY) or config.DATA_DIR)


@st.cache_resource(show_spinner=False, max_entries=4)
def cifar10(root: str, train: bool) -> CIFAR10:
    """CIFAR-10 split from `root`; raises core.datasets.DatasetError when it is not there."""
    return load_cifar10(pathlib.Path(root), train=train)
