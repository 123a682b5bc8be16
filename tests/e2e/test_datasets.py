"""The Datasets page in a real browser, on the real CIFAR-10 test split."""

from __future__ import annotations

from tests.e2e.conftest import wait_for_app

LABELS_JS = "[...document.querySelectorAll('.dataset-grid .label')].map(label => label.textContent)"


def test_filter_to_cat_shows_only_cat_labels(page, corpus_app_url):
    page.goto(f"{corpus_app_url}/datasets")
    wait_for_app(page)
    page.get_by_role("tab", name="Browse").click()
    page.wait_for_function(f"() => {LABELS_JS}.length === 100")
    assert len(set(page.evaluate(LABELS_JS))) > 1  # all classes before filtering

    page.get_by_test_id("stMultiSelect").first.click()
    page.get_by_role("option", name="cat (1,000)").click()
    page.keyboard.press("Escape")
    page.wait_for_function(
        f"() => {{ const labels = {LABELS_JS};"
        " return labels.length === 100 && labels.every(label => label === 'cat'); }"
    )
    assert page.get_by_text("Showing 100 of 1,000 images.").is_visible()


def test_clicking_a_tile_opens_that_sample_up_close(page, corpus_app_url):
    page.goto(f"{corpus_app_url}/datasets")
    wait_for_app(page)
    page.get_by_role("tab", name="Browse").click()
    page.wait_for_function(f"() => {LABELS_JS}.length === 100")
    page.locator(".dataset-grid figure[data-index='37']").click()
    inputs = "[...document.querySelectorAll('[data-testid=\"stNumberInput\"] input')]"
    page.wait_for_function(f"() => {inputs}.some(input => input.value === '37')")
    assert page.get_by_text("#37 · ").first.is_visible()
