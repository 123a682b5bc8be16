"""The twelve reasons to use PyTorch, each tied to a page that shows it or honest about it."""

from __future__ import annotations

import pytest

from core.why_pytorch import REASONS, Reason
from ui.i18n import catalog
from ui.navigation import PAGES

# Pages being added beside this one (deploy: issue 10, serve: issue 11).
KNOWN_PAGES = {spec.key for spec in PAGES} | {"deploy", "serve"}


def test_there_are_twelve_distinct_reasons():
    assert len(REASONS) == 12
    assert len({reason.key for reason in REASONS}) == 12


@pytest.mark.parametrize("reason", REASONS, ids=lambda reason: reason.key)
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_each_reason_is_worded_and_points_somewhere_real(reason, lang):
    words = catalog(lang)
    assert words[f"why.{reason.key}"] and words[f"why.{reason.key}_text"]
    assert reason.limit == (f"why.{reason.key}_limit" in words)
    assert set(reason.pages) <= KNOWN_PAGES
    assert set(reason.query) <= set(reason.pages)
    assert reason.pages or reason.limit  # no page: it must say why


def test_tpus_are_named_as_beyond_this_app():
    hardware = next(reason for reason in REASONS if reason.key == "hardware")
    assert hardware.limit and "TPU" in catalog("en")["why.hardware_limit"]


def test_the_first_page_present_is_linked():
    reason = Reason("onnx", ("deploy", "train"))
    assert reason.page({"home", "train"}) == "train"
    assert reason.page({"train", "deploy"}) == "deploy"
    assert reason.page({"home"}) is None
