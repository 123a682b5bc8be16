"""Keeps every page inside the app's frame (router, sidebar, language switch)."""

from __future__ import annotations

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager


def require_frame() -> None:
    """Rerun through the router when a page was started on its own.

    With a `pages/` folder beside the entry script, a fresh Streamlit server treats the app as a
    legacy multipage app until the router has called `st.navigation` once, so the first deep
    link it serves (say a shared `/classify?lang=zh`) would run the page without the frame.
    Switching that mode off and rerunning sends the same URL through `st.navigation`.
    """
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()
