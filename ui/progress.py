"""The one progress bar of the app's downloads (model weights, CIFAR-10), fed by the bytes
received through `core.downloads.fetch`'s `progress(received, total)` callback."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import streamlit as st


@contextlib.contextmanager
def byte_progress(
    *, expected: int | None, text: Callable[[int, int], str]
) -> Iterator[Callable[[int, int | None], None]]:
    """A progress bar while the block runs; yields the callback that moves it.

    Args:
        expected: the size to show when the server sends none (bytes), None when unknown.
        text: the bar's caption for (received, total) bytes, worded by the caller.

    The bar moves once per percent, not per chunk (one websocket message each), and is removed
    when the block ends, so a failed download leaves its error, not a half-full bar.
    """
    bar = st.progress(0.0, text=text(0, expected or 0))
    shown = -1

    def report(received: int, total: int | None) -> None:
        nonlocal shown
        size = total or expected
        fraction = min(received / size, 1.0) if size else 0.0
        if int(fraction * 100) != shown:
            shown = int(fraction * 100)
            bar.progress(fraction, text=text(received, size or 0))

    try:
        yield report
    finally:
        bar.empty()
