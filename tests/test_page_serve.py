"""The Serve & scale page: its code, a torchrun run launched from the page whose checkpoint comes
back as a trained model, and a model served from the page and called."""

from __future__ import annotations

import pathlib

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from core import config, serving
from tests import corpus
from tests.test_app import APP, TIMEOUT_S, run_page
from tests.test_core_serving import small_trained_model
from ui import serving as hosting
from ui import state

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:ray.*")


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """40 real CIFAR-10 test images (airplane, automobile) as an ImageFolder."""
    arrays = corpus.load_cifar_npz()
    root = tmp_path_factory.mktemp("folder")
    for label in (0, 1):
        folder = root / str(arrays["classes"][label])
        folder.mkdir()
        for index in np.flatnonzero(arrays["labels"] == label)[:20]:
            Image.fromarray(arrays["data"][index]).save(folder / f"{index:05d}.png")
    return root


@pytest.fixture
def folder_roots(image_folder: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Let the page open the test's image folder (folders a browser opens live under roots)."""
    monkeypatch.setattr(config, "FOLDER_ROOTS", (image_folder.parent,))


def codes(at) -> list[str]:
    return [block.value for block in at.code]


def test_the_page_shows_the_ddp_script_for_an_image_folder_in_both_languages(
    image_folder, folder_roots
):
    for lang, comment in (("en", "all-reduce"), ("zh", "all-reduce）")):
        # Seeded before the page first runs: AppTest words other widgets' options in English
        # when it sends them back, which breaks any later run in Chinese.
        at = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
        at.query_params["lang"] = lang
        at.session_state["serve_ddp_source"] = "folder"
        at.session_state["serve_ddp_folder"] = str(image_folder)
        at.run()
        at.switch_page("pages/serve.py").run()
        assert not at.exception, [str(error.value) for error in at.exception]
        script = next(code for code in codes(at) if "DistributedDataParallel(" in code)
        assert f"default={str(image_folder)!r}" in script
        assert comment in script
        assert any(code.startswith("torchrun --nproc_per_node=2") for code in codes(at))
        assert any("serve_app:app" in code for code in codes(at))


def test_a_folder_that_does_not_exist_is_a_message_not_a_traceback(tmp_path):
    at = run_page("serve")
    at.radio(key="serve_ddp_source").set_value("folder").run()
    at.text_input(key="serve_ddp_folder").input(str(tmp_path / "nowhere")).run()
    assert not at.exception
    assert at.error or at.info


@pytest.mark.slow
def test_a_run_launched_from_the_page_comes_back_as_a_trained_model(image_folder, folder_roots):
    at = run_page("serve")
    at.radio(key="serve_ddp_source").set_value("folder").run()
    at.text_input(key="serve_ddp_folder").input(str(image_folder)).run()
    at.number_input(key="serve_ddp_subset").set_value(40).run()
    at.number_input(key="serve_ddp_epochs").set_value(1).run()
    at.button(key="serve_ddp_launch").click().run()
    run = at.session_state[hosting.JOB_KEY]
    assert run.job.wait(600) == 0, run.job.log
    at.run()
    assert not at.exception, [str(error.value) for error in at.exception]
    assert any("identical weights" in success.value for success in at.success)
    at.button(key="serve_ddp_use").click().run()
    kept = at.session_state[state.TRAINED_MODELS]
    assert list(kept) == ["SmallVGG · DDP ×2"]
    assert kept["SmallVGG · DDP ×2"].categories == ("airplane", "automobile")
    run.close()
    assert not run.folder.exists()


@pytest.mark.slow
def test_a_model_served_from_the_page_answers_the_photo(monkeypatch):
    monkeypatch.setattr(config, "SERVE_PORT", serving.free_port())
    hosting.serve_host.clear()
    try:
        at = run_page("serve")
        at.session_state[state.TRAINED_MODELS] = {"Small": small_trained_model()}
        at.run()
        at.selectbox(key="serve_model").set_value("trained:Small").run()
        at.slider(key="serve_replicas").set_value(2).run()
        at.button(key="serve_start").click().run()
        assert not at.exception, [str(error.value) for error in at.exception]
        assert any("2 replica(s)" in success.value for success in at.success)
        at.button(key="serve_send").click().run()
        metrics = {metric.label: metric.value for metric in at.metric}
        assert metrics["HTTP status"] == "200"
        assert metrics["Top class"] in {"ant", "bee", "cat"}
        assert any(code.startswith("curl -s -X POST") for code in codes(at))
        at.button(key="serve_stop").click().run()
        assert hosting.serve_host().names() == set()
        assert any("No model server" in info.value for info in at.info)
    finally:
        hosting.serve_host().shutdown()
        hosting.serve_host.clear()


def test_scale_this_run_carries_the_train_page_settings_into_train_ddp_py(cifar10_root):
    at = run_page("train")
    at.session_state["data_dir"] = str(cifar10_root)
    at.run()
    at.selectbox(key="train_net").set_value("ResNet-20")
    at.number_input(key="train_epochs").set_value(2)
    at.selectbox(key="train_batch").set_value(512)
    at.selectbox(key="train_optimizer").set_value("adam").run()
    at.number_input(key="train_lr_adam").set_value(0.003)
    at.selectbox(key="train_schedule").set_value("cosine")
    at.number_input(key="train_subset").set_value(1_500)
    at.number_input(key="train_seed").set_value(7).run()
    at.button(key="train_scale").click().run()
    assert not at.exception, [str(error.value) for error in at.exception]
    assert at.selectbox(key="serve_ddp_net").value == "ResNet-20"
    assert at.number_input(key="serve_ddp_subset").value == 1_500
    script = next(code for code in codes(at) if "DistributedDataParallel(" in code)
    for line in ("EPOCHS = 2", "BATCH_SIZE = 512", "SEED = 7", "SUBSET = 1500", "lr=0.003"):
        assert line in script, line
    assert "CosineAnnealingLR" in script
    assert any("0.003" in info.value for info in at.info)

    # Another optimizer on the Serve page takes its own default rate, the rest stays.
    # (AppTest runs the page it was last pointed at, not the one st.switch_page opened.)
    at.switch_page("pages/serve.py")
    at.selectbox(key="serve_ddp_optimizer").set_value("sgd").run()
    script = next(code for code in codes(at) if "DistributedDataParallel(" in code)
    assert "lr=0.003" not in script and "CosineAnnealingLR" in script and "SEED = 7" in script
