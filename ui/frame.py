"""Keeps every page inside the app's frame (router, sidebar, language switch)."""

from __future__ import annotations

import runpy

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

from core import config


def require_frame() -> None:
    """Render the page through the router when it was started on its own.

    A deep link (say a shared `/classify?lang=zh`) to a fresh server would run the page without
    the frame. Here the router runs in place, draws the frame and this page, and the outer run
    stops; no rerun, so a click that started this run is not lost.
    """
    if not _leave_pages_directory_mode():
        return
    runpy.run_path(str(config.PROJECT_ROOT / "streamlit_app.py"), run_name="__main__")
    st.stop()


def _leave_pages_directory_mode() -> bool:
    """Whether this page runs alone, as a page of Streamlit's older `pages/` multipage mode;
    if so, switch the process to `st.navigation` mode (the router then takes over).

    The one use of a Streamlit-private name in the app. Streamlit 1.67 keeps that mode in the
    class flag `PagesManager.uses_pages_directory`: set True when a fresh server (or AppTest)
    finds a `pages/` folder beside the entry script, it makes the script runner execute the
    linked page's file alone until `st.navigation` sets it False. tests/test_frame.py fails
    when an upgrade changes any of that.
    """
    if not PagesManager.uses_pages_directory:
        return False
    PagesManager.uses_pages_directory = False
    return True
