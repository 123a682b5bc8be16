"""The Deploy page in AppTest: a trained model taken to every target, the table of checks, the
shown programs (the same text the core tests run), and the session's folder removed with it."""

from __future__ import annotations

import gc
import pathlib
import time

import pytest
from streamlit.testing.v1 import AppTest

from core import deploy, training
from core.trained import TrainedModel
from tests.corpus import load_cifar_npz
from tests.test_app import APP, run_page
from tests.test_core_deploy import DataDependent
from ui import deploy as jobs
from ui import state

JOB_TIMEOUT_S = 600
FORMATS = ["state_dict", "export", "torchscript", "onnx", "cpp", "hub"]  # ExecuTorch: core tests


def trained_model() -> TrainedModel:
    return TrainedModel(
        name="SmallVGG · test",
        net="SmallVGG",
        module=training.seeded_model("SmallVGG", seed=1, num_classes=10).eval(),
        categories=tuple(str(name) for name in load_cifar_npz()["classes"]),
        mean=training.CIFAR10_MEAN,
        std=training.CIFAR10_STD,
        image_size=32,
    )


def open_with_model(cifar10_root, *, lang: str = "en"):
    at = run_page("deploy", lang=lang)
    at.session_state["data_dir"] = str(cifar10_root)
    at.session_state[state.TRAINED_MODELS] = {"SmallVGG · test": trained_model()}
    at.run()
    return at.selectbox(key="deploy_model").set_value("SmallVGG · test").run()


def wait_for_job(at):
    deadline = time.monotonic() + JOB_TIMEOUT_S
    while any(job.active for job in at.session_state[jobs.JOBS_KEY].values()):
        assert time.monotonic() < deadline, "the deploy job did not finish"
        time.sleep(1)
    return at.run()


def test_without_a_trained_model_it_offers_lite0_and_the_train_page():
    at = run_page("deploy")
    assert not at.exception and not at.error
    assert at.selectbox(key="deploy_model").value == "registry:efficientnet_lite0"
    assert "state_dict" not in at.multiselect(key="deploy_formats_efficientnet_lite0").options
    assert any("Train page" in info.value for info in at.info)


@pytest.mark.slow
def test_a_trained_model_goes_to_every_target_and_the_table_shows(cifar10_root):
    at = open_with_model(cifar10_root)
    assert at.selectbox(key="deploy_model").value == "SmallVGG · test"
    at.multiselect(key="deploy_formats_smallvgg").set_value(FORMATS).run()
    at.button(key="deploy_run").click().run()
    assert not at.exception
    at = wait_for_job(at)
    assert not at.exception and not at.error, [error.value for error in at.error]

    table = at.dataframe[0].value
    assert len(table) == 1 + len(FORMATS)  # eager baseline + one row per target
    assert set(table["Same top-1"]) == {"64 / 64"}  # 4 sample photos + 60 CIFAR-10 images
    assert all(float(value) <= 1e-4 for value in table["Max |Δ logits|"])
    assert any("TorchScript is deprecated" in warning.value for warning in at.warning)
    assert any("limited maintenance" in info.value for info in at.info)

    # Every Python block on the page is one of the programs the core tests run as shown.
    subject = deploy.from_trained(trained_model())
    programs = {deploy.load_code(f, subject) for f in FORMATS if f != "cpp"}
    programs |= {deploy.export_code(f, subject) for f in ("export", "torchscript", "onnx", "cpp")}
    programs |= {deploy.hubconf_code(subject), deploy.cpp_files(subject)["prepare_image.py"]}
    shown = {block.value.strip() for block in at.code if block.language == "python"}
    assert shown == {program.strip() for program in programs}
    assert deploy.cpp_commands(subject).strip() in {block.value.strip() for block in at.code}
    labels = " ".join(button.proto.label for button in at.get("download_button"))
    assert all(subject.file_name(f) in labels for f in FORMATS)

    # The files live in this session's temporary folder, removed when the session goes.
    folder = pathlib.Path(at.session_state[jobs.FOLDER_KEY].name)
    assert any(folder.rglob("smallvgg_hub.zip"))
    del at
    gc.collect()
    assert not folder.exists()


@pytest.mark.slow
def test_a_failing_target_shows_its_reason_in_chinese_and_the_others_still_work(cifar10_root):
    branchy = TrainedModel(
        name="Branchy",
        net="branchy",  # not one of the app's nets: no class code, no state_dict or Hub
        module=DataDependent().eval(),
        categories=("a", "b"),
        mean=(0.5, 0.5, 0.5),
        std=(0.25, 0.25, 0.25),
        image_size=32,
    )
    # Seeded before the first run, so the page's defaults pick it: AppTest formats a widget
    # value set from the test with English labels, which a Chinese page does not offer.
    at = AppTest.from_file(APP, default_timeout=180)
    at.query_params["lang"] = "zh"
    at.session_state["data_dir"] = str(cifar10_root)
    at.session_state[state.TRAINED_MODELS] = {"Branchy": branchy}
    at.run()
    at.switch_page("pages/deploy.py")
    at.run()
    at.button(key="deploy_run").click().run()
    at = wait_for_job(at)
    assert not at.exception
    job = at.session_state[jobs.JOBS_KEY]["Branchy"]
    failed = [format for format, row in job.rows.items() if row.error is not None]
    assert "export" in failed and "torchscript" not in failed and "cpp" not in failed
    assert any(error.value.startswith("torch.export（.pt2）：导出失败") for error in at.error)
    assert len(at.error) == len(failed)
    table = at.dataframe[0].value
    assert len(table) == 1 + len(job.rows) - len(failed)
    assert "TorchScript" in list(table["目标"])
    assert any("TorchScript 在 torch 2.x 中已弃用" in warning.value for warning in at.warning)
