"""Training runs for the Train page: one background thread per session, a bounded number per
process, progress kept in a thread-safe object the page polls. The thread never calls st.*."""

from __future__ import annotations

import dataclasses
import pathlib
import threading
import uuid

import plotly.graph_objects as go
import streamlit as st
import torch
from plotly.subplots import make_subplots

from core import config
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
    Trainer,
    TrainResult,
    channel_statistics,
    evaluate,
    from_cifar,
    from_image_folder,
    split,
)
from ui.datasets import cifar10

RUN_KEY = "train_run"  # st.session_state key of this session's TrainingRun
MAX_CURVE_POINTS = 1500  # per-step points drawn; longer runs are thinned evenly
POLL_SECONDS = 1.0  # how often the page redraws the progress of an active run
FOLDER_TEST_FRACTION = 0.2  # an ImageFolder's held-out test part


class RunsFullError(PlaygroundError):
    """Every training slot of the server is taken."""

    key = "train.runs_full"


@st.cache_resource(show_spinner=False)
def _run_slots() -> threading.BoundedSemaphore:
    """The process-wide bound on concurrent training threads."""
    return threading.BoundedSemaphore(config.MAX_CONCURRENT_RUNS)


@st.cache_resource(show_spinner=False, max_entries=4)
def cifar_images(root: str, train: bool) -> ImageSet:
    """A CIFAR-10 split as one uint8 tensor; raises DatasetError when it is missing."""
    return from_cifar(cifar10(root, train))


@st.cache_resource(show_spinner=False, max_entries=2)
def folder_images(root: str) -> ImageSet:
    """An ImageFolder at 32×32; raises TrainingError or ImageDecodeError for a bad folder."""
    return from_image_folder(pathlib.Path(root))


@st.cache_resource(show_spinner=False, max_entries=2)
def folder_split(root: str) -> tuple[ImageSet, ImageSet]:
    """An ImageFolder split (seeded) into its training part and its held-out test part."""
    return split(folder_images(root), fraction=FOLDER_TEST_FRACTION, seed=0)


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

    status: str  # "running", "evaluating", "done" or "failed"
    steps: tuple[StepReport, ...]
    epochs: tuple[EpochReport, ...]
    stop_requested: bool

    @property
    def latest(self) -> StepReport | None:
        return self.steps[-1] if self.steps else None


class TrainingRun:
    """One training run of one session, trained and evaluated in a daemon thread."""

    def __init__(self, trainer: Trainer, *, setup: RunSetup, test_set: ImageSet) -> None:
        self.id = uuid.uuid4().hex[:8]
        self.setup = setup
        self.test_set = test_set
        self.stop_event = threading.Event()
        self.result: TrainResult | None = None
        self.evaluation: Evaluation | None = None
        self.failure: BaseException | None = None
        self._trainer = trainer
        self._lock = threading.Lock()
        self._steps: list[StepReport] = []
        self._epochs: list[EpochReport] = []
        self._status = "running"

    def start(self) -> None:
        """Take a training slot and start the thread.

        Raises:
            RunsFullError: every slot of this server is taken.
        """
        self._slots = _run_slots()  # released on this object even if the cache is cleared
        if not self._slots.acquire(blocking=False):
            raise RunsFullError(
                f"{config.MAX_CONCURRENT_RUNS} training runs are already going on this server. "
                "Wait for one to finish, then press Train again.",
                limit=config.MAX_CONCURRENT_RUNS,
            )
        threading.Thread(target=self._work, name=f"train-{self.id}", daemon=True).start()

    def stop(self) -> None:
        """Ask the thread to stop after the current step; the model trained so far is kept."""
        self.stop_event.set()

    @property
    def active(self) -> bool:
        return self.view().status in ("running", "evaluating")

    def view(self) -> RunView:
        with self._lock:
            return RunView(
                status=self._status,
                steps=tuple(self._steps),
                epochs=tuple(self._epochs),
                stop_requested=self.stop_event.is_set(),
            )

    def _on_step(self, report: StepReport) -> None:
        with self._lock:
            self._steps.append(report)

    def _on_epoch(self, report: EpochReport) -> None:
        with self._lock:
            self._epochs.append(report)

    def _set_status(self, status: str) -> None:
        with self._lock:
            self._status = status

    def _work(self) -> None:
        try:
            result = self._trainer.run(
                on_step=self._on_step, on_epoch=self._on_epoch, stop=self.stop_event
            )
            self.result = result
            self._set_status("evaluating")
            self.evaluation = evaluate(
                result.model,
                self.test_set,
                mean=self.setup.mean,
                std=self.setup.std,
                device=self._trainer.device,
            )
            result.model.cpu()
            self._set_status("done")
        except BaseException as error:  # noqa: BLE001 - kept and shown (or re-raised) by the page
            self.failure = error
            self._set_status("failed")
        finally:
            self._slots.release()


def current_run() -> TrainingRun | None:
    return st.session_state.get(RUN_KEY)


def _thin(steps: tuple[StepReport, ...]) -> tuple[StepReport, ...]:
    stride = max(1, -(-len(steps) // MAX_CURVE_POINTS))
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


def available_devices() -> list[str]:
    """The devices this machine can train on, CPU last unless it is the only one."""
    devices = []
    if torch.cuda.is_available():
        devices.append("cuda")
    if torch.backends.mps.is_available():
        devices.append("mps")
    return [*devices, "cpu"]
