"""Pages hand their work to each other: a CIFAR-10 sample to Classify and Transforms, a
pipeline to Train. Each click lands on the receiving page with what was sent."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.test_app import APP, TIMEOUT_S
from tests.test_page_transforms import _image_captions

INDEX = 3  # an airplane in the official test order
LABEL = "airplane"


def open_detail(cifar10_root) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    at.session_state["data_dir"] = str(cifar10_root)
    at.run()
    at.switch_page("pages/datasets.py")
    at.run()
    at.number_input(key="datasets_index").set_value(INDEX).run()
    assert not at.exception
    return at


def captions(at: AppTest) -> list[str]:
    return [caption.value for caption in at.caption]


def test_classify_this_image_opens_classify_with_the_sample(cifar10_root):
    at = open_detail(cifar10_root)
    at.button(key="datasets_classify").click().run()
    assert not at.exception and not at.error
    assert any(f"#{INDEX} ({LABEL})" in caption for caption in captions(at))
    assert "① Original: 32×32 pixels" in captions(at)  # the sample itself reached the model


def test_transform_this_image_opens_the_studio_on_the_sample(cifar10_root):
    at = open_detail(cifar10_root)
    at.button(key="datasets_transform").click().run()
    assert not at.exception and not at.error
    assert at.radio(key="transforms_source").value == "handed"
    assert any(f"#{INDEX} ({LABEL})" in caption for caption in _image_captions(at))


def test_use_for_training_hands_the_pipeline_to_train(cifar10_root):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    at.session_state["data_dir"] = str(cifar10_root)
    at.run()
    at.switch_page("pages/transforms.py")
    at.run()
    at.button(key="transforms_use_for_training").click().run()
    assert not at.exception and not at.error
    assert at.session_state["train_augmentation"] == "pipeline"
    assert any("RandomResizedCrop" in block.value for block in at.code)
