"""Every page runs without an exception, in both languages; the language lives in the URL."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.corpus import ROOT
from ui.navigation import PAGES

APP = str(ROOT / "streamlit_app.py")
TIMEOUT_S = 180


def run_page(key: str, *, lang: str = "en") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    at.query_params["lang"] = lang
    at.run()
    if key != "home":
        at.switch_page(next(spec.path for spec in PAGES if spec.key == key))
        at.run()
    return at


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("key", [spec.key for spec in PAGES])
def test_every_page_runs_without_exception(key, lang):
    at = run_page(key, lang=lang)
    assert not at.exception, [str(error.value) for error in at.exception]
    assert not at.error, [error.value for error in at.error]


def test_language_comes_from_the_url():
    at = run_page("home", lang="zh")
    assert at.title[0].value.endswith("Torch Playground")
    assert any("加载数据" in markdown.value for markdown in at.markdown)


def test_language_switch_changes_the_text():
    at = run_page("home")
    at.sidebar.radio(key="lang").set_value("zh").run()
    assert any("加载数据" in markdown.value for markdown in at.markdown)


def test_home_names_the_versions_and_device():
    import torch

    at = run_page("home")
    values = [metric.value for metric in at.metric]
    assert torch.__version__ in values
    assert any("CPU" in value or "CUDA" in value or "MPS" in value for value in values)
