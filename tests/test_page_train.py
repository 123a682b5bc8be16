"""The Train page in AppTest: a tiny real run from CIFAR-10 to evaluation, Classify and Deploy."""

from __future__ import annotations

import time

from torchvision.transforms import v2

from core.trained import TrainedModel
from tests.test_app import run_page
from ui import state
from ui import training as runs

RUN_TIMEOUT_S = 240


def open_with_data(cifar10_root):
    at = run_page("train")
    at.session_state["data_dir"] = str(cifar10_root)
    return at.run()


def wait_for_run(at):
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while at.session_state[runs.RUN_KEY].active:
        assert time.monotonic() < deadline, "the training run did not finish"
        time.sleep(0.5)
        at.run()
    return at.run()


def test_without_cifar_the_page_points_to_the_datasets_page(tmp_path):
    at = run_page("train")
    at.session_state["data_dir"] = str(tmp_path)
    at.run()
    assert not at.exception and not at.error
    assert any(str(tmp_path) in info.value for info in at.info)


def test_the_layer_table_follows_the_chosen_net(cifar10_root):
    at = open_with_data(cifar10_root)
    at.selectbox(key="train_net").set_value("ResNet-20").run()
    params = next(metric.value for metric in at.metric if metric.label == "Parameters")
    assert params == f"{runs.net_summary('ResNet-20').total_params:,}"
    assert len(at.dataframe[0].value) == len(runs.net_summary("ResNet-20").rows)


def test_a_tiny_run_shows_curves_evaluation_and_is_kept_for_other_pages(cifar10_root):
    at = open_with_data(cifar10_root)
    at.number_input(key="train_subset").set_value(200)
    at.number_input(key="train_epochs").set_value(2)
    at.number_input(key="train_test_size").set_value(100)
    at.selectbox(key="train_batch").set_value(32)
    at.run()
    at.button(key="train_start").click().run()
    assert not at.exception and not at.error
    wait_for_run(at)
    assert not at.exception and not at.error
    assert at.session_state[runs.RUN_KEY].view().status == "done"
    assert len(at.get("plotly_chart")) == 3  # curves, per-class accuracy, confusion matrix
    metrics = {metric.label: metric.value for metric in at.metric}
    assert metrics["Test images"] == "100"
    assert metrics["Image presentations"] == "360"  # 2 epochs of 180 (10 % held out)
    assert any("360 image presentations (180 images × 2 epochs)" in c.value for c in at.caption)
    # 12 steps teach SmallVGG next to nothing: the page says so instead of ending silently.
    assert any("Likely causes" in warning.value for warning in at.warning)
    assert metrics["Test accuracy"].endswith("%")
    assert any("SmallVGG on 180 images (20 held out" in c.value for c in at.caption)
    assert len(at.get("image")) >= 1  # the most confidently wrong images

    # The finished run is on the Classify and Deploy pages without another click, kept once.
    assert any("ready on the Classify and Deploy pages" in ok.value for ok in at.success)
    assert any("on the Deploy page" in link.proto.label for link in at.get("page_link"))
    at.run()
    (trained,) = at.session_state[state.TRAINED_MODELS].values()
    assert isinstance(trained, TrainedModel)
    assert len(trained.categories) == 10 and trained.image_size == 32
    assert not trained.module.training
    assert trained.module is not at.session_state[runs.RUN_KEY].result.model


def test_when_every_slot_is_taken_the_page_says_so(cifar10_root):
    slots = runs._run_slots()
    taken = 0
    while slots.acquire(blocking=False):
        taken += 1
    try:
        at = open_with_data(cifar10_root)
        at.button(key="train_start").click().run()
        assert not at.exception
        assert any("training runs are already going" in error.value for error in at.error)
        assert runs.RUN_KEY not in at.session_state
    finally:
        for _ in range(taken):
            slots.release()


def test_a_handed_pipeline_is_offered_and_shown(cifar10_root):
    at = run_page("train")
    at.session_state["data_dir"] = str(cifar10_root)
    at.session_state["handoff_train"] = state.HandedPipeline(
        v2.Compose([v2.RandomHorizontalFlip()]), '[{"RandomHorizontalFlip": {"p": 0.5}}]'
    )
    at.run()
    assert at.radio(key="train_augmentation").value == "pipeline"
    assert any("RandomHorizontalFlip" in code.value for code in at.code)
