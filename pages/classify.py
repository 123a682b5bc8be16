import io

import streamlit as st

from core import config, models, samples, snippets
from core.errors import PlaygroundError
from core.images import decode_image
from ui import state
from ui.classify import (
    cached_grad_cam,
    cached_histogram,
    cached_steps,
    download_weights,
    image_digest,
    top_k_html,
)
from ui.code import show_code
from ui.frame import require_frame
from ui.i18n import language, show_error, t
from ui.models import inference_worker

require_frame()

HANDED = "classify_handed"  # the image another page handed over, kept across reruns
TRAINED_PREFIX = "trained:"

st.title(t("classify.title"))
st.caption(t("classify.intro"))

# --- The photo ------------------------------------------------------------------------------
if (handed := state.take("classify")) is not None:
    st.session_state[HANDED] = handed
    st.session_state["classify_source"] = "handed"
sources = ["sample", "upload", "camera"] + (["handed"] if HANDED in st.session_state else [])
if st.session_state.get("classify_source") not in sources:
    st.session_state["classify_source"] = "sample"

input_column, model_column = st.columns(2)
with input_column:
    source = st.radio(
        t("classify.source"),
        sources,
        format_func={option: t(f"classify.source_{option}") for option in sources}.__getitem__,
        key="classify_source",
        horizontal=True,
    )
    if source == "sample":
        sample = st.selectbox(
            t("classify.sample"),
            list(samples.SAMPLES),
            format_func={name: t(f"samples.{name}") for name in samples.SAMPLES}.__getitem__,
            key="classify_sample",
        )
    elif source == "upload":
        upload = st.file_uploader(
            t("classify.upload", limit=config.UPLOAD_LIMIT_MB),
            type=list(config.UPLOAD_EXTENSIONS),
            key="classify_upload",
        )
        st.caption(t("classify.upload_help", limit=config.UPLOAD_LIMIT_MB))
    elif source == "camera":
        photo = st.camera_input(t("classify.camera"), key="classify_camera")
    else:
        st.caption(t("classify.handed_from", caption=st.session_state[HANDED].caption))

# --- The model ------------------------------------------------------------------------------
trained_models = state.trained_models()
registry = models.registry()
choices = list(registry) + [TRAINED_PREFIX + name for name in trained_models]
# Labels are looked up in dicts built here: AppTest calls format_func outside the script run.
model_titles = {name: record.title for name, record in registry.items()} | {
    TRAINED_PREFIX + name: t("classify.trained_model", name=name) for name in trained_models
}
weights_missing = False  # a torchvision model whose weights are not downloaded yet
with model_column:
    choice = st.selectbox(
        t("classify.model"),
        choices,
        format_func=model_titles.__getitem__,
        key="classify_model",
    )
    if choice in registry:
        record = registry[choice]
        status = "classify.weights_packaged" if record.source == "package" else None
        if status is None:
            status = "classify.weights_cached" if models.is_cached(record) else None
        if status:
            st.caption(t(status))
        else:
            try:
                if download_weights(record):
                    st.rerun()
            except PlaygroundError as error:
                show_error(error)
            weights_missing = True  # the card, preprocessing and code need no weights

trained = (
    trained_models[choice.removeprefix(TRAINED_PREFIX)]
    if choice.startswith(TRAINED_PREFIX)
    else None
)
worker = None  # registry models share one batching inference worker per process
try:
    if weights_missing:
        model = None
    elif choice in registry:
        with st.spinner(t("classify.loading", model=registry[choice].title)):
            worker = inference_worker(choice)
        model = worker.model
    else:
        model = models.from_trained(trained)
except PlaygroundError as error:
    show_error(error)
    state.stop()
record = registry[choice] if model is None else model.record

# Every byte that enters goes through the one safe decoder, at the scale the model needs.
min_side = record.preprocessing.resize_size
try:
    if source == "sample":
        image = samples.load_sample(sample, min_side=min_side)
    elif source == "upload":
        if upload is None:
            st.info(t("classify.need_upload"), icon=":material/upload:")
            state.stop()
        image = decode_image(upload.getvalue(), min_side=min_side)
    elif source == "camera":
        if photo is None:
            st.info(t("classify.need_camera"), icon=":material/photo_camera:")
            state.stop()
        image = decode_image(photo.getvalue(), min_side=min_side)
    else:
        image = st.session_state[HANDED].image
except PlaygroundError as error:
    show_error(error)
    state.stop()

# --- The result -----------------------------------------------------------------------------
if model is None:
    result = None
else:
    result = worker.predict(image) if worker else models.predict(image, model=model)
digest = image_digest(image, record=record, model=model)  # what the views below are cached by
photo_column, result_column, card_column = st.columns([3, 4, 3])
with photo_column:
    st.image(image, width="stretch")
with result_column:
    if result is None:
        st.info(t("snippets_page.prediction_waits"), icon=":material/hourglass_empty:")
    else:
        best = result.predictions[0]
        st.subheader(t("classify.verdict", label=best.label, probability=best.probability))
        with st.container(key="classify_top_k"):
            st.html(top_k_html(result.predictions))
        if choice in registry:  # no licensed Chinese ImageNet-1k label list ships offline
            st.caption(t("classify_labels.imagenet_english"))
        st.caption(
            t(
                "classify.timing",
                total=result.seconds * 1000,
                forward=result.forward_seconds * 1000,
                device=str(model.device),
            )
        )
        st.caption(t(f"speed.runtime_{result.runtime}", batch=result.batch_size))
with card_column, st.container(border=True):
    meta = record.meta
    st.markdown(f"**{record.title}**")
    unknown = t("classify.unknown")
    rows = [
        (t("classify.card_params"), f"{meta.num_params / 1e6:.2f} M"),
        (t("classify.card_acc1"), f"{meta.acc1:.1f} %" if meta.acc1 is not None else unknown),
        (t("classify.card_acc5"), f"{meta.acc5:.1f} %" if meta.acc5 is not None else unknown),
        (t("classify.card_licence"), meta.licence or unknown),
        (t("classify.card_source"), t(f"classify.source_kind_{record.source}")),
        (
            t("classify.card_size"),
            f"{meta.file_size_mb:.1f} MB" if meta.file_size_mb is not None else unknown,
        ),
        (t("classify.card_classes"), f"{len(meta.categories):,}"),
    ]
    st.markdown("\n".join(f"- {name}: **{value}**" for name, value in rows))
    if record.weights:
        st.caption(record.weights)

# --- How the network sees it, why, and the code ----------------------------------------------
# Only the open tab runs ("rerun" on change): Grad-CAM and the previews cost more than the
# classification itself, so they wait until a learner asks for them.
sees_tab, why_tab, code_tab = st.tabs(
    [t("classify.tab_sees"), t("classify.tab_why"), t("classify.tab_code")],
    key="classify_tabs",
    on_change="rerun",
)
settings = record.preprocessing

with sees_tab:
    if sees_tab.open:
        steps = cached_steps(digest, _image=image, _preprocessing=settings)
        st.markdown(t("classify.sees_intro"))
        original, resized, cropped = st.columns([3, 3, 2])
        original.image(steps.original, width="stretch")
        original.caption(t("classify.step_original", width=image.width, height=image.height))
        resized.image(steps.resized, width="stretch")
        resized.caption(
            t(
                "classify.step_resize",
                size=settings.resize_size,
                interpolation=settings.interpolation,
                width=steps.resized.width,
                height=steps.resized.height,
            )
        )
        cropped.image(steps.cropped, width="stretch")
        cropped.caption(t("classify.step_crop", size=settings.crop_size))
        channels, height, width = steps.tensor.shape
        st.markdown(
            t(
                "classify.step_tensor",
                channels=channels,
                height=height,
                width=width,
                low=float(steps.tensor.min()),
                high=float(steps.tensor.max()),
            )
        )
        st.markdown(
            t(
                "classify.step_normalize",
                mean=", ".join(f"{value:.3f}" for value in settings.mean),
                std=", ".join(f"{value:.3f}" for value in settings.std),
                low=float(steps.normalized.min()),
                high=float(steps.normalized.max()),
            )
        )
        histograms = st.expander(
            t("speed.histograms"), key="classify_histograms", on_change="rerun"
        )
        if histograms.open:
            before, after = histograms.columns(2)
            before.plotly_chart(
                cached_histogram(
                    digest, "tensor", _steps=steps, title=t("classify.histogram_before")
                ),
                width="stretch",
                key="classify_histogram_before",
            )
            after.plotly_chart(
                cached_histogram(
                    digest, "normalized", _steps=steps, title=t("classify.histogram_after")
                ),
                width="stretch",
                key="classify_histogram_after",
            )

# The file the shown code reads: the sample's or the upload's name; a camera photo or a handed
# image is offered for download under the name the code uses.
if source == "sample":
    image_name = samples.SAMPLES[sample]
elif source == "upload":
    image_name = upload.name
elif source == "camera":
    image_name = photo.name
else:
    image_name = "handed.png"

# Code exists for the networks of core.nets (a TrainedModel's `net` is one of them).
has_code = trained is None or trained.net in snippets.CLASS_NAMES


def offer_image_file(where, *, key: str) -> None:
    """A download of the photo the code reads, when the learner has no file of it."""
    if source == "camera":
        data = photo.getvalue()
    elif source == "handed":
        png = io.BytesIO()
        image.save(png, format="PNG")
        data = png.getvalue()
    else:
        return
    where.download_button(
        t("snippets_page.download_photo", name=image_name),
        data,
        file_name=image_name,
        key=key,
    )


with why_tab:
    if why_tab.open:
        if record.cam_layer is None:
            st.info(t("classify.cam_unavailable", model=record.title), icon=":material/info:")
        elif result is None:
            st.info(t("snippets_page.prediction_waits"), icon=":material/hourglass_empty:")
        else:
            st.markdown(t("classify.why_intro"))
            explained = st.selectbox(
                t("classify.cam_class"),
                [prediction.index for prediction in result.predictions],
                format_func=lambda index: next(
                    f"{p.label} ({p.probability:.1%})"
                    for p in result.predictions
                    if p.index == index
                ),
                key="classify_cam_class",
            )
            with st.spinner(t("classify.cam_running")):
                cam = cached_grad_cam(digest, explained, _image=image, _model=model)
            left, right, _ = st.columns(3)
            steps = cached_steps(digest, _image=image, _preprocessing=settings)
            left.image(steps.cropped, caption=t("classify.cam_input"), width="stretch")
            right.image(
                cam.overlay,
                caption=t("classify.cam_caption", layer=cam.layer, height=cam.heatmap.shape[0]),
                width="stretch",
            )
            if has_code:
                show_code(
                    snippets.cam_code(
                        record,
                        image_path=image_name,
                        class_index=explained,
                        trained=trained,
                        language=language(),
                    ),
                    file_name="grad_cam.py",
                    key="classify_code_cam",
                )
                offer_image_file(st, key="classify_photo_for_cam")

with code_tab:  # cheap, and the only part that needs no weights: always drawn
    st.markdown(t("classify.code_intro"))
    if not has_code:
        st.caption(t("snippets_page.no_code", net=trained.net))
    else:
        show_code(
            snippets.classification_code(
                record,
                image_path=image_name,
                top_k=models.TOP_K if result is None else len(result.predictions),
                trained=trained,
                language=language(),
            ),
            file_name="classify.py",
            key="classify_code",
        )
        offer_image_file(st, key="classify_photo_for_code")
