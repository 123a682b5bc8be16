"""Long work away from the pages: a training run in its own process, and a time budget that
request-time work checks between its steps.

Torch's intra-op threads are process-wide, so training in the server process competes with every
page of every session. A `TrainingJob` trains in a spawned process with its own
`torch.set_num_threads` budget, streams step and epoch reports back over a queue, and returns the
trained weights (a state_dict) and the evaluation; the caller rebuilds the model from them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import multiprocessing
import os
import queue
import sys
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

import torch

from core import config
from core.errors import PlaygroundError
from core.training import (
    EpochReport,
    Evaluation,
    ImageSet,
    StepReport,
    TrainConfig,
    Trainer,
    TrainingError,
    TrainResult,
    evaluate,
    seeded_model,
)

POLL_S = 0.1  # how often the watcher looks at a quiet worker
MEASURED_BATCH = 32  # images in the step timed for an estimate; scaled to the batch size


class WorkerError(PlaygroundError, RuntimeError):
    """A worker process that ended without its result (killed, out of memory, stopped hard)."""

    key = "workers.crashed"


class BudgetExceededError(PlaygroundError):
    """Request-time work that ran past its time budget."""

    key = "workers.budget"


@dataclasses.dataclass(frozen=True)
class TrainingRequest:
    """Everything a worker needs to train and evaluate one run."""

    net: str  # a core.nets.NETS key
    train: ImageSet
    validation: ImageSet | None
    test: ImageSet
    settings: TrainConfig
    mean: tuple[float, ...]
    std: tuple[float, ...]
    pipeline: Callable | None = None  # a picklable transform (see core.training.apply_pipeline)
    threads: int = config.TRAIN_WORKER_THREADS
    budget_s: float = config.TRAIN_BUDGET_S

    @property
    def num_classes(self) -> int:
        return len(self.train.categories)


@dataclasses.dataclass(frozen=True)
class _Trained:
    """What the worker sends once training ends: weights as bytes (the process may be gone
    before the parent reads shared tensors) and the result's numbers."""

    state: bytes
    epochs: tuple[EpochReport, ...]
    stopped: bool
    budget_reached: bool
    steps: int
    images_seen: int
    seconds: float


class _StopOrDeadline:
    """Quacks like threading.Event for Trainer.run: set by a stop request or by the budget."""

    def __init__(self, stop: Any, deadline: float) -> None:
        self._stop, self._deadline = stop, deadline
        self.deadline_reached = False

    def is_set(self) -> bool:
        if time.monotonic() > self._deadline:
            self.deadline_reached = True
        return self.deadline_reached or self._stop.is_set()


def check_request(request: TrainingRequest) -> None:
    """Refuse, before a process starts, what the Trainer would refuse.

    Raises:
        TrainingError: a setting out of range, or no training images.
    """
    request.settings.check()
    if len(request.train) == 0:
        raise TrainingError("No training images. Pick a larger subset.", key="training.no_images")


def build_trainer(request: TrainingRequest) -> Trainer:
    """The Trainer a request describes, with its seeded initial model."""
    return Trainer(
        seeded_model(request.net, seed=request.settings.seed, num_classes=request.num_classes),
        train=request.train,
        validation=request.validation,
        settings=request.settings,
        mean=request.mean,
        std=request.std,
        pipeline=request.pipeline,
    )


def _work(request: TrainingRequest, messages: Any, stop: Any) -> None:
    """The worker process's body: train, send the weights, evaluate, send the evaluation."""
    try:
        with contextlib.suppress(OSError):  # not every platform lets a process lower itself
            os.nice(config.TRAIN_WORKER_NICENESS)
        torch.set_num_threads(request.threads)
        trainer = build_trainer(request)
        stopper = _StopOrDeadline(stop, time.monotonic() + request.budget_s)
        result = trainer.run(
            on_step=lambda report: messages.put(("step", report)),
            on_epoch=lambda report: messages.put(("epoch", report)),
            stop=stopper,
        )
        buffer = io.BytesIO()
        torch.save(result.model.state_dict(), buffer)
        trained = _Trained(
            state=buffer.getvalue(),
            epochs=result.epochs,
            stopped=result.stopped,
            budget_reached=stopper.deadline_reached,
            steps=result.steps,
            images_seen=result.images_seen,
            seconds=result.seconds,
        )
        messages.put(("trained", trained))
        evaluation = evaluate(
            result.model, request.test, mean=request.mean, std=request.std, device=trainer.device
        )
        messages.put(("evaluated", evaluation))
    except PlaygroundError as error:
        messages.put(("failed", error))
    except BaseException:  # noqa: BLE001 - the parent re-raises it with this traceback
        messages.put(("crashed", traceback.format_exc()))


_MAIN_LOCK = threading.Lock()


@contextlib.contextmanager
def _without_main_script():
    """Hide `__main__.__file__` while a worker is spawned.

    Spawn re-runs the parent's main script in the child. Under Streamlit that is the page script
    being drawn (Streamlit installs each page run as `__main__`), under AppTest its temporary
    script: the worker needs neither and must not draw a page.
    """
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if main is None or path is None or getattr(main.__spec__, "name", None) is not None:
        yield
        return
    with _MAIN_LOCK:
        del main.__file__
        try:
            yield
        finally:
            main.__file__ = path


class TrainingJob:
    """One training run in a spawned worker process, watched by a thread of this process.

    The watcher drains the worker's reports into this object, so readers never block; `view`-
    style accessors copy under a lock. After `stop()`, the worker ends after its current step and
    is terminated if it still runs `config.STOP_GRACE_S` later.
    """

    def __init__(self, request: TrainingRequest) -> None:
        self.request = request
        self.status = "starting"  # starting, running, evaluating, done, failed
        self.result: TrainResult | None = None
        self.evaluation: Evaluation | None = None
        self.failure: BaseException | None = None
        self.budget_reached = False
        self.on_end: Callable[[], None] | None = None  # called once, from the watcher thread
        self._lock = threading.Lock()
        self._steps: list[StepReport] = []
        self._epochs: list[EpochReport] = []
        self._trained: _Trained | None = None
        self._stop_requested_at: float | None = None
        self._trained_at: float | None = None
        context = multiprocessing.get_context("spawn")
        self._messages = context.Queue()
        self._stop = context.Event()
        self._process = context.Process(
            target=_work, args=(request, self._messages, self._stop), daemon=True
        )
        self._watcher = threading.Thread(target=self._watch, name="train-watcher", daemon=True)

    @property
    def pid(self) -> int | None:
        return self._process.pid

    def start(self) -> None:
        with _without_main_script():
            self._process.start()
        self._watcher.start()

    def stop(self) -> None:
        """End training after the current step, keeping the model trained so far."""
        with self._lock:
            if self._stop_requested_at is None:
                self._stop_requested_at = time.monotonic()
        self._stop.set()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def snapshot(self) -> tuple[str, tuple[StepReport, ...], tuple[EpochReport, ...]]:
        """(status, step reports, epoch reports), copied consistently."""
        with self._lock:
            return self.status, tuple(self._steps), tuple(self._epochs)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job has ended; True when it has."""
        self._watcher.join(timeout)
        return not self._watcher.is_alive()

    # --- the watcher thread ------------------------------------------------------------------

    def _watch(self) -> None:
        try:
            self._pump()
        finally:
            self._end_process()
            if self.on_end is not None:
                self.on_end()

    def _pump(self) -> None:
        while True:
            try:
                kind, payload = self._messages.get(timeout=POLL_S)
            except queue.Empty:
                if self._stopped_too_long():
                    self._end_process()
                if not self._process.is_alive():
                    if self._drain():
                        return
                    self._lost()
                    return
                continue
            if self._handle(kind, payload):
                return

    def _drain(self) -> bool:
        """Handle what a finished worker left in the queue; True when that ended the job."""
        while True:
            try:
                kind, payload = self._messages.get(timeout=POLL_S)
            except queue.Empty:
                return False
            if self._handle(kind, payload):
                return True

    def _handle(self, kind: str, payload: Any) -> bool:
        """Apply one message; True when the job has ended."""
        with self._lock:
            if kind == "step":
                self._steps.append(payload)
                self.status = "running"
            elif kind == "epoch":
                self._epochs.append(payload)
        if kind == "trained":
            self._trained_at = time.monotonic()
            self._trained = payload
            self.budget_reached = payload.budget_reached
            self.result = self._result(payload)
            self._set_status("evaluating")
        elif kind == "evaluated":
            self.evaluation = payload
            self._set_status("done")
            return True
        elif kind == "failed":
            self._fail(payload)
            return True
        elif kind == "crashed":
            self._fail(RuntimeError(f"the training worker failed:\n{payload}"))
            return True
        return False

    def _result(self, trained: _Trained) -> TrainResult:
        model = seeded_model(
            self.request.net, seed=self.request.settings.seed, num_classes=self.request.num_classes
        )
        model.load_state_dict(torch.load(io.BytesIO(trained.state), weights_only=True))
        return TrainResult(
            model=model.eval(),
            epochs=trained.epochs,
            stopped=trained.stopped,
            steps=trained.steps,
            images_seen=trained.images_seen,
            seconds=trained.seconds,
        )

    def _lost(self) -> None:
        """The worker is gone without its last message."""
        if self.result is not None:  # stopped hard while evaluating: evaluate the kept model
            self.evaluation = evaluate(
                self.result.model, self.request.test, mean=self.request.mean, std=self.request.std
            )
            self._set_status("done")
            return
        if self._stop_requested_at is not None:
            self._fail(
                WorkerError(
                    "Stopped before the training process returned a model, so there is none to "
                    "keep. Press Train to start again.",
                    key="workers.stopped_without_model",
                )
            )
            return
        code = self._process.exitcode
        self._fail(
            WorkerError(
                f"The training process ended unexpectedly (exit code {code}) before it "
                "returned a model. Press Train to start again.",
                exitcode=str(code),
            )
        )

    def _stopped_too_long(self) -> bool:
        """Past Stop's grace: `config.STOP_GRACE_S` after the weights arrived, or after the step
        running at Stop should have ended (cutting a step short would lose the model)."""
        requested = self._stop_requested_at
        if requested is None:
            return False
        if self._trained_at is not None:
            return time.monotonic() - self._trained_at > config.STOP_GRACE_S
        return time.monotonic() - requested > config.STOP_GRACE_S + self._step_seconds()

    def _step_seconds(self) -> float:
        """One step at the pace measured so far (0 before the first step)."""
        with self._lock:
            latest = self._steps[-1] if self._steps else None
        if latest is None or latest.images_per_s <= 0:
            return 0.0
        return self.request.settings.batch_size / latest.images_per_s

    def _end_process(self) -> None:
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(1.0)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(1.0)

    def _fail(self, error: BaseException) -> None:
        self.failure = error
        self._set_status("failed")

    def _set_status(self, status: str) -> None:
        with self._lock:
            self.status = status


class Budget:
    """A wall-time budget for request-time work, checked between its steps.

    Args:
        seconds: how long the work may take.
        interrupt: called at every check; raises to abandon the work (e.g. Streamlit's
            rerun/stop check), so a session that reruns or closes stops paying for it.
        what: names the work in the error message.
    """

    def __init__(
        self, seconds: float, *, interrupt: Callable[[], None] | None = None, what: str = "work"
    ) -> None:
        self.seconds = seconds
        self._deadline = time.monotonic() + seconds
        self._interrupt = interrupt
        self._what = what

    def check(self) -> None:
        """Raise BudgetExceededError past the deadline; let `interrupt` raise first."""
        if self._interrupt is not None:
            self._interrupt()
        if time.monotonic() > self._deadline:
            raise BudgetExceededError(
                f"The {self._what} took longer than its {self.seconds:g} s budget and was "
                "stopped. Use fewer or lighter steps, or fewer draws.",
                seconds=self.seconds,
            )


def estimate_seconds(step_seconds: float, *, steps: int) -> float:
    """A run's duration from one measured step: every step, plus a start-up allowance."""
    return config.WORKER_START_S + step_seconds * steps


def measure_step_seconds(
    net: str,
    *,
    batch_size: int,
    num_classes: int,
    image_size: int = 32,
) -> float:
    """Seconds of one training step (forward, backward, optimizer) of `net` on random data.

    At most `MEASURED_BATCH` images are timed and the time scaled to `batch_size`, so the
    measurement stays short in the server process. The first step warms up and is not counted.
    """
    measured = min(batch_size, MEASURED_BATCH)
    model = seeded_model(net, seed=0, num_classes=num_classes)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    inputs = torch.randn(measured, 3, image_size, image_size)
    labels = torch.randint(0, num_classes, (measured,))
    loss_function = torch.nn.CrossEntropyLoss()
    timings = []
    for _ in range(2):
        started = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        loss_function(model(inputs), labels).backward()
        optimizer.step()
        timings.append(time.perf_counter() - started)
    return timings[-1] * batch_size / measured
