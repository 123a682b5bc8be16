"""What a session remembers across pages, in one place.

Pages never touch cross-page `st.session_state` keys directly: they call these functions.
"""

from __future__ import annotations

import streamlit as st

from core.trained import TrainedModel

TRAINED_MODELS = "state_trained_models"  # session_state key; tests seed it directly


def trained_models() -> dict[str, TrainedModel]:
    """The models trained in this session, by display name, oldest first."""
    return st.session_state.setdefault(TRAINED_MODELS, {})


def keep_trained_model(model: TrainedModel) -> None:
    """Offer `model` to every page of this session (Classify, Deploy, Serve)."""
    trained_models()[model.name] = model
