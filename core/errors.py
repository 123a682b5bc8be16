"""The errors core raises for bad input. Each carries a locale key and its parameters so the UI
can say it in the user's language; the English message stands on its own in a notebook."""

from __future__ import annotations

from typing import Any

from core import config


def quote(text: str, *, limit: int = config.ERROR_QUOTE_CHARS) -> str:
    """`text` cut to `limit` characters (an ellipsis marks the cut), for quoting user input in
    a message: a 100 KB transform name must not become a 100 KB alert."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Verbatim(str):
    """A parameter the app made itself (a URL it downloads from, the path a file must be put
    at): shown whole, where user input is cut by `quote`."""


class PlaygroundError(Exception):
    """Base of every error the UI shows to the user instead of a traceback.

    Attributes:
        key: locale key under `errors.` that words this error for the UI.
        params: values substituted into the localized message.
    """

    key = "generic"

    def __init__(self, message: str, *, key: str | None = None, **params: Any) -> None:
        super().__init__(message)
        if key is not None:
            self.key = key
        self.params = params


class ImageDecodeError(PlaygroundError, ValueError):
    """An upload that is not an image the app accepts, or one too large to decode safely."""

    key = "image_decode"


class DownloadError(PlaygroundError, OSError):
    """A download that failed: no network, a bad status, or a hash that does not match."""

    key = "download"
