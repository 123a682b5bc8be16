"""Training feedback worded for the page: a collapsed or near-chance run says so, and why."""

from __future__ import annotations

import streamlit as st

from core.feedback import Diagnosis
from ui.datasets import class_label
from ui.i18n import t


def show_diagnosis(diagnosis: Diagnosis) -> None:
    """A warning naming what went wrong and its likely causes, most likely first."""
    summary = t(
        f"train_feedback.{diagnosis.kind}",
        category=class_label(diagnosis.category),
        share=diagnosis.share,
        accuracy=diagnosis.accuracy,
        chance=diagnosis.chance,
    )
    causes = "\n".join(f"- {t(f'train_feedback.cause_{cause}')}" for cause in diagnosis.causes)
    st.warning(f"{summary}\n\n{t('train_feedback.causes')}\n{causes}", icon=":material/report:")
