"""The Datasets page in a real browser, on the real CIFAR-10 test split."""

from __future__ import annotations

import hashlib
import json
import sys

import pytest

from core.datasets import CIFAR10_FOLDER
from tests.e2e.conftest import serve, wait_for_app
from tests.e2e.serve_corpus import MD5S_VARIABLE

LABELS_JS = "[...document.querySelectorAll('.dataset-grid .label')].map(label => label.textContent)"


@pytest.fixture(scope="module")
def corpus_url(tmp_path_factory, cifar10_root):
    folder = cifar10_root / CIFAR10_FOLDER
    md5s = {path.name: hashlib.md5(path.read_bytes()).hexdigest() for path in folder.iterdir()}
    md5s_path = tmp_path_factory.mktemp("md5s") / "md5s.json"
    md5s_path.write_text(json.dumps(md5s))
    env = {"TORCH_PLAYGROUND_DATA": str(cifar10_root), MD5S_VARIABLE: str(md5s_path)}
    entry = [sys.executable, "tests/e2e/serve_corpus.py"]
    with serve(tmp_path_factory.mktemp("server"), entry=entry, env=env) as url:
        yield url


def test_filter_to_cat_shows_only_cat_labels(page, corpus_url):
    page.goto(f"{corpus_url}/datasets")
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
