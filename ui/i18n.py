"""UI strings from locales/<lang>.toml, the language kept in session state and the URL."""

from __future__ import annotations

import functools
import tomllib
from typing import Any

import streamlit as st

from core import config
from core.errors import PlaygroundError, Verbatim, quote
from ui import state

# The switch's key and `?lang=`; kept in the link even for English, so a shared link says it.
LANG = state.UrlChoice(
    "lang", "lang", config.DEFAULT_LANGUAGE, always=True, options=tuple(config.LANGUAGES)
)


@functools.cache
def catalog(language: str) -> dict[str, str]:
    """The flattened `section.key -> text` table of one locale file."""
    table = tomllib.loads((config.LOCALES_DIR / f"{language}.toml").read_text("utf-8"))
    return dict(_flatten(table))


def _flatten(table: dict[str, Any], prefix: str = ""):
    for key, value in table.items():
        if isinstance(value, dict):
            yield from _flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def language() -> str:
    """The language of this session: the switch's value, else `?lang=`, else English."""
    chosen = state.bind(LANG)
    return chosen if chosen in config.LANGUAGES else config.DEFAULT_LANGUAGE


def t(key: str, **params: Any) -> str:
    """The UI text for `key` in the session's language, with `{name}` fields filled in."""
    text = catalog(language()).get(key)
    if text is None:
        text = catalog(config.DEFAULT_LANGUAGE)[key]  # a missing key is a bug: KeyError
    return text.format(**params) if params else text


def language_switch() -> str:
    """The sidebar's English / 简体中文 switch; the end of the run writes it into `?lang=`."""
    language()
    return st.sidebar.radio(
        "Language / 语言",
        options=list(config.LANGUAGES),
        format_func=config.LANGUAGES.__getitem__,
        key=LANG.key,
        horizontal=True,
        on_change=_relabel_choices,
    )


def _relabel_choices() -> None:
    """Hand every choice back to its widget when the language changes, so the browser is sent
    the choice under its new label. Widgets store language-neutral keys and translate in
    `format_func`, but the browser holds a choice as its label: untold, a radio would show no
    selection and a selectbox the old words, and the next click would lose the choice."""
    for key in list(st.session_state):
        value = st.session_state[key]
        if key != LANG.key and _is_choice(value):
            st.session_state[key] = value


def _is_choice(value: Any) -> bool:
    # Keys and numbers; not booleans (buttons refuse to be set) nor files or pipelines.
    if isinstance(value, list | tuple):
        return bool(value) and all(_is_choice(item) for item in value)
    return isinstance(value, str | int) and not isinstance(value, bool)


def error_text(error: PlaygroundError) -> str:
    """A core error worded in the session's language (its English message as a fallback).

    Text parameters, which may quote what the user typed, are cut to
    `config.ERROR_QUOTE_CHARS` characters, all but the app's own `Verbatim` URLs and paths;
    `{message}` is the error's English message.
    """
    key = f"errors.{error.key}"
    if key not in catalog(language()):
        return quote(str(error), limit=4 * config.ERROR_QUOTE_CHARS)
    params = {"message": quote(str(error))} | {
        name: quote(value) if isinstance(value, str) and not isinstance(value, Verbatim) else value
        for name, value in error.params.items()
    }
    return t(key, **params)


def show_error(error: PlaygroundError) -> None:
    """Show a core error once, at the edge, as `st.error` (never a traceback)."""
    st.error(error_text(error), icon=":material/error:")
