"""Request-time work off the script thread, within a time budget, abandoned when the session
reruns or closes.

The script thread waits for a worker thread while answering Streamlit's stop/rerun requests, so
Stop and a new rerun take effect at once; the worker checks the budget and a cancel flag before
each of its steps (`core.workers.Budget`), so abandoned work stops burning a core.
"""

from __future__ import annotations

import concurrent.futures
import threading
from collections.abc import Callable
from typing import TypeVar

import streamlit as st
from streamlit.runtime.scriptrunner_utils.script_run_context import get_run_yield_check

from core import config
from core.workers import Budget

T = TypeVar("T")
WAIT_S = 0.05  # how often the waiting script thread answers stop/rerun requests


class WorkCancelled(Exception):  # a signal inside abandoned work, never shown
    """Raised inside abandoned work at its next step."""


@st.cache_resource(show_spinner=False)
def _pool() -> concurrent.futures.ThreadPoolExecutor:
    """The process's threads for request-time work; more requests wait (their budget runs)."""
    return concurrent.futures.ThreadPoolExecutor(
        max_workers=config.WORK_THREADS, thread_name_prefix="work"
    )


def within_budget(
    work: Callable[..., T], /, *args, seconds: float, what: str = "preview", **kwargs
) -> T:
    """`work(*args, check=..., **kwargs)` on a worker thread, `check` raising when the budget
    is spent or the caller has left.

    Raises:
        core.workers.BudgetExceededError: the work took longer than `seconds`.
        Whatever `work` raises; Streamlit's rerun/stop exceptions when the session moves on.
    """
    cancelled = threading.Event()

    def interrupt() -> None:
        if cancelled.is_set():
            raise WorkCancelled

    budget = Budget(seconds, interrupt=interrupt, what=what)
    future = _pool().submit(work, *args, check=budget.check, **kwargs)
    answer_requests = get_run_yield_check() or (lambda: None)
    try:
        while not concurrent.futures.wait([future], timeout=WAIT_S).done:
            answer_requests()  # raises when the session reruns or stops
        return future.result()
    finally:
        cancelled.set()
