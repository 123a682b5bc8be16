import copy

import pandas as pd
import streamlit as st

from core import config, feedback, nets, snippets, training, workers
from core.device import available_devices
from core.errors import PlaygroundError
from core.trained import TrainedModel
from ui import datasets as ui_datasets
from ui import folders as ui_folders
from ui import state
from ui import training as runs
from ui.code import show_code
from ui.feedback import show_diagnosis
from ui.frame import require_frame
from ui.i18n import language, show_error, t

require_frame()

PIPELINE_KEY = "train_pipeline"  # the pipeline the Transforms page handed over, kept

st.title(f":material/model_training: {t('train.title')}")
st.caption(t("train.summary"))

run = runs.current_run()
running = run is not None and run.active
handed = state.take("train")
if handed is not None:
    st.session_state[PIPELINE_KEY] = handed
    st.session_state["train_augmentation"] = "pipeline"
pipeline: state.HandedPipeline | None = st.session_state.get(PIPELINE_KEY)

# 1. Model ---------------------------------------------------------------------------------
st.header(t("train.model_header"))
net_name = st.selectbox(t("train.net"), list(nets.NETS), key="train_net", disabled=running)
summary = runs.net_summary(net_name)
left, right = st.columns([1, 3])
left.metric(t("train.params"), f"{summary.total_params:,}")
left.metric(t("train.output_shape"), str(tuple(summary.output_shape)))
right.dataframe(
    pd.DataFrame(
        [(row.name, row.kind, str(row.output_shape), row.params) for row in summary.rows],
        columns=[t("train.layer"), t("train.kind"), t("train.shape"), t("train.layer_params")],
    ),
    hide_index=True,
    height=260,
    width="stretch",
)
show_code(
    snippets.summary_code(net_name, num_classes=10, language=language()),
    file_name=f"{snippets.CLASS_NAMES[net_name].lower()}.py",
    key="train_code_model",
)

# 2. Data ----------------------------------------------------------------------------------
st.header(t("train.data_header"))
source = st.radio(
    t("train.source"),
    ["cifar10", "folder"],
    format_func=lambda option: t(f"train.source_{option}"),
    key="train_source",
    horizontal=True,
    disabled=running,
)
try:
    if source == "cifar10":
        train_images = runs.cifar_images(str(state.data_dir()), True)
        test_images = runs.cifar_images(str(state.data_dir()), False)
    else:
        folder = ui_folders.pick_folder("train", disabled=running)
        if folder is None:
            state.stop()
        train_images, test_images = runs.folder_split(folder, ui_folders.roots())
        ui_folders.warn_unreadable(runs.folder_images(folder, ui_folders.roots()).unreadable)
except PlaygroundError as error:
    ui_datasets.stop_for_data(error, source=source)

categories = train_images.categories
st.caption(
    t("train.data_counts", train=len(train_images), test=len(test_images), classes=len(categories))
)
columns = st.columns(3)
subset_size = columns[0].number_input(
    t("train.subset"),
    min_value=min(50, len(train_images)),
    max_value=len(train_images),
    value=min(5_000, len(train_images)),
    step=500,
    key="train_subset",
    help=t("train.subset_help"),
    disabled=running,
)
validation_percent = columns[1].slider(
    t("train.validation"), 0, 30, 10, key="train_validation", disabled=running
)
test_size = columns[2].number_input(
    t("train.test_size"),
    min_value=min(10, len(test_images)),
    max_value=len(test_images),
    value=min(2_000, len(test_images)),
    step=500,
    key="train_test_size",
    disabled=running,
)
augmentations = [*training.AUGMENTATIONS, *(["pipeline"] if pipeline else [])]
if st.session_state.get("train_augmentation") not in augmentations:
    st.session_state["train_augmentation"] = "standard"
augmentation = st.radio(
    t("train.augmentation"),
    augmentations,
    format_func=lambda option: t(f"train.augmentation_{option}"),
    key="train_augmentation",
    horizontal=True,
    disabled=running,
)
if augmentation == "pipeline" and pipeline is not None:
    st.caption(t("train.pipeline_note"))
    show_code(
        pipeline.description, file_name="pipeline.json", key="train_code_pipeline", language="json"
    )

# 3. Hyperparameters -----------------------------------------------------------------------
st.header(t("train.settings_header"))
columns = st.columns(4)
epochs = columns[0].number_input(
    t("train.epochs"), 1, config.MAX_EPOCHS, 3, key="train_epochs", disabled=running
)
batch_size = columns[1].selectbox(
    t("train.batch_size"), [32, 64, 128, 256, 512], index=2, key="train_batch", disabled=running
)
optimizer = columns[2].selectbox(
    t("train.optimizer"),
    training.OPTIMIZERS,
    format_func=lambda option: t(f"train.optimizer_{option}"),
    key="train_optimizer",
    disabled=running,
)
learning_rate = columns[3].number_input(
    t("train.learning_rate"),
    min_value=1e-5,
    max_value=10.0,
    value=training.DEFAULT_LEARNING_RATE[optimizer],
    format="%.4f",
    key=f"train_lr_{optimizer}",  # each optimizer keeps its own sensible default
    disabled=running,
)
columns = st.columns(4)
schedule = columns[0].selectbox(
    t("train.schedule"),
    training.SCHEDULES,
    index=training.SCHEDULES.index("onecycle"),
    format_func=lambda option: t(f"train.schedule_{option}"),
    key="train_schedule",
    disabled=running,
)
weight_decay = columns[1].number_input(
    t("train.weight_decay"), 0.0, 0.1, 5e-4, format="%.5f", key="train_decay", disabled=running
)
seed = columns[2].number_input(t("train.seed"), 0, 2**31 - 1, 0, key="train_seed", disabled=running)
devices = available_devices()
device = columns[3].selectbox(t("train.device"), devices, key="train_device", disabled=running)
settings = training.TrainConfig(
    epochs=int(epochs),
    batch_size=int(batch_size),
    learning_rate=float(learning_rate),
    schedule=schedule,
    optimizer=optimizer,
    weight_decay=float(weight_decay),
    seed=int(seed),
    augmentation="standard" if augmentation == "pipeline" else augmentation,
    device=device,
)
mean, std = runs.normalization(source, train_images)
data_root = str(state.data_dir()) if source == "cifar10" else folder.strip()
with st.expander(t("train.code_header")):
    if augmentation == "pipeline":  # its random draws come from torch's global generator
        st.caption(t("snippets_page.pipeline_not_reproducible"))
    else:
        show_code(
            snippets.training_code(
                net_name,
                settings,
                data_root=data_root,
                subset=int(subset_size),
                validation_fraction=validation_percent / 100,
                test_size=int(test_size),
                mean=mean,
                std=std,
                num_classes=len(categories),
                source=source,
                language=language(),
            ),
            file_name="train.py",
            key="train_code_training",
        )

chosen = training.subset(train_images, size=int(subset_size), seed=settings.seed)
kept, validation = training.split(chosen, fraction=validation_percent / 100, seed=settings.seed)
if not running and len(kept):
    planned_steps = -(-len(kept) // settings.batch_size) * settings.epochs
    estimate = runs.estimate_seconds(
        net_name, batch_size=settings.batch_size, num_classes=len(categories), steps=planned_steps
    )
    st.caption(
        t(
            "workers.estimate",
            duration=runs.duration_text(estimate),
            steps=planned_steps,
            threads=config.TRAIN_WORKER_THREADS,
        )
    )
    if estimate > config.TRAIN_BUDGET_S:
        st.warning(
            t("workers.over_budget", budget=runs.duration_text(config.TRAIN_BUDGET_S)),
            icon=":material/timer:",
        )
if st.button(t("train.start"), type="primary", key="train_start", disabled=running):
    request = workers.TrainingRequest(
        net=net_name,
        train=kept,
        validation=validation if len(validation) else None,
        test=training.subset(test_images, size=int(test_size), seed=settings.seed),
        settings=settings,
        mean=tuple(mean),
        std=tuple(std),
        pipeline=pipeline.compose if augmentation == "pipeline" and pipeline else None,
    )
    setup = runs.RunSetup(
        net=net_name,
        settings=settings,
        categories=categories,
        mean=mean,
        std=std,
        train_count=len(kept),
        validation_count=len(validation),
        test_count=int(test_size),
        augmentation=augmentation,
        source=source,
        subset=len(chosen),
        validation_fraction=validation_percent / 100,
        data_root=data_root,
    )
    new_run = runs.TrainingRun(request, setup=setup)
    try:
        new_run.start()
    except PlaygroundError as error:
        show_error(error)
    else:
        st.session_state[runs.RUN_KEY] = new_run
        st.rerun()

if st.button(
    t("train.scale"), key="train_scale", icon=":material/hub:", help=t("train.scale_help")
):
    state.send(
        "serve",
        state.HandedSettings(
            net=net_name,
            settings=settings,
            source=source,
            folder=data_root if source == "folder" else None,
            subset=int(subset_size),
        ),
    )

if run is None:
    st.info(t("train.no_run"), icon=":material/flag:")
    state.stop()


# 4. Progress (polled while the worker trains) ---------------------------------------------
def show_progress() -> None:
    view = run.view()
    if running and not run.active:
        st.rerun()  # the run just ended: redraw the whole page with its results
    latest = view.latest
    if latest is None:
        st.progress(0.0, text=t("train.starting"))
    else:
        st.progress(
            latest.step / latest.total_steps,
            text=t(
                "train.progress",
                epoch=latest.epoch,
                epochs=run.setup.settings.epochs,
                step=latest.step,
                steps=latest.total_steps,
                speed=latest.images_per_s,
                left=latest.seconds_left,
                loss=latest.loss,
            ),
        )
        if run.active:
            st.caption(
                t(
                    "workers.epoch_eta",
                    epoch=latest.epoch,
                    duration=runs.duration_text(
                        runs.epoch_seconds_left(latest, epochs=run.setup.settings.epochs)
                    ),
                )
            )
    if run.active:
        st.button(
            t("train.stopping") if view.stop_requested else t("train.stop"),
            key="train_stop",
            on_click=run.stop,
            disabled=view.stop_requested,
        )
        if view.status == "evaluating":
            st.caption(t("train.evaluating"))


def show_curves() -> None:
    labels = {
        key: t(f"train.curve_{key}") for key in ("loss", "accuracy", "epoch", "train", "validation")
    }
    st.plotly_chart(
        runs.curves_figure(run.view(), epochs=run.setup.settings.epochs, labels=labels),
        width="stretch",
        key="train_curves",
    )


st.header(t("train.progress_header"))
st.caption(
    t(
        "train.run_setup",
        net=run.setup.net,
        train=run.setup.train_count,
        validation=run.setup.validation_count,
        optimizer=t(f"train.optimizer_{run.setup.settings.optimizer}"),
        schedule=t(f"train.schedule_{run.setup.settings.schedule}"),
        rate=run.setup.settings.learning_rate,
        batch=run.setup.settings.batch_size,
        device=run.setup.settings.device,
    )
)
st.fragment(show_progress, run_every=runs.POLL_SECONDS if running else None)()
# The curves redraw less often than the progress line: a plotly figure costs the browser far
# more to draw than a progress bar, and other visitors share this server's cores.
st.fragment(show_curves, run_every=runs.CURVES_POLL_SECONDS if running else None)()

if run.failure is not None:
    if isinstance(run.failure, PlaygroundError):
        show_error(run.failure)
        state.stop()
    raise run.failure
if run.evaluation is None:
    state.stop()

# 5. Evaluate ------------------------------------------------------------------------------
result, evaluation = run.result, run.evaluation
st.header(t("train.evaluate_header"))
if run.budget_reached:
    st.warning(
        t("workers.budget_reached", budget=runs.duration_text(config.TRAIN_BUDGET_S)),
        icon=":material/timer_off:",
    )
elif result.stopped:
    st.warning(t("train.stopped_note", epochs=len(result.epochs)), icon=":material/stop_circle:")
columns = st.columns(4)
columns[0].metric(t("train.test_accuracy"), f"{evaluation.accuracy:.1%}")
columns[1].metric(t("train.test_images"), f"{evaluation.count:,}")
columns[2].metric(
    t("train_feedback.presentations"),
    f"{result.images_seen:,}",
    help=t("train_feedback.presentations_help"),
)
columns[3].metric(t("train.train_time"), t("train.seconds", seconds=result.seconds))
passes = feedback.passes(images_seen=result.images_seen, train_count=run.setup.train_count)
st.caption(
    t(
        "train_feedback.presentations_note",
        total=f"{result.images_seen:,}",
        images=f"{run.setup.train_count:,}",
        epochs=f"{passes:.3g}",
    )
)
diagnosis = feedback.diagnose(evaluation, settings=run.setup.settings, steps=result.steps)
if diagnosis is not None:
    show_diagnosis(diagnosis)
left, right = st.columns(2)
left.subheader(t("train.per_class_header"))
left.plotly_chart(
    runs.per_class_figure(evaluation, accuracy_label=t("train.curve_accuracy")),
    width="stretch",
    key="train_per_class",
)
right.subheader(t("train.confusion_header"))
right.plotly_chart(
    runs.confusion_figure(
        evaluation,
        labels={
            "true": t("train.true_label"),
            "predicted": t("train.predicted_label"),
            "hover": t("train.confusion_hover"),
        },
    ),
    width="stretch",
    key="train_confusion",
)
st.subheader(t("train.wrong_header"))
if evaluation.most_confident_wrong:
    columns = st.columns(6)
    for position, wrong in enumerate(evaluation.most_confident_wrong):
        columns[position % 6].image(
            run.test_set.images[wrong.index].permute(1, 2, 0).numpy(),
            caption=t(
                "train.wrong_caption",
                true=evaluation.categories[wrong.true_label],
                predicted=evaluation.categories[wrong.predicted_label],
                confidence=wrong.confidence,
            ),
            width=96,
        )
else:
    st.success(t("train.no_mistakes"))
with st.expander(t("train.evaluate_code_header")):
    if run.setup.augmentation == "pipeline":
        st.caption(t("snippets_page.pipeline_not_reproducible"))
    else:  # the whole run again: the learner copies one block
        show_code(
            snippets.training_code(
                run.setup.net,
                run.setup.settings,
                data_root=run.setup.data_root,
                subset=run.setup.subset,
                validation_fraction=run.setup.validation_fraction,
                test_size=run.setup.test_count,
                mean=run.setup.mean,
                std=run.setup.std,
                num_classes=len(run.setup.categories),
                source=run.setup.source,
                language=language(),
            ),
            file_name="train_and_evaluate.py",
            key="train_code_evaluate",
        )

# 6. Deploy: the finished run is offered to Classify and Deploy without another click -------
st.header(t("train.deploy_header"))
kept_key = f"train_kept_{run.id}"  # this page's record: keep each run once, in any language
if kept_key not in st.session_state:
    st.session_state[kept_key] = t(
        "train.trained_name",
        net=run.setup.net,
        source=t(f"train.source_{run.setup.source}"),
        epochs=len(result.epochs),
        id=run.id,
    )
    state.keep_trained_model(
        TrainedModel(
            name=st.session_state[kept_key],
            net=run.setup.net,
            module=copy.deepcopy(result.model).cpu().eval(),
            categories=evaluation.categories,
            mean=run.setup.mean,
            std=run.setup.std,
            image_size=32,
        )
    )
st.success(t("deploy.train_kept", name=st.session_state[kept_key]), icon=":material/check_circle:")
st.page_link("pages/deploy.py", label=t("deploy.train_link"), icon=":material/rocket_launch:")
st.page_link("pages/classify.py", label=t("train.open_classify"), icon=":material/arrow_forward:")
