"""Project-wide rules: core/ stays pure, locales agree, limits agree with the Streamlit config."""

from __future__ import annotations

import ast
import importlib
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


def test_streamlit_does_not_collect_every_generation_after_each_run():
    # A full gc.collect() after every script and fragment run held the GIL ~0.27 s each time:
    # two Train pages polling their progress made every other page draw 7-10x slower.
    streamlit_config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert streamlit_config["runner"]["postScriptGC"] is False


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


# --- One place for page state (ui/state.py) -------------------------------------------------

PAGE_FILES = sorted((ROOT / "pages").glob("*.py"))


def _session_keys(tree: ast.Module):
    """Each key expression used on `st.session_state` in `tree` (None: used another way)."""
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Attribute) and node.attr == "session_state"):
            continue
        parent = parents[node]
        if isinstance(parent, ast.Subscript) and parent.value is node:
            yield parent.slice
        elif isinstance(parent, ast.Attribute) and parent.attr in ("get", "setdefault", "pop"):
            yield parents[parent].args[0]
        elif isinstance(parent, ast.Compare) and parent.comparators == [node]:
            yield parent.left
        else:
            yield None


def _key_text(key: ast.AST | None, tree: ast.Module) -> str | None:
    """The key's text (an f-string's leading part), resolving this module's constants and the
    `ui` modules' ones; None when it cannot be read."""
    if isinstance(key, ast.Constant) and isinstance(key.value, str):
        return key.value
    if isinstance(key, ast.JoinedStr) and key.values:
        return _key_text(key.values[0], tree)
    if isinstance(key, ast.Name):
        for node in tree.body:
            if isinstance(node, ast.Assign) and any(
                isinstance(target, ast.Name) and target.id == key.id for target in node.targets
            ):
                return _key_text(node.value, tree)
    if isinstance(key, ast.Attribute) and isinstance(key.value, ast.Name):
        for node in tree.body:
            if isinstance(node, ast.ImportFrom) and node.module == "ui":
                for alias in node.names:
                    if (alias.asname or alias.name) == key.value.id:
                        module = importlib.import_module(f"ui.{alias.name}")
                        value = getattr(module, key.attr)
                        return value if isinstance(value, str) else None
    return None


@pytest.mark.parametrize("path", PAGE_FILES, ids=lambda path: path.name)
def test_pages_keep_state_through_ui_state(path):
    source = path.read_text("utf-8")
    tree = ast.parse(source)
    assert "st.query_params" not in source, "use ui.state's URL values"
    assert "st.stop(" not in source, "use state.stop(): it writes the URL first"
    assert "switch_page" not in source, 'use state.send("<page key>", item)'
    prefix = f"{path.stem}_"
    foreign = [
        ast.unparse(key) if key is not None else "st.session_state used as a whole"
        for key in _session_keys(tree)
        if not (_key_text(key, tree) or "").startswith(prefix)
    ]
    assert not foreign, f"{path.name} may only touch its own '{prefix}*' keys: {foreign}"


@pytest.mark.parametrize(
    "path",
    [path for path in sorted((ROOT / "ui").glob("*.py")) if path.name != "state.py"],
    ids=lambda path: path.name,
)
def test_only_ui_state_touches_the_url(path):
    assert "query_params" not in path.read_text("utf-8")


def test_the_page_state_guard_catches_a_foreign_key():
    tree = ast.parse('import streamlit as st\nst.session_state["data_dir"] = "x"\n')
    (key,) = _session_keys(tree)
    assert _key_text(key, tree) == "data_dir"
