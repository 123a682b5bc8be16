"""Keeps every page inside the app's frame (router, sidebar, language switch)."""

from __future__ import annotations

import runpy

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

from core import config


def require_frame() -> None:
    """Render the page through the router when it was started on its own.

    With a `pages/` folder beside the entry script, a fresh Streamlit server (and every AppTest
    run) treats the app as a legacy multipage app until the router has called `st.navigation`,
    so a deep link (say a shared `/classify?lang=zh`) would run the page without the frame.
    Here the router runs in place, draws the frame and this page, and the outer run stops; no
    rerun, so a click that started this run is not lost.
    """
    if not PagesManager.uses_pages_directory:
        return
    PagesManager.uses_pages_directory = False
    runpy.run_path(str(config.PROJECT_ROOT / "streamlit_app.py"), run_name="__main__")
    st.stop()
