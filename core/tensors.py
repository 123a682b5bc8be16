"""Tensors built from a recipe (a factory, a shape, a dtype, a seed), with their metadata.

Every recipe checks the element count and the memory it would take against
`config.MAX_TENSOR_ELEMENTS` and `config.MAX_TENSOR_BYTES` before anything is allocated, and
prints as the PyTorch code that builds the same tensor.
"""

from __future__ import annotations

import ast
import dataclasses
import math
import warnings

import torch
from PIL import Image
from torchvision.transforms.v2.functional import pil_to_tensor

from core import config
from core.errors import PlaygroundError
from core.samples import SAMPLES, load_sample, sample_path

FACTORIES = (
    "arange",
    "zeros",
    "ones",
    "full",
    "eye",
    "linspace",
    "rand",
    "randn",
    "randint",
    "list",
    "image",
)
DTYPES: dict[str, torch.dtype] = {
    "float32": torch.float32,
    "float64": torch.float64,
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
    "int64": torch.int64,
    "int32": torch.int32,
    "uint8": torch.uint8,
    "bool": torch.bool,
}
MAX_DIMS = 6
MAX_LITERAL_CHARS = 20_000  # a typed list longer than this is refused before parsing
MAX_LITERAL_NESTING = MAX_DIMS + 2


class TensorRecipeError(PlaygroundError, ValueError):
    """A recipe the playground will not build: a bad shape, too large, or refused by PyTorch."""

    key = "tensors.recipe_failed"


@dataclasses.dataclass(frozen=True)
class TensorRecipe:
    """How to build a tensor; every field has a sensible default.

    Attributes:
        factory: one of `FACTORIES`.
        shape: the shape; for `eye` one or two sizes; for `image` the (H, W) it is resized to
            (the result is 3×H×W); ignored for `list`.
        dtype: one of `DTYPES`.
        seed: the seed of `rand`, `randn` and `randint`.
        fill: the value of `full`.
        low: `linspace`'s start, `randint`'s low (inclusive).
        high: `linspace`'s end, `randint`'s high (exclusive).
        literal: the nested list of `list`, in Python syntax.
        sample: the bundled photo of `image` (a key of `core.samples.SAMPLES`).
    """

    factory: str = "arange"
    shape: tuple[int, ...] = (3, 4)
    dtype: str = "float32"
    seed: int = 0
    fill: float = 7.0
    low: float = 0.0
    high: float = 10.0
    literal: str = "[[1, 2, 3], [4, 5, 6]]"
    sample: str = "coffee"


@dataclasses.dataclass(frozen=True)
class BuiltTensor:
    tensor: torch.Tensor
    code: str  # PyTorch code that builds the same tensor as `t`


@dataclasses.dataclass(frozen=True)
class TensorInfo:
    """What PyTorch knows about a tensor's layout, for display."""

    shape: tuple[int, ...]
    dtype: str
    device: str
    stride: tuple[int, ...]
    storage_offset: int
    is_contiguous: bool
    numel: int
    bytes: int


def describe(tensor: torch.Tensor) -> TensorInfo:
    """The layout of `tensor`: shape, dtype, device, stride, storage offset, size."""
    return TensorInfo(
        shape=tuple(tensor.shape),
        dtype=str(tensor.dtype).removeprefix("torch."),
        device=str(tensor.device),
        stride=tuple(tensor.stride()),
        storage_offset=tensor.storage_offset(),
        is_contiguous=tensor.is_contiguous(),
        numel=tensor.numel(),
        bytes=tensor.numel() * tensor.element_size(),
    )


def parse_shape(text: str) -> tuple[int, ...]:
    """A shape typed as `3, 4` (or `(3, 4)`, `[3, 4]`, `3x4`); empty text is 0-D.

    Raises:
        TensorRecipeError: not a list of at most `MAX_DIMS` non-negative integers.
    """
    cleaned = text.strip().strip("()[]").replace("x", ",").replace("×", ",")
    parts = [part.strip() for part in cleaned.split(",") if part.strip()]
    if len(parts) > MAX_DIMS or not all(part.isdigit() and len(part) <= 9 for part in parts):
        raise TensorRecipeError(
            f"{text!r} is not a shape. Write up to {MAX_DIMS} sizes separated by commas, "
            "e.g. 3, 4.",
            key="tensors.bad_shape",
            text=text,
            limit=MAX_DIMS,
        )
    return tuple(int(part) for part in parts)


def format_shape(shape: tuple[int, ...]) -> str:
    return ", ".join(map(str, shape))


def check_count(
    count: int, *, error: type[PlaygroundError], key: str, what: str, advice: str
) -> None:
    """Refuse `count` elements above `config.MAX_TENSOR_ELEMENTS` with `error(key=key)`, worded
    as "<what> <count> elements; the limit is <limit>. <advice>"."""
    if count > config.MAX_TENSOR_ELEMENTS:
        raise error(
            f"{what} {count:,} elements; the limit is {config.MAX_TENSOR_ELEMENTS:,}. {advice}",
            key=key,
            count=count,
            limit=config.MAX_TENSOR_ELEMENTS,
        )


def check_size(shape: tuple[int, ...], dtype: torch.dtype) -> None:
    """Refuse a tensor of `shape` and `dtype` larger than the playground's limits.

    Raises:
        TensorRecipeError: more than `config.MAX_TENSOR_ELEMENTS` elements or
            `config.MAX_TENSOR_BYTES` bytes.
    """
    count = math.prod(shape)
    check_count(
        count,
        error=TensorRecipeError,
        key="tensors.too_many_elements",
        what=f"A tensor of shape {tuple(shape)} holds",
        advice="Use a smaller shape.",
    )
    size = count * torch.empty((), dtype=dtype).element_size()
    if size > config.MAX_TENSOR_BYTES:
        raise TensorRecipeError(
            f"A tensor of shape {tuple(shape)} would take {size:,} bytes; the limit is "
            f"{config.MAX_TENSOR_BYTES:,}. Use a smaller shape or dtype.",
            key="tensors.too_many_bytes",
            size=size,
            limit=config.MAX_TENSOR_BYTES,
        )


def build_tensor(recipe: TensorRecipe, *, name: str = "t") -> BuiltTensor:
    """Build the tensor a recipe describes, after checking its size.

    Args:
        recipe: factory, shape, dtype and the factory's parameters.
        name: the variable the shown code assigns.

    Returns:
        The tensor (CPU) and the PyTorch code that builds it as `name`.

    Raises:
        TensorRecipeError: an unknown factory or dtype, a shape the factory cannot take, a
            tensor over the limits, or PyTorch's refusal (e.g. `randn` for an integer dtype).
    """
    if recipe.factory not in FACTORIES or recipe.dtype not in DTYPES:
        raise TensorRecipeError(
            f"Unknown factory {recipe.factory!r} or dtype {recipe.dtype!r}. "
            f"Pick a factory from {', '.join(FACTORIES)}.",
            key="tensors.unknown_recipe",
            factory=recipe.factory,
            dtype=recipe.dtype,
        )
    if len(recipe.shape) > MAX_DIMS:
        raise TensorRecipeError(
            f"{len(recipe.shape)} dimensions; the limit is {MAX_DIMS}.",
            key="tensors.bad_shape",
            text=format_shape(recipe.shape),
            limit=MAX_DIMS,
        )
    dtype = DTYPES[recipe.dtype]
    if recipe.factory == "list":
        values = _literal_values(recipe.literal)
        code = f"{name} = torch.tensor({recipe.literal.strip()}, dtype=torch.{recipe.dtype})"
        return BuiltTensor(_torch(lambda: torch.tensor(values, dtype=dtype)), code)
    if recipe.factory == "image":
        return _image_tensor(recipe, dtype, name)
    if recipe.factory == "eye" and len(recipe.shape) not in (1, 2):
        raise TensorRecipeError(
            "torch.eye makes a matrix: give one size (n) or two (n, m).",
            key="tensors.eye_shape",
        )
    check_size(recipe.shape, dtype)
    return BuiltTensor(_torch(lambda: _make(recipe, dtype)), _code(recipe, name))


def _torch(build):
    """Run a PyTorch call, turning its refusal into a `TensorRecipeError` with its message."""
    try:
        return build()
    except (RuntimeError, ValueError, TypeError, OverflowError) as error:
        message = str(error).split("\n")[0]
        raise TensorRecipeError(
            f"PyTorch refused this recipe: {message}", key="tensors.recipe_failed", reason=message
        ) from None


def _make(recipe: TensorRecipe, dtype: torch.dtype) -> torch.Tensor:
    shape, count = recipe.shape, math.prod(recipe.shape)
    generator = torch.Generator().manual_seed(recipe.seed)
    match recipe.factory:
        case "arange":
            return torch.arange(count).reshape(shape).to(dtype)
        case "zeros":
            return torch.zeros(shape, dtype=dtype)
        case "ones":
            return torch.ones(shape, dtype=dtype)
        case "full":
            return torch.full(shape, recipe.fill, dtype=dtype)
        case "eye":
            return torch.eye(*shape, dtype=dtype)
        case "linspace":
            return torch.linspace(recipe.low, recipe.high, count, dtype=dtype).reshape(shape)
        case "rand":
            return torch.rand(shape, generator=generator, dtype=dtype)
        case "randn":
            return torch.randn(shape, generator=generator, dtype=dtype)
        case "randint":
            low, high = int(recipe.low), int(recipe.high)
            return torch.randint(low, high, shape, generator=generator, dtype=dtype)
    raise AssertionError(recipe.factory)  # build_tensor checked the factory


def _code(recipe: TensorRecipe, name: str) -> str:
    shape, dtype = recipe.shape, f"dtype=torch.{recipe.dtype}"
    size = f"({format_shape(shape)},)" if len(shape) == 1 else f"({format_shape(shape)})"
    seed = f"torch.manual_seed({recipe.seed})\n"
    match recipe.factory:
        case "arange":
            count = math.prod(shape)
            return f"{name} = torch.arange({count}).reshape({size}).to(torch.{recipe.dtype})"
        case "zeros" | "ones":
            return f"{name} = torch.{recipe.factory}({size}, {dtype})"
        case "full":
            return f"{name} = torch.full({size}, {recipe.fill!r}, {dtype})"
        case "eye":
            return f"{name} = torch.eye({format_shape(shape)}, {dtype})"
        case "linspace":
            return (
                f"{name} = torch.linspace({recipe.low!r}, {recipe.high!r}, {math.prod(shape)}, "
                f"{dtype}).reshape({size})"
            )
        case "rand" | "randn":
            return f"{seed}{name} = torch.{recipe.factory}({size}, {dtype})"
        case "randint":
            low, high = int(recipe.low), int(recipe.high)
            return f"{seed}{name} = torch.randint({low}, {high}, {size}, {dtype})"
    raise AssertionError(recipe.factory)


def _literal_values(text: str) -> object:
    """A nested list of numbers from Python syntax, checked before any tensor is made."""
    text = text.strip()
    if len(text) > MAX_LITERAL_CHARS:
        raise TensorRecipeError(
            f"The list is {len(text):,} characters long; the limit is {MAX_LITERAL_CHARS:,}. "
            "Use a factory for large tensors.",
            key="tensors.literal_too_long",
            length=len(text),
            limit=MAX_LITERAL_CHARS,
        )
    try:
        with warnings.catch_warnings():  # odd literals warn on stderr; the user sees our error
            warnings.simplefilter("ignore")
            tree = ast.parse(text, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        tree = None
    if tree is None or not _is_number_list(tree.body, depth=0):
        raise TensorRecipeError(
            f"{text[:40]!r} is not a nested list of numbers. Write e.g. [[1, 2], [3, 4]].",
            key="tensors.bad_literal",
            snippet=text[:40],
        )
    return ast.literal_eval(tree)


def _is_number_list(node: ast.expr, *, depth: int) -> bool:
    """Whether `node` is a number or a list of them, nested at most `MAX_LITERAL_NESTING` deep."""
    if depth > MAX_LITERAL_NESTING:
        return False
    if isinstance(node, ast.List):
        return all(_is_number_list(element, depth=depth + 1) for element in node.elts)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        node = node.operand
    return isinstance(node, ast.Constant) and type(node.value) in (int, float, bool)


def _image_tensor(recipe: TensorRecipe, dtype: torch.dtype, name: str) -> BuiltTensor:
    if recipe.sample not in SAMPLES or len(recipe.shape) < 2:
        raise TensorRecipeError(
            "An image tensor needs a sample photo and a shape ending in height, width "
            "(e.g. 32, 48).",
            key="tensors.image_shape",
        )
    height, width = recipe.shape[-2:]
    check_size((3, height, width), dtype)
    if height == 0 or width == 0:
        raise TensorRecipeError(
            "An image tensor needs a height and width of at least 1.", key="tensors.image_shape"
        )
    image = load_sample(recipe.sample).resize((width, height), Image.Resampling.BILINEAR)
    tensor = _torch(lambda: pil_to_tensor(image).to(dtype))
    path = sample_path(recipe.sample).name  # the file the page names, beside the script
    code = (
        "from PIL import Image\n"
        "from torchvision.transforms.v2.functional import pil_to_tensor\n\n"
        f'image = Image.open("{path}").convert("RGB")\n'
        f"image = image.resize(({width}, {height}), Image.Resampling.BILINEAR)\n"
        f"{name} = pil_to_tensor(image).to(torch.{recipe.dtype})  # (3, H, W)"
    )
    return BuiltTensor(tensor, code)
