"""Widgets and views of the tensor playground: the recipe form, tensors drawn as tables and
heatmaps with highlighted cells, the metadata panel, and page state kept in the URL."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st
import torch

from core import samples
from core.errors import PlaygroundError
from core.indexing import (
    DimensionControl,
    ParsedIndex,
    controls_from_index,
    index_from_controls,
    parse_index,
)
from core.tensor_ops import BroadcastStep
from core.tensors import DTYPES, FACTORIES, TensorRecipe, describe, format_shape, parse_shape
from ui import i18n
from ui.i18n import t

URL_PREFIX = "t_"  # every query parameter of this page starts with it; `lang` is left alone
MAX_TABLE_SIDE = 16  # cells per side of a numbers table
MAX_HEATMAP_SIDE = 200  # cells per side of a heatmap
MAX_SLICES = 8  # 2-D slices drawn for a 3-D+ tensor
MAX_PIECES = 8  # pieces of a split drawn one by one
MAX_OUTLINED_CELLS = 1_600  # beyond this, selected heatmap cells are tinted, not outlined
HIGHLIGHT = "#ffd54f"
PALETTE = ("#90caf9", "#ffcc80", "#a5d6a7", "#ce93d8", "#ef9a9a", "#80cbc4", "#fff59d", "#bcaaa4")

_OUTLINE = {"symbol": "square-open", "size": 14, "color": "#EE4C2C", "line": {"width": 3}}
_CATEGORY_SCALE = [[number / (len(PALETTE) - 1), color] for number, color in enumerate(PALETTE)]
_URL_STATE = "tensors_url_values"  # filled while the page runs, written to the URL at the end
_URL_USED = "tensors_url_used"  # parameters already read from the link


# ---------------------------------------------------------------------------------------------
# State in the URL.


def keep_widget_state(*, skip: tuple[str, ...] = ()) -> None:
    """Keep the values of this page's widgets that are not drawn in this run (another section
    is open): Streamlit drops a widget's state when it is not drawn, unless it is set anew."""
    for key in list(st.session_state):
        # Download buttons ("tensors_code_*") hold no value and refuse assignment.
        if key.startswith("tensors_") and not key.startswith("tensors_code_") and key not in skip:
            st.session_state[key] = st.session_state[key]


def bind(key: str, param: str, default: Any, read: Callable[[str], Any] = str) -> None:
    """Give widget `key` its value from `?t_<param>=` (else `default`) unless it has one.

    The link is read once per parameter and session: later it is what the page wrote.
    """
    if key in st.session_state:
        return
    used = st.session_state.setdefault(_URL_USED, set())
    text = None if param in used else st.query_params.get(URL_PREFIX + param)
    used.add(param)
    value = default
    if text is not None:
        try:
            value = read(text)
        except (ValueError, TypeError):
            value = default  # a mangled link keeps the default
    st.session_state[key] = value


def remember(param: str, value: Any, default: Any) -> None:
    """Put `value` in the link as `t_<param>` (dropped when it equals the default)."""
    if value != default and value is not None:
        st.session_state.setdefault(_URL_STATE, {})[URL_PREFIX + param] = str(value)


def write_url() -> None:
    """Replace this page's `t_*` query parameters with the remembered ones; others stay."""
    values = st.session_state.pop(_URL_STATE, {})
    for name in [name for name in st.query_params if name.startswith(URL_PREFIX)]:
        if name not in values:
            del st.query_params[name]
    for name, value in values.items():
        if st.query_params.get(name) != value:
            st.query_params[name] = value


def read_bool(text: str) -> bool:
    return text in ("1", "true", "True")


def choice(options: tuple[Any, ...], *, read: Callable[[str], Any] = str) -> Callable[[str], Any]:
    """A reader of a link value that must be one of `options` (else ValueError)."""

    def read_choice(text: str) -> Any:
        value = read(text)
        if value not in options:
            raise ValueError(text)
        return value

    return read_choice


# ---------------------------------------------------------------------------------------------
# Operation controls (one set of keys per section, one set of link parameters for all).


def op_select(section: str, ops: tuple[str, ...]) -> str:
    key = f"tensors_{section}_op"
    bind(key, "op", ops[0], choice(ops))
    op = st.selectbox(t("tensors.operation"), ops, key=key)
    remember("op", op, ops[0])
    return op


def dim_input(section: str, ndim: int) -> int:
    key, dims = f"tensors_{section}_dim", tuple(range(max(ndim, 1)))
    if st.session_state.get(key) not in (None, *dims):
        del st.session_state[key]  # the tensor lost that dimension
    bind(key, "dim", 0, choice(dims, read=int))
    dim = st.selectbox(t("tensors.dim"), dims, key=key)
    remember("dim", dim, 0)
    return dim


def args_input(section: str, op: str, default: str) -> str:
    key = f"tensors_{section}_args_{op}"
    bind(key, "args", default)
    text = st.text_input(t(f"tensors.args_{op}"), key=key)
    remember("args", text, default)
    return text


# ---------------------------------------------------------------------------------------------
# Per-dimension index controls; the expression in `tensors_index` is the source of truth.

INDEX_KEY = "tensors_index"
_PARTS = ("start", "stop", "step")


def parse_for_controls(
    expression: str, ndim: int
) -> tuple[ParsedIndex | None, tuple[DimensionControl, ...] | None]:
    """The parsed expression (None when it is refused) and the controls it maps onto (None
    when it holds more than ints and slices)."""
    try:
        parsed = parse_index(expression)
    except PlaygroundError:
        return None, None
    return parsed, controls_from_index(parsed, ndim)


def sync_controls(controls: tuple[DimensionControl, ...] | None) -> None:
    """Set the per-dimension controls from the parsed expression, before they are drawn."""
    if controls is None:
        return
    for dim, control in enumerate(controls):
        st.session_state[f"tensors_dim{dim}_mode"] = control.mode
        st.session_state[f"tensors_dim{dim}_index"] = control.index
        for part in _PARTS:
            st.session_state[f"tensors_dim{dim}_{part}"] = getattr(control, part)


def _controls_changed(ndim: int) -> None:
    controls = []
    for dim in range(ndim):
        state = st.session_state
        parts = {part: state.get(f"tensors_dim{dim}_{part}") for part in _PARTS}
        controls.append(
            DimensionControl(
                state.get(f"tensors_dim{dim}_mode", "slice"),
                index=int(state.get(f"tensors_dim{dim}_index") or 0),
                **{part: None if value is None else int(value) for part, value in parts.items()},
            )
        )
    st.session_state[INDEX_KEY] = index_from_controls(tuple(controls)).source()


def dimension_controls(tensor: torch.Tensor) -> None:
    """One row per dimension: pick an index, or slice with start / stop / step. Each change
    rewrites the expression."""
    ndim = tensor.dim()
    for dim in range(ndim):
        columns = st.columns([2, 1, 1, 1])
        mode = columns[0].segmented_control(
            t("tensors.dim_label", dim=dim, size=tensor.shape[dim]),
            ("slice", "index"),
            key=f"tensors_dim{dim}_mode",
            format_func=lambda mode: t(f"tensors.mode_{mode}"),
            on_change=_controls_changed,
            args=(ndim,),
        )
        if mode == "index":
            columns[1].number_input(
                t("tensors.index_position"),
                key=f"tensors_dim{dim}_index",
                step=1,
                on_change=_controls_changed,
                args=(ndim,),
            )
            continue
        for column, part in zip(columns[1:], _PARTS, strict=True):
            column.number_input(
                t(f"tensors.{part}"),
                key=f"tensors_dim{dim}_{part}",
                value=None,
                step=1,
                placeholder=t("tensors.none"),
                on_change=_controls_changed,
                args=(ndim,),
            )


def format_tensor(tensor: torch.Tensor) -> str:
    if tensor.dim() == 0:
        return f"{tensor.item():.4g}"
    return "[" + ", ".join(f"{value:.4g}" for value in tensor.reshape(-1).tolist()) + "]"


def first_element(tensor: torch.Tensor) -> torch.Tensor:
    """A bool mask of `tensor`'s shape, True at its first element only."""
    mask = torch.zeros(tensor.numel(), dtype=torch.bool)
    mask[:1] = True
    return mask.reshape(tensor.shape)


# ---------------------------------------------------------------------------------------------
# The recipe form.


def recipe_form(prefix: str, *, param: str, default: TensorRecipe) -> TensorRecipe:
    """Widgets for a tensor recipe (keys `<prefix>_factory` ...); remembered in the URL as
    `t_<param><field>`. Returns the recipe; a shape typed wrongly raises TensorRecipeError."""
    columns = st.columns([2, 2, 2, 3])
    bind(f"{prefix}_factory", f"{param}f", default.factory)
    factory = columns[0].selectbox(
        t("tensors.factory"),
        FACTORIES,
        key=f"{prefix}_factory",
        format_func=lambda name: t(f"tensors.factory_{name}"),
    )
    bind(f"{prefix}_shape", f"{param}s", format_shape(default.shape))
    shape_text = columns[1].text_input(
        t("tensors.shape"), key=f"{prefix}_shape", help=t("tensors.shape_help")
    )
    bind(f"{prefix}_dtype", f"{param}d", default.dtype)
    dtype = columns[2].selectbox(t("tensors.dtype"), tuple(DTYPES), key=f"{prefix}_dtype")
    values: dict[str, Any] = {"factory": factory, "dtype": dtype}
    with columns[3]:
        if factory in ("rand", "randn", "randint"):
            bind(f"{prefix}_seed", f"{param}seed", default.seed, int)
            values["seed"] = st.number_input(t("tensors.seed"), key=f"{prefix}_seed", step=1)
        if factory == "full":
            bind(f"{prefix}_fill", f"{param}fill", default.fill, float)
            values["fill"] = st.number_input(t("tensors.fill"), key=f"{prefix}_fill")
        if factory in ("linspace", "randint"):
            low, high = st.columns(2)
            bind(f"{prefix}_low", f"{param}lo", default.low, float)
            bind(f"{prefix}_high", f"{param}hi", default.high, float)
            values["low"] = low.number_input(t("tensors.low"), key=f"{prefix}_low")
            values["high"] = high.number_input(t("tensors.high"), key=f"{prefix}_high")
        if factory == "image":
            bind(f"{prefix}_sample", f"{param}img", default.sample)
            values["sample"] = st.selectbox(
                t("tensors.sample"),
                tuple(samples.SAMPLES),
                key=f"{prefix}_sample",
                format_func=lambda name: t(f"samples.{name}"),
            )
    if factory == "list":
        bind(f"{prefix}_literal", f"{param}lit", default.literal)
        values["literal"] = st.text_area(
            t("tensors.literal"), key=f"{prefix}_literal", height=80, help=t("tensors.literal_help")
        )
    # Remember in the link before parsing: a bad shape stays there for the user to fix.
    for field, value in values.items():
        remember(param + _PARAM_OF[field], value, getattr(default, field))
    remember(param + "s", shape_text, format_shape(default.shape))
    return dataclasses.replace(default, shape=parse_shape(shape_text), **values)


_PARAM_OF = {
    "factory": "f",
    "dtype": "d",
    "seed": "seed",
    "fill": "fill",
    "low": "lo",
    "high": "hi",
    "literal": "lit",
    "sample": "img",
}


# ---------------------------------------------------------------------------------------------
# Drawing tensors.


def show_metadata(tensor: torch.Tensor) -> None:
    """The tensor's layout in one row: shape, dtype, device, stride, offset, contiguity, size."""
    info = describe(tensor)
    row = {
        t("tensors.meta_shape"): str(info.shape),
        t("tensors.meta_dtype"): info.dtype,
        t("tensors.meta_device"): info.device,
        t("tensors.meta_stride"): str(info.stride),
        t("tensors.meta_offset"): str(info.storage_offset),
        t("tensors.meta_contiguous"): str(info.is_contiguous),
        t("tensors.meta_numel"): f"{info.numel:,}",
        t("tensors.meta_bytes"): f"{info.bytes:,}",
    }
    st.dataframe(pd.DataFrame([row]), hide_index=True, width="stretch")


def show_tensor(
    tensor: torch.Tensor, *, key: str, marks: torch.Tensor | None = None, heatmap: bool = True
) -> None:
    """Draw `tensor` (any shape): 0-D as a number, 1-D/2-D as a table and a heatmap, 3-D+ as a
    grid of 2-D slices along its leading dims (the ones before the grid's picked with sliders).

    Args:
        tensor: the values.
        key: widget key prefix for the slice pickers.
        marks: optional, the tensor's shape: bool cells are highlighted; integer cells are
            coloured by category (which input or piece an element belongs to).
        heatmap: whether to draw the heatmap beside the numbers.
    """
    tensor = tensor.detach().cpu()
    if tensor.dim() == 0:
        st.text(_format_value(tensor.item()))
        return
    if tensor.dim() <= 2:
        _show_matrix(_as_matrix(tensor), _as_matrix(marks), key=key, heatmap=heatmap)
        return
    lead = []
    for dim in range(tensor.dim() - 3):
        lead.append(
            st.slider(
                t("tensors.pick_dim", dim=dim),
                0,
                tensor.shape[dim] - 1,
                0,
                key=f"{key}_lead{dim}",
            )
            if tensor.shape[dim] > 1
            else 0
        )
    grid_dim = tensor.dim() - 3
    count = min(tensor.shape[grid_dim], MAX_SLICES)
    if tensor.shape[grid_dim] > MAX_SLICES:
        st.caption(t("tensors.slices_clipped", shown=MAX_SLICES, total=tensor.shape[grid_dim]))
    columns = st.columns(min(count, 4)) if count else []
    for number in range(count):
        index = (*lead, number)
        with columns[number % len(columns)]:
            st.caption(f"t[{', '.join(map(str, index))}]")
            _show_matrix(
                tensor[index],
                None if marks is None else marks[index],
                key=f"{key}_{number}",
                heatmap=False,
            )


def _as_matrix(tensor: torch.Tensor | None) -> torch.Tensor | None:
    if tensor is None or tensor.dim() == 2:
        return tensor
    return tensor.reshape(1, -1)


def _show_matrix(
    values: torch.Tensor, marks: torch.Tensor | None, *, key: str, heatmap: bool
) -> None:
    rows, columns = values.shape
    if rows == 0 or columns == 0:
        st.caption(t("tensors.empty"))
        return
    if heatmap:
        left, right = st.columns([3, 2])
    else:
        left, right = st.container(), None
    with left:
        shown = values[:MAX_TABLE_SIDE, :MAX_TABLE_SIDE]
        shown_marks = None if marks is None else marks[:MAX_TABLE_SIDE, :MAX_TABLE_SIDE]
        st.table(_styled_table(shown, shown_marks))
        if rows > MAX_TABLE_SIDE or columns > MAX_TABLE_SIDE:
            st.caption(t("tensors.table_clipped", rows=rows, columns=columns, side=MAX_TABLE_SIDE))
    if right is not None:
        with right:
            st.plotly_chart(_heatmap(values, marks), width="stretch", key=f"{key}_heatmap")


def _numbers(values: torch.Tensor) -> np.ndarray:
    if values.dtype in (torch.bfloat16, torch.float16, torch.bool):
        values = values.to(torch.float32)
    return values.numpy()


def _format_value(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def table_frame(
    values: torch.Tensor, marks: torch.Tensor | None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The numbers of a 2-D tensor as text and the CSS of each cell (highlight or category)."""
    if values.dtype == torch.bool:
        text = np.where(values.numpy(), "True", "False")
    elif values.is_floating_point():
        text = np.vectorize(lambda value: f"{value:.4g}")(_numbers(values))
    else:
        text = values.numpy().astype(str)
    frame = pd.DataFrame(text.astype(object))  # object columns: no Arrow strings to build
    css = np.full(text.shape, "", dtype=object)
    if marks is not None:
        marks = marks.cpu()
        if marks.dtype == torch.bool:
            css[marks.numpy()] = f"background-color: {HIGHLIGHT}; font-weight: bold"
        else:
            for category in marks.unique().tolist():
                color = PALETTE[int(category) % len(PALETTE)]
                css[(marks == category).numpy()] = f"background-color: {color}"
    return frame, pd.DataFrame(css)


def _styled_table(values: torch.Tensor, marks: torch.Tensor | None):
    frame, css = table_frame(values, marks)
    return frame.style.apply(lambda _: css, axis=None)


def _heatmap(values: torch.Tensor, marks: torch.Tensor | None) -> go.Figure:
    shown = values[:MAX_HEATMAP_SIDE, :MAX_HEATMAP_SIDE]
    z = _numbers(shown)
    small = shown.numel() <= 400
    figure = go.Figure(
        go.Heatmap(
            z=z,
            colorscale="Blues" if marks is None or marks.dtype == torch.bool else "Greys",
            text=np.vectorize(_format_value)(z.astype(float)) if small else None,
            texttemplate="%{text}" if small else None,
            showscale=False,
            hovertemplate="[%{y}, %{x}] = %{z}<extra></extra>",
        )
    )
    if marks is not None:
        shown_marks = marks.cpu()[:MAX_HEATMAP_SIDE, :MAX_HEATMAP_SIDE]
        if shown_marks.dtype == torch.bool and shown_marks.numel() > MAX_OUTLINED_CELLS:
            # Too many cells to outline one by one: tint the selected ones instead.
            figure.add_trace(
                go.Heatmap(
                    z=shown_marks.numpy().astype(np.float32),
                    colorscale=[[0, "rgba(0,0,0,0)"], [1, "rgba(238,76,44,0.6)"]],
                    zmin=0,
                    zmax=1,
                    showscale=False,
                    hoverinfo="skip",
                )
            )
        elif shown_marks.dtype == torch.bool:
            rows, columns = np.nonzero(shown_marks.numpy())
            figure.add_trace(
                go.Scatter(
                    x=columns,
                    y=rows,
                    mode="markers",
                    marker={
                        "symbol": "square-open",
                        "size": 14,
                        "color": "#EE4C2C",
                        "line": {"width": 3},
                    },
                    hoverinfo="skip",
                    showlegend=False,
                )
            )
        else:
            categories = _numbers(shown_marks)
            figure.add_trace(
                go.Heatmap(
                    z=categories,
                    colorscale=[
                        [position / (len(PALETTE) - 1), color]
                        for position, color in enumerate(PALETTE)
                    ],
                    zmin=0,
                    zmax=len(PALETTE) - 1,
                    opacity=0.55,
                    showscale=False,
                    hoverinfo="skip",
                )
            )
    figure.update_yaxes(autorange="reversed", dtick=1 if shown.shape[0] <= 20 else None)
    figure.update_xaxes(dtick=1 if shown.shape[1] <= 20 else None, side="top")
    figure.update_layout(
        height=min(120 + 28 * shown.shape[0], 420), margin={"l": 10, "r": 10, "t": 30, "b": 10}
    )
    return figure


def show_broadcast_steps(steps: tuple[BroadcastStep, ...]) -> None:
    """The broadcast shape worked out dimension by dimension, aligned from the right."""
    frame = pd.DataFrame(
        {
            t("tensors.step_t"): [_size(step.first) for step in steps],
            t("tensors.step_u"): [_size(step.second) for step in steps],
            t("tensors.step_result"): [
                "✗" if step.size is None else str(step.size) for step in steps
            ],
            t("tensors.step_rule"): [t(f"tensors.rule_{step.rule}") for step in steps],
        },
        index=[f"dim {step.dim}" for step in steps],
    )
    st.table(frame)


def _size(size: int | None) -> str:
    return "–" if size is None else str(size)


def show_error(error: PlaygroundError) -> None:
    """`ui.i18n.show_error`, with a refused index part named in the session's language."""
    if "kind" in error.params:
        error.params["what"] = t(f"tensors.refused_{error.params['kind']}")
    i18n.show_error(error)


def as_picture(tensor: torch.Tensor) -> np.ndarray:
    """A (3, H, W) image tensor as an (H, W, 3) uint8 array for `st.image`."""
    if tensor.is_floating_point():
        tensor = tensor.float().clamp(0, 255)
    return tensor.to(torch.uint8).permute(1, 2, 0).numpy()
