"""ui/state.py on tiny apps: URL values read once, checked, written once; hand-offs by page key."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from ui import state


def _power_app():
    import streamlit as st

    from ui import state

    power = state.UrlInt("p", "power", 2, low=1, high=5)
    state.bind(power)
    st.slider("p", power.low, power.high, key=power.key)
    if st.session_state.get("stop_early"):
        state.stop()
    state.write_url()


def _open(**params: str) -> AppTest:
    at = AppTest.from_function(_power_app)
    at.query_params.update(params)
    return at.run()


@pytest.mark.parametrize(
    ("text", "shown", "message"),
    [("3", 3, None), ("99", 5, "using 5"), ("-4", 1, "using 1"), ("x", 2, "default")],
)
def test_a_link_value_is_checked_before_it_reaches_the_widget(text, shown, message):
    at = _open(p=text)
    assert not at.exception, [str(error.value) for error in at.exception]
    assert at.slider(key="power").value == shown
    toasts = [toast.value for toast in at.toast]
    assert (message is None and not toasts) or any(message in toast for toast in toasts)


def test_the_widget_value_is_written_back_and_the_default_dropped():
    at = _open(p="99")
    assert at.query_params["p"] == "5"
    at.slider(key="power").set_value(2).run()
    assert "p" not in at.query_params


def test_the_link_is_read_once_per_session():
    at = _open(p="4")
    at.slider(key="power").set_value(3).run()
    assert at.slider(key="power").value == 3 and at.query_params["p"] == "3"


def test_stop_writes_the_url_first():
    at = _open()
    at.session_state["stop_early"] = True
    at.slider(key="power").set_value(4).run()
    assert not at.exception
    assert at.query_params["p"] == "4"


def test_parameters_not_read_yet_stay_in_the_link():
    at = _open(later="1")
    assert at.query_params["later"] == "1"


def test_hand_offs_are_addressed_by_page_key():
    assert state.page_path("classify") == "pages/classify.py"
    with pytest.raises(KeyError):
        state.page_path("clasify")
