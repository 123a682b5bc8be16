"""The batching inference worker and the runtime it picks give eager PyTorch's answers."""

from __future__ import annotations

import threading

import pytest
import torch

from core import inference, models, samples
from core.images import decode_image
from tests.corpus import PILLOW_IMAGES
from tests.test_core_models import tiny_trained_model

# Real photos of the corpus besides the bundled samples (JPEG, PNG, TIFF, WebP).
CORPUS_PHOTOS = ["hopper.jpg", "hopper.png", "hopper.bmp", "flower.jpg", "flower2.webp"]


@pytest.fixture(scope="module")
def lite0() -> models.Classifier:
    return models.load("efficientnet_lite0", device=torch.device("cpu"))


@pytest.fixture(scope="module")
def photos(lite0):
    side = lite0.record.preprocessing.resize_size
    images = [samples.load_sample(name, min_side=side) for name in samples.SAMPLES]
    for name in CORPUS_PHOTOS:
        images.append(decode_image((PILLOW_IMAGES / name).read_bytes(), min_side=side))
    return images


@pytest.fixture(scope="module")
def runtimes_dir(tmp_path_factory):
    """A fresh on-disk runtime cache, shared by this module's tests (one export)."""
    folder = tmp_path_factory.mktemp("runtimes")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(inference, "RUNTIMES_DIR", folder)
        yield folder


def _top5(classification) -> list[int]:
    return [prediction.index for prediction in classification.predictions]


@pytest.mark.slow
def test_onnx_runtime_gives_eager_pytorchs_top5_on_the_corpus_photos(lite0, photos, runtimes_dir):
    run = inference.onnx_runtime(lite0)
    assert len(list(runtimes_dir.glob("efficientnet_lite0-*.onnx"))) == 1  # cached for restarts
    for image in photos:
        batch = models.preprocess(image, model=lite0)
        with torch.inference_mode():
            eager = lite0.module(batch)
        assert run(batch).topk(5).indices.tolist() == eager.topk(5).indices.tolist()


@pytest.mark.slow
def test_the_worker_answers_concurrent_sessions_with_eager_results_in_shared_batches(lite0, photos):
    expected = [_top5(models.predict(image, model=lite0)) for image in photos]
    worker = inference.InferenceWorker(lite0, optimise=False, wait_s=0.05)
    results: dict[int, object] = {}

    def session(number: int) -> None:
        results[number] = worker.predict(photos[number])

    threads = [threading.Thread(target=session, args=(n,)) for n in range(len(photos))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    worker.close()
    assert [_top5(results[n]) for n in range(len(photos))] == expected
    assert max(result.batch_size for result in results.values()) > 1
    assert all(result.runtime == inference.EAGER for result in results.values())


@pytest.mark.slow
def test_the_worker_switches_to_the_measured_runtime_and_keeps_the_answers(
    lite0, photos, runtimes_dir
):
    worker = inference.InferenceWorker(lite0)
    assert worker.wait_until_optimised(timeout=600)
    choice = worker.choice
    assert choice.name in (inference.EAGER, inference.ONNX)
    assert set(choice.milliseconds) == {inference.EAGER, inference.ONNX}
    faster = min(choice.milliseconds, key=choice.milliseconds.get)
    assert choice.name == faster
    result = worker.predict(photos[0])
    worker.close()
    assert result.runtime == choice.name
    assert _top5(result) == _top5(models.predict(photos[0], model=lite0))


def test_a_runtime_that_disagrees_with_eager_pytorch_is_not_chosen(monkeypatch):
    trained = models.from_trained(tiny_trained_model())
    monkeypatch.setattr(
        inference, "onnx_runtime", lambda model, onnx=None: lambda batch: torch.zeros(1, 3)
    )
    choice, _ = inference.choose_runtime(trained, rounds=1)
    assert choice.name == inference.EAGER
    assert choice.reason == "disagrees"


def test_a_failing_forward_reaches_the_caller_not_the_worker_thread():
    trained = models.from_trained(tiny_trained_model())
    worker = inference.InferenceWorker(trained, optimise=False)
    with pytest.raises(RuntimeError):
        worker.submit(torch.zeros(1, 5, 16, 16)).result(timeout=60)  # 5 channels, not 3
    assert worker.submit(torch.zeros(1, 3, 16, 16)).result(timeout=60).logits.shape == (3,)
    worker.close()
