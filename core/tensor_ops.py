"""Operations of the tensor playground: combine, split, reshape, broadcast, reduce, autograd,
devices and NumPy. Each returns the result, where its elements came from, whether memory is
shared, and the PyTorch code that computes the same thing from `t` (and `u`, the second tensor).

Provenance comes from running the same operation on tensors of labels or flat positions, so
PyTorch itself says which input each element came from.
"""

from __future__ import annotations

import dataclasses
import statistics
import time
from collections.abc import Callable

import numpy as np
import torch

from core.errors import PlaygroundError
from core.tensors import check_count

COMBINE_OPS = ("cat", "stack", "hstack", "vstack")
SPLIT_OPS = ("split", "chunk", "unbind", "tensor_split")
RESHAPE_OPS = (
    "view",
    "reshape",
    "permute",
    "transpose",
    "squeeze",
    "unsqueeze",
    "flatten",
    "expand",
)
ELEMENTWISE_OPS = {"add": "+", "sub": "-", "mul": "*", "div": "/"}
REDUCTIONS = ("sum", "mean", "max", "argmax")
MAX_ARGS = 8


class OperationError(PlaygroundError, ValueError):
    """An operation PyTorch refuses for these tensors; `reason` keeps PyTorch's own message."""

    key = "tensors.operation_failed"


def shares_memory(result: torch.Tensor, source: torch.Tensor) -> bool:
    """Whether `result` lives in the same storage as `source` (a view, not a copy)."""
    return result.untyped_storage().data_ptr() == source.untyped_storage().data_ptr()


def parse_int_list(text: str) -> tuple[int, ...]:
    """Integers typed as `2, -1` (or `(2, -1)`), for sizes, dims and shapes.

    Raises:
        OperationError: anything but up to `MAX_ARGS` integers.
    """
    cleaned = text.strip().strip("()[]")
    parts = [part.strip() for part in cleaned.split(",") if part.strip()]
    if len(parts) > MAX_ARGS or not all(
        part.lstrip("-").isdigit() and len(part) <= 10 for part in parts
    ):
        raise OperationError(
            f"{text!r} is not a list of integers. Write e.g. 2, -1.",
            key="tensors.bad_arguments",
            text=text,
        )
    return tuple(int(part) for part in parts)


def _torch(compute: Callable[[], object], *, hint: str | None = None) -> object:
    """Run a PyTorch call, turning its refusal into an `OperationError` with its message."""
    try:
        return compute()
    except PlaygroundError:
        raise
    except (RuntimeError, ValueError, TypeError, IndexError) as error:
        message = str(error).split("\n")[0]
        key = hint if hint and hint in _HINTS and _HINTS[hint] in message else None
        raise OperationError(
            f"PyTorch refused it: {message}",
            key=key or "tensors.operation_failed",
            reason=message,
        ) from None


# Messages of PyTorch that get an explanation of their own (locale key -> message fragment).
_HINTS = {"tensors.view_not_contiguous": "view size is not compatible"}


def _check_count(shape: torch.Size) -> None:
    check_count(
        shape.numel(),
        error=OperationError,
        key="tensors.result_too_large",
        what="The result would hold",
        advice="Use smaller tensors.",
    )


def _positions(tensor: torch.Tensor) -> torch.Tensor:
    """The flat position of every element of `tensor`, in its shape (int64)."""
    return torch.arange(tensor.numel()).reshape(tensor.shape)


def _args(values: tuple[int, ...]) -> str:
    return ", ".join(map(str, values))


# ---------------------------------------------------------------------------------------------
# Combine.


@dataclasses.dataclass(frozen=True)
class Combined:
    """Two tensors joined.

    Attributes:
        result: the joined tensor.
        origin: int8, the result's shape: 0 where the element came from `t`, 1 from `u`.
        code: `result = torch.cat((t, u), dim=0)` and the like.
    """

    result: torch.Tensor
    origin: torch.Tensor
    code: str


def combine(first: torch.Tensor, second: torch.Tensor, *, op: str, dim: int = 0) -> Combined:
    """Join `first` (t) and `second` (u) with `torch.cat`, `stack`, `hstack` or `vstack`.

    Raises:
        OperationError: the shapes do not fit (PyTorch's message is kept).
    """
    _check_op(op, COMBINE_OPS)

    def join(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        function = getattr(torch, op)
        return function((a, b), dim=dim) if op in ("cat", "stack") else function((a, b))

    result = _torch(lambda: join(first, second))
    origin = join(
        torch.zeros(first.shape, dtype=torch.int8), torch.ones(second.shape, dtype=torch.int8)
    )
    dim_text = f", dim={dim}" if op in ("cat", "stack") else ""
    return Combined(result, origin, f"result = torch.{op}((t, u){dim_text})")


# ---------------------------------------------------------------------------------------------
# Split.


@dataclasses.dataclass(frozen=True)
class Pieces:
    """A tensor cut into pieces.

    Attributes:
        pieces: the pieces, in order.
        owner: int64, the source's shape: the number of the piece each element went to.
        shared: per piece, whether it is a view of the source.
        code: `pieces = torch.split(t, 2, dim=0)` and the like.
    """

    pieces: tuple[torch.Tensor, ...]
    owner: torch.Tensor
    shared: tuple[bool, ...]
    code: str


def split(tensor: torch.Tensor, *, op: str, dim: int = 0, sizes: tuple[int, ...] = (1,)) -> Pieces:
    """Cut `tensor` along `dim` with `split`, `chunk`, `unbind` or `tensor_split`.

    Args:
        tensor: any shape with at least one dimension.
        op: one of `SPLIT_OPS`.
        dim: the dimension to cut along.
        sizes: `split`: one size or a list of sizes; `chunk`: the number of chunks;
            `tensor_split`: the number of sections or the indices to cut at; unused by
            `unbind`.

    Raises:
        OperationError: PyTorch refuses the cut (its message is kept).
    """
    _check_op(op, SPLIT_OPS)
    if op != "unbind" and not sizes:
        raise OperationError("Give a size or a list of sizes, e.g. 2.", key="tensors.no_sizes")
    if op in ("chunk", "split") and any(size <= 0 for size in sizes):
        raise OperationError(
            "Sizes and chunk counts must be positive.", key="tensors.positive_sizes"
        )
    argument = sizes[0] if len(sizes) == 1 else list(sizes)
    if op == "chunk":
        argument = sizes[0]

    def cut(source: torch.Tensor) -> tuple[torch.Tensor, ...]:
        if op == "unbind":
            return torch.unbind(source, dim=dim)
        return tuple(getattr(torch, op)(source, argument, dim=dim))

    pieces = _torch(lambda: cut(tensor))
    owner = torch.empty(tensor.numel(), dtype=torch.int64)
    for number, piece in enumerate(cut(_positions(tensor))):
        owner[piece.reshape(-1)] = number
    shared = tuple(shares_memory(piece, tensor) for piece in pieces)
    if op == "unbind":
        code = f"pieces = torch.unbind(t, dim={dim})"
    else:
        code = f"pieces = torch.{op}(t, {argument!r}, dim={dim})"
    return Pieces(pieces, owner.reshape(tensor.shape), shared, code)


# ---------------------------------------------------------------------------------------------
# Reshape and friends.


@dataclasses.dataclass(frozen=True)
class Reshaped:
    """A tensor seen with another shape or order of dimensions.

    Attributes:
        result: the reshaped tensor.
        position: int64, the result's shape: the flat position in the source of each element.
        shared: whether `result` is a view of the source (no copy was made).
        is_contiguous: `result.is_contiguous()`.
        code: `result = t.view(2, 6)` and the like.
    """

    result: torch.Tensor
    position: torch.Tensor
    shared: bool
    is_contiguous: bool
    code: str


def reshape(tensor: torch.Tensor, *, op: str, args: tuple[int, ...] = ()) -> Reshaped:
    """Apply `view`, `reshape`, `permute`, `transpose`, `squeeze`, `unsqueeze`, `flatten` or
    `expand` to `tensor` with integer arguments.

    Args:
        tensor: any shape; may be non-contiguous (then `view` may fail, as in PyTorch).
        op: one of `RESHAPE_OPS`.
        args: the shape (`view`, `reshape`, `expand`), the dims (`permute`, `transpose`,
            `squeeze`, `unsqueeze`) or start and end dims (`flatten`).

    Raises:
        OperationError: PyTorch refuses it; `view` of a non-contiguous tensor gets the key
            `tensors.view_not_contiguous` so the page can explain it.
    """
    _check_op(op, RESHAPE_OPS)
    method_args: tuple[object, ...] = args
    if op == "squeeze" and len(args) > 1:
        method_args = (args,)

    def apply(source: torch.Tensor) -> torch.Tensor:
        return getattr(source, op)(*method_args)

    hint = "tensors.view_not_contiguous" if op == "view" else None
    shape = _torch(lambda: apply(_meta_like(tensor)).shape, hint=hint)
    _check_count(shape)
    result = _torch(lambda: apply(tensor), hint=hint)
    position = apply(_positions_like(tensor))
    argument_text = f"({_args(args)},)" if op == "squeeze" and len(args) > 1 else _args(args)
    return Reshaped(
        result=result,
        position=position,
        shared=shares_memory(result, tensor),
        is_contiguous=result.is_contiguous(),
        code=f"result = t.{op}({argument_text})",
    )


def _positions_like(tensor: torch.Tensor) -> torch.Tensor:
    """Flat positions laid out with the source's strides, so views behave as on the source."""
    positions = _positions(tensor)
    try:
        return torch.empty_strided(tensor.shape, tensor.stride()).to(torch.int64).copy_(positions)
    except RuntimeError:  # overlapping strides (an expanded source): order is all we can keep
        return positions


def _meta_like(tensor: torch.Tensor) -> torch.Tensor:
    """A tensor on the meta device with the same shape and strides (nothing allocated)."""
    return torch.empty_strided(tensor.shape, tensor.stride(), dtype=tensor.dtype, device="meta")


# ---------------------------------------------------------------------------------------------
# Broadcasting.


@dataclasses.dataclass(frozen=True)
class BroadcastStep:
    """How one dimension of the result's shape was found (dimensions aligned from the right).

    Attributes:
        dim: the result's dimension.
        first: t's size there, None where t has fewer dimensions.
        second: u's size there, None where u has fewer dimensions.
        size: the result's size, None when the sizes clash.
        rule: "equal", "stretch_first", "stretch_second", "missing_first", "missing_second"
            or "clash".
    """

    dim: int
    first: int | None
    second: int | None
    size: int | None
    rule: str


@dataclasses.dataclass(frozen=True)
class Broadcast:
    result: torch.Tensor
    steps: tuple[BroadcastStep, ...]
    code: str


def broadcast_steps(first: tuple[int, ...], second: tuple[int, ...]) -> tuple[BroadcastStep, ...]:
    """The broadcast shape of two shapes, derived one dimension at a time from the right."""
    ndim = max(len(first), len(second))
    padded_first = (None,) * (ndim - len(first)) + tuple(first)
    padded_second = (None,) * (ndim - len(second)) + tuple(second)
    steps = []
    for dim, (a, b) in enumerate(zip(padded_first, padded_second, strict=True)):
        if a is None:
            steps.append(BroadcastStep(dim, a, b, b, "missing_first"))
        elif b is None:
            steps.append(BroadcastStep(dim, a, b, a, "missing_second"))
        elif a == b:
            steps.append(BroadcastStep(dim, a, b, a, "equal"))
        elif a == 1:
            steps.append(BroadcastStep(dim, a, b, b, "stretch_first"))
        elif b == 1:
            steps.append(BroadcastStep(dim, a, b, a, "stretch_second"))
        else:
            steps.append(BroadcastStep(dim, a, b, None, "clash"))
    return tuple(steps)


def elementwise(first: torch.Tensor, second: torch.Tensor, *, op: str) -> Broadcast:
    """`t <op> u` with broadcasting, for op in `ELEMENTWISE_OPS` (add, sub, mul, div).

    Raises:
        OperationError: the shapes clash or PyTorch refuses the dtypes (message kept).
    """
    _check_op(op, tuple(ELEMENTWISE_OPS))
    steps = broadcast_steps(tuple(first.shape), tuple(second.shape))
    if any(step.size is None for step in steps):
        _torch(lambda: getattr(torch, op)(first, second))  # fails early, with PyTorch's words
    _check_count(torch.Size(step.size for step in steps))
    result = _torch(lambda: getattr(torch, op)(first, second))
    return Broadcast(result, steps, f"result = t {ELEMENTWISE_OPS[op]} u")


# ---------------------------------------------------------------------------------------------
# Reductions.


@dataclasses.dataclass(frozen=True)
class Reduced:
    """A reduction.

    Attributes:
        result: the reduced tensor.
        chosen: bool, the source's shape: for max and argmax, the elements picked; else None.
        code: `result = t.sum(dim=0, keepdim=False)` and the like.
    """

    result: torch.Tensor
    chosen: torch.Tensor | None
    code: str


def reduce(
    tensor: torch.Tensor, *, op: str, dim: int | None = None, keepdim: bool = False
) -> Reduced:
    """`sum`, `mean`, `max` or `argmax` of `tensor`, over all elements or along `dim`.

    Raises:
        OperationError: PyTorch refuses it (e.g. `mean` of integers; its message is kept).
    """
    _check_op(op, REDUCTIONS)
    if tensor.numel() == 0 and op in ("max", "argmax"):
        raise OperationError(
            f"{op} of an empty tensor has no answer. Use a non-empty tensor.",
            key="tensors.empty_reduction",
            op=op,
        )
    if dim is None:
        result = _torch(lambda: getattr(tensor, op)())
        code = f"result = t.{op}()"
        index = None
        if op in ("max", "argmax"):
            index = tensor.reshape(-1).argmax().reshape(1)
            chosen = torch.zeros(tensor.numel(), dtype=torch.bool)
            chosen[index] = True
            return Reduced(result, chosen.reshape(tensor.shape), code)
        return Reduced(result, None, code)
    reduced = _torch(lambda: getattr(tensor, op)(dim=dim, keepdim=keepdim))
    chosen = None
    if op == "max":
        result, indices = reduced
        code = f"result, indices = t.max(dim={dim}, keepdim={keepdim})"
    else:
        result, indices = reduced, reduced
        code = f"result = t.{op}(dim={dim}, keepdim={keepdim})"
    if op in ("max", "argmax"):
        picked = indices if keepdim or tensor.dim() == 0 else indices.unsqueeze(dim)
        chosen = torch.zeros(tensor.shape, dtype=torch.bool).scatter_(dim, picked, True)
    return Reduced(result, chosen, code)


def _check_op(op: str, allowed: tuple[str, ...]) -> None:
    if op not in allowed:
        raise OperationError(
            f"Unknown operation {op!r}; pick one of {', '.join(allowed)}.",
            key="tensors.unknown_operation",
            op=op,
        )


# ---------------------------------------------------------------------------------------------
# Autograd.


@dataclasses.dataclass(frozen=True)
class GraphNode:
    """One node of the recorded graph: a `grad_fn` or a leaf tensor."""

    id: str
    label: str  # e.g. "PowBackward0" or "w (leaf)"
    inputs: tuple[str, ...]  # ids of the nodes it passes gradients to


@dataclasses.dataclass(frozen=True)
class LeafGradient:
    """A leaf's `.grad` next to the same gradient worked out by hand."""

    name: str
    grad: torch.Tensor
    by_hand: torch.Tensor
    formula: str  # LaTeX


@dataclasses.dataclass(frozen=True)
class GradientDemo:
    """`y = ((w * x + b) ** p).sum()`, its graph and its gradients.

    Attributes:
        output: the value of y.
        nodes: the graph from y's `grad_fn` down to the leaves, y's node first.
        leaves: the gradient of every leaf that requires it.
        code: PyTorch code that builds y and runs `backward()`.
    """

    output: float
    nodes: tuple[GraphNode, ...]
    leaves: tuple[LeafGradient, ...]
    code: str


# The hand-derived gradients of y = sum_i (w x_i + b)^p, by the chain rule.
_FORMULAS = {
    "w": r"\frac{\partial y}{\partial w} = \sum_i p\,(w x_i + b)^{p-1}\,x_i",
    "b": r"\frac{\partial y}{\partial b} = \sum_i p\,(w x_i + b)^{p-1}",
    "x": r"\frac{\partial y}{\partial x_i} = p\,(w x_i + b)^{p-1}\,w",
}


def autograd_demo(
    *,
    weight: float = 2.0,
    bias: float = 0.5,
    power: int = 2,
    size: int = 4,
    x_requires_grad: bool = False,
) -> GradientDemo:
    """Build `y = ((w * x + b) ** p).sum()` with `x = linspace(-1, 1, size)`, run backward.

    Args:
        weight, bias: the scalar leaves w and b (both require grad).
        power: p, a small positive integer.
        size: the number of elements of x (at least 1).
        x_requires_grad: whether x is a leaf that gets a gradient too.

    Returns:
        y, the recorded graph, and each leaf's `.grad` with the hand-derived gradient.
    """
    if not 1 <= power <= 5 or not 1 <= size <= 100:
        raise OperationError(
            "Use a power from 1 to 5 and a size from 1 to 100.", key="tensors.autograd_range"
        )
    x = torch.linspace(-1, 1, size, requires_grad=x_requires_grad)
    w = torch.tensor(float(weight), requires_grad=True)
    b = torch.tensor(float(bias), requires_grad=True)
    y = ((w * x + b) ** power).sum()
    nodes = _graph(y, names={id(w): "w", id(b): "b", id(x): "x"})
    y.backward()
    with torch.no_grad():
        inner = power * (w * x + b) ** (power - 1)  # dy/d(w x + b), element by element
        leaves = [
            LeafGradient("w", w.grad, (inner * x).sum(), _FORMULAS["w"]),
            LeafGradient("b", b.grad, inner.sum(), _FORMULAS["b"]),
        ]
        if x_requires_grad:
            leaves.append(LeafGradient("x", x.grad, inner * w, _FORMULAS["x"]))
    code = (
        f"x = torch.linspace(-1, 1, {size}, requires_grad={x_requires_grad})\n"
        f"w = torch.tensor({float(weight)!r}, requires_grad=True)\n"
        f"b = torch.tensor({float(bias)!r}, requires_grad=True)\n"
        f"y = ((w * x + b) ** {power}).sum()\n"
        "print(y.grad_fn)\n"
        "y.backward()\n"
        "print(w.grad, b.grad" + (", x.grad)" if x_requires_grad else ")")
    )
    return GradientDemo(float(y.detach()), nodes, tuple(leaves), code)


def _graph(output: torch.Tensor, *, names: dict[int, str]) -> tuple[GraphNode, ...]:
    """Walk `output.grad_fn` and its `next_functions` down to the leaves' AccumulateGrad."""
    nodes: dict[str, GraphNode] = {}
    pending = [output.grad_fn]
    while pending:
        function = pending.pop()
        node_id = f"n{id(function)}"
        if function is None or node_id in nodes:
            continue
        variable = getattr(function, "variable", None)
        if variable is not None:
            label = f"{names.get(id(variable), 'leaf')} (leaf)"
        else:
            label = type(function).__name__
        inputs = [next_function for next_function, _ in function.next_functions if next_function]
        nodes[node_id] = GraphNode(node_id, label, tuple(f"n{id(item)}" for item in inputs))
        pending.extend(inputs)
    return tuple(nodes.values())


def graph_dot(nodes: tuple[GraphNode, ...], *, output_label: str = "y") -> str:
    """The graph in Graphviz DOT, gradients flowing from y down to the leaves."""
    lines = ["digraph autograd {", "  rankdir=TB;", '  node [shape=box, fontname="Helvetica"];']
    lines.append(f'  out [label="{output_label}", shape=ellipse];')
    for node in nodes:
        style = ', style=filled, fillcolor="#ffe0b2"' if node.label.endswith("(leaf)") else ""
        lines.append(f'  {node.id} [label="{node.label}"{style}];')
    if nodes:
        lines.append(f"  out -> {nodes[0].id};")
    lines.extend(f"  {node.id} -> {target};" for node in nodes for target in node.inputs)
    lines.append("}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Devices.


@dataclasses.dataclass(frozen=True)
class DeviceOption:
    """An accelerator the tensor could move to.

    Attributes:
        kind: "cuda" or "mps".
        available: whether this machine has it.
        reason: locale key under `tensors.` saying why not, None when available.
    """

    kind: str
    available: bool
    reason: str | None


def device_options() -> tuple[DeviceOption, ...]:
    """CUDA and MPS, each with whether it is available here."""
    cuda = torch.cuda.is_available()
    mps = torch.backends.mps.is_available()
    return (
        DeviceOption("cuda", cuda, None if cuda else "no_cuda"),
        DeviceOption("mps", mps, None if mps else "no_mps"),
    )


@dataclasses.dataclass(frozen=True)
class MatmulTiming:
    size: int
    device: str
    seconds: float  # median of the repeats


def time_matmul(*, size: int = 512, device: str = "cpu", repeats: int = 5) -> MatmulTiming:
    """The median time of `a @ b` for two `size`×`size` float32 matrices on `device`.

    One warm-up run first (it pays for kernel loading); CUDA is synchronized around each run.
    """
    generator = torch.Generator().manual_seed(0)
    a = torch.rand(size, size, generator=generator).to(device)
    b = torch.rand(size, size, generator=generator).to(device)
    times = []
    for run in range(repeats + 1):
        _synchronize(device)
        start = time.perf_counter()
        a @ b
        _synchronize(device)
        if run:
            times.append(time.perf_counter() - start)
    return MatmulTiming(size, device, statistics.median(times))


def _synchronize(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    elif device.startswith("mps"):
        torch.mps.synchronize()


# ---------------------------------------------------------------------------------------------
# NumPy.


@dataclasses.dataclass(frozen=True)
class SharedMemory:
    """`.numpy()` and `torch.from_numpy` share memory with the tensor they came from.

    Attributes:
        tensor: the tensor after a NumPy write through `.numpy()` changed its first element.
        array: the array after `torch.from_numpy`'s tensor changed its first element.
        shared: whether both pairs really share memory.
        code: the demo as PyTorch code (`shared` and `array` at the end match the fields).
    """

    tensor: torch.Tensor
    array: np.ndarray
    shared: bool
    code: str


def numpy_demo(tensor: torch.Tensor, *, value: float = 100.0) -> SharedMemory:
    """Write `value` through NumPy into a copy of `tensor`, and through torch into an array.

    Raises:
        OperationError: the tensor is empty or has a dtype NumPy lacks (bfloat16).
    """
    if tensor.numel() == 0:
        raise OperationError("The tensor is empty: nothing to write.", key="tensors.empty_numpy")
    if tensor.dtype == torch.bfloat16:
        raise OperationError(
            "NumPy has no bfloat16, so .numpy() cannot share this tensor's memory. "
            "Pick another dtype, or convert with t.float() (a copy).",
            key="tensors.numpy_bfloat16",
        )
    shared_tensor = tensor.detach().cpu().clone()
    array_view = _torch(shared_tensor.numpy)
    array_view.reshape(-1)[0] = value
    array = np.arange(6.0)
    from_numpy = torch.from_numpy(array)
    from_numpy[0] = value
    shared = bool(
        np.shares_memory(array_view, shared_tensor.numpy())
        and from_numpy.data_ptr() == array.ctypes.data
    )
    code = (
        "shared = t.clone()\n"
        "view = shared.numpy()\n"
        f"view.reshape(-1)[0] = {value!r}\n\n"
        "array = np.arange(6.0)\n"
        "tensor = torch.from_numpy(array)\n"
        f"tensor[0] = {value!r}"
    )
    return SharedMemory(shared_tensor, array, shared, code)
