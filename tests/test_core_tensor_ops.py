"""Combine, split, reshape, broadcast, reduce, autograd, devices and NumPy: results, provenance,
view/copy verdicts, and shown code that gives the shown result."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest
import torch

from core import snippets, tensor_ops
from core.tensor_ops import OperationError

T = torch.arange(12.0).reshape(3, 4)
U = torch.full((1, 4), 10.0)


def run_code(code: str, **tensors: torch.Tensor) -> dict:
    """Run the view's complete program (tensors written out, as the page shows them) in an
    empty namespace: nothing is injected; return what it defined."""
    builds = [
        f"{name} = torch.tensor({v.tolist()!r}, dtype={v.dtype})" for name, v in tensors.items()
    ]
    namespace: dict = {}
    with contextlib.redirect_stdout(io.StringIO()):
        exec(snippets.tensor_code(tensors=builds, statement=code), namespace)  # our own code
    return namespace


@pytest.mark.parametrize(
    ("op", "dim", "first", "second"),
    [
        ("cat", 0, T, U + 100),
        ("cat", 1, T, torch.full((3, 2), 100.0)),
        ("stack", 1, T, T + 100),
        ("hstack", 0, T, torch.full((3, 1), 100.0)),
        ("vstack", 0, T, U + 100),
    ],
)
def test_combine_colours_each_element_by_its_input(op, dim, first, second):
    combined = tensor_ops.combine(first, second, op=op, dim=dim)
    assert int((combined.origin == 0).sum()) == first.numel()
    assert int((combined.origin == 1).sum()) == second.numel()
    # The values of t are below 100, those of u are not.
    assert torch.equal(combined.origin == 0, torch.isin(combined.result, first))
    assert torch.equal(run_code(combined.code, t=first, u=second)["result"], combined.result)


def test_combine_mismatch_keeps_pytorchs_message():
    with pytest.raises(OperationError) as caught:
        tensor_ops.combine(T, U, op="stack")
    assert "stack expects each tensor to be equal size" in caught.value.params["reason"]


@pytest.mark.parametrize(
    ("op", "dim", "sizes", "count"),
    [
        ("split", 0, (2,), 2),
        ("split", 1, (1, 3), 2),
        ("chunk", 1, (3,), 2),
        ("unbind", 0, (), 3),
        ("tensor_split", 1, (3,), 3),
        ("tensor_split", 1, (1, 3), 3),
    ],
)
def test_split_pieces_cover_the_source(op, dim, sizes, count):
    pieces = tensor_ops.split(T, op=op, dim=dim, sizes=sizes)
    assert len(pieces.pieces) == count
    for number, piece in enumerate(pieces.pieces):
        assert torch.equal(T[pieces.owner == number], piece.reshape(-1).sort().values)
    assert all(pieces.shared)  # every split is a view along the dimension
    shown = run_code(pieces.code, t=T)["pieces"]
    assert all(torch.equal(a, b) for a, b in zip(shown, pieces.pieces, strict=True))


@pytest.mark.parametrize("sizes", [(0,), (-1,)])
def test_split_refuses_sizes_that_are_not_positive(sizes):
    with pytest.raises(OperationError):
        tensor_ops.split(T, op="split", sizes=sizes)


@pytest.mark.parametrize(
    ("op", "args", "source", "shared"),
    [
        ("view", (2, -1), T, True),
        ("reshape", (6, 2), T, True),
        ("reshape", (12,), T.T, False),
        ("permute", (1, 0), T, True),
        ("transpose", (0, 1), T, True),
        ("squeeze", (), T[None], True),
        ("squeeze", (0, 1), T[None, :1], True),
        ("unsqueeze", (1,), T, True),
        ("flatten", (), T, True),
        ("expand", (2, 3, 4), T, True),
    ],
)
def test_reshape_reports_memory_sharing_and_positions(op, args, source, shared):
    reshaped = tensor_ops.reshape(source, op=op, args=args)
    assert reshaped.shared is shared
    assert reshaped.is_contiguous == reshaped.result.is_contiguous()
    # The values of `source` are their own flat positions in T; the result says the same.
    flat_source = source.reshape(-1)
    assert torch.equal(flat_source[reshaped.position], reshaped.result)
    shown = run_code(reshaped.code, t=source)["result"]
    assert torch.equal(shown, reshaped.result)


def test_view_of_a_non_contiguous_tensor_is_explained():
    with pytest.raises(OperationError) as caught:
        tensor_ops.reshape(T.T, op="view", args=(12,))
    assert caught.value.key == "tensors.view_not_contiguous"
    assert "view size is not compatible" in caught.value.params["reason"]


def test_expanding_past_the_limit_is_refused_without_allocating():
    with pytest.raises(OperationError) as caught:
        tensor_ops.reshape(T[:1], op="expand", args=(10**6, 4))
    assert caught.value.key == "tensors.result_too_large"


@pytest.mark.parametrize(
    ("first", "second", "rules", "shape"),
    [
        ((3, 4), (1, 4), ["stretch_second", "equal"], (3, 4)),
        ((3, 1), (4,), ["missing_second", "stretch_first"], (3, 4)),
        ((2, 1, 4), (3, 1), ["missing_second", "stretch_first", "stretch_second"], (2, 3, 4)),
        ((3, 4), (2, 4), ["clash", "equal"], None),
    ],
)
def test_broadcast_shape_is_derived_dimension_by_dimension(first, second, rules, shape):
    steps = tensor_ops.broadcast_steps(first, second)
    assert [step.rule for step in steps] == rules
    if shape is None:
        assert any(step.size is None for step in steps)
    else:
        assert tuple(step.size for step in steps) == shape == torch.broadcast_shapes(first, second)


@pytest.mark.parametrize("op", list(tensor_ops.ELEMENTWISE_OPS))
def test_elementwise_code_gives_the_result(op):
    broadcast = tensor_ops.elementwise(T, U, op=op)
    assert torch.equal(run_code(broadcast.code, t=T, u=U)["result"], broadcast.result)


def test_elementwise_clash_keeps_pytorchs_message():
    with pytest.raises(OperationError) as caught:
        tensor_ops.elementwise(T, torch.ones(2, 4), op="add")
    assert "must match the size of tensor b" in caught.value.params["reason"]


def test_elementwise_refuses_huge_broadcasts():
    with pytest.raises(OperationError) as caught:
        tensor_ops.elementwise(torch.ones(5000, 1), torch.ones(1, 5000), op="mul")
    assert caught.value.key == "tensors.result_too_large"


@pytest.mark.parametrize("op", tensor_ops.REDUCTIONS)
@pytest.mark.parametrize(("dim", "keepdim"), [(None, False), (0, False), (1, True)])
def test_reductions_and_their_code(op, dim, keepdim):
    reduced = tensor_ops.reduce(T, op=op, dim=dim, keepdim=keepdim)
    shown = run_code(reduced.code, t=T)["result"]
    assert torch.equal(shown, reduced.result)
    if op in ("max", "argmax"):
        # T grows along both dims: the maxima sit on the last row or column.
        expected_count = 1 if dim is None else T.shape[1 - dim]
        assert int(reduced.chosen.sum()) == expected_count
        assert T[reduced.chosen].max() == T.max()


def test_mean_of_integers_keeps_pytorchs_message():
    with pytest.raises(OperationError) as caught:
        tensor_ops.reduce(torch.arange(4), op="mean")
    assert caught.value.params["reason"]


@pytest.mark.parametrize("x_requires_grad", [False, True])
@pytest.mark.parametrize("power", [1, 2, 3])
def test_autograd_gradients_match_the_hand_derived_formula(power, x_requires_grad):
    demo = tensor_ops.autograd_demo(
        weight=1.5, bias=-0.5, power=power, size=5, x_requires_grad=x_requires_grad
    )
    assert {leaf.name for leaf in demo.leaves} == (
        {"w", "b", "x"} if x_requires_grad else {"w", "b"}
    )
    for leaf in demo.leaves:
        assert torch.allclose(leaf.grad, leaf.by_hand, atol=1e-5)
    shown = run_code(demo.code)
    assert shown["y"].item() == pytest.approx(demo.output)
    assert torch.allclose(shown["w"].grad, demo.leaves[0].grad)


def test_autograd_graph_runs_from_sum_to_the_leaves():
    demo = tensor_ops.autograd_demo(power=2)
    labels = [node.label for node in demo.nodes]
    assert labels[0] == "SumBackward0"
    assert {"PowBackward0", "AddBackward0", "MulBackward0", "w (leaf)", "b (leaf)"} <= set(labels)
    dot = tensor_ops.graph_dot(demo.nodes)
    assert dot.startswith("digraph") and dot.count("->") == 1 + sum(
        len(node.inputs) for node in demo.nodes
    )


def test_devices_say_why_they_are_missing():
    for option in tensor_ops.device_options():
        assert option.available or option.reason in ("no_cuda", "no_mps")


def test_matmul_timing_on_the_cpu():
    timing = tensor_ops.time_matmul(size=32, device="cpu", repeats=2)
    assert timing.seconds > 0


def test_numpy_shares_memory_both_ways():
    demo = tensor_ops.numpy_demo(T, value=-7.0)
    assert demo.shared
    assert demo.tensor.reshape(-1)[0] == -7.0 and demo.array[0] == -7.0
    assert T[0, 0] == 0.0  # the source is untouched
    shown = run_code(demo.code, t=T)
    assert torch.equal(shown["shared"], demo.tensor)
    assert np.array_equal(shown["array"], demo.array)


def test_numpy_refuses_bfloat16_with_a_clear_error():
    with pytest.raises(OperationError):
        tensor_ops.numpy_demo(T.to(torch.bfloat16))


def test_parse_int_list():
    assert tensor_ops.parse_int_list("(2, -1)") == (2, -1)
    assert tensor_ops.parse_int_list("") == ()
    with pytest.raises(OperationError):
        tensor_ops.parse_int_list("2, t.sum()")
