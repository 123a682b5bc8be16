"""The classifiers and their inference workers, loaded once per process, shared by every
session."""

from __future__ import annotations

import streamlit as st

from core import inference, models


@st.cache_resource(show_spinner=False)
def classifier(name: str) -> models.Classifier:
    """Registry model `name` in eval mode on the best device; one copy per process."""
    return models.load(name)


@st.cache_resource(show_spinner=False)
def inference_worker(name: str) -> inference.InferenceWorker:
    """The one thread that batches every session's forward passes of registry model `name`."""
    return inference.InferenceWorker(classifier(name))
