"""Project-wide rules: core/ stays pure, locales agree, limits agree with the Streamlit config."""

from __future__ import annotations

import ast
import re
import string
import tomllib

import pytest

from core import config
from tests.corpus import ROOT
from ui.i18n import catalog

CORE_FILES = sorted((ROOT / "core").rglob("*.py"))


@pytest.mark.parametrize("path", CORE_FILES, ids=lambda path: path.name)
def test_core_module_does_not_import_streamlit(path):
    tree = ast.parse(path.read_text("utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert "streamlit" not in imported


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_locales_have_the_same_keys():
    assert set(catalog("en")) == set(catalog("zh"))


def test_locales_use_the_same_format_fields():
    english, chinese = catalog("en"), catalog("zh")
    mismatched = {key for key in english if _fields(english[key]) != _fields(chinese[key])}
    assert not mismatched


def test_chinese_locale_is_translated():
    english, chinese = catalog("en"), catalog("zh")
    # Same text in both is fine for names and numbers, not for an English sentence.
    untranslated = [
        key
        for key in chinese
        if chinese[key] == english[key] and re.search(r"[a-z]{3,} [a-z]{3,}", english[key])
    ]
    assert not untranslated, untranslated


def test_upload_limit_matches_streamlit_config():
    streamlit_config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert streamlit_config["server"]["maxUploadSize"] == config.UPLOAD_LIMIT_MB


def test_file_watcher_is_off():
    streamlit_config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert streamlit_config["server"]["fileWatcherType"] == "none"


@pytest.mark.parametrize("path", sorted((ROOT / "pages").glob("*.py")), ids=lambda path: path.name)
def test_every_page_requires_the_frame(path):
    calls = {
        node.value.func.id
        for node in ast.parse(path.read_text("utf-8")).body
        if isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Call)
        and isinstance(node.value.func, ast.Name)
    }
    assert "require_frame" in calls
