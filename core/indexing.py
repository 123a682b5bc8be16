"""A safe parser for index expressions typed in Python syntax, such as `[1:3, ::2, -1]`.

The text is parsed with `ast` and the tree is interpreted here, node by node: only integers,
slices, `None`, `...`, lists of integers, unary minus and boolean masks built from comparisons
over `t` (combined with `&`, `|`, `~`) are accepted. Nothing the user types is ever evaluated;
anything else is refused with an `IndexExpressionError` that names the offending part.
"""

from __future__ import annotations

import ast
import dataclasses
import operator
import warnings
from collections.abc import Callable
from types import EllipsisType
from typing import Union

import torch

from core.errors import PlaygroundError
from core.tensors import check_count

MAX_EXPRESSION_CHARS = 500
MAX_INTEGER = 10**9  # larger literals are refused before torch sees them
MAX_LIST_LENGTH = 1_000
MAX_NESTING = 12  # brackets, parentheses and operators inside one another

# The name the tensor goes by inside mask expressions.
TENSOR_NAME = "t"

_COMPARISONS: dict[type[ast.cmpop], tuple[str, Callable[[object, object], object]]] = {
    ast.Lt: ("<", operator.lt),
    ast.LtE: ("<=", operator.le),
    ast.Gt: (">", operator.gt),
    ast.GtE: (">=", operator.ge),
    ast.Eq: ("==", operator.eq),
    ast.NotEq: ("!=", operator.ne),
}
_COMBINERS: dict[type[ast.operator], str] = {ast.BitAnd: "&", ast.BitOr: "|"}


class IndexExpressionError(PlaygroundError, ValueError):
    """An index expression the playground will not run; `snippet` and `column` locate it."""

    key = "tensors.index_not_allowed"


class IndexApplyError(IndexExpressionError):
    """A well-formed index that PyTorch refuses for this tensor (its message is kept)."""

    key = "tensors.index_failed"


# ---------------------------------------------------------------------------------------------
# The parsed form: small frozen records that print back as Python and apply to any tensor.


@dataclasses.dataclass(frozen=True)
class Slice:
    start: int | None = None
    stop: int | None = None
    step: int | None = None

    def source(self) -> str:
        text = f"{_optional(self.start)}:{_optional(self.stop)}"
        return text if self.step is None else f"{text}:{self.step}"


@dataclasses.dataclass(frozen=True)
class IntegerList:
    values: tuple[int, ...]

    def source(self) -> str:
        return "[" + ", ".join(map(str, self.values)) + "]"


@dataclasses.dataclass(frozen=True)
class TensorRef:
    """`t` itself, or `t[...]` with a basic index (no masks inside)."""

    items: tuple[BasicItem, ...] | None = None

    def source(self) -> str:
        if self.items is None:
            return TENSOR_NAME
        return f"{TENSOR_NAME}[{_items_source(self.items)}]"


@dataclasses.dataclass(frozen=True)
class Comparison:
    left: TensorRef | float | int
    op: str
    right: TensorRef | float | int

    def source(self) -> str:
        return f"{_operand_source(self.left)} {self.op} {_operand_source(self.right)}"


@dataclasses.dataclass(frozen=True)
class Combination:
    op: str  # "&" or "|"
    left: MaskExpression
    right: MaskExpression

    def source(self) -> str:
        return f"({self.left.source()}) {self.op} ({self.right.source()})"


@dataclasses.dataclass(frozen=True)
class Negation:
    operand: MaskExpression

    def source(self) -> str:
        return f"~({self.operand.source()})"


MaskExpression = Union[Comparison, Combination, Negation]  # noqa: UP007 (runtime alias)
BasicItem = Union[int, Slice, None, EllipsisType]  # noqa: UP007
IndexItem = Union[int, Slice, None, EllipsisType, IntegerList, Comparison, Combination, Negation]  # noqa: UP007


@dataclasses.dataclass(frozen=True)
class ParsedIndex:
    """An index expression, checked and ready to apply.

    Attributes:
        items: one entry per position inside the brackets.
    """

    items: tuple[IndexItem, ...]

    def source(self) -> str:
        """The expression in canonical form, brackets included, e.g. `[1:3, ::2]`."""
        return f"[{_items_source(self.items)}]"

    @property
    def is_basic(self) -> bool:
        """Whether PyTorch indexes with it as a view: only ints, slices, None and `...`."""
        return all(not isinstance(item, IntegerList) and not _is_mask(item) for item in self.items)

    @property
    def has_mask(self) -> bool:
        return any(_is_mask(item) for item in self.items)


def _optional(value: int | None) -> str:
    return "" if value is None else str(value)


def _item_source(item: IndexItem) -> str:
    if item is None:
        return "None"
    if item is Ellipsis:
        return "..."
    if isinstance(item, int):
        return str(item)
    return item.source()


def _items_source(items: tuple[IndexItem, ...]) -> str:
    if len(items) == 1 and isinstance(item := items[0], Comparison | Combination | Negation):
        return item.source()
    return ", ".join(_item_source(item) for item in items)


def _operand_source(operand: TensorRef | float | int) -> str:
    return operand.source() if isinstance(operand, TensorRef) else repr(operand)


def _is_mask(item: object) -> bool:
    return isinstance(item, Comparison | Combination | Negation)


# ---------------------------------------------------------------------------------------------
# Parsing.


def parse_index(text: str) -> ParsedIndex:
    """Parse an index typed by the user, without evaluating any of it.

    Accepted forms: `[1:3, ::2]`, `t[1:3, ::2]` or the bare `1:3, ::2`.

    Args:
        text: the expression as typed.

    Returns:
        The parsed index.

    Raises:
        IndexExpressionError: the text is too long, not Python, or uses anything beyond
            integers, slices, None, `...`, lists of integers, unary minus and masks from
            comparisons over `t`; the message quotes the offending part and its column.
    """
    text = text.strip()
    if len(text) > MAX_EXPRESSION_CHARS:
        raise IndexExpressionError(
            f"The expression is {len(text)} characters long; the limit is "
            f"{MAX_EXPRESSION_CHARS}. Shorten it.",
            key="tensors.index_too_long",
            length=len(text),
            limit=MAX_EXPRESSION_CHARS,
        )
    if not text or text in ("[]", f"{TENSOR_NAME}[]"):
        return ParsedIndex(items=())
    if text.startswith(f"{TENSOR_NAME}["):
        source, shift = text, 0
    elif text.startswith("["):
        source, shift = TENSOR_NAME + text, len(TENSOR_NAME)
    else:
        source, shift = f"{TENSOR_NAME}[{text}]", len(TENSOR_NAME) + 1
    try:
        with warnings.catch_warnings():  # odd literals warn on stderr; the user sees our error
            warnings.simplefilter("ignore")
            tree = ast.parse(source, mode="eval")
    except SyntaxError as error:
        column = max((error.offset or 1) - 1 - shift, 0)
        raise IndexExpressionError(
            f"Not valid Python at column {column + 1}: {_snippet(text, column)!r} "
            f"({error.msg}). Write an index like [1:3, ::2, -1].",
            key="tensors.index_syntax",
            column=column + 1,
            snippet=_snippet(text, column),
            reason=error.msg,
        ) from None
    except (ValueError, RecursionError, MemoryError, OverflowError):
        raise IndexExpressionError(
            "The expression cannot be read (too deeply nested or holding a null character). "
            "Write an index like [1:3, ::2, -1].",
            key="tensors.index_unreadable",
        ) from None
    return _Interpreter(text, shift).index(tree.body)


def _snippet(text: str, column: int, width: int = 20) -> str:
    return text[column : column + width] or text[-width:]


class _Interpreter:
    """Walks the `ast` of `t[...]` and builds `ParsedIndex`; refuses every unknown node."""

    def __init__(self, text: str, shift: int) -> None:
        self.text = text
        self.shift = shift

    def refuse(self, node: ast.AST, kind: str) -> IndexExpressionError:
        column = max(getattr(node, "col_offset", self.shift) - self.shift, 0)
        end = getattr(node, "end_col_offset", None)
        end = column + 20 if end is None else max(end - self.shift, column + 1)
        snippet = self.text[column:end][:40] or self.text[:40]
        return IndexExpressionError(
            f"{REFUSALS[kind]} is not allowed in an index: {snippet!r} at column {column + 1}. "
            "Use integers, slices, None, ..., lists of integers or masks such as t > 0.",
            key="tensors.index_not_allowed",
            kind=kind,
            snippet=snippet,
            column=column + 1,
        )

    def index(self, node: ast.expr) -> ParsedIndex:
        if not (
            isinstance(node, ast.Subscript)
            and isinstance(node.value, ast.Name)
            and node.value.id == TENSOR_NAME
        ):
            raise self.refuse(node, _kind(node))
        elements = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        if len(elements) > MAX_LIST_LENGTH:
            raise self.refuse(node, "many_positions")
        items = tuple(self.item(element, depth=1) for element in elements)
        if sum(item is Ellipsis for item in items) > 1:
            raise self.refuse(node, "second_ellipsis")
        return ParsedIndex(items=items)

    def item(self, node: ast.expr, *, depth: int) -> IndexItem:
        self.check_depth(node, depth)
        if isinstance(node, ast.Slice):
            return Slice(
                *(
                    None if part is None else self.integer(part, depth=depth + 1)
                    for part in (node.lower, node.upper, node.step)
                )
            )
        if isinstance(node, ast.Constant) and (node.value is None or node.value is Ellipsis):
            return node.value
        if isinstance(node, ast.List):
            if len(node.elts) > MAX_LIST_LENGTH:
                raise self.refuse(node, "long_list")
            if not node.elts:
                raise self.refuse(node, "empty_list")
            return IntegerList(tuple(self.integer(value, depth=depth + 1) for value in node.elts))
        if isinstance(node, ast.Compare | ast.BinOp) or (
            isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Invert)
        ):
            return self.mask(node, depth=depth)
        return self.integer(node, depth=depth)

    def basic_item(self, node: ast.expr, *, depth: int) -> BasicItem:
        item = self.item(node, depth=depth)
        if isinstance(item, IntegerList) or _is_mask(item):
            raise self.refuse(node, "nested_advanced")
        return item

    def integer(self, node: ast.expr, *, depth: int) -> int:
        self.check_depth(node, depth)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -self.integer(node.operand, depth=depth + 1)
        if isinstance(node, ast.Constant) and type(node.value) is int:
            if abs(node.value) > MAX_INTEGER:
                raise self.refuse(node, "big_number")
            return node.value
        raise self.refuse(node, _kind(node))

    def number(self, node: ast.expr, *, depth: int) -> float | int:
        self.check_depth(node, depth)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -self.number(node.operand, depth=depth + 1)
        if isinstance(node, ast.Constant) and type(node.value) in (int, float):
            if not abs(node.value) <= MAX_INTEGER:  # also refuses nan
                raise self.refuse(node, "big_number")
            return node.value
        raise self.refuse(node, _kind(node))

    def mask(self, node: ast.expr, *, depth: int) -> MaskExpression:
        self.check_depth(node, depth)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Invert):
            return Negation(self.mask(node.operand, depth=depth + 1))
        if isinstance(node, ast.BinOp) and type(node.op) in _COMBINERS:
            return Combination(
                _COMBINERS[type(node.op)],
                self.mask(node.left, depth=depth + 1),
                self.mask(node.right, depth=depth + 1),
            )
        if isinstance(node, ast.Compare):
            if len(node.ops) != 1:
                raise self.refuse(node, "chained")
            if type(node.ops[0]) not in _COMPARISONS:
                raise self.refuse(node, _kind(node.ops[0]))
            left = self.operand(node.left, depth=depth + 1)
            right = self.operand(node.comparators[0], depth=depth + 1)
            if not (isinstance(left, TensorRef) or isinstance(right, TensorRef)):
                raise self.refuse(node, "no_tensor")
            return Comparison(left, _COMPARISONS[type(node.ops[0])][0], right)
        raise self.refuse(node, _kind(node))

    def operand(self, node: ast.expr, *, depth: int) -> TensorRef | float | int:
        self.check_depth(node, depth)
        if isinstance(node, ast.Name) and node.id == TENSOR_NAME:
            return TensorRef()
        if (
            isinstance(node, ast.Subscript)
            and isinstance(node.value, ast.Name)
            and node.value.id == TENSOR_NAME
        ):
            elements = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
            if len(elements) > MAX_LIST_LENGTH:
                raise self.refuse(node, "many_positions")
            return TensorRef(tuple(self.basic_item(item, depth=depth + 1) for item in elements))
        return self.number(node, depth=depth)

    def check_depth(self, node: ast.AST, depth: int) -> None:
        if depth > MAX_NESTING:
            raise self.refuse(node, "deep")


# What each refusal is called: a code (the UI words it per language) and its English phrase.
REFUSALS = {
    "call": "A function call",
    "attribute": "An attribute",
    "name": "A name other than t",
    "lambda": "A lambda",
    "comprehension": "A comprehension or generator",
    "subscript": "A subscript other than t[...]",
    "starred": "A starred expression",
    "assignment": "An assignment or await/yield",
    "string": "A string",
    "container": "A dict, set or nested tuple",
    "conditional": "A conditional expression",
    "boolop": "and/or (use & and |)",
    "arithmetic": "Arithmetic",
    "comparison": "This comparison (use <, <=, >, >=, == or !=)",
    "literal": "This literal (only integers, None and ...)",
    "unary": "This unary operator",
    "many_positions": "An index with this many positions",
    "second_ellipsis": "A second ...",
    "long_list": f"A list longer than {MAX_LIST_LENGTH}",
    "empty_list": "An empty list",
    "nested_advanced": "A list or mask inside the t[...] of a mask",
    "big_number": f"A number beyond ±{MAX_INTEGER:,}",
    "chained": "A chained comparison (use & between two comparisons)",
    "no_tensor": "A comparison without t",
    "deep": f"Nesting deeper than {MAX_NESTING} levels",
    "other": "This expression",
}
_NODE_KINDS: dict[type[ast.AST], str] = {
    ast.Call: "call",
    ast.Attribute: "attribute",
    ast.Name: "name",
    ast.Lambda: "lambda",
    ast.ListComp: "comprehension",
    ast.SetComp: "comprehension",
    ast.DictComp: "comprehension",
    ast.GeneratorExp: "comprehension",
    ast.Subscript: "subscript",
    ast.Starred: "starred",
    ast.NamedExpr: "assignment",
    ast.Await: "assignment",
    ast.Yield: "assignment",
    ast.YieldFrom: "assignment",
    ast.JoinedStr: "string",
    ast.Dict: "container",
    ast.Set: "container",
    ast.List: "container",
    ast.Tuple: "container",
    ast.IfExp: "conditional",
    ast.BoolOp: "boolop",
    ast.BinOp: "arithmetic",
    ast.Compare: "comparison",
    ast.In: "comparison",
    ast.NotIn: "comparison",
    ast.Is: "comparison",
    ast.IsNot: "comparison",
    ast.Constant: "literal",
    ast.UnaryOp: "unary",
}


def _kind(node: ast.AST) -> str:
    """The refusal code of a node the interpreter does not accept."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str | bytes):
        return "string"
    return _NODE_KINDS.get(type(node), "other")


# ---------------------------------------------------------------------------------------------
# Applying a parsed index.


@dataclasses.dataclass(frozen=True)
class IndexResult:
    """What an index selects.

    Attributes:
        result: `source[index]`.
        highlight: bool, the source's shape; True where an element was selected.
        is_view: whether `result` shares the source's storage (basic indexing).
        code: PyTorch code that computes `result` from `t`.
    """

    result: torch.Tensor
    highlight: torch.Tensor
    is_view: bool
    code: str


def build_index(parsed: ParsedIndex, tensor: torch.Tensor) -> tuple[object, ...]:
    """The index tuple PyTorch takes, with masks computed from `tensor`.

    Raises:
        IndexApplyError: a mask that PyTorch cannot compute for this tensor.
    """
    return tuple(_torch_item(item, tensor) for item in parsed.items)


def _torch_item(item: IndexItem, tensor: torch.Tensor) -> object:
    if isinstance(item, Slice):
        return slice(item.start, item.stop, item.step)
    if isinstance(item, IntegerList):
        return torch.tensor(item.values, dtype=torch.long)
    if _is_mask(item):
        mask = _with_torch_errors(lambda: _mask_value(item, tensor))
        if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool:
            raise IndexApplyError(
                "The mask is not a boolean tensor. Compare t with a number, e.g. t > 0.",
                key="tensors.mask_not_boolean",
            )
        return mask
    return item


def _mask_value(expression: MaskExpression | TensorRef | float | int, tensor: torch.Tensor):
    if isinstance(expression, TensorRef):
        if expression.items is None:
            return tensor
        return tensor[tuple(_torch_item(item, tensor) for item in expression.items)]
    if isinstance(expression, Comparison):
        compare = next(fn for symbol, fn in _COMPARISONS.values() if symbol == expression.op)
        left, right = _mask_value(expression.left, tensor), _mask_value(expression.right, tensor)
        _check_broadcast(left, right)
        return compare(left, right)
    if isinstance(expression, Combination):
        left, right = _mask_value(expression.left, tensor), _mask_value(expression.right, tensor)
        _check_broadcast(left, right)
        return left & right if expression.op == "&" else left | right
    if isinstance(expression, Negation):
        return ~_mask_value(expression.operand, tensor)
    return expression


def _check_broadcast(left: object, right: object) -> None:
    # `t[:, 0] > t` on a (N, 1) tensor broadcasts to (N, N): refuse it before allocating.
    if isinstance(left, torch.Tensor) and isinstance(right, torch.Tensor):
        shape = _with_torch_errors(lambda: torch.broadcast_shapes(left.shape, right.shape))
        check_count(
            shape.numel(),
            error=IndexApplyError,
            key="tensors.index_result_too_large",
            what="The mask would broadcast to",
            advice="Compare tensors of the same shape.",
        )


def _with_torch_errors(compute: Callable[[], object]) -> object:
    """Run `compute`, turning PyTorch's refusal into an `IndexApplyError` with its message."""
    try:
        return compute()
    except PlaygroundError:
        raise
    except (IndexError, RuntimeError, ValueError, TypeError) as error:
        message = str(error).split("\n")[0]
        raise IndexApplyError(
            f"PyTorch refused this index: {message}", key="tensors.index_failed", reason=message
        ) from None


def result_shape(tensor: torch.Tensor, index: tuple[object, ...]) -> torch.Size:
    """The shape `tensor[index]` would have, computed on the meta device (nothing allocated).

    Raises:
        IndexApplyError: PyTorch refuses the index for this shape.
    """
    # Boolean masks become the index tensors of their True positions, as PyTorch does itself,
    # so the meta device (which holds no values) knows the result's shape.
    expanded: list[object] = []
    for item in index:
        if isinstance(item, torch.Tensor) and item.dtype == torch.bool and item.dim() == 0:
            expanded.append(None)  # a 0-D mask adds a dimension of size 0 or 1
        elif isinstance(item, torch.Tensor) and item.dtype == torch.bool:
            # Only the count of True positions matters for the shape: no need for nonzero().
            count = int(item.sum())
            positions = torch.empty(count, dtype=torch.long, device="meta")
            expanded.extend([positions] * item.dim())
        elif isinstance(item, torch.Tensor):
            expanded.append(item.to("meta"))
        else:
            expanded.append(item)
    meta = torch.empty(tensor.shape, dtype=tensor.dtype, device="meta")
    return _with_torch_errors(lambda: meta[tuple(expanded)].shape)


def _position_dtype(tensor: torch.Tensor) -> torch.dtype:
    # Half the memory of int64 for every tensor the playground allows.
    return torch.int32 if tensor.numel() < 2**31 else torch.int64


def apply_index(tensor: torch.Tensor, parsed: ParsedIndex) -> IndexResult:
    """Apply a parsed index to `tensor` and find which of its elements were selected.

    Args:
        tensor: any shape `(*S)`.
        parsed: from `parse_index`.

    Returns:
        The selection, a bool highlight of shape `(*S)`, the view/copy verdict and the code.

    Raises:
        IndexApplyError: PyTorch refuses the index (out of range, too many indices, a mask of
            the wrong shape) or the result would exceed `config.MAX_TENSOR_ELEMENTS`.
    """
    index = build_index(parsed, tensor)
    shape = result_shape(tensor, index)
    check_count(
        shape.numel(),
        error=IndexApplyError,
        key="tensors.index_result_too_large",
        what="The result would hold",
        advice="Select fewer.",
    )
    result = _with_torch_errors(lambda: tensor[index])
    # Index a tensor of flat positions the same way: PyTorch tells which elements it picked.
    positions = torch.arange(tensor.numel(), dtype=_position_dtype(tensor)).reshape(tensor.shape)
    positions = positions[index]
    highlight = torch.zeros(tensor.numel(), dtype=torch.bool)
    highlight[positions.reshape(-1)] = True
    is_view = result.untyped_storage().data_ptr() == tensor.untyped_storage().data_ptr()
    return IndexResult(
        result=result,
        highlight=highlight.reshape(tensor.shape),
        is_view=is_view,
        code=f"result = t{parsed.source()}",
    )


# ---------------------------------------------------------------------------------------------
# Per-dimension controls that read and write the same expression.


@dataclasses.dataclass(frozen=True)
class DimensionControl:
    """One dimension's control: pick one position, or slice it (all three empty: keep all)."""

    mode: str  # "index" or "slice"
    index: int = 0
    start: int | None = None
    stop: int | None = None
    step: int | None = None


def controls_from_index(parsed: ParsedIndex, ndim: int) -> tuple[DimensionControl, ...] | None:
    """One control per dimension, or None when the index is more than ints and slices."""
    if len(parsed.items) > ndim or not all(isinstance(item, int | Slice) for item in parsed.items):
        return None
    controls = []
    for item in (*parsed.items, *[Slice()] * (ndim - len(parsed.items))):
        if isinstance(item, int):
            controls.append(DimensionControl("index", index=item))
        else:
            slice_ = DimensionControl("slice", start=item.start, stop=item.stop, step=item.step)
            controls.append(slice_)
    return tuple(controls)


def index_from_controls(controls: tuple[DimensionControl, ...]) -> ParsedIndex:
    """The index the controls describe, trailing full slices dropped (`[1, :]` is `[1]`)."""
    items: list[IndexItem] = []
    for control in controls:
        if control.mode == "index":
            items.append(control.index)
        else:
            items.append(Slice(control.start, control.stop, control.step))
    while items and items[-1] == Slice():
        items.pop()
    return ParsedIndex(items=tuple(items))


@dataclasses.dataclass(frozen=True)
class WriteThrough:
    """What writing into an indexing result does to its source.

    Attributes:
        source: a copy of the source after `result.fill_(value)`.
        changed: whether the source changed (it does exactly when the result is a view).
        code: the demo as PyTorch code; `source` at its end matches the field.
    """

    source: torch.Tensor
    changed: bool
    code: str


def write_through(tensor: torch.Tensor, parsed: ParsedIndex, *, value: float) -> WriteThrough:
    """Fill `copy_of_tensor[index]` with `value` and see whether the copy of the source changed.

    Raises:
        IndexApplyError: as `apply_index`, or a value the tensor's dtype cannot hold.
    """
    source = tensor.clone()
    index = build_index(parsed, source)
    result = _with_torch_errors(lambda: source[index])
    _with_torch_errors(lambda: result.fill_(value))
    code = f"source = t.clone()\nresult = source{parsed.source()}\nresult.fill_({value!r})"
    return WriteThrough(source, not torch.equal(source, tensor), code)
