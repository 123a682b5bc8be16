"""Training in a worker process: same model as the in-process Trainer, Stop ends the process,
a killed worker becomes a clear error, the time budget stops a run; the request-time Budget."""

from __future__ import annotations

import os
import signal
import time

import pytest
import torch

from core import config, training, workers
from tests.corpus import load_cifar_npz

TIMEOUT_S = 180  # a spawned worker imports torch first: allow a slow, shared machine
STATE_TOLERANCE = 1e-5  # same seed and thread count: the weights agree to float rounding


@pytest.fixture(scope="module")
def cifar() -> training.ImageSet:
    arrays = load_cifar_npz()
    return training.from_arrays(
        arrays["data"][:600], arrays["labels"][:600], categories=[str(c) for c in arrays["classes"]]
    )


def request(cifar, **changes) -> workers.TrainingRequest:
    settings = training.TrainConfig(epochs=2, batch_size=50, augmentation="standard", seed=3)
    values = {
        "net": "SmallVGG",
        "train": cifar.take(torch.arange(400)),
        "validation": cifar.take(torch.arange(400, 500)),
        "test": cifar.take(torch.arange(500, 600)),
        "settings": settings,
        "mean": training.CIFAR10_MEAN,
        "std": training.CIFAR10_STD,
        "threads": 1,
    }
    return workers.TrainingRequest(**(values | changes))


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers signal 0; its state letter says it has ended.
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split(") ")[-1][0] != "Z"


def wait_for_steps(job: workers.TrainingJob, count: int) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while len(job.snapshot()[1]) < count:
        assert time.monotonic() < deadline, "the worker reported no steps"
        time.sleep(0.05)


@pytest.mark.slow
def test_a_worker_run_trains_the_same_model_as_the_in_process_trainer(cifar):
    job = workers.TrainingJob(request(cifar))
    job.start()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the thread version, with the worker's thread count
    try:
        here = workers.build_trainer(request(cifar)).run()
    finally:
        torch.set_num_threads(threads)
    assert job.wait(TIMEOUT_S) and job.status == "done", job.failure
    there = job.result
    for name, value in here.model.state_dict().items():
        assert torch.allclose(value.float(), there.model.state_dict()[name].float(), atol=1e-5)
    assert [e.train_loss for e in there.epochs] == pytest.approx(
        [e.train_loss for e in here.epochs], abs=STATE_TOLERANCE
    )
    expected = training.evaluate(here.model, request(cifar).test)
    assert job.evaluation.accuracy == pytest.approx(expected.accuracy, abs=0.01)
    assert not there.model.training and there.steps == 16 and there.images_seen == 800
    assert len(job.snapshot()[1]) == 16  # every step was reported over the queue


@pytest.mark.slow
def test_stop_ends_the_worker_process_and_keeps_the_model(cifar):
    long_run = request(cifar, settings=training.TrainConfig(epochs=100, batch_size=50))
    job = workers.TrainingJob(long_run)
    job.start()
    wait_for_steps(job, 2)
    stopped_at = time.monotonic()
    job.stop()
    assert job.wait(TIMEOUT_S)
    assert time.monotonic() - stopped_at < workers.config.STOP_GRACE_S + 3  # + join slack
    assert not pid_alive(job.pid)
    assert job.status == "done" and job.result.stopped and job.evaluation.count == 100
    assert job.result.steps < 800


@pytest.mark.slow
def test_the_worker_runs_at_the_lowest_priority_so_pages_go_first(cifar):
    job = workers.TrainingJob(request(cifar, settings=training.TrainConfig(epochs=100)))
    job.start()
    try:
        wait_for_steps(job, 1)
        expected = min(19, os.getpriority(os.PRIO_PROCESS, 0) + config.TRAIN_WORKER_NICENESS)
        assert os.getpriority(os.PRIO_PROCESS, job.pid) == expected
    finally:
        job.stop()
        job.wait(TIMEOUT_S)


@pytest.mark.slow
def test_a_killed_worker_is_a_clear_error(cifar):
    job = workers.TrainingJob(request(cifar, settings=training.TrainConfig(epochs=100)))
    job.start()
    wait_for_steps(job, 1)
    os.kill(job.pid, signal.SIGKILL)
    assert job.wait(TIMEOUT_S)
    assert job.status == "failed" and isinstance(job.failure, workers.WorkerError)
    assert job.failure.params == {"exitcode": str(-signal.SIGKILL)}


@pytest.mark.slow
def test_the_time_budget_stops_a_run_and_keeps_its_model(cifar):
    job = workers.TrainingJob(
        request(cifar, settings=training.TrainConfig(epochs=100, batch_size=50), budget_s=0.5)
    )
    job.start()
    assert job.wait(TIMEOUT_S) and job.status == "done", job.failure
    assert job.budget_reached and job.result.stopped and job.result.steps < 800


def test_a_bad_setting_is_refused_before_a_process_starts(cifar):
    with pytest.raises(training.TrainingError) as caught:
        workers.check_request(request(cifar, settings=training.TrainConfig(epochs=0)))
    assert caught.value.key == "training.bad_setting"
    with pytest.raises(training.TrainingError, match="No training images"):
        workers.check_request(request(cifar, train=cifar.take(torch.arange(0))))


def test_a_budget_raises_past_its_deadline_and_lets_an_interrupt_go_first():
    calls = []
    budget = workers.Budget(0.05, interrupt=lambda: calls.append(1), what="preview")
    budget.check()
    time.sleep(0.06)
    with pytest.raises(workers.BudgetExceededError) as caught:
        budget.check()
    assert caught.value.params == {"seconds": 0.05} and len(calls) == 2

    def interrupt():
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        workers.Budget(100, interrupt=interrupt).check()


def test_the_estimate_adds_the_start_up_to_every_step():
    assert workers.estimate_seconds(0.5, steps=10) == workers.config.WORKER_START_S + 5
    assert workers.measure_step_seconds("SmallVGG", batch_size=4, num_classes=3) > 0


def test_a_stop_before_the_first_step_says_nothing_was_trained(cifar, monkeypatch):
    monkeypatch.setattr(workers.config, "STOP_GRACE_S", 0.0)  # ended at the watcher's first look
    job = workers.TrainingJob(request(cifar))
    job.start()
    job.stop()
    assert job.wait(TIMEOUT_S)
    assert not pid_alive(job.pid)
    assert job.status == "failed" and job.failure.key == "workers.stopped_without_model"
