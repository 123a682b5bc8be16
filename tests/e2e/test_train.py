"""The Train page in a real browser: start a run on the corpus's CIFAR-10, watch it, stop it."""

from __future__ import annotations

from tests.e2e.conftest import wait_for_app


def set_number(page, label: str, value: int) -> None:
    field = page.get_by_label(label, exact=True)
    field.fill(str(value))
    field.press("Enter")
    wait_for_app(page)


def open_train_page(page, url: str) -> None:
    page.goto(url)
    wait_for_app(page)
    page.locator("[data-testid=stSidebarNav]").get_by_text("Train, evaluate and deploy").click()
    wait_for_app(page)


def test_a_run_starts_shows_progress_and_stops_keeping_the_model(page, corpus_app_url):
    open_train_page(page, corpus_app_url)
    page.get_by_text("training images and").wait_for()
    set_number(page, "Training images to use", 2000)
    set_number(page, "Epochs", 20)
    set_number(page, "Test images to evaluate", 200)
    page.get_by_role("button", name="Train", exact=True).click()
    page.get_by_text("images/s").wait_for(timeout=120_000)  # the progress bar's text
    page.locator(".st-key-train_stop button").click()  # not the toolbar's Stop of a rerun
    page.get_by_text("Stopped early").wait_for(timeout=120_000)
    page.get_by_text("Test accuracy", exact=True).wait_for()
    page.get_by_text("Confusion matrix", exact=True).wait_for()
    page.get_by_text("ready on the Classify and Deploy pages").wait_for()


def test_scale_this_run_opens_the_serve_page_in_the_learners_language(page, corpus_app_url):
    # st.switch_page (every hand-off) drops the language switch's widget state with the page it
    # leaves; ui.state keeps the session's choice aside so the next page opens in it.
    page.goto(corpus_app_url)
    wait_for_app(page)
    page.goto(f"{corpus_app_url}/train?lang=zh")
    wait_for_app(page)
    page.locator("[data-testid=stMain]").get_by_text("扩展这次训练").first.click()
    page.get_by_text("表单已填入“训练”页的设置").first.wait_for(timeout=120_000)
    page.wait_for_function("() => location.pathname.endsWith('/serve')")
    page.wait_for_function("() => location.search.includes('lang=zh')")
