"""The tensor playground page, driven through AppTest."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.test_app import APP, TIMEOUT_S, run_page


def open_with_link(lang: str = "en", **params: str) -> AppTest:
    """Open the page as a shared link would: its query parameters set before the first run."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    at.query_params["lang"] = lang
    for name, value in params.items():
        at.query_params[name] = value
    at.run()
    at.switch_page("pages/tensors.py")
    at.run()
    return at


def markdown_text(at: AppTest) -> str:
    return "\n".join(markdown.value for markdown in at.markdown)


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [str(error.value) for error in at.exception]
    assert not at.error, [error.value for error in at.error]


@pytest.fixture(scope="module")
def page() -> AppTest:
    return run_page("tensors")


@pytest.mark.parametrize(
    ("expression", "shape", "view"),
    [("[1:3, ::2]", "(2, 2)", True), ("[t > 5]", "(6,)", False), ("[[0, 2], 1:]", "(2, 3)", False)],
)
def test_typed_expression_shows_shape_and_verdict(page, expression, shape, view):
    page.text_input(key="tensors_index").set_value(expression).run()
    assert_clean(page)
    assert f"shape `{shape}`" in markdown_text(page)
    if view:
        assert any("A view" in message.value for message in page.success)
    else:
        assert any("A copy" in message.value for message in page.info)


def test_rejected_expression_shows_its_error(page):
    page.text_input(key="tensors_index").set_value("[__import__('os')]").run()
    assert not page.exception
    assert any("function call is not allowed" in error.value for error in page.error)
    assert any("__import__" in error.value for error in page.error)


def test_slice_control_rewrites_the_expression(page):
    page.text_input(key="tensors_index").set_value("[1:, ::2]").run()
    page.number_input(key="tensors_dim0_start").set_value(0).run()
    assert page.text_input(key="tensors_index").value == "[0:, ::2]"
    page.segmented_control(key="tensors_dim1_mode").set_value("index").run()
    assert page.text_input(key="tensors_index").value == "[0:, 0]"
    assert "shape `(3,)`" in markdown_text(page)
    assert_clean(page)


def test_expression_sets_the_controls(page):
    page.text_input(key="tensors_index").set_value("[2, 1:3]").run()
    assert page.segmented_control(key="tensors_dim0_mode").value == "index"
    assert page.number_input(key="tensors_dim0_index").value == 2
    assert page.number_input(key="tensors_dim1_start").value == 1
    assert page.number_input(key="tensors_dim1_stop").value == 3


def test_state_lives_in_the_url(page):
    page.selectbox(key="tensors_factory").set_value("randn").run()
    page.text_input(key="tensors_index").set_value("[0]").run()
    params = dict(page.query_params)
    assert params["t_f"] == "randn"
    assert params["t_i"] == "[0]"
    assert params["lang"] == "en"  # the language stays in the link


def test_a_link_reproduces_the_view():
    at = open_with_link(t_f="ones", t_s="2, 5", t_d="int64", t_i="[:, 1:4]")
    assert_clean(at)
    assert at.selectbox(key="tensors_factory").value == "ones"
    assert at.selectbox(key="tensors_dtype").value == "int64"
    assert at.text_input(key="tensors_index").value == "[:, 1:4]"
    assert "shape `(2, 3)`" in markdown_text(at)
    assert any("torch.ones((2, 5), dtype=torch.int64)" in code.value for code in at.code)


def test_a_mangled_link_falls_back_to_defaults():
    at = open_with_link(t_f="rm -rf", t_v="nowhere", t_seed="x")
    assert_clean(at)
    assert at.selectbox(key="tensors_factory").value == "arange"
    assert at.radio(key="tensors_section").value == "index"


def test_too_large_tensor_is_refused_with_a_message():
    at = open_with_link(t_s="2000, 2000")
    assert not at.exception
    assert any("limit is 1,000,000" in error.value for error in at.error)


@pytest.mark.parametrize(
    "section", ["combine", "split", "reshape", "broadcast", "reduce", "autograd", "devices"]
)
@pytest.mark.parametrize("shape", ["3, 4", "2, 3, 4"])
def test_every_section_runs_on_2d_and_3d_tensors(section, shape):
    at = open_with_link(t_v=section, t_s=shape)
    assert not at.exception, [str(error.value) for error in at.exception]
    assert at.code, "every view shows its code"


def test_view_of_a_transposed_tensor_is_explained():
    at = open_with_link(t_v="reshape", t_tr="1")
    assert any("not contiguous" in error.value for error in at.error)
    at.selectbox(key="tensors_reshape_op").set_value("reshape").run()
    assert_clean(at)
    assert any("A copy" in message.value for message in at.info)


def test_chinese_page_runs():
    at = run_page("tensors", lang="zh")
    assert_clean(at)
    assert at.title[0].value == "张量游乐场"


def test_image_recipe_shows_the_picture_and_its_tensor():
    at = open_with_link(t_f="image", t_s="12, 16", t_d="uint8")
    assert_clean(at)
    assert at.get("image"), "the image tensor is drawn as a picture"
    assert any("pil_to_tensor" in code.value for code in at.code)
    assert "shape `(2, 6, 16)`" in markdown_text(at)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "bool", "uint8", "int32"])
def test_every_dtype_is_drawn(dtype):
    at = open_with_link(t_f="ones", t_d=dtype)
    assert_clean(at)


def test_broadcast_clash_is_derived_then_explained():
    at = open_with_link(t_v="broadcast", t_u_s="2, 4")
    assert not at.exception
    steps = at.table[0].value
    assert list(steps.iloc[:, 2]) == ["✗", "4"]
    assert any("must match the size of tensor b" in error.value for error in at.error)


def test_many_pieces_are_clipped():
    at = open_with_link(t_v="split", t_s="40, 2", t_args="1")
    assert_clean(at)
    assert any("first 8 of 40 pieces" in caption.value for caption in at.caption)


def test_a_link_reproduces_an_operation():
    at = open_with_link(t_v="reshape", t_op="permute", t_args="1, 0", t_s="2, 5")
    assert_clean(at)
    assert at.selectbox(key="tensors_reshape_op").value == "permute"
    assert any("result = t.permute(1, 0)" in code.value for code in at.code)
    assert "`(5, 2)`" in markdown_text(at)


def test_a_link_reproduces_the_autograd_demo():
    at = open_with_link(t_v="autograd", t_w="1.5", t_p="3", t_xg="1")
    assert_clean(at)
    assert at.slider(key="tensors_weight").value == 1.5
    assert any("x.grad" in markdown.value for markdown in at.markdown)
    assert at.get("graphviz_chart")


def test_link_values_beyond_the_sliders_are_clamped_with_a_message():
    at = open_with_link(t_v="autograd", t_w="100", t_p="99", t_n="1000000", t_b="nan")
    assert not at.exception, [str(error.value) for error in at.exception]
    assert at.slider(key="tensors_weight").value == 3.0
    assert at.slider(key="tensors_power").value == 5
    assert at.slider(key="tensors_size").value == 10
    assert at.slider(key="tensors_bias").value == 0.5  # unreadable: the default
    messages = " ".join(toast.value for toast in at.toast)
    assert "t_w=100" in messages and "using 3.0" in messages
    assert "t_b=nan" in messages and "default" in messages
    assert at.query_params["t_p"] == "5"  # the link now says what the page shows


def test_a_stopped_run_keeps_its_link():
    at = open_with_link(t_s="2000, 2000", t_f="ones")
    assert any("limit is 1,000,000" in error.value for error in at.error)
    assert at.query_params["t_s"] == "2000, 2000"  # left for the user to fix
    assert at.query_params["t_f"] == "ones"


@pytest.mark.parametrize(
    ("expression", "shape"),
    [("[[[0, 0], [1, 1]], [0]]", "(2, 2, 4)"), ("[True]", "(1, 2, 3, 4)"), ("[[], []]", "(0, 4)")],
)
def test_numpy_style_indexes_are_accepted_with_verdict_and_code(expression, shape):
    at = open_with_link(t_s="2, 3, 4", t_i=expression)
    assert_clean(at)
    assert f"shape `{shape}`" in markdown_text(at)
    assert any("A copy" in message.value for message in at.info)
    assert any(f"result = t{expression}" in block.value for block in at.code)


@pytest.mark.parametrize(
    ("lang", "words"),
    [("en", "PyTorch accepts a second ... but NumPy refuses it"), ("zh", "PyTorch 接受第二个 ...")],
)
def test_a_second_ellipsis_says_torch_accepts_it_but_numpy_does_not(lang, words):
    at = open_with_link(lang, t_i="[..., 0, ...]")
    assert not at.exception
    assert any(words in error.value for error in at.error), [e.value for e in at.error]


@pytest.mark.parametrize(
    ("lang", "words"), [("en", "no negative steps (unlike NumPy)"), ("zh", "不支持负步长")]
)
def test_a_reversed_slice_offers_torch_flip_and_the_button_applies_it(lang, words):
    at = open_with_link(lang, t_i="[::-1]")
    assert not at.exception
    (error,) = at.error
    assert words in error.value and "torch.flip(t, dims=[0])" in error.value
    if lang != "en":
        return  # the button's run is the same in both languages
    at.button(key="tensors_apply_flip").click().run()
    assert not at.exception
    assert any("result = torch.flip(t, dims=[0])" in block.value for block in at.code)
    assert "`(3, 4)`" in markdown_text(at)  # the default 3×4 tensor, rows reversed
    at.text_input(key="tensors_index").set_value("[0]").run()  # a new index: no flip
    assert_clean(at)
    assert not any("torch.flip" in block.value for block in at.code)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_both_steps_are_headed_alike(lang):
    at = run_page("tensors", lang=lang)
    headers = [header.value for header in at.subheader]
    assert headers[:2] == [t_lang(lang, "tensors.create_header"), t_lang(lang, "tensors.section")]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_reshape_verdict_does_not_speak_of_indexing(lang):
    at = open_with_link(lang, t_v="reshape")
    assert_clean(at)
    verdicts = [message.value for message in (*at.success, *at.info)]
    assert t_lang(lang, "tensors_index.reshape_view") in verdicts
    assert not any("basic indexing" in text or "基本索引" in text for text in verdicts)


def test_selection_outlines_leave_each_cells_number_readable():
    import numpy as np
    import torch

    from ui.tensors import _heatmap

    marks = torch.zeros(3, 4, dtype=torch.bool)
    marks[1, 2] = marks[0, 0] = True
    figure = _heatmap(torch.arange(12.0).reshape(3, 4), marks)
    outline = figure.data[-1]
    assert outline.mode == "lines"
    points = [(x, y) for x, y in zip(outline.x, outline.y, strict=True) if x is not None]
    # Every point of the frames lies near a cell's edge, none near a centre where the number is.
    assert all(min(abs(x - np.round(x)), abs(y - np.round(y))) > 0.4 for x, y in points)
    assert {(round(x), round(y)) for x, y in points} >= {(0, 0), (2, 1)}


def t_lang(lang: str, key: str) -> str:
    from ui.i18n import catalog

    return catalog(lang)[key]
