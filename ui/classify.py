"""Charts and widgets of the Classify page (plotly figures, the weights download), and the
per-image caches of its optional views."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go
import streamlit as st
import torch
from PIL import Image

from core import downloads
from core.models import (
    Classifier,
    ModelRecord,
    Prediction,
    Preprocessing,
    PreprocessingSteps,
    preprocessing_steps,
)
from ui.i18n import t
from ui.progress import byte_progress

if TYPE_CHECKING:
    from core.cam import CamResult

_CHANNEL_COLOURS = {"R": "#d62728", "G": "#2ca02c", "B": "#1f77b4"}
_HISTOGRAM_BINS = 64
_VIEWS_KEPT = 32  # per view: a few images of a few sessions; bounded so memory plateaus


def image_digest(image: Image.Image, *, record: ModelRecord, model: Classifier | None) -> str:
    """The key of an image's views for one model (same pixels and model, same views); a model
    whose weights are not there yet still has its preprocessing previews."""
    digest = hashlib.sha1(image.tobytes(), usedforsecurity=False)
    module = "" if model is None else id(model.module)
    digest.update(f"{image.size}{record.name}{module}".encode())
    return digest.hexdigest()


@st.cache_data(max_entries=_VIEWS_KEPT, show_spinner=False)
def cached_steps(
    digest: str, *, _image: Image.Image, _preprocessing: Preprocessing
) -> PreprocessingSteps:
    """The preprocessing previews of the image behind `digest`, computed once."""
    return preprocessing_steps(_image, preprocessing=_preprocessing)


@st.cache_data(max_entries=_VIEWS_KEPT, show_spinner=False)
def cached_histogram(
    digest: str, which: str, *, _steps: PreprocessingSteps, title: str
) -> go.Figure:
    """The channel histogram of `_steps.tensor` or `_steps.normalized` (`which`), once."""
    return channel_histogram(getattr(_steps, which), title=title)


@st.cache_data(max_entries=_VIEWS_KEPT, show_spinner=False)
def cached_grad_cam(
    digest: str, class_index: int, *, _image: Image.Image, _model: Classifier
) -> CamResult:
    """Grad-CAM of one class for the image behind `digest`, computed once per class."""
    from core.cam import grad_cam  # torchcam loads when a learner first opens the Why tab

    return grad_cam(_image, model=_model, class_index=class_index)


def top_k_chart(predictions: list[Prediction] | tuple[Prediction, ...]) -> go.Figure:
    """Horizontal bars of the top-k probabilities, best on top."""
    ordered = list(reversed(predictions))
    figure = go.Figure(
        go.Bar(
            x=[prediction.probability for prediction in ordered],
            y=[prediction.label for prediction in ordered],
            orientation="h",
            text=[f"{prediction.probability:.1%}" for prediction in ordered],
            # Outside the bar and level: a thin bar cannot hold "9.6%" without turning it.
            textposition="outside",
            textangle=0,
            cliponaxis=False,
            marker_color=["#ff4b4b" if p is predictions[0] else "#8fa3bf" for p in ordered],
            hovertemplate="%{y}: %{x:.2%}<extra></extra>",
        )
    )
    figure.update_layout(
        # Room right of a full bar for its label.
        xaxis={
            "range": [0, 1.15],
            "tickvals": [0, 0.25, 0.5, 0.75, 1],
            "tickformat": ".0%",
            "title": t("classify.probability"),
        },
        height=60 + 44 * len(ordered),
        margin={"l": 10, "r": 10, "t": 10, "b": 40},
    )
    return figure


def channel_histogram(tensor: torch.Tensor, *, title: str) -> go.Figure:
    """Per-channel histograms of a (3, H, W) tensor, one line per RGB channel."""
    values = tensor.detach().cpu().numpy()
    edges = np.linspace(float(values.min()), float(values.max()) + 1e-6, _HISTOGRAM_BINS + 1)
    centres = (edges[:-1] + edges[1:]) / 2
    figure = go.Figure()
    for channel, name in enumerate(_CHANNEL_COLOURS):
        counts, _ = np.histogram(values[channel], bins=edges)
        figure.add_trace(
            go.Scatter(
                x=centres,
                y=counts,
                mode="lines",
                line={"shape": "hvh", "color": _CHANNEL_COLOURS[name]},
                name=name,
            )
        )
    figure.update_layout(
        title={"text": title, "font": {"size": 14}},
        xaxis_title=t("classify.pixel_value"),
        yaxis_title=t("classify.pixel_count"),
        height=280,
        margin={"l": 10, "r": 10, "t": 40, "b": 40},
        legend={"orientation": "h", "y": 1.12, "x": 1, "xanchor": "right"},
    )
    return figure


def download_weights(record: ModelRecord) -> bool:
    """The Download button for a torchvision model's weights, with a real progress bar.

    Returns True once the file is in the cache. Raises DownloadError for the page to show.
    """
    path = downloads.cache_path(record.weights)
    st.warning(
        t(
            "classify.not_cached",
            model=record.title,
            size=f"{record.meta.file_size_mb:.1f}",
            url=record.weights,
            path=str(path),
        ),
        icon=":material/download:",
    )
    label = t("classify.download_button", size=f"{record.meta.file_size_mb:.1f}")
    if not st.button(label, key="classify_download", type="primary"):
        return False
    expected = int((record.meta.file_size_mb or 0) * 1e6) or None
    with byte_progress(
        expected=expected,
        text=lambda received, total: t(
            "classify.download_progress", received=received / 1e6, total=total / 1e6
        ),
    ) as report:
        downloads.download(record.weights, progress=report)
    return True
