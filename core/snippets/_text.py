"""Comments inside shown code, in the UI language: the `[snippets]` table of locales/<lang>.toml.

Core cannot use the UI's `t()` (no streamlit here), so it reads the same files itself.
"""

from __future__ import annotations

import functools
import tomllib

from core import config


@functools.cache
def _table(language: str) -> dict[str, str]:
    chosen = language if language in config.LANGUAGES else config.DEFAULT_LANGUAGE
    locale = tomllib.loads((config.LOCALES_DIR / f"{chosen}.toml").read_text("utf-8"))
    return locale["snippets"]


def comment(language: str, key: str, **params: object) -> str:
    """The text of `snippets.<key>` in `language` (English when the language is unknown)."""
    text = _table(language)[key]
    return text.format(**params) if params else text
