"""The Transforms studio's state and widgets: the pipeline kept in session state and the URL,
and parameter widgets rendered from the catalogue table (one generic form for every transform)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import streamlit as st
from PIL import Image

from core import config, transforms
from core.images import decode_image
from core.samples import load_sample
from core.transforms import CATALOGUE, Param, Step, TransformError
from ui import state
from ui.i18n import catalog, language, t
from ui.work import within_budget

STEPS_KEY = "transforms_steps"  # list of {"id": int, "name": str, "params": dict}
OPENED_KEY = "transforms_opened"  # id of the step whose editor starts expanded
LOAD_ERROR_KEY = "transforms_load_error"
# The pipeline as JSON in `?tf_pipeline=`; kept even at the default, so a link always says it.
PIPELINE = state.UrlText("tf_pipeline", STEPS_KEY, "", always=True)
_ids = itertools.count(1)


# --- the pipeline in session state ---------------------------------------------------------


def init_pipeline() -> TransformError | None:
    """Start this session's pipeline from `?tf_pipeline=` (else the default preset); returns
    the error when the link held an invalid pipeline."""
    if STEPS_KEY in st.session_state:
        return None
    error = None
    pipeline = transforms.PRESETS[transforms.DEFAULT_PRESET]
    text = state.read_url(PIPELINE)
    if text is not None:
        try:
            pipeline = transforms.from_json(text)
        except TransformError as invalid:
            error = invalid
    _replace(pipeline)
    return error


def current() -> tuple[Step, ...]:
    """The pipeline as the widgets left it."""
    return tuple(
        Step(entry["name"], dict(entry["params"])) for entry in st.session_state[STEPS_KEY]
    )


def remember_in_url(pipeline: tuple[Step, ...]) -> None:
    """Mirror the pipeline into `?tf_pipeline=` so that a link reproduces it."""
    state.keep(PIPELINE, transforms.to_json(pipeline))


def _replace(pipeline: tuple[Step, ...]) -> None:
    # Fresh ids give fresh widget keys, so no widget keeps a value from the old pipeline.
    st.session_state[STEPS_KEY] = [
        {"id": next(_ids), "name": step.name, "params": dict(step.params)} for step in pipeline
    ]


# Callbacks read the chooser's state: a click can arrive with a selection the last run
# did not see, so values bound into `args` at render time could be stale.
def add_chosen_step(chooser_key: str) -> None:
    add_step(st.session_state[chooser_key])


def apply_chosen_preset(chooser_key: str) -> None:
    apply_preset(st.session_state[chooser_key])


def add_step(name: str) -> None:
    steps = st.session_state[STEPS_KEY]
    if len(steps) >= config.MAX_PIPELINE_STEPS:
        return
    step = transforms.default_step(name)
    steps.append({"id": next(_ids), "name": name, "params": dict(step.params)})
    st.session_state[OPENED_KEY] = steps[-1]["id"]


def remove_step(step_id: int) -> None:
    st.session_state[STEPS_KEY] = [e for e in st.session_state[STEPS_KEY] if e["id"] != step_id]


def move_step(step_id: int, offset: int) -> None:
    steps = st.session_state[STEPS_KEY]
    index = next(i for i, entry in enumerate(steps) if entry["id"] == step_id)
    target = index + offset
    if 0 <= target < len(steps):
        steps[index], steps[target] = steps[target], steps[index]


def apply_preset(name: str) -> None:
    _replace(transforms.PRESETS[name])


def resample(count: int) -> None:
    """Move the seed past the draws on screen: new draws, still reproducible from the seed."""
    st.session_state["transforms_seed"] = int(st.session_state["transforms_seed"]) + count


def load_json(widget_key: str) -> None:
    """Callback of the JSON uploader: replace the pipeline, or keep it and note the error."""
    uploaded = st.session_state.get(widget_key)
    st.session_state[LOAD_ERROR_KEY] = None
    if uploaded is None:
        return
    try:
        _replace(transforms.from_json(uploaded.getvalue()))
    except TransformError as error:
        st.session_state[LOAD_ERROR_KEY] = error


# --- one generic editor for every step -----------------------------------------------------


def step_editor(entry: dict[str, Any], *, position: int, count: int) -> None:
    """An expander with the step's parameter widgets (read from the catalogue) and buttons to
    move or remove it; widget values flow back into `entry["params"]`."""
    spec = CATALOGUE[entry["name"]]
    step_id = entry["id"]
    with st.expander(
        f"{position}. {spec.name}", expanded=st.session_state.get(OPENED_KEY) == step_id
    ):
        text, up, down, remove = st.columns([6, 1, 1, 1], vertical_alignment="center")
        text.caption(t(spec.about_key))
        up.button(
            "↑",
            key=f"transforms_up_{step_id}",
            help=t("transforms.move_up"),
            disabled=position == 1,
            on_click=move_step,
            args=(step_id, -1),
        )
        down.button(
            "↓",
            key=f"transforms_down_{step_id}",
            help=t("transforms.move_down"),
            disabled=position == count,
            on_click=move_step,
            args=(step_id, 1),
        )
        remove.button(
            "✕",
            key=f"transforms_remove_{step_id}",
            help=t("transforms.remove"),
            on_click=remove_step,
            args=(step_id,),
        )
        if not spec.params:
            st.caption(t("transforms.no_params"))
        plain = [param for param in spec.params if param.kind != "sequence"]
        for row in range(0, len(plain), 3):
            for column, param in zip(st.columns(3), plain[row : row + 3], strict=False):
                with column:
                    entry["params"][param.name] = param_widget(
                        param, f"transforms_{step_id}_{param.name}", entry["params"][param.name]
                    )
        for param in spec.params:
            if param.kind == "sequence":
                entry["params"][param.name] = param_widget(
                    param, f"transforms_{step_id}_{param.name}", entry["params"][param.name]
                )


def param_widget(param: Param, key: str, value: Any) -> Any:
    """The widget fitting `param.kind`, seeded once with `value`; returns its JSON-shaped value."""
    label = param.name
    help_text = t(param.help_key)
    if param.kind == "sequence":
        values = []
        columns = st.columns(param.length or 1)
        for index, column in enumerate(columns):
            with column:
                item = Param(
                    f"{param.name}[{index}]",
                    "float",
                    value[index],
                    param.low,
                    param.high,
                    param.step,
                )
                values.append(_number_input(item, f"{key}_{index}", value[index], help_text))
        return values
    if key not in st.session_state:
        st.session_state[key] = tuple(value) if param.kind == "range" else value
    if param.kind == "bool":
        return st.checkbox(label, key=key, help=help_text)
    if param.kind == "choice":
        return st.selectbox(label, options=list(param.options or {}), key=key, help=help_text)
    if param.kind == "range":
        low, high = st.slider(
            label,
            min_value=float(param.low),
            max_value=float(param.high),
            step=float(param.step),
            key=key,
            help=help_text,
        )
        return [low, high]
    return _number_input(param, key, value, help_text)


def _number_input(param: Param, key: str, value: Any, help_text: str) -> int | float:
    if key not in st.session_state:
        st.session_state[key] = value
    if param.kind == "int":
        return st.number_input(
            param.name,
            min_value=int(param.low),
            max_value=int(param.high),
            step=1,
            key=key,
            help=help_text,
        )
    decimals = max(0, -math.floor(math.log10(param.step or 1)))
    return st.number_input(
        param.name,
        min_value=float(param.low),
        max_value=float(param.high),
        step=float(param.step),
        format=f"%.{decimals}f",
        key=key,
        help=help_text,
    )


def drawn_values(values: Mapping[str, Any]) -> str:
    """The parameters one draw picked (`top 31, left 13`), each named in the UI language; the
    torchvision name stays beside it so the code can be matched."""
    words = catalog(language())
    parts = []
    for name, value in values.items():
        label = words.get(f"draw_values.{name}", name)
        parts.append(f"{label} {value}")
    return t("draw_values.separator").join(parts)


# --- sources -------------------------------------------------------------------------------


@st.cache_data(show_spinner=False, max_entries=8)
def sample_image(name: str) -> Image.Image:
    """A bundled sample, shrunk to the studio's working size."""
    return transforms.fit_source(load_sample(name))


@st.cache_data(show_spinner=False, max_entries=4)
def uploaded_image(data: bytes) -> Image.Image:
    """An upload through the app's safe decoder, shrunk to the studio's working size; raises
    core.errors.ImageDecodeError for what is not an image."""
    return transforms.fit_source(decode_image(data, min_side=config.MAX_SOURCE_SIDE))


@st.cache_data(show_spinner=False, max_entries=16)
def shown_draws(
    image: Image.Image, pipeline_json: str, seed: int, count: int
) -> list[tuple[Image.Image, transforms.Draw]]:
    """The draws as the page shows them: a viewable thumbnail (Normalize undone) beside each
    draw's record; the full-size outputs are dropped so that the cache stays small. Raises
    TransformError as `core.transforms.draw`, BudgetExceededError past
    `config.TRANSFORMS_BUDGET_S` (errors are not cached)."""
    pipeline = transforms.from_json(pipeline_json)
    draws = within_budget(
        transforms.draw, image, pipeline, seed=seed, count=count, seconds=config.TRANSFORMS_BUDGET_S
    )
    return [
        (thumbnail(transforms.to_display(drawn.output, pipeline)), replace(drawn, output=None))
        for drawn in draws
    ]


@st.cache_data(show_spinner=False, max_entries=16)
def traced(image: Image.Image, pipeline_json: str, seed: int) -> list[transforms.StepOutput]:
    """`core.transforms.trace` of one draw, cached: choosing a histogram reruns nothing."""
    pipeline = transforms.from_json(pipeline_json)
    return within_budget(
        transforms.trace,
        image,
        pipeline,
        seed=seed,
        preview_side=config.TRANSFORMS_STEP_PREVIEW_SIDE,
        seconds=config.TRANSFORMS_BUDGET_S,
    )


def thumbnail(image: Image.Image) -> Image.Image:
    """At most `config.TRANSFORMS_DISPLAY_SIDE` pixels on its longer side; tiny images (CIFAR's
    32×32) are enlarged by a whole factor with nearest neighbours so their pixels stay sharp."""
    factor = config.TRANSFORMS_DISPLAY_SIDE // 2 // max(image.size)
    if factor >= 2:
        return image.resize((image.width * factor, image.height * factor), Image.Resampling.NEAREST)
    return transforms.fit_source(image, max_side=config.TRANSFORMS_DISPLAY_SIDE)
