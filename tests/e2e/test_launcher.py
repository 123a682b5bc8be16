"""`python run_app.py`, the README's start command: the default model loads while the server
starts, into the same process-wide cache the Classify page reads."""

from __future__ import annotations

import sys
import time

from core.models import DEFAULT_MODEL
from tests.corpus import ROOT
from tests.e2e.conftest import serve, wait_for_app

READY_TIMEOUT_S = 180


def test_the_launcher_loads_the_model_before_any_visit_and_serves_the_app(tmp_path, page):
    with serve(tmp_path, entry=[sys.executable, str(ROOT / "run_app.py")]) as url:
        (log,) = tmp_path.glob("streamlit-*.log")
        deadline = time.monotonic() + READY_TIMEOUT_S
        while f"{DEFAULT_MODEL} ready" not in log.read_text():
            assert time.monotonic() < deadline, log.read_text()[-2000:]
            time.sleep(0.5)
        page.goto(url)  # the root first: a fresh server's first deep link skips the router
        wait_for_app(page)
        page.goto(f"{url}/classify")
        wait_for_app(page)
        page.locator("[data-testid=stMain]").get_by_text("It looks like espresso").wait_for()
    assert log.read_text().count(f"{DEFAULT_MODEL} ready") == 1
