"""The Train page with its worker process: the estimate before Start, Stop ends the process,
a killed worker is a clear message and the page keeps working."""

from __future__ import annotations

import gc
import os
import signal
import time

import pytest
import torch

from core import workers
from core.training import ImageSet, TrainConfig
from tests.test_core_workers import pid_alive
from tests.test_page_train import open_with_data, wait_for_run
from ui import training as runs

STEP_TIMEOUT_S = 180


def start_long_run(cifar10_root):
    at = open_with_data(cifar10_root)
    at.number_input(key="train_subset").set_value(200)
    at.number_input(key="train_epochs").set_value(100)
    at.number_input(key="train_test_size").set_value(50)
    at.selectbox(key="train_batch").set_value(32)
    at.run()
    at.button(key="train_start").click().run()
    run = at.session_state[runs.RUN_KEY]
    deadline = time.monotonic() + STEP_TIMEOUT_S
    while not run.view().steps:
        assert time.monotonic() < deadline and run.active, run.failure
        time.sleep(0.1)
    return at, run


def test_the_estimate_is_shown_before_start(cifar10_root):
    at = open_with_data(cifar10_root)
    assert not at.exception
    assert any(caption.value.startswith("Estimated duration: about") for caption in at.caption)
    at.session_state["lang"] = "zh"
    at.run()
    assert any(caption.value.startswith("预计用时") for caption in at.caption)


@pytest.mark.slow
def test_stop_ends_the_worker_process(cifar10_root):
    at, run = start_long_run(cifar10_root)
    assert pid_alive(run.pid)
    at.button(key="train_stop").click().run()
    assert run.wait(STEP_TIMEOUT_S)
    assert not pid_alive(run.pid)
    wait_for_run(at)
    assert not at.exception and not at.error
    assert any("Stopped" in warning.value for warning in at.warning)


@pytest.mark.slow
def test_a_killed_worker_is_a_clear_message_and_the_page_keeps_working(cifar10_root):
    at, run = start_long_run(cifar10_root)
    os.kill(run.pid, signal.SIGKILL)
    assert run.wait(STEP_TIMEOUT_S)
    at.run()
    assert not at.exception
    assert any("ended unexpectedly" in error.value for error in at.error)
    assert not at.button(key="train_start").disabled
    at.selectbox(key="train_net").set_value("ResNet-8").run()
    assert not at.exception


def test_a_run_dropped_with_its_session_stops_its_worker():
    images = ImageSet(
        torch.zeros(2, 3, 32, 32, dtype=torch.uint8), torch.tensor([0, 1]), ("a", "b")
    )
    request = workers.TrainingRequest(
        net="SmallVGG",
        train=images,
        validation=None,
        test=images,
        settings=TrainConfig(),
        mean=(0.5,) * 3,
        std=(0.5,) * 3,
    )
    run = runs.TrainingRun(request, setup=None)
    job = run._job
    assert not job.stop_requested
    del run
    gc.collect()
    assert job.stop_requested
