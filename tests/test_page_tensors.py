"""The tensor playground page, driven through AppTest."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.test_app import APP, TIMEOUT_S, run_page


def open_with_link(**params: str) -> AppTest:
    """Open the page as a shared link would: its query parameters set before the first run."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    at.query_params["lang"] = "en"
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
