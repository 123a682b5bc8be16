"""The Train page in a real browser: start a run on the corpus's CIFAR-10, watch it, stop it."""

from __future__ import annotations

import sys

import pytest

from tests.e2e.conftest import serve, wait_for_app


@pytest.fixture(scope="module")
def corpus_app_url(tmp_path_factory):
    data = tmp_path_factory.mktemp("train-data")
    launcher = [sys.executable, "tests/e2e/serve_corpus_train.py"]
    with serve(data, entry=launcher, env={"TORCH_PLAYGROUND_DATA": str(data)}) as url:
        yield url


def set_number(page, label: str, value: int) -> None:
    field = page.get_by_label(label, exact=True)
    field.fill(str(value))
    field.press("Enter")
    wait_for_app(page)


def open_train_page(page, url: str) -> None:
    # Through the router's sidebar link: with a pages/ folder beside the entry script,
    # Streamlit 1.67 serves a direct /train URL as a bare v1 page, without the frame.
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
    page.get_by_role("button", name="Stop", exact=True).click()
    page.get_by_text("Stopped early").wait_for(timeout=120_000)
    page.get_by_text("Test accuracy", exact=True).wait_for()
    page.get_by_text("Confusion matrix", exact=True).wait_for()
    page.get_by_role("button", name="Export to state_dict, TorchScript and ONNX").wait_for()
