import io

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from core import config, snippets, transforms
from core.datasets import DatasetError
from core.errors import ImageDecodeError
from core.samples import SAMPLES, sample_path
from core.transforms import CATALOGUE, PRESETS, TransformError
from ui import datasets, handoff
from ui import transforms as studio
from ui.code import show_code
from ui.frame import require_frame
from ui.i18n import language, show_error, t

require_frame()

CHANNEL_COLOURS = ("#d62728", "#2ca02c", "#1f77b4")
DRAWS_PER_ROW = 5
STEPS_PER_ROW = 6

st.title(t("transforms.title"))
st.caption(t("transforms.intro"))

handed = handoff.take("transforms")
if isinstance(handed, handoff.HandedImage):
    st.session_state["transforms_handed"] = handed
    st.session_state["transforms_source"] = "handed"
url_error = studio.init_pipeline()
if url_error is not None:
    show_error(url_error)

# --- source and pipeline -------------------------------------------------------------------
source_column, pipeline_column = st.columns([1, 2], gap="large")
with source_column:
    st.subheader(t("transforms.source_header"))
    sources = ["sample", "upload", "cifar10"]
    if "transforms_handed" in st.session_state:
        sources.append("handed")
    source = st.radio(
        t("transforms.source"),
        sources,
        format_func=lambda name: t(f"transforms.source_{name}"),
        key="transforms_source",
        horizontal=True,
    )
    image, caption = None, ""
    code_source = {"source": "upload", "file_name": "handed.png"}  # how the shown code gets it
    if source == "sample":
        name = st.selectbox(
            t("transforms.sample"),
            list(SAMPLES),
            format_func=lambda key: t(f"samples.{key}"),
            key="transforms_sample",
        )
        image, caption = studio.sample_image(name), t(f"samples.{name}")
        code_source = {"source": "sample", "file_name": sample_path(name).name}
    elif source == "upload":
        upload = st.file_uploader(
            t("transforms.upload"), type=list(config.UPLOAD_EXTENSIONS), key="transforms_upload"
        )
        if upload is not None:
            try:
                image, caption = studio.uploaded_image(upload.getvalue()), upload.name
                code_source = {"source": "upload", "file_name": upload.name}
            except ImageDecodeError as error:
                show_error(error)
    elif source == "cifar10":
        try:
            cifar = datasets.cifar10(str(datasets.data_dir()), False)
        except DatasetError:
            st.info(t("transforms.cifar_missing"), icon=":material/inventory_2:")
            st.page_link("pages/datasets.py", label=t("transforms.open_datasets"))
        else:
            index = st.number_input(
                t("transforms.cifar_index"), 0, len(cifar) - 1, 0, key="transforms_cifar_index"
            )
            image, label = cifar[int(index)]
            code_source = {
                "source": "cifar10",
                "root": str(datasets.data_dir()),
                "index": int(index),
            }
            caption = t("transforms.cifar_caption", index=int(index), label=cifar.classes[label])
    else:
        kept = st.session_state["transforms_handed"]
        image, caption = kept.image, kept.caption
    if image is not None:
        image = transforms.fit_source(image)
        st.image(studio.thumbnail(image), caption=f"{caption} · {image.width}×{image.height}")

with pipeline_column:
    st.subheader(t("transforms.pipeline_header"))
    preset_column, preset_button = st.columns([3, 1], vertical_alignment="bottom")
    preset_column.selectbox(
        t("transforms.preset"),
        list(PRESETS),
        index=list(PRESETS).index(transforms.DEFAULT_PRESET),
        format_func=lambda key: t(f"transforms.preset_{key}"),
        key="transforms_preset",
    )
    preset_button.button(
        t("transforms.apply_preset"),
        key="transforms_apply_preset",
        on_click=studio.apply_chosen_preset,
        args=("transforms_preset",),
    )
    steps = st.session_state[studio.STEPS_KEY]
    for position, entry in enumerate(steps, start=1):
        studio.step_editor(entry, position=position, count=len(steps))
    if not steps:
        st.caption(t("transforms.empty_pipeline"))
    add_column, add_button = st.columns([3, 1], vertical_alignment="bottom")
    add_column.selectbox(
        t("transforms.add_choice"),
        list(CATALOGUE),
        format_func=lambda name: f"{name} · {t('transforms.group_' + CATALOGUE[name].group)}",
        key="transforms_add_choice",
    )
    add_button.button(
        t("transforms.add"),
        key="transforms_add",
        on_click=studio.add_chosen_step,
        args=("transforms_add_choice",),
        disabled=len(steps) >= config.MAX_PIPELINE_STEPS,
    )

pipeline = studio.current()
studio.remember_in_url(pipeline)

if image is None:
    st.info(t("transforms.no_image"))
    st.stop()

# --- draws ---------------------------------------------------------------------------------
st.subheader(t("transforms.draws_header"))
seed_column, count_column, resample_column = st.columns([1, 2, 1], vertical_alignment="bottom")
seed = seed_column.number_input(t("transforms.seed"), 0, 2**31 - 1, 0, key="transforms_seed")
count = count_column.slider(
    t("transforms.count"), 1, config.MAX_DRAWS, config.DEFAULT_DRAWS, key="transforms_count"
)

resample_column.button(
    t("transforms.resample"), key="transforms_resample", on_click=studio.resample, args=(count,)
)

pipeline_json = transforms.to_json(pipeline)
try:
    draws = studio.shown_draws(image, pipeline_json, int(seed), count)
except TransformError as error:
    show_error(error)
    st.stop()

cells = [(t("transforms.original"), studio.thumbnail(image), [])]
for number, (shown, drawn) in enumerate(draws):
    notes = []
    for record in drawn.steps:
        if not record.applied:
            notes.append(t("transforms.skipped", name=record.name))
        elif record.values:
            values = ", ".join(f"{key} {value}" for key, value in record.values.items())
            notes.append(f"**{record.name}** {values}")
        elif record.may_skip:
            notes.append(t("transforms.applied", name=record.name))
    cells.append((t("transforms.draw_caption", number=number, seed=drawn.seed), shown, notes))
for row in range(0, len(cells), DRAWS_PER_ROW):
    for column, (label, picture, notes) in zip(
        st.columns(DRAWS_PER_ROW), cells[row : row + DRAWS_PER_ROW], strict=False
    ):
        with column:
            st.image(picture, caption=label, width="stretch")
            for note in notes:
                st.caption(note)
st.caption(t("transforms.display_note"))

# --- tensors -------------------------------------------------------------------------------
tensors_tab, code_tab = st.tabs([t("transforms.tensors_tab"), t("transforms.code_tab")])
with tensors_tab:
    chosen = st.selectbox(
        t("transforms.inspect_draw"),
        range(len(draws)),
        format_func=lambda number: cells[number + 1][0],
        key="transforms_inspect_draw",
    )
    outputs = studio.traced(image, pipeline_json, draws[chosen][1].seed)
    for row in range(0, len(outputs), STEPS_PER_ROW):
        for column, (index, output) in zip(
            st.columns(STEPS_PER_ROW),
            list(enumerate(outputs))[row : row + STEPS_PER_ROW],
            strict=False,
        ):
            column.image(output.preview, caption=f"{index + 1}. {output.name}", width="stretch")
    st.dataframe(
        pd.DataFrame(
            {
                t("transforms.column_step"): [f"{i}. {o.name}" for i, o in enumerate(outputs, 1)],
                t("transforms.column_dtype"): [o.dtype for o in outputs],
                t("transforms.column_shape"): [str(tuple(o.shape)) for o in outputs],
                t("transforms.column_min"): [o.low for o in outputs],
                t("transforms.column_max"): [o.high for o in outputs],
                t("transforms.column_mean"): [o.mean for o in outputs],
            }
        ),
        hide_index=True,
        width="stretch",
    )
    tensor_steps = [index for index, output in enumerate(outputs) if output.is_tensor]
    if not tensor_steps:
        st.info(t("transforms.no_tensor"))
    else:
        step_index = st.selectbox(
            t("transforms.histogram_step"),
            tensor_steps,
            index=len(tensor_steps) - 1,
            format_func=lambda index: f"{index + 1}. {outputs[index].name}",
            key="transforms_histogram_step",
        )
        histogram = outputs[step_index].histogram
        centres = [(a + b) / 2 for a, b in zip(histogram.edges, histogram.edges[1:], strict=False)]
        rgb = len(histogram.counts) == 3
        figure = go.Figure()
        for channel, counts in enumerate(histogram.counts):
            figure.add_bar(
                x=centres,
                y=counts,
                name=t("transforms.channel", channel="RGB"[channel] if rgb else channel),
                marker_color=CHANNEL_COLOURS[channel] if rgb else "#555",
                opacity=0.6,
            )
        figure.update_layout(
            barmode="overlay",
            bargap=0,
            height=320,
            margin={"l": 10, "r": 10, "t": 30, "b": 10},
            xaxis_title=t("transforms.value"),
            yaxis_title=t("transforms.pixels"),
        )
        st.plotly_chart(figure, width="stretch", key="transforms_histogram")
        st.caption(t("transforms.histogram_note"))

# --- export --------------------------------------------------------------------------------
with code_tab:
    show_code(
        snippets.transforms_code(pipeline, seed=int(seed), language=language(), **code_source),
        file_name="transform.py",
        key="transforms_code",
    )
    if source == "handed":  # the shown code reads the handed image from this file
        png = io.BytesIO()
        image.save(png, format="PNG")
        st.download_button(
            t("snippets_page.download_handed"),
            png.getvalue(),
            file_name="handed.png",
            mime="image/png",
            key="transforms_download_handed",
        )
    save_column, load_column = st.columns(2)
    save_column.download_button(
        t("transforms.save"),
        transforms.to_json(pipeline, indent=2),
        file_name="pipeline.json",
        mime="application/json",
        key="transforms_save",
    )
    load_column.file_uploader(
        t("transforms.load"),
        type=["json"],
        key="transforms_load",
        on_change=studio.load_json,
        args=("transforms_load",),
    )
    if st.session_state.get(studio.LOAD_ERROR_KEY) is not None:
        show_error(st.session_state[studio.LOAD_ERROR_KEY])
    st.caption(t("transforms.link_note"))
    if st.button(t("transforms.use_for_training"), key="transforms_use_for_training"):
        handoff.send(
            "train",
            handoff.HandedPipeline(
                compose=transforms.build(pipeline),
                description=transforms.to_json(pipeline, indent=2),
            ),
            page_path=studio.TRAIN_PAGE,
        )
