"""Switching English ⇄ 简体中文 keeps every choice and relabels it, on every page.

Widgets store language-neutral keys and translate in `format_func`; the browser holds a choice
as its label, so after a switch the app must send the choice again under its new label (else a
radio shows no selection and a selectbox the old words until a reload).
"""

from __future__ import annotations

import pytest

from tests.test_app import run_page

# page -> (widget kind, key, a non-default choice whose label differs between languages)
CHOICES = {
    "classify": [("selectbox", "classify_sample", "chelsea")],
    "tensors": [
        ("selectbox", "tensors_factory", "randn"),
        ("radio", "tensors_section", "reduce"),
    ],
    "transforms": [
        ("selectbox", "transforms_sample", "rocket"),
        ("selectbox", "transforms_preset", "cifar10_train"),
    ],
    "datasets": [("segmented_control", "datasets_order", "random")],
    "train": [
        ("radio", "train_augmentation", "none"),
        ("selectbox", "train_optimizer", "adam"),
        ("selectbox", "train_schedule", "cosine"),
    ],
}
NEEDS_DATA = {"datasets", "train"}


def _labels(widget) -> tuple[list[str], list[str]]:
    """(every option's label, the labels the browser is told to select) of a choice widget."""
    proto = widget.proto
    if hasattr(proto, "raw_values"):  # segmented control
        return [option.content for option in proto.options], list(proto.raw_values)
    return list(proto.options), [proto.raw_value] if proto.set_value else []


@pytest.mark.slow
@pytest.mark.parametrize("page", sorted(CHOICES))
def test_language_switch_keeps_and_relabels_every_choice(page, request):
    at = run_page(page)
    if page in NEEDS_DATA:
        at.session_state["data_dir"] = str(request.getfixturevalue("cifar10_root"))
        at.run()
    english = {}
    for kind, key, value in CHOICES[page]:
        getattr(at, kind)(key=key).set_value(value).run()
        assert not at.exception, [str(error.value) for error in at.exception]
        widget = getattr(at, kind)(key=key)
        labels, _ = _labels(widget)
        english[key] = labels, labels.index(widget.format_func(value))
    at.sidebar.radio(key="lang").set_value("zh").run()
    assert not at.exception, [str(error.value) for error in at.exception]
    for kind, key, value in CHOICES[page]:
        widget = getattr(at, kind)(key=key)
        assert widget.value == value, key
        labels, selected = _labels(widget)
        english_labels, position = english[key]
        assert labels != english_labels, f"{key} is still labelled in English"
        assert len(selected) == 1, f"{key}: the browser is not told the choice's new label"
        assert selected[0] == labels[position], key
