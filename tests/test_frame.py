"""The frame's one Streamlit-private workaround (ui/frame.py) still matches Streamlit's
behaviour: these fail loudly when an upgrade changes it, so the workaround gets revisited."""

from __future__ import annotations

import inspect

from streamlit.runtime.pages_manager import PagesManager
from streamlit.runtime.scriptrunner import script_runner
from streamlit.testing.v1 import AppTest

from tests.corpus import ROOT
from tests.test_app import APP, TIMEOUT_S

HINT = "Streamlit changed its pages/ mode: revisit ui/frame.py's _leave_pages_directory_mode"


def test_a_pages_folder_beside_the_entry_script_turns_the_private_flag_on():
    saved = PagesManager.uses_pages_directory
    try:
        PagesManager.uses_pages_directory = None
        PagesManager(str(ROOT / "streamlit_app.py"), setup_watcher=False)
        assert PagesManager.uses_pages_directory is True, HINT
    finally:
        PagesManager.uses_pages_directory = saved


def test_the_script_runner_runs_a_page_alone_while_the_flag_is_on():
    source = inspect.getsource(script_runner)
    assert "if PagesManager.uses_pages_directory:" in source, HINT
    assert "_mpa_v1(" in source, HINT


def test_the_router_turns_the_flag_off_and_pages_run_inside_the_frame():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    at.query_params["lang"] = "en"
    at.run()
    assert PagesManager.uses_pages_directory is False, HINT
    at.switch_page("pages/tensors.py").run()
    assert not at.exception
    assert at.sidebar.radio(key="lang").value == "en"  # the frame's language switch is drawn
