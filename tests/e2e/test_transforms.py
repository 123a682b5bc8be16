"""The Transforms studio in a real browser: adding a flip changes the draws."""

from __future__ import annotations

import json
import re

from tests.e2e.conftest import wait_for_app

CENTER_CROP = json.dumps([{"name": "CenterCrop", "params": {"size": 200}}])


def _draw_sources(page, count: int = 4) -> list[str]:
    """The `src` of each draw's image (those captioned "Draw i · seed s"), once all are drawn."""
    draws = page.locator("[data-testid='stImage']").filter(has_text=re.compile(r"Draw \d"))
    draws.nth(count - 1).locator("img").wait_for()
    return [draws.nth(index).locator("img").get_attribute("src") for index in range(draws.count())]


def test_adding_a_flip_changes_the_preview(page, app_url):
    page.goto(f"{app_url}/transforms?tf_pipeline={CENTER_CROP}")
    wait_for_app(page)
    page.get_by_text("Draw 3 · seed 3").wait_for()
    before = _draw_sources(page)
    assert len(before) == 4
    assert len(set(before)) == 1  # a centre crop draws nothing: four identical images

    chooser = page.locator("[data-testid='stSelectbox']").filter(has_text="Transform to add")
    chooser.click()
    page.get_by_role("option", name="RandomHorizontalFlip").click()
    page.get_by_role("button", name="Add step").click()
    page.get_by_text("2. RandomHorizontalFlip").first.wait_for()
    wait_for_app(page)

    page.wait_for_function("() => location.search.includes('RandomHorizontalFlip')")
    page.get_by_text("RandomHorizontalFlip: applied").first.wait_for()  # seeds 0 and 3
    page.get_by_text("RandomHorizontalFlip: skipped this time").first.wait_for()  # seeds 1, 2
    wait_for_app(page)
    after = _draw_sources(page)
    assert len(after) == len(before)
    assert set(after) - set(before)  # some draws are now mirrored
