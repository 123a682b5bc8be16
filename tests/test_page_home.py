"""The Home page: the tutorial's twelve reasons, each linked to a page of this app."""

from __future__ import annotations

import pytest

from core.why_pytorch import REASONS
from tests.test_app import run_page
from ui.i18n import catalog
from ui.navigation import PAGES


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_home_shows_the_twelve_reasons_linked_to_pages_that_exist(lang):
    words = catalog(lang)
    at = run_page("home", lang=lang)
    assert not at.exception
    assert words["why.header"] in [subheader.value for subheader in at.subheader]
    shown = " ".join(markdown.value for markdown in at.markdown)
    assert all(words[f"why.{reason.key}"] in shown for reason in REASONS)
    assert words["why.hardware_limit"] in " ".join(caption.value for caption in at.caption)
    see = words["why.see"].split("{")[0]
    links = [link.proto for link in at.get("page_link") if link.proto.label.startswith(see)]
    present = {spec.key for spec in PAGES}
    # A link for each reason whose page this app has (deploy and serve may come later).
    assert sorted(link.page for link in links) == sorted(
        page for reason in REASONS if (page := reason.page(present)) is not None
    )
    assert "t_v=autograd" in [link.query_string for link in links]
