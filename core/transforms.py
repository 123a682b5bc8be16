"""A catalogue of `torchvision.transforms.v2` transforms, and pipelines built from it.

Each transform is described once, as data (`CATALOGUE`): its v2 class and the parameters the
studio offers, with their kind, default and bounds. Widgets, validation, JSON and exported code
all read that table. A pipeline is a tuple of `Step(name, params)`; `build` turns it into the
`v2.Compose` it stands for, and `draw` applies it with a seed while recording the random
parameters each transform drew (through the transform's own `make_params`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Literal

import torch
from PIL import Image
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as F

# torchvision's private bases: how a transform skips a draw (p) and picks augmentation ops.
from torchvision.transforms.v2._auto_augment import _AutoAugmentBase
from torchvision.transforms.v2._transform import _RandomApplyTransform

from core import config
from core.errors import PlaygroundError

ParamKind = Literal["int", "float", "range", "choice", "bool", "sequence"]
Input = Literal["any", "tensor", "float"]  # what a transform needs to act on its input

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)

HISTOGRAM_BINS = 64
_RECORDED_TENSOR_ELEMENTS = 16  # larger drawn tensors are summarised by their shape

# torch's global generator drives every v2 transform; one draw at a time keeps seeds honest.
_RNG_LOCK = threading.Lock()


class TransformError(PlaygroundError, ValueError):
    """A pipeline the studio cannot build or apply; the message says which step and why."""

    key = "transforms.invalid"


@dataclasses.dataclass(frozen=True)
class Option:
    """One choice of a `choice` parameter: the Python value and how code spells it."""

    value: Any
    code: str


@dataclasses.dataclass(frozen=True)
class Param:
    """One constructor argument of a transform, as the studio offers it.

    Attributes:
        name: the keyword argument of the v2 class.
        kind: int, float, range (a (low, high) pair), choice, bool or sequence (fixed length).
        default: the studio's default, JSON-shaped (a list for range and sequence).
        low, high: bounds for widgets and validation (numbers only).
        step: widget step for numbers.
        options: for `choice`, option name -> `Option`.
        length: for `sequence`, how many numbers.
        help: help-text name when the parameter name means different things elsewhere.
    """

    name: str
    kind: ParamKind
    default: Any
    low: float | None = None
    high: float | None = None
    step: float | None = None
    options: Mapping[str, Option] | None = None
    length: int | None = None
    help: str | None = None

    @property
    def help_key(self) -> str:
        """Locale key of this parameter's help text: `help`, else the name (shared by the
        transforms that give a name the same meaning)."""
        return f"transforms.param_help.{self.help or self.name}"


@dataclasses.dataclass(frozen=True)
class TransformSpec:
    """A catalogue entry: the v2 class and the parameters the studio exposes.

    Attributes:
        name: the v2 class name, also the step name in JSON.
        cls: the v2 class.
        params: the exposed parameters; the rest keep torchvision's defaults.
        group: catalogue section (geometry, color, auto, tensor).
        needs: `any` input, a `tensor`, or a `float` tensor (Normalize).
    """

    name: str
    cls: type[v2.Transform]
    params: tuple[Param, ...] = ()
    group: str = "geometry"
    needs: Input = "any"

    @property
    def about_key(self) -> str:
        """Locale key of this transform's one-line description."""
        return f"transforms.about.{self.name}"


@dataclasses.dataclass(frozen=True)
class Step:
    """One transform of a pipeline: a catalogue name and its parameter values (JSON-shaped)."""

    name: str
    params: Mapping[str, Any]


Pipeline = tuple[Step, ...]


def _options(**values: tuple[Any, str]) -> dict[str, Option]:
    return {name: Option(value, code) for name, (value, code) in values.items()}


_MODES = v2.InterpolationMode
INTERPOLATIONS = _options(
    nearest=(_MODES.NEAREST, "v2.InterpolationMode.NEAREST"),
    bilinear=(_MODES.BILINEAR, "v2.InterpolationMode.BILINEAR"),
    bicubic=(_MODES.BICUBIC, "v2.InterpolationMode.BICUBIC"),
)
DTYPES = _options(
    float32=(torch.float32, "torch.float32"),
    float64=(torch.float64, "torch.float64"),
    float16=(torch.float16, "torch.float16"),
    uint8=(torch.uint8, "torch.uint8"),
)
POLICIES = _options(
    imagenet=(v2.AutoAugmentPolicy.IMAGENET, "v2.AutoAugmentPolicy.IMAGENET"),
    cifar10=(v2.AutoAugmentPolicy.CIFAR10, "v2.AutoAugmentPolicy.CIFAR10"),
    svhn=(v2.AutoAugmentPolicy.SVHN, "v2.AutoAugmentPolicy.SVHN"),
)
PADDING_MODES = _options(
    constant=("constant", "'constant'"),
    edge=("edge", "'edge'"),
    reflect=("reflect", "'reflect'"),
    symmetric=("symmetric", "'symmetric'"),
)


def _p(default: float = 0.5) -> Param:
    return Param("p", "float", default, 0.0, 1.0, 0.05)


def _interpolation(default: str) -> Param:
    return Param("interpolation", "choice", default, options=INTERPOLATIONS)


def _size(default: int) -> Param:
    return Param("size", "int", default, 1, config.MAX_SOURCE_SIDE, 1)


_FACTOR = {"low": 0.0, "high": 3.0, "step": 0.05}

_SPECS = (
    TransformSpec(
        "Resize",
        v2.Resize,
        (_size(256), _interpolation("bilinear"), Param("antialias", "bool", True)),
    ),
    TransformSpec("CenterCrop", v2.CenterCrop, (_size(224),)),
    TransformSpec(
        "RandomCrop",
        v2.RandomCrop,
        (
            _size(224),
            Param("padding", "int", 0, 0, 128, 1),
            Param("pad_if_needed", "bool", False),
            Param("padding_mode", "choice", "constant", options=PADDING_MODES),
        ),
    ),
    TransformSpec(
        "RandomResizedCrop",
        v2.RandomResizedCrop,
        (
            _size(224),
            Param("scale", "range", [0.08, 1.0], 0.01, 1.0, 0.01),
            Param("ratio", "range", [0.75, 1.33], 0.1, 10.0, 0.01),
            _interpolation("bilinear"),
            Param("antialias", "bool", True),
        ),
    ),
    TransformSpec("RandomHorizontalFlip", v2.RandomHorizontalFlip, (_p(),)),
    TransformSpec("RandomVerticalFlip", v2.RandomVerticalFlip, (_p(),)),
    TransformSpec(
        "RandomRotation",
        v2.RandomRotation,
        (
            Param("degrees", "range", [-30.0, 30.0], -180.0, 180.0, 1.0),
            _interpolation("nearest"),
            Param("expand", "bool", False),
        ),
    ),
    TransformSpec(
        "RandomAffine",
        v2.RandomAffine,
        (
            Param("degrees", "range", [-15.0, 15.0], -180.0, 180.0, 1.0),
            Param("translate", "sequence", [0.1, 0.1], 0.0, 1.0, 0.01, length=2),
            Param("scale", "range", [0.9, 1.1], 0.1, 3.0, 0.05, help="zoom"),
            Param("shear", "range", [0.0, 0.0], -45.0, 45.0, 1.0),
            _interpolation("nearest"),
        ),
    ),
    TransformSpec(
        "RandomPerspective",
        v2.RandomPerspective,
        (
            Param("distortion_scale", "float", 0.5, 0.0, 1.0, 0.05),
            _p(),
            _interpolation("bilinear"),
        ),
    ),
    TransformSpec(
        "ColorJitter",
        v2.ColorJitter,
        (
            Param("brightness", "range", [0.6, 1.4], **_FACTOR),
            Param("contrast", "range", [0.6, 1.4], **_FACTOR),
            Param("saturation", "range", [0.6, 1.4], **_FACTOR),
            Param("hue", "range", [0.0, 0.0], -0.5, 0.5, 0.01),
        ),
        group="color",
    ),
    TransformSpec(
        "Grayscale",
        v2.Grayscale,
        (Param("num_output_channels", "int", 3, 1, 3, 1),),
        group="color",
    ),
    TransformSpec("RandomGrayscale", v2.RandomGrayscale, (_p(0.1),), group="color"),
    TransformSpec(
        "GaussianBlur",
        v2.GaussianBlur,
        (
            Param("kernel_size", "int", 9, 1, 51, 1),
            Param("sigma", "range", [0.1, 2.0], 0.01, 20.0, 0.01),
        ),
        group="color",
    ),
    TransformSpec("RandomInvert", v2.RandomInvert, (_p(),), group="color"),
    TransformSpec(
        "RandomPosterize",
        v2.RandomPosterize,
        (Param("bits", "int", 4, 1, 8, 1), _p()),
        group="color",
    ),
    TransformSpec(
        "RandomSolarize",
        v2.RandomSolarize,
        (Param("threshold", "float", 128.0, 0.0, 255.0, 1.0), _p()),
        group="color",
    ),
    TransformSpec("RandomAutocontrast", v2.RandomAutocontrast, (_p(),), group="color"),
    TransformSpec("RandomEqualize", v2.RandomEqualize, (_p(),), group="color"),
    TransformSpec(
        "AutoAugment",
        v2.AutoAugment,
        (Param("policy", "choice", "imagenet", options=POLICIES), _interpolation("nearest")),
        group="auto",
    ),
    TransformSpec(
        "RandAugment",
        v2.RandAugment,
        (
            Param("num_ops", "int", 2, 0, 10, 1),
            Param("magnitude", "int", 9, 0, 30, 1),
            Param("num_magnitude_bins", "int", 31, 2, 100, 1),
            _interpolation("nearest"),
        ),
        group="auto",
    ),
    TransformSpec(
        "TrivialAugmentWide",
        v2.TrivialAugmentWide,
        (Param("num_magnitude_bins", "int", 31, 2, 100, 1), _interpolation("nearest")),
        group="auto",
    ),
    TransformSpec(
        "AugMix",
        v2.AugMix,
        (
            Param("severity", "int", 3, 1, 10, 1),
            Param("mixture_width", "int", 3, 1, 10, 1),
            Param("chain_depth", "int", -1, -1, 10, 1),
            Param("alpha", "float", 1.0, 0.01, 10.0, 0.05),
            Param("all_ops", "bool", True),
            _interpolation("bilinear"),
        ),
        group="auto",
    ),
    TransformSpec("ToImage", v2.ToImage, group="tensor"),
    TransformSpec(
        "ToDtype",
        v2.ToDtype,
        (
            Param("dtype", "choice", "float32", options=DTYPES),
            Param("scale", "bool", True, help="rescale"),
        ),
        group="tensor",
    ),
    TransformSpec(
        "Normalize",
        v2.Normalize,
        (
            Param("mean", "sequence", list(IMAGENET_MEAN), -10.0, 10.0, 0.001, length=3),
            Param("std", "sequence", list(IMAGENET_STD), 0.0, 10.0, 0.001, length=3),
        ),
        group="tensor",
        needs="float",
    ),
    TransformSpec(
        "RandomErasing",
        v2.RandomErasing,
        (
            _p(),
            Param("scale", "range", [0.02, 0.33], 0.0, 1.0, 0.01),
            Param("ratio", "range", [0.3, 3.3], 0.1, 10.0, 0.1),
            Param("value", "float", 0.0, -10.0, 255.0, 0.1, help="erase_value"),
        ),
        group="tensor",
        needs="tensor",
    ),
)
CATALOGUE: dict[str, TransformSpec] = {spec.name: spec for spec in _SPECS}
GROUPS = ("geometry", "color", "auto", "tensor")


# --- pipelines: defaults, validation, building ---------------------------------------------


def _spec(name: str) -> TransformSpec:
    if name not in CATALOGUE:
        raise TransformError(
            f"{name!r} is not in the catalogue. Pick one of: {', '.join(CATALOGUE)}.",
            key="transforms.unknown_transform",
            transform=str(name),
        )
    return CATALOGUE[name]


def _copy(value: Any) -> Any:
    return list(value) if isinstance(value, list | tuple) else value


def default_step(name: str) -> Step:
    """A step of transform `name` with the studio's default parameters.

    Raises:
        TransformError: `name` is not in the catalogue.
    """
    spec = _spec(name)
    return Step(name, {param.name: _copy(param.default) for param in spec.params})


def validate(steps: Sequence[Mapping[str, Any] | Step]) -> Pipeline:
    """A pipeline from raw steps (`{"name": ..., "params": {...}}` or `Step`s), every value
    checked against the catalogue and missing values filled with defaults.

    Raises:
        TransformError: too many steps, an unknown transform or parameter, or a value of the
            wrong kind or outside the parameter's bounds.
    """
    if len(steps) > config.MAX_PIPELINE_STEPS:
        raise TransformError(
            f"A pipeline holds at most {config.MAX_PIPELINE_STEPS} steps; remove some.",
            key="transforms.too_many_steps",
            limit=config.MAX_PIPELINE_STEPS,
        )
    return tuple(_validate_step(raw, position) for position, raw in enumerate(steps, start=1))


def _validate_step(raw: Mapping[str, Any] | Step, position: int) -> Step:
    if isinstance(raw, Step):
        name, values = raw.name, raw.params
    elif isinstance(raw, Mapping) and isinstance(raw.get("name"), str):
        name, values = raw["name"], raw.get("params", {})
    else:
        raise TransformError(
            f"Step {position} is not an object with a transform name.",
            key="transforms.bad_json",
            reason=f"step {position} has no name",
        )
    spec = _spec(name)
    if not isinstance(values, Mapping):
        raise TransformError(
            f"The parameters of step {position} ({name}) are not an object.",
            key="transforms.bad_json",
            reason=f"step {position} params is not an object",
        )
    known = {param.name: param for param in spec.params}
    for unknown in set(values) - set(known):
        raise TransformError(
            f"{name} has no parameter {unknown!r} here. Known: {', '.join(known) or 'none'}.",
            key="transforms.unknown_param",
            transform=name,
            param=unknown,
            known=", ".join(known) or "—",
        )
    params = {
        param.name: _check_value(name, param, values.get(param.name, _copy(param.default)))
        for param in spec.params
    }
    return Step(name, params)


def _check_value(transform: str, param: Param, value: Any) -> Any:
    """The JSON-shaped value, coerced to the parameter's kind and inside its bounds."""

    def wrong(expected: str) -> TransformError:
        return TransformError(
            f"{transform}.{param.name} must be {expected}, got {value!r}.",
            key="transforms.bad_value",
            transform=transform,
            param=param.name,
            expected=expected,
            value=repr(value),
        )

    if param.kind == "bool":
        if not isinstance(value, bool):
            raise wrong("true or false")
        return value
    if param.kind == "choice":
        assert param.options is not None
        if value not in param.options:
            raise wrong("one of " + ", ".join(param.options))
        return value
    if param.kind in ("int", "float"):
        number = _number(value, integer=param.kind == "int")
        if number is None:
            raise wrong("an integer" if param.kind == "int" else "a number")
        return _in_bounds(transform, param, number)
    length = 2 if param.kind == "range" else param.length
    if not isinstance(value, list | tuple) or len(value) != length:
        raise wrong(f"a list of {length} numbers")
    numbers = [_number(item, integer=False) for item in value]
    if any(number is None for number in numbers):
        raise wrong(f"a list of {length} numbers")
    if param.kind == "range" and numbers[0] > numbers[1]:
        raise wrong("a [low, high] pair with low ≤ high")
    return [_in_bounds(transform, param, number) for number in numbers]


def _number(value: Any, *, integer: bool) -> float | int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not math.isfinite(value):
        return None
    if integer:
        return int(value) if float(value).is_integer() else None
    return float(value)


def _in_bounds(transform: str, param: Param, number: float) -> float:
    if (param.low is not None and number < param.low) or (
        param.high is not None and number > param.high
    ):
        raise TransformError(
            f"{transform}.{param.name} must lie between {param.low:g} and {param.high:g}, "
            f"got {number:g}.",
            key="transforms.out_of_range",
            transform=transform,
            param=param.name,
            low=f"{param.low:g}",
            high=f"{param.high:g}",
            value=f"{number:g}",
        )
    return number


def build_step(step: Step, *, position: int = 1) -> v2.Transform:
    """The v2 transform for one step (validated first).

    Raises:
        TransformError: invalid values, including those the transform itself refuses (its
            own message is kept as `reason`).
    """
    step = _validate_step(step, position)
    spec = CATALOGUE[step.name]
    arguments = {param.name: _python_value(param, step.params[param.name]) for param in spec.params}
    try:
        return spec.cls(**arguments)
    except (ValueError, TypeError) as error:
        raise TransformError(
            f"Step {position}, {step.name}, refused these settings: {error}",
            key="transforms.rejected",
            position=position,
            transform=step.name,
            reason=str(error),
        ) from error


def build(pipeline: Sequence[Step]) -> v2.Compose:
    """The `v2.Compose` a pipeline stands for.

    Raises:
        TransformError: see `validate` and `build_step`.
    """
    # v2.Compose refuses an empty list; an empty pipeline passes its input through.
    return v2.Compose(_build_steps(pipeline) or [v2.Identity()])


def _build_steps(pipeline: Sequence[Step]) -> list[v2.Transform]:
    pipeline = validate(pipeline)
    return [build_step(step, position=index) for index, step in enumerate(pipeline, start=1)]


def _python_value(param: Param, value: Any) -> Any:
    if param.kind == "choice":
        assert param.options is not None
        return param.options[value].value
    if param.kind == "range":
        return tuple(value)
    return value


# --- JSON and code ---------------------------------------------------------------------------


def to_json(pipeline: Sequence[Step], *, indent: int | None = None) -> str:
    """The pipeline as JSON: `[{"name": "Resize", "params": {"size": 256, ...}}, ...]`;
    compact (for URLs) unless `indent` is given."""
    data = [{"name": step.name, "params": dict(step.params)} for step in pipeline]
    separators = (",", ":") if indent is None else None
    return json.dumps(data, indent=indent, separators=separators, ensure_ascii=False)


def from_json(text: str | bytes) -> Pipeline:
    """The pipeline in `text` (as written by `to_json`), validated.

    Raises:
        TransformError: not JSON, not a list of steps, or invalid steps.
    """
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError) as error:
        raise TransformError(
            f"This is not a pipeline file (invalid JSON: {error}).",
            key="transforms.bad_json",
            reason=str(error),
        ) from error
    if not isinstance(data, list):
        raise TransformError(
            "A pipeline file holds a JSON list of steps.",
            key="transforms.bad_json",
            reason=f"expected a list, got {type(data).__name__}",
        )
    return validate(data)


def code_value(param: Param, value: Any) -> str:
    """A parameter value as Python source, e.g. `InterpolationMode.BILINEAR` or `(0.08, 1.0)`."""
    if param.kind == "choice":
        assert param.options is not None
        return param.options[value].code
    if param.kind == "range":
        return f"({value[0]!r}, {value[1]!r})"
    if param.kind == "sequence":
        return "[" + ", ".join(repr(item) for item in value) + "]"
    return repr(value)


# --- presets ---------------------------------------------------------------------------------


def _with(name: str, **params: Any) -> Step:
    step = default_step(name)
    return Step(name, {**step.params, **params})


def _to_float(mean: Sequence[float], std: Sequence[float]) -> tuple[Step, ...]:
    # ToImage + ToDtype(float32, scale=True) is v2's spelling of the classic ToTensor().
    return (
        default_step("ToImage"),
        _with("ToDtype", dtype="float32", scale=True),
        _with("Normalize", mean=list(mean), std=list(std)),
    )


PRESETS: dict[str, Pipeline] = {
    "classic_eval": (
        _with("Resize", size=256),
        _with("CenterCrop", size=224),
        *_to_float(IMAGENET_MEAN, IMAGENET_STD),
    ),
    "cifar10_train": (
        _with("RandomCrop", size=32, padding=4),
        _with("RandomHorizontalFlip", p=0.5),
        *_to_float(CIFAR10_MEAN, CIFAR10_STD),
    ),
    "imagenet_train": (
        _with("RandomResizedCrop", size=224),
        _with("RandomHorizontalFlip", p=0.5),
        *_to_float(IMAGENET_MEAN, IMAGENET_STD),
    ),
    "autoaugment": (
        _with("RandomResizedCrop", size=224),
        _with("RandomHorizontalFlip", p=0.5),
        _with("AutoAugment", policy="imagenet"),
        *_to_float(IMAGENET_MEAN, IMAGENET_STD),
    ),
}
DEFAULT_PRESET = "imagenet_train"


# --- drawing ---------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class StepDraw:
    """What one step did in one draw.

    Attributes:
        name: the transform.
        applied: False when a random-apply transform (p < 1) skipped this draw.
        values: the random parameters it drew, as plain numbers and lists ({} when it draws
            none, or when torchvision does not expose them).
        may_skip: the transform applies only with probability p.
    """

    name: str
    applied: bool
    values: Mapping[str, Any]
    may_skip: bool = False


@dataclasses.dataclass(frozen=True)
class Draw:
    """One application of the pipeline.

    Attributes:
        seed: `torch.manual_seed(seed)` before applying reproduces it.
        output: what the pipeline returned: a PIL image or a (C, H, W) tensor.
        steps: one `StepDraw` per step, in order.
    """

    seed: int
    output: Any
    steps: tuple[StepDraw, ...]


def draw(image: Image.Image, pipeline: Sequence[Step], *, seed: int, count: int = 1) -> list[Draw]:
    """Apply the pipeline `count` times, draw i after `torch.manual_seed(seed + i)`.

    Args:
        image: RGB input.
        pipeline: the steps (validated and built here).
        seed: seed of the first draw.
        count: how many draws, 1..`config.MAX_DRAWS`.

    Returns:
        One `Draw` per seed; the same seed always gives the same output.

    Raises:
        TransformError: the pipeline is invalid or a step fails on its input (the message
            explains the usual fix, e.g. ToImage before Normalize).
    """
    count = max(1, min(count, config.MAX_DRAWS))
    pipeline = validate(pipeline)
    built = _build_steps(pipeline)
    draws = []
    with _RNG_LOCK, torch.random.fork_rng(devices=[]):
        for index in range(count):
            torch.manual_seed(seed + index)
            steps = list(_run(image, built, pipeline))
            output = steps[-1][0] if steps else image
            draws.append(Draw(seed + index, output, tuple(record for _, record in steps)))
    return draws


def _run(
    image: Any, built: list[v2.Transform], pipeline: Pipeline
) -> Iterator[tuple[Any, StepDraw]]:
    """Apply each built transform in turn (exactly what their `v2.Compose` does), yielding
    each output and what the transform drew."""
    output = image
    for position, (transform, step) in enumerate(zip(built, pipeline, strict=True), start=1):
        with _recording(transform) as drawn:
            try:
                output = transform(output)
            except (ValueError, TypeError, RuntimeError) as error:
                raise _explain(error, name=step.name, position=position, value=output) from error
        may_skip = isinstance(transform, _RandomApplyTransform)
        yield output, StepDraw(step.name, not may_skip or bool(drawn), _merge(drawn), may_skip)


@contextlib.contextmanager
def _recording(transform: v2.Transform) -> Iterator[list[dict[str, Any]]]:
    """Within the block, every `make_params` call of `transform` (and every augmentation op an
    AutoAugment-style transform picks) appends what it drew to the yielded list."""
    drawn: list[dict[str, Any]] = []
    make_params = transform.make_params

    def recorded_make_params(flat_inputs: list[Any]) -> dict[str, Any]:
        params = make_params(flat_inputs)
        drawn.append(params)
        return params

    patches: dict[str, Callable[..., Any]] = {"make_params": recorded_make_params}
    if isinstance(transform, _AutoAugmentBase):
        apply_op = transform._apply_image_or_video_transform

        def recorded_op(image: Any, transform_id: str, magnitude: float, **kwargs: Any) -> Any:
            drawn.append({"op": transform_id, "magnitude": magnitude})
            return apply_op(image, transform_id, magnitude, **kwargs)

        patches["_apply_image_or_video_transform"] = recorded_op
    for attribute, function in patches.items():
        object.__setattr__(transform, attribute, function)
    try:
        yield drawn
    finally:
        for attribute in patches:
            transform.__dict__.pop(attribute, None)


def _merge(drawn: list[dict[str, Any]]) -> dict[str, Any]:
    """The recorded parameters as plain values; auto-augment ops become one `ops` list."""
    ops = [f"{item['op']} {item['magnitude']:.3g}" for item in drawn if "op" in item]
    values: dict[str, Any] = {}
    for item in drawn:
        if "op" not in item:
            # None marks a factor the transform was told not to draw (e.g. hue=(0, 0)).
            values.update({key: _plain(value) for key, value in item.items() if value is not None})
    if ops:
        values["ops"] = ops
    return values


def _plain(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        if value.numel() > _RECORDED_TENSOR_ELEMENTS:
            return f"tensor{tuple(value.shape)}"
        value = value.tolist()
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, int | bool | str) or value is None:
        return value
    return str(value)


def _explain(error: Exception, *, name: str, position: int, value: Any) -> TransformError:
    """The transform's own error, with the usual fix named."""
    message = str(error)
    common = {"transform": name, "position": position, "reason": message}
    if isinstance(value, Image.Image) and "PIL" in message:
        return TransformError(
            f"Step {position}, {name}, needs a tensor but got a PIL image ({message}). "
            "Add ToImage and ToDtype(float32, scale=True) before it.",
            key="transforms.needs_tensor",
            **common,
        )
    if "float tensor" in message:
        return TransformError(
            f"Step {position}, {name}, needs a float tensor ({message}). "
            "Add ToDtype(float32, scale=True) before it.",
            key="transforms.needs_float",
            **common,
        )
    if "larger than input image size" in message:
        return TransformError(
            f"Step {position}, {name}: the crop is larger than the image ({message}). "
            "Lower its size, add padding, or resize first.",
            key="transforms.crop_too_large",
            **common,
        )
    return TransformError(
        f"Step {position}, {name}, failed on its input: {message}",
        key="transforms.apply_failed",
        **common,
    )


# --- looking at outputs ----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ChannelHistogram:
    """Value counts of each channel over the same bins.

    Attributes:
        edges: `bins + 1` bin edges.
        counts: one list of `bins` counts per channel.
    """

    edges: tuple[float, ...]
    counts: tuple[tuple[int, ...], ...]


@dataclasses.dataclass(frozen=True)
class StepOutput:
    """What came out of one step of one draw.

    Attributes:
        name: the transform.
        is_tensor: False for a PIL image.
        dtype: e.g. "torch.float32", or the PIL mode such as "PIL RGB".
        shape: (C, H, W) for tensors and PIL images alike.
        low, high, mean: value range and mean (0..255 for PIL images).
        histogram: per-channel histogram for tensors, None for PIL images.
        preview: the output made viewable (see `to_display`), when `trace` was asked for it.
    """

    name: str
    is_tensor: bool
    dtype: str
    shape: tuple[int, ...]
    low: float
    high: float
    mean: float
    histogram: ChannelHistogram | None
    preview: Image.Image | None = None


def trace(
    image: Image.Image, pipeline: Sequence[Step], *, seed: int, preview_side: int | None = None
) -> list[StepOutput]:
    """Re-run the draw of `seed` step by step and describe every intermediate output.

    Args:
        image: RGB input.
        pipeline: the steps.
        seed: the draw's seed (`Draw.seed`).
        preview_side: when given, each output also comes as a viewable image at most this
            many pixels on its longer side.

    Raises:
        TransformError: as `draw`.
    """
    pipeline = validate(pipeline)
    built = _build_steps(pipeline)
    outputs = []
    with _RNG_LOCK, torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for position, (output, record) in enumerate(_run(image, built, pipeline), start=1):
            described = describe(output, name=record.name)
            if preview_side is not None:
                shown = fit_source(to_display(output, pipeline[:position]), max_side=preview_side)
                described = dataclasses.replace(described, preview=shown)
            outputs.append(described)
    return outputs


def describe(value: Any, *, name: str = "") -> StepOutput:
    """Dtype, shape, range and (for tensors) per-channel histogram of an image or tensor.

    Args:
        value: a PIL image or a (C, H, W) tensor.
    """
    if isinstance(value, Image.Image):
        samples = F.pil_to_tensor(value)
        return StepOutput(
            name,
            False,
            f"PIL {value.mode}",
            tuple(samples.shape),
            float(samples.min()),
            float(samples.max()),
            float(samples.float().mean()),
            None,
        )
    tensor = value.as_subclass(torch.Tensor).detach()
    values = tensor.float()
    return StepOutput(
        name,
        True,
        str(tensor.dtype),
        tuple(tensor.shape),
        float(values.min()),
        float(values.max()),
        float(values.mean()),
        channel_histograms(values),
    )


def channel_histograms(tensor: torch.Tensor, *, bins: int = HISTOGRAM_BINS) -> ChannelHistogram:
    """Histogram of each channel of `tensor` (C, H, W), all over the tensor's own range."""
    low, high = float(tensor.min()), float(tensor.max())
    if high <= low:
        high = low + 1.0
    counts = tuple(
        tuple(int(count) for count in torch.histc(channel.float(), bins=bins, min=low, max=high))
        for channel in tensor.reshape(tensor.shape[0], -1)
    )
    edges = tuple(low + (high - low) * index / bins for index in range(bins + 1))
    return ChannelHistogram(edges, counts)


def to_display(value: Any, pipeline: Sequence[Step]) -> Image.Image:
    """A viewable RGB or L image of a pipeline output, with every Normalize of `pipeline`
    undone (x * std + mean, last one first) and float values clamped to [0, 1].

    Args:
        value: a PIL image or a (C, H, W) tensor that came out of `pipeline`.
        pipeline: the steps that produced `value` (only its Normalize steps are read).
    """
    if isinstance(value, Image.Image):
        return value
    tensor = value.as_subclass(torch.Tensor).detach()
    if tensor.is_floating_point():
        tensor = tensor.float()
        for step in reversed([step for step in pipeline if step.name == "Normalize"]):
            mean = torch.tensor(step.params["mean"]).view(-1, 1, 1)
            std = torch.tensor(step.params["std"]).view(-1, 1, 1)
            if mean.shape[0] == tensor.shape[0]:
                tensor = tensor * std + mean
        tensor = tensor.clamp(0.0, 1.0)
    elif tensor.dtype != torch.uint8:
        tensor = tensor.clamp(0, 255).to(torch.uint8)
    return F.to_pil_image(tensor)


def fit_source(image: Image.Image, *, max_side: int = config.MAX_SOURCE_SIDE) -> Image.Image:
    """`image` shrunk (keeping its aspect) so that its longer side is at most `max_side`."""
    if max(image.size) <= max_side:
        return image
    shrunk = image.copy()
    shrunk.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return shrunk
