"""Every error the app raises for the user is worded in both languages with the parameters it
carries; quoted input is cut short; no server detail of an unexpected error reaches a visitor."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import tomllib

import pytest
from streamlit.testing.v1 import AppTest

import core
import ui
from core import config
from core.errors import PlaygroundError, quote
from ui.i18n import catalog

SOURCES = [
    path
    for folder in ("core", "ui", "pages")
    for path in sorted((config.PROJECT_ROOT / folder).glob("*.py"))
]


def error_classes() -> dict[str, type[PlaygroundError]]:
    """Every PlaygroundError subclass defined in core/ and ui/, by class name."""
    for package in (core, ui):
        for module in pkgutil.iter_modules(package.__path__):
            importlib.import_module(f"{package.__name__}.{module.name}")
    found, pending = {}, [PlaygroundError]
    while pending:
        cls = pending.pop()
        found[cls.__name__] = cls
        pending.extend(cls.__subclasses__())
    return found


def _sample(value: ast.expr) -> object:
    """A stand-in of the type a raise site passes: text for str()/f-strings/text, else a number."""
    textual = isinstance(value, ast.JoinedStr) or (
        isinstance(value, ast.Constant) and isinstance(value.value, str)
    )
    if isinstance(value, ast.Call) and getattr(value.func, "id", None) in ("str", "repr", "quote"):
        textual = True
    return "text" if textual else 7


def raise_sites() -> list[tuple[str, str, str, dict[str, object]]]:
    """(where, class name, locale key, params) of every construction of a PlaygroundError."""
    classes = error_classes()
    sites = []
    for path in SOURCES:
        tree = ast.parse(path.read_text("utf-8"))
        dicts = {  # `common = {...}` handed on as `**common`
            node.targets[0].id: node.value
            for node in ast.walk(tree)
            if isinstance(node, ast.Assign)
            and isinstance(node.targets[0], ast.Name)
            and isinstance(node.value, ast.Dict)
        }
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name not in classes:
                continue
            if any(
                kw.arg == "key" and not isinstance(kw.value, ast.Constant) for kw in node.keywords
            ):
                continue  # a helper handing its caller's key on; its callers are the sites
            keywords = {kw.arg: kw.value for kw in node.keywords if kw.arg is not None}
            for splat in (kw.value for kw in node.keywords if kw.arg is None):
                literal = dicts[splat.id]
                keywords |= {k.value: v for k, v in zip(literal.keys, literal.values, strict=True)}
            key_node = keywords.pop("key", None)
            key = key_node.value if isinstance(key_node, ast.Constant) else classes[name].key
            params = {param: _sample(value) for param, value in keywords.items()}
            where = f"{path.relative_to(config.PROJECT_ROOT)}:{node.lineno}"
            sites.append((where, name, key, params))
    return sites


SITES = raise_sites()
# Parameters a page adds before showing (ui/tensors.py words the refused kind in the language).
ADDED_AT_THE_EDGE = {"tensors.index_not_allowed": {"what": "text"}}


def test_the_raise_sites_are_found():
    names = {name for _, name, _, _ in SITES}
    assert {"TrainingError", "TransformError", "WorkerError", "RunsFullError"} <= names
    assert len(SITES) > 30


@pytest.mark.parametrize("language", list(config.LANGUAGES))
@pytest.mark.parametrize(("where", "name", "key", "params"), SITES, ids=[s[0] for s in SITES])
def test_each_error_formats_in_each_language_with_the_parameters_it_carries(
    where, name, key, params, language
):
    text = catalog(language).get(f"errors.{key}")
    assert text is not None, f"{where}: {name} uses errors.{key}, missing from {language}.toml"
    added = ADDED_AT_THE_EDGE.get(key, {})
    text.format(**({"message": "text"} | params | added))  # a KeyError names what is missing


def _show_every_error() -> None:
    import importlib

    import streamlit as st

    from ui.i18n import show_error

    added = st.session_state["added"]
    for module, name, key, params in st.session_state["cases"]:
        cls = getattr(importlib.import_module(module), name)
        show_error(cls("English message", key=key, **(params | added.get(key, {}))))


def test_every_error_shows_in_both_languages_in_the_app():
    classes = error_classes()
    cases = [(classes[name].__module__, name, key, params) for _, name, key, params in SITES]
    for language in config.LANGUAGES:
        at = AppTest.from_function(_show_every_error, default_timeout=60)
        at.session_state["cases"] = cases
        at.session_state["added"] = ADDED_AT_THE_EDGE
        at.session_state["lang"] = language
        at.run()
        assert not at.exception
        assert len(at.error) == len(cases)


def test_the_folder_too_large_error_formats_with_what_it_carries(tmp_path, monkeypatch):
    from core import training

    for category in ("a", "b"):
        (tmp_path / category).mkdir()
        for index in range(2):
            (tmp_path / category / f"{index}.png").write_bytes(b"")
    monkeypatch.setattr(config, "MAX_FOLDER_IMAGES", 3)
    with pytest.raises(PlaygroundError) as caught:
        training.from_image_folder(tmp_path, roots=[tmp_path])
    assert caught.value.key == "folders.too_many_images"
    for language in config.LANGUAGES:
        assert "3" in catalog(language)["errors.folders.too_many_images"].format(
            **caught.value.params
        )


def _show_long_input() -> None:
    from core.transforms import TransformError
    from ui.i18n import show_error

    show_error(
        TransformError("x" * 100_000, key="transforms.unknown_transform", transform="y" * 100_000)
    )


def test_quoted_input_is_cut_to_the_configured_length():
    assert quote("short") == "short"
    assert quote("z" * 1000) == "z" * (config.ERROR_QUOTE_CHARS - 1) + "…"
    at = AppTest.from_function(_show_long_input).run()
    assert not at.exception
    assert (
        len(at.error[0].value) < 400 and "y" * (config.ERROR_QUOTE_CHARS - 1) in at.error[0].value
    )


def test_no_detail_of_an_unexpected_error_reaches_the_browser():
    from streamlit.elements.exception import _error_detail_visibility

    settings = tomllib.loads((config.PROJECT_ROOT / ".streamlit" / "config.toml").read_text())
    value = settings["client"]["showErrorDetails"]
    from streamlit import config as streamlit_config

    previous = streamlit_config.get_option("client.showErrorDetails")
    streamlit_config.set_option("client.showErrorDetails", value)
    try:
        visibility = _error_detail_visibility(True)
    finally:
        streamlit_config.set_option("client.showErrorDetails", previous)
    assert not (visibility.show_message or visibility.show_trace or visibility.show_type)
