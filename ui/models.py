"""The classifiers, loaded once per process and shared by every session."""

from __future__ import annotations

import streamlit as st

from core import models


@st.cache_resource(show_spinner=False)
def classifier(name: str) -> models.Classifier:
    """Registry model `name` in eval mode on the best device; one copy per process."""
    return models.load(name)
