"""Transforms previews within a time budget: a clear message when it is spent, and work that
stops at its next step when the session moves on."""

from __future__ import annotations

import json
import threading
import time

import pytest

from core import config, transforms, workers
from core.samples import DEFAULT_SAMPLE, load_sample
from tests.test_page_transforms import _open
from ui import work


def test_draws_check_before_every_step_and_stop_when_the_check_raises():
    image = transforms.fit_source(load_sample(DEFAULT_SAMPLE))
    pipeline = transforms.PRESETS[transforms.DEFAULT_PRESET]
    calls = []
    transforms.draw(image, pipeline, seed=0, count=3, check=lambda: calls.append(1))
    assert len(calls) == 3 * len(pipeline)

    def stop_at_third() -> None:
        calls.append(1)
        if len(calls) == 3:
            raise workers.BudgetExceededError("spent", seconds=1)

    calls.clear()
    with pytest.raises(workers.BudgetExceededError):
        transforms.draw(image, pipeline, seed=0, count=3, check=stop_at_third)
    assert len(calls) == 3


def test_a_spent_budget_is_a_clear_message_in_both_languages(monkeypatch):
    monkeypatch.setattr(config, "TRANSFORMS_BUDGET_S", 0.0)
    pipeline = json.dumps([{"name": "ToImage"}, {"name": "GaussianBlur"}])
    for lang, words in (("en", "took longer than its 0 s limit"), ("zh", "超过了 0 秒")):
        at = _open(tf_pipeline=pipeline, lang=lang)
        assert not at.exception
        assert any(words in error.value for error in at.error)


class _Rerun(Exception):
    """Stands in for Streamlit's RerunException."""


def test_work_stops_at_its_next_step_when_the_session_moves_on(monkeypatch):
    steps, ended = [], threading.Event()

    def endless(*, check) -> None:
        try:
            while True:
                check()
                steps.append(1)
                time.sleep(0.01)
        finally:
            ended.set()

    asked = time.monotonic() + 0.3  # the session reruns 0.3 s into the work

    def yield_check() -> None:
        if time.monotonic() > asked:
            raise _Rerun

    monkeypatch.setattr(work, "get_run_yield_check", lambda: yield_check)
    with pytest.raises(_Rerun):
        work.within_budget(endless, seconds=60)
    assert ended.wait(1.0), "the abandoned work kept running"
    count = len(steps)
    time.sleep(0.1)
    assert len(steps) == count and count > 5


def test_work_past_its_budget_raises_the_budget_error():
    def slow(*, check) -> None:
        while True:
            check()
            time.sleep(0.01)

    with pytest.raises(workers.BudgetExceededError) as caught:
        work.within_budget(slow, seconds=0.1)
    assert caught.value.params == {"seconds": 0.1}
