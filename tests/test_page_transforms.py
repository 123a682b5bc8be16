"""The Transforms studio page: add steps, apply presets, see draws, the pipeline in the URL."""

from __future__ import annotations

import json

from PIL import Image
from streamlit.testing.v1 import AppTest

from core import transforms
from core.samples import DEFAULT_SAMPLE, sample_path
from tests.test_app import APP, TIMEOUT_S, run_page
from ui import handoff
from ui.datasets import DATA_DIR_KEY
from ui.transforms import STEPS_KEY


def _open(**query: str) -> AppTest:
    """The studio opened from a link carrying `query`."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    at.query_params.update({"lang": "en", **query})
    at.run()
    at.switch_page("pages/transforms.py").run()
    return at


def _step_names(at: AppTest) -> list[str]:
    return [entry["name"] for entry in at.session_state[STEPS_KEY]]


def _images(at: AppTest) -> list:
    return at.get("image")


def _image_captions(at: AppTest) -> list[str]:
    return [picture.caption for image in _images(at) for picture in image.proto.imgs]


def _draw_count(at: AppTest) -> int:
    """How many draws are shown (beside the original)."""
    captions = _image_captions(at)
    assert "Original" in captions
    return sum(caption.startswith("Draw ") for caption in captions)


def _errors(at: AppTest) -> list[str]:
    return [error.value for error in at.error]


def test_the_page_opens_with_a_preset_and_shows_the_original_beside_the_draws():
    at = run_page("transforms")
    assert not at.exception
    assert _step_names(at) == [s.name for s in transforms.PRESETS[transforms.DEFAULT_PRESET]]
    # the source preview, then the original and four draws
    assert _draw_count(at) == 4
    assert any("RandomResizedCrop" in caption.value for caption in at.caption)


def test_adding_steps_appends_them_and_puts_them_in_the_url():
    at = run_page("transforms")
    at.selectbox(key="transforms_add_choice").set_value("RandomVerticalFlip")
    at.button(key="transforms_add").click().run()
    at.selectbox(key="transforms_add_choice").set_value("GaussianBlur")
    at.button(key="transforms_add").click().run()
    assert not at.exception and not at.error
    assert _step_names(at)[-2:] == ["RandomVerticalFlip", "GaussianBlur"]
    in_url = transforms.from_json(at.query_params["tf_pipeline"])
    assert [step.name for step in in_url][-2:] == ["RandomVerticalFlip", "GaussianBlur"]


def test_applying_a_preset_replaces_the_pipeline_and_the_draws_show_it():
    at = run_page("transforms")
    at.selectbox(key="transforms_preset").set_value("cifar10_train")
    at.button(key="transforms_apply_preset").click().run()
    assert _step_names(at) == [
        "RandomCrop",
        "RandomHorizontalFlip",
        "ToImage",
        "ToDtype",
        "Normalize",
    ]
    assert _draw_count(at) == 4
    shape_column = at.dataframe[0].value["Shape (C, H, W)"]
    assert shape_column.iloc[-1] == "(3, 32, 32)"


def test_a_widget_change_reaches_the_pipeline():
    at = run_page("transforms")
    first = at.session_state[STEPS_KEY][0]
    at.number_input(key=f"transforms_{first['id']}_size").set_value(64).run()
    assert at.session_state[STEPS_KEY][0]["params"]["size"] == 64
    assert at.dataframe[0].value["Shape (C, H, W)"].iloc[-1] == "(3, 64, 64)"


def test_removing_and_moving_steps():
    at = run_page("transforms")
    ids = [entry["id"] for entry in at.session_state[STEPS_KEY]]
    at.button(key=f"transforms_down_{ids[0]}").click().run()
    assert _step_names(at)[:2] == ["RandomHorizontalFlip", "RandomResizedCrop"]
    at.button(key=f"transforms_remove_{ids[0]}").click().run()
    assert "RandomResizedCrop" not in _step_names(at)


def test_more_draws_and_resample_changes_the_seed():
    at = run_page("transforms")
    at.slider(key="transforms_count").set_value(8).run()
    assert _draw_count(at) == 8
    at.button(key="transforms_resample").click().run()
    assert at.number_input(key="transforms_seed").value == 8


def test_a_link_reproduces_the_pipeline():
    pipeline = transforms.PRESETS["classic_eval"]
    at = _open(tf_pipeline=transforms.to_json(pipeline))
    assert not at.exception and not at.error
    assert _step_names(at) == [step.name for step in pipeline]


def test_a_broken_link_is_explained_and_the_default_pipeline_is_used():
    at = _open(tf_pipeline='[{"name": "Sharpen"}]')
    assert any("Sharpen" in error for error in _errors(at))
    assert _step_names(at) == [s.name for s in transforms.PRESETS[transforms.DEFAULT_PRESET]]


def test_normalize_on_a_pil_image_gives_the_explained_error_not_a_traceback():
    at = _open(tf_pipeline=json.dumps([{"name": "Normalize"}]))
    assert not at.exception
    assert any("ToImage" in error for error in _errors(at))


def test_the_tensor_tab_shows_every_step_and_a_histogram():
    at = run_page("transforms")
    table = at.dataframe[0].value
    assert len(table) == len(transforms.PRESETS[transforms.DEFAULT_PRESET])
    assert table["Type"].iloc[-1] == "torch.float32"
    assert table["Min"].iloc[-1] < 0  # Normalize centres the values
    assert at.get("plotly_chart")
    step_captions = [c for c in _image_captions(at) if c[:1].isdigit()]
    assert step_captions == [
        f"{i}. {s.name}"
        for i, s in enumerate(transforms.PRESETS[transforms.DEFAULT_PRESET], start=1)
    ]


def test_a_cifar_image_is_a_source(cifar10_root):
    at = run_page("transforms")
    at.session_state[DATA_DIR_KEY] = str(cifar10_root)
    at.radio(key="transforms_source").set_value("cifar10").run()
    at.number_input(key="transforms_cifar_index").set_value(3).run()
    assert not at.exception and not at.error
    assert at.session_state[STEPS_KEY]
    assert any("CIFAR-10 test #3" in caption for caption in _image_captions(at))


def test_missing_cifar_points_at_the_datasets_page(tmp_path):
    at = run_page("transforms")
    at.session_state[DATA_DIR_KEY] = str(tmp_path)
    at.radio(key="transforms_source").set_value("cifar10").run()
    assert not at.exception and not at.error
    assert any("Datasets page" in info.value for info in at.info)


def test_an_image_handed_from_another_page_becomes_the_source():
    at = run_page("transforms")
    picture = Image.new("RGB", (40, 30), (200, 10, 10))
    at.session_state["handoff_transforms"] = handoff.HandedImage(picture, "a red card")
    at.run()
    assert at.radio(key="transforms_source").value == "handed"
    assert any("a red card" in caption for caption in _image_captions(at))


def test_loading_a_saved_pipeline_replaces_the_current_one():
    at = run_page("transforms")
    saved = transforms.to_json(transforms.PRESETS["autoaugment"], indent=2).encode()
    at.file_uploader(key="transforms_load").upload("pipeline.json", saved, "application/json")
    at.run()
    assert not at.exception and not at.error
    assert _step_names(at) == [step.name for step in transforms.PRESETS["autoaugment"]]


def test_loading_a_broken_file_is_explained_and_keeps_the_pipeline():
    at = run_page("transforms")
    before = _step_names(at)
    at.file_uploader(key="transforms_load").upload("pipeline.json", b"{oops", "application/json")
    at.run()
    assert not at.exception
    assert any("not a pipeline file" in error for error in _errors(at))
    assert _step_names(at) == before


def test_an_uploaded_photo_is_a_source_and_a_broken_one_is_explained():
    at = run_page("transforms")
    at.radio(key="transforms_source").set_value("upload").run()
    assert any("Choose or upload" in info.value for info in at.info)
    photo = sample_path(DEFAULT_SAMPLE).read_bytes()
    at.file_uploader(key="transforms_upload").upload("cup.png", photo, "image/png").run()
    assert not at.exception and not at.error
    assert any("cup.png" in caption for caption in _image_captions(at))
    at.file_uploader(key="transforms_upload").clear()
    at.file_uploader(key="transforms_upload").upload("cup.png", b"not a png", "image/png").run()
    assert not at.exception
    assert any("Not an image" in error for error in _errors(at))


def test_an_empty_pipeline_passes_the_image_through():
    at = _open(tf_pipeline="[]")
    assert not at.exception and not at.error
    assert _step_names(at) == []
    assert _draw_count(at) == 4
    assert any("ToImage" in info.value for info in at.info)  # no tensor yet: how to get one
