"""Hand an image (or a pipeline) from one page to another within a session.

The sender stores it under the receiving page's key and switches page; the receiver takes it
once. Example: the dataset browser's "Classify this image" button.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import streamlit as st
from PIL import Image

_PREFIX = "handoff_"


@dataclasses.dataclass(frozen=True)
class HandedImage:
    image: Image.Image  # RGB
    caption: str  # where it came from, e.g. "CIFAR-10 test #3 (cat)"


def send(target: str, payload: Any, *, page_path: str | None = None) -> None:
    """Leave `payload` for the page whose key is `target`, then open that page if a path is
    given (this ends the current run)."""
    st.session_state[_PREFIX + target] = payload
    if page_path is not None:
        st.switch_page(page_path)


def take(target: str) -> Any | None:
    """What was handed to page `target`, once; None when nothing was."""
    return st.session_state.pop(_PREFIX + target, None)


@dataclasses.dataclass(frozen=True)
class HandedPipeline:
    compose: Any  # a torchvision.transforms.v2.Compose, ready to apply
    description: str  # the pipeline as JSON, for display
