"""What every bench shares: call the model the way the app does, and a --rounds option.

Streamlit runs each page script in a worker thread, never in Python's main thread, and
OpenMP's thread pools behave per calling thread: timing from the main thread measures a mode
the app never runs in (it was 5-10x slower there on this 2-core machine under load).
"""

from __future__ import annotations

import argparse
import socket
import sys
import threading
from collections.abc import Callable
from typing import TypeVar

Result = TypeVar("Result")


def in_app_thread(function: Callable[[], Result]) -> Result:
    """Run `function` in a fresh thread, as Streamlit runs a page script, and return its value."""
    box: dict[str, object] = {}

    def target() -> None:
        try:
            box["value"] = function()
        except BaseException as error:  # noqa: BLE001 - re-raised in the caller below
            box["error"] = error

    thread = threading.Thread(target=target, name="ScriptRunner.scriptThread")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]  # type: ignore[return-value]


def arguments(description: str, *, rounds: int) -> argparse.ArgumentParser:
    """A parser with `--rounds` (interleaved rounds; few while developing, more when quiet)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--rounds", type=int, default=rounds, help=f"interleaved rounds (default {rounds})"
    )
    return parser


def free_port() -> int:
    """A free TCP port on the loopback address (benches serve on 127.0.0.1 only)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def streamlit_command(port: int) -> list[str]:
    """This app on 127.0.0.1:`port`, headless, started as the README says (`run_app.py`: the
    model loads while the server starts); run it from the project root."""
    return [
        sys.executable,
        "run_app.py",
        "--server.headless=true",
        f"--server.port={port}",
        "--server.address=127.0.0.1",  # loopback only
        "--browser.gatherUsageStats=false",
    ]
