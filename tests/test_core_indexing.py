"""The safe index parser: what it accepts means what PyTorch means; the rest is refused."""

from __future__ import annotations

import contextlib
import io

import pytest
import torch

from core import config, snippets
from core.indexing import (
    DimensionControl,
    IndexApplyError,
    IndexExpressionError,
    apply_index,
    controls_from_index,
    index_from_controls,
    parse_index,
    write_through,
)

T = torch.arange(24.0).reshape(2, 3, 4)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[1]", T[1]),
        ("[-1]", T[-1]),
        ("[0, 1:3, ::2]", T[0, 1:3, ::2]),
        ("[..., None, 0]", T[..., None, 0]),
        ("[[0, 1], 1:]", T[[0, 1], 1:]),
        ("[:, [2, 0]]", T[:, [2, 0]]),
        ("[t > 11.5]", T[T > 11.5]),
        ("[t[:, 0, 0] > 0]", T[T[:, 0, 0] > 0]),
        ("[(t > 2) & (t < 8)]", T[(T > 2) & (T < 8)]),
        ("[(t < 2) | ~(t < 22)]", T[(T < 2) | ~(T < 22)]),
        ("[1 < t]", T[T > 1]),
        ("[t >= -0.5]", T[T >= -0.5]),
        ("[1, :, t[0, 0] > 1]", T[1, :, T[0, 0] > 1]),
        ("t[1, :, -1]", T[1, :, -1]),
        ("1, ::2", T[1, ::2]),
        ("[]", T),
        ("", T),
    ],
)
def test_parse_index_means_what_pytorch_means(text, expected):
    assert torch.equal(apply_index(T, parse_index(text)).result, expected)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("[__import__('os').system('true')]", "call"),
        ("[t.sum()]", "call"),
        ("[t.T > 0]", "attribute"),
        ("[x]", "name"),
        ("[lambda: 0]", "lambda"),
        ("[[i for i in range(3)]]", "comprehension"),
        ("[10**100]", "arithmetic"),
        ("[99999999999]", "big_number"),
        ("[1.5]", "literal"),
        ("[True]", "literal"),
        ("['a']", "string"),
        ("[{1: 2}]", "container"),
        ("[t > 0 and t < 2]", "boolop"),
        ("[0 < t < 2]", "chained"),
        ("[1 < 2]", "no_tensor"),
        ("[t is None]", "comparison"),
        ("[..., 0, ...]", "second_ellipsis"),
        ("[[]]", "empty_list"),
        ("[[[0, 1]]]", "container"),
        ("[t[[0, 1]] > 0]", "nested_advanced"),
        ("[(y := 1)]", "assignment"),
        ("[+1]", "unary"),
        ("[" + "-" * 40 + "1]", "deep"),
    ],
)
def test_parse_index_refuses_everything_else(text, kind):
    with pytest.raises(IndexExpressionError) as caught:
        parse_index(text)
    assert caught.value.params["kind"] == kind


def test_refusal_points_at_the_offending_part():
    with pytest.raises(IndexExpressionError) as caught:
        parse_index("[0, 1:2, t.abs() > 1]")
    assert caught.value.params["snippet"] == "t.abs()"
    assert caught.value.params["column"] == 10
    assert "t.abs()" in str(caught.value)


def test_syntax_errors_name_the_column():
    with pytest.raises(IndexExpressionError) as caught:
        parse_index("[1:2:3:4]")
    assert caught.value.key == "tensors.index_syntax"
    assert caught.value.params["column"] >= 6


def test_long_expressions_are_refused_before_parsing():
    with pytest.raises(IndexExpressionError) as caught:
        parse_index("[" + "0, " * 400 + "0]")
    assert caught.value.key == "tensors.index_too_long"


def test_deep_nesting_is_refused_not_crashed():
    with pytest.raises(IndexExpressionError):
        parse_index("[" + "(" * 200 + "1" + ")" * 200 + "]")


@pytest.mark.parametrize("text", ["[5]", "[0, 0, 0, 0]", "[t[0] > 0]", "[[0, 7]]"])
def test_pytorch_refusals_keep_pytorch_message(text):
    with pytest.raises(IndexApplyError) as caught:
        apply_index(T, parse_index(text))
    assert caught.value.params["reason"]


@pytest.mark.parametrize(
    ("text", "is_view"),
    [
        ("[1]", True),
        ("[0, 1:3, ::2]", True),
        ("[..., None]", True),
        ("[[0, 1]]", False),
        ("[t > 3]", False),
    ],
)
def test_view_or_copy_verdict_follows_storage(text, is_view):
    assert apply_index(T, parse_index(text)).is_view is is_view


@pytest.mark.parametrize("text", ["[1, 1:3]", "[:, [0, 2], -1]", "[t > 20]", "[..., ::3]"])
def test_highlight_marks_exactly_the_selected_elements(text):
    selection = apply_index(T, parse_index(text))
    # Distinct values in T: the selected ones are exactly the highlighted ones.
    assert set(T[selection.highlight].tolist()) == set(selection.result.reshape(-1).tolist())


def test_results_over_the_limit_are_refused_before_allocation():
    wide = torch.zeros(2, 600_000)
    with pytest.raises(IndexApplyError) as caught:
        apply_index(wide, parse_index("[[0, 0, 0, 0]]"))
    assert caught.value.params["count"] == 4 * 600_000 > config.MAX_TENSOR_ELEMENTS


def test_masks_that_would_broadcast_huge_are_refused():
    column = torch.zeros(10_000, 1)
    with pytest.raises(IndexApplyError) as caught:
        apply_index(column, parse_index("[t[:, 0] > t]"))
    assert caught.value.key == "tensors.index_result_too_large"


@pytest.mark.parametrize("text", ["[1, 0:2, ::2]", "[-1]", "[:, 1]", "[1:, :, 2]"])
def test_controls_and_expression_round_trip(text):
    parsed = parse_index(text)
    controls = controls_from_index(parsed, T.dim())
    assert controls is not None and len(controls) == T.dim()
    assert torch.equal(
        apply_index(T, index_from_controls(controls)).result, apply_index(T, parsed).result
    )


def test_controls_write_the_expression():
    controls = (
        DimensionControl("index", index=1),
        DimensionControl("slice", start=0, stop=2),
        DimensionControl("slice"),
    )
    assert index_from_controls(controls).source() == "[1, 0:2]"


@pytest.mark.parametrize("text", ["[t > 0]", "[[0, 1]]", "[None]", "[...]"])
def test_controls_step_aside_for_richer_expressions(text):
    assert controls_from_index(parse_index(text), T.dim()) is None


def run_program(statement: str) -> dict:
    """The page's complete program for `statement` on T, run in an empty namespace."""
    namespace: dict = {}
    t_code = f"t = torch.tensor({T.tolist()!r}, dtype={T.dtype})"
    with contextlib.redirect_stdout(io.StringIO()):
        exec(snippets.tensor_code(tensors=[t_code], statement=statement), namespace)  # ours
    return namespace


@pytest.mark.parametrize(("text", "changed"), [("[0, 1]", True), ("[[0], 1]", False)])
def test_writing_through_a_view_changes_the_source(text, changed):
    demo = write_through(T, parse_index(text), value=-1.0)
    assert demo.changed is changed
    namespace = run_program(demo.code)
    assert torch.equal(namespace["source"], demo.source)
    assert torch.equal(T, torch.arange(24.0).reshape(2, 3, 4))  # the original is untouched


@pytest.mark.parametrize("text", ["[0, 1:3, ::2]", "[t > 3]", "[..., None, 0]", "[[1, 0], -1]"])
def test_shown_code_gives_the_shown_result(text):
    selection = apply_index(T, parse_index(text))
    namespace = run_program(selection.code)
    assert torch.equal(namespace["result"], selection.result)
