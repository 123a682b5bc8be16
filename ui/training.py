"""Training runs for the Train page: one worker process per run (`core.workers`), a bounded
number per server, progress kept in a thread-safe object the page polls; the estimate shown
before Start. Nothing here runs training in the server process."""

from __future__ import annotations

import dataclasses
import pathlib
import threading
import uuid
import weakref

import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from core import config, workers
from core.errors import PlaygroundError
from core.nets import ModelSummary, build, summarize
from core.training import (
    CIFAR10_MEAN,
    CIFAR10_STD,
    EpochReport,
    Evaluation,
    ImageSet,
    StepReport,
    TrainConfig,
    TrainResult,
    channel_statistics,
    from_cifar,
    from_image_folder,
    split,
)
from core.workers import TrainingJob, TrainingRequest, check_request
from ui.datasets import cifar10
from ui.i18n import t

RUN_KEY = "train_run"  # st.session_state key of this session's TrainingRun
POLL_SECONDS = 1.0  # how often the page redraws the progress of an active run
CURVES_POLL_SECONDS = 5.0  # and its loss and accuracy curves
FOLDER_TEST_FRACTION = 0.2  # an ImageFolder's held-out test part
CACHE_TTL_S = 3600  # entries keyed by user input expire an hour after they were made


class RunsFullError(PlaygroundError):
    """Every training slot of the server is taken."""

    key = "train.runs_full"


@st.cache_resource(show_spinner=False)
def _run_slots() -> threading.BoundedSemaphore:
    """The process-wide bound on concurrent training runs."""
    return threading.BoundedSemaphore(config.MAX_CONCURRENT_RUNS)


@st.cache_resource(show_spinner=False, max_entries=4)
def cifar_images(root: str, train: bool) -> ImageSet:
    """A CIFAR-10 split as one uint8 tensor; raises DatasetError when it is missing."""
    return from_cifar(cifar10(root, train))


# Keyed by what users type or upload: bounded in entries and time, so memory plateaus.
@st.cache_resource(show_spinner=False, max_entries=2, ttl=CACHE_TTL_S)
def folder_images(root: str, roots: tuple[str, ...]) -> ImageSet:
    """An ImageFolder inside `roots` at 32×32 (unreadable files left out and counted); raises
    PlaygroundError for a folder refused, too large or without readable images."""
    return from_image_folder(pathlib.Path(root), roots=[pathlib.Path(path) for path in roots])


@st.cache_resource(show_spinner=False, max_entries=2, ttl=CACHE_TTL_S)
def folder_split(root: str, roots: tuple[str, ...]) -> tuple[ImageSet, ImageSet]:
    """An ImageFolder split (seeded) into its training part and its held-out test part."""
    return split(folder_images(root, roots), fraction=FOLDER_TEST_FRACTION, seed=0)


@st.cache_data(show_spinner=False, max_entries=64)
def step_seconds(net: str, batch_size: int, num_classes: int) -> float:
    """One training step of `net` measured on this server (cached per net and batch size)."""
    return workers.measure_step_seconds(net, batch_size=batch_size, num_classes=num_classes)


def estimate_seconds(net: str, *, batch_size: int, num_classes: int, steps: int) -> float:
    """How long a run of `steps` steps should take, from one measured step."""
    return workers.estimate_seconds(step_seconds(net, batch_size, num_classes), steps=steps)


def duration_text(seconds: float) -> str:
    """A duration in the UI language: "45 s", "3 min 20 s", "2 h 05 min"."""
    seconds = round(seconds)
    if seconds < 60:
        return t("workers.duration_s", seconds=seconds)
    if seconds < 3600:
        return t("workers.duration_m", minutes=seconds // 60, seconds=seconds % 60)
    return t("workers.duration_h", hours=seconds // 3600, minutes=seconds % 3600 // 60)


def epoch_seconds_left(latest: StepReport, *, epochs: int) -> float:
    """Seconds until the epoch of `latest` ends, at the pace measured so far."""
    steps_per_epoch = -(-latest.total_steps // epochs)
    left_in_epoch = min(latest.epoch * steps_per_epoch, latest.total_steps) - latest.step
    left_in_run = latest.total_steps - latest.step
    return latest.seconds_left * left_in_epoch / left_in_run if left_in_run else 0.0


@st.cache_data(show_spinner=False)
def net_summary(name: str) -> ModelSummary:
    """The layers of a freshly built network from core.nets on a 1×3×32×32 input."""
    return summarize(build(name))


def normalization(source: str, images: ImageSet) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Normalize values: torchvision's for CIFAR-10, else measured on the training images."""
    if source == "cifar10":
        return CIFAR10_MEAN, CIFAR10_STD
    return channel_statistics(images)


@dataclasses.dataclass(frozen=True)
class RunSetup:
    """What a run was started with, for display and for deployment."""

    net: str
    settings: TrainConfig
    categories: tuple[str, ...]
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    train_count: int
    validation_count: int
    test_count: int
    augmentation: str  # "none", "standard" or "pipeline"
    source: str  # "cifar10" or "folder"
    subset: int = 0  # training images drawn (before the validation hold-out)
    validation_fraction: float = 0.0
    data_root: str = ""  # CIFAR-10's root or the image folder


@dataclasses.dataclass(frozen=True)
class RunView:
    """A consistent copy of a run's state, for one render of the page."""

    status: str  # "starting", "running", "evaluating", "done" or "failed"
    steps: tuple[StepReport, ...]
    epochs: tuple[EpochReport, ...]
    stop_requested: bool

    @property
    def latest(self) -> StepReport | None:
        return self.steps[-1] if self.steps else None


class TrainingRun:
    """One training run of one session, trained and evaluated in a worker process
    (`core.workers.TrainingJob`) while this process keeps serving pages."""

    def __init__(self, request: TrainingRequest, *, setup: RunSetup) -> None:
        self.id = uuid.uuid4().hex[:8]
        self.setup = setup
        self.test_set = request.test
        self.exports: dict[str, object] = {}  # filled by the page's Deploy section
        self._job = TrainingJob(request)
        # A closed session drops its state: its run's worker stops with it.
        weakref.finalize(self, self._job.stop)

    def start(self) -> None:
        """Check the request, take a training slot and start the worker.

        Raises:
            TrainingError: settings or data that cannot be trained.
            RunsFullError: every slot of this server is taken.
        """
        check_request(self._job.request)
        slots = _run_slots()  # released by this run even if the cache is cleared
        if not slots.acquire(blocking=False):
            raise RunsFullError(
                f"{config.MAX_CONCURRENT_RUNS} training runs are already going on this server. "
                "Wait for one to finish, then press Train again.",
                limit=config.MAX_CONCURRENT_RUNS,
            )
        self._job.on_end = slots.release
        try:
            self._job.start()
        except BaseException:
            slots.release()
            raise

    def stop(self) -> None:
        """End training after the current step (the worker is ended within
        `config.STOP_GRACE_S`); the model trained so far is kept."""
        self._job.stop()

    @property
    def pid(self) -> int | None:
        return self._job.pid

    @property
    def result(self) -> TrainResult | None:
        return self._job.result

    @property
    def evaluation(self) -> Evaluation | None:
        return self._job.evaluation

    @property
    def failure(self) -> BaseException | None:
        return self._job.failure

    @property
    def budget_reached(self) -> bool:
        return self._job.budget_reached

    @property
    def active(self) -> bool:
        return self.view().status in ("starting", "running", "evaluating")

    def view(self) -> RunView:
        status, steps, epochs = self._job.snapshot()
        return RunView(
            status=status, steps=steps, epochs=epochs, stop_requested=self._job.stop_requested
        )

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the run has ended (for tests and benches); True when it has."""
        return self._job.wait(timeout)


def current_run() -> TrainingRun | None:
    return st.session_state.get(RUN_KEY)


def _thin(steps: tuple[StepReport, ...]) -> tuple[StepReport, ...]:
    stride = max(1, -(-len(steps) // config.MAX_CURVE_POINTS))
    return steps[::stride]


def curves_figure(view: RunView, *, epochs: int, labels: dict[str, str]) -> go.Figure:
    """Loss and accuracy against epochs: every step of training, every epoch of validation.

    `labels` holds the localized texts: loss, accuracy, epoch, train, validation.
    """
    figure = make_subplots(rows=1, cols=2, subplot_titles=(labels["loss"], labels["accuracy"]))
    steps = _thin(view.steps)
    steps_per_epoch = steps[0].total_steps / epochs if steps else 1
    x = [step.step / steps_per_epoch for step in steps]
    train_style = {"color": "#EE4C2C", "width": 1}
    figure.add_scatter(
        x=x, y=[s.loss for s in steps], name=labels["train"], line=train_style, row=1, col=1
    )
    figure.add_scatter(
        x=x,
        y=[s.accuracy for s in steps],
        name=labels["train"],
        line=train_style,
        showlegend=False,
        row=1,
        col=2,
    )
    validated = [epoch for epoch in view.epochs if epoch.validation_loss is not None]
    if validated:
        epoch_x = [epoch.epoch for epoch in validated]
        validation_style = {"color": "#1f77b4", "width": 3}
        figure.add_scatter(
            x=epoch_x,
            y=[epoch.validation_loss for epoch in validated],
            name=labels["validation"],
            mode="lines+markers",
            line=validation_style,
            row=1,
            col=1,
        )
        figure.add_scatter(
            x=epoch_x,
            y=[epoch.validation_accuracy for epoch in validated],
            name=labels["validation"],
            mode="lines+markers",
            line=validation_style,
            showlegend=False,
            row=1,
            col=2,
        )
    figure.update_xaxes(title_text=labels["epoch"], range=[0, epochs])
    figure.update_yaxes(range=[0, 1], tickformat=".0%", row=1, col=2)
    figure.update_layout(height=340, margin={"t": 40, "b": 40, "l": 40, "r": 20})
    return figure


def confusion_figure(evaluation: Evaluation, *, labels: dict[str, str]) -> go.Figure:
    """The confusion matrix as a heatmap: rows the true class, columns the prediction."""
    figure = go.Figure(
        go.Heatmap(
            z=evaluation.confusion,
            x=list(evaluation.categories),
            y=list(evaluation.categories),
            colorscale="Reds",
            texttemplate="%{z}",
            hovertemplate=labels["hover"] + "<extra></extra>",
        )
    )
    figure.update_xaxes(title_text=labels["predicted"], side="bottom")
    figure.update_yaxes(title_text=labels["true"], autorange="reversed")
    figure.update_layout(height=480, margin={"t": 20, "b": 40, "l": 40, "r": 20})
    return figure


def per_class_figure(evaluation: Evaluation, *, accuracy_label: str) -> go.Figure:
    figure = go.Figure(
        go.Bar(
            x=list(evaluation.categories),
            y=list(evaluation.per_class_accuracy),
            marker_color="#EE4C2C",
            texttemplate="%{y:.0%}",
        )
    )
    figure.update_yaxes(range=[0, 1], tickformat=".0%", title_text=accuracy_label)
    figure.update_layout(height=320, margin={"t": 20, "b": 40, "l": 40, "r": 20})
    return figure
