"""Charts and widgets of the Classify page (top-k bars, plotly histograms, the weights
download), and the per-image caches of its optional views."""

from __future__ import annotations

import hashlib
import html
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


# Plain HTML bars, not a plotly figure: the browser draws them at once, while plotly's script
# (several MB) would first have to load in a fresh tab before the top-5 could show.
_TOP_K_STYLE = """<style>
.top-k {display: grid; grid-template-columns: minmax(6rem, max-content) 1fr 4.2rem;
  gap: 0.45rem 0.6rem; align-items: center; margin: 0.25rem 0 0.5rem; font-size: 0.95rem}
.top-k .bar {height: 1.1rem; border-radius: 0.25rem; background: rgba(128, 128, 128, 0.15)}
.top-k .bar > span {display: block; height: 100%; border-radius: 0.25rem; min-width: 2px}
.top-k .value {text-align: right; font-variant-numeric: tabular-nums}
</style>"""
_BEST_COLOUR, _OTHER_COLOUR = "#ff4b4b", "#8fa3bf"


def top_k_html(predictions: list[Prediction] | tuple[Prediction, ...]) -> str:
    """Horizontal bars of the top-k probabilities, best first, each with its label and value.

    Labels are escaped: a trained model's class names come from the learner's folder names.
    """
    rows = []
    for rank, prediction in enumerate(predictions):
        colour = _BEST_COLOUR if rank == 0 else _OTHER_COLOUR
        percent = f"{prediction.probability:.1%}"
        rows.append(
            f'<span class="label">{html.escape(prediction.label)}</span>'
            f'<span class="bar" title="{html.escape(prediction.label)}: {percent}">'
            f'<span style="width: {100 * prediction.probability:.2f}%; '
            f'background: {colour}"></span></span>'
            f'<span class="value">{percent}</span>'
        )
    label = html.escape(t("classify.probability"))
    return f'{_TOP_K_STYLE}<div class="top-k" aria-label="{label}">{"".join(rows)}</div>'


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
