"""Training on real CIFAR-10 images from the test corpus: data preparation, augmentation, the
Trainer (including Stop) and the evaluation."""

from __future__ import annotations

import math
import threading

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision.transforms import v2

from core import training
from core.datasets import DatasetMissingError
from core.errors import PlaygroundError
from tests.corpus import load_cifar_npz

TRAIN_IMAGES = 3_000  # the first images of the corpus
HELD_OUT = slice(9_000, 10_000)  # disjoint from the training part


@pytest.fixture(scope="module")
def cifar() -> training.ImageSet:
    arrays = load_cifar_npz()
    return training.from_arrays(
        arrays["data"], arrays["labels"], categories=[str(name) for name in arrays["classes"]]
    )


@pytest.fixture(scope="module")
def trained(cifar):
    """SmallVGG after two epochs on 3,000 real images, with its step losses."""
    torch.set_num_threads(1)
    losses: list[float] = []
    trainer = training.Trainer(
        training.seeded_model("SmallVGG", seed=0, num_classes=10),
        train=cifar.take(torch.arange(TRAIN_IMAGES)),
        settings=training.TrainConfig(epochs=2, batch_size=64, augmentation="none"),
    )
    result = trainer.run(on_step=lambda report: losses.append(report.loss))
    return result, losses


def tiny_set(count: int = 8, size: int = 6) -> training.ImageSet:
    images = torch.arange(count * 3 * size * size, dtype=torch.int64).remainder(256)
    return training.ImageSet(
        images.to(torch.uint8).reshape(count, 3, size, size),
        torch.arange(count) % 2,
        ("even", "odd"),
    )


def test_from_arrays_turns_hwc_pixels_into_chw_uint8():
    data = np.zeros((2, 4, 5, 3), dtype=np.uint8)
    data[1, 0, 0] = (10, 20, 30)
    images = training.from_arrays(data, [0, 1], categories=["a", "b"])
    assert images.images.shape == (2, 3, 4, 5) and images.images.dtype == torch.uint8
    assert images.images[1, :, 0, 0].tolist() == [10, 20, 30]
    assert images.labels.tolist() == [0, 1] and images.categories == ("a", "b")


def test_from_arrays_rejects_float_pixels():
    with pytest.raises(ValueError, match="uint8"):
        training.from_arrays(np.zeros((1, 4, 4, 3)), [0], categories=["a"])


def test_an_image_folder_becomes_32px_uint8_images_with_its_class_names(tmp_path):
    for name, color in [("cat", (200, 10, 10)), ("dog", (10, 10, 200))]:
        (tmp_path / name).mkdir()
        for index in range(3):
            Image.new("RGB", (50 + index, 40), color).save(tmp_path / name / f"{index}.png")
    images = training.from_image_folder(tmp_path, roots=[tmp_path])
    assert images.categories == ("cat", "dog")
    assert images.images.shape == (6, 3, 32, 32) and images.images.dtype == torch.uint8
    assert images.labels.tolist() == [0, 0, 0, 1, 1, 1]
    assert images.images[0, :, 16, 16].tolist() == [200, 10, 10]


def test_unreadable_files_are_skipped_and_counted_for_training(tmp_path):
    (tmp_path / "cat").mkdir()
    for index in range(2):
        Image.new("RGB", (40, 40), (200, 10, 10)).save(tmp_path / "cat" / f"{index}.png")
    (tmp_path / "cat" / "empty.png").write_bytes(b"")
    (tmp_path / "cat" / "corrupt.jpg").write_bytes(b"\xff\xd8\xff not a jpeg")
    images = training.from_image_folder(tmp_path, roots=[tmp_path])
    assert len(images) == 2 and images.unreadable == 2


@pytest.mark.parametrize("layout", ["missing", "no_class_folders"])
def test_a_folder_without_class_folders_is_refused_with_a_fix(tmp_path, layout):
    root = tmp_path / "data"
    if layout == "no_class_folders":
        root.mkdir()
        Image.new("RGB", (8, 8)).save(root / "loose.png")
    with pytest.raises(DatasetMissingError, match="sub-folder") as caught:
        training.from_image_folder(root, roots=[tmp_path])
    assert caught.value.key in ("datasets.folder_missing", "datasets.folder_empty")


def test_split_is_seeded_and_disjoint():
    images = tiny_set(20)
    kept, held = training.split(images, fraction=0.25, seed=3)
    again, _ = training.split(images, fraction=0.25, seed=3)
    assert (len(kept), len(held)) == (15, 5)
    assert torch.equal(kept.images, again.images)
    firsts = {int(image.flatten()[0]) for image in [*kept.images, *held.images]}
    assert len(firsts) == 20


@pytest.mark.parametrize(("size", "expected"), [(5, 5), (None, 8), (100, 8)])
def test_subset_takes_at_most_the_requested_number(size, expected):
    assert len(training.subset(tiny_set(8), size=size, seed=0)) == expected


def test_to_inputs_scales_then_normalizes():
    batch = torch.full((1, 3, 2, 2), 255, dtype=torch.uint8)
    inputs = training.to_inputs(batch, mean=(0.5, 0.5, 0.5), std=(0.25, 0.5, 1.0))
    assert inputs.dtype == torch.float32
    assert inputs[0, :, 0, 0].tolist() == [2.0, 1.0, 0.5]


def test_channel_statistics_of_a_constant_image():
    images = training.ImageSet(torch.full((2, 3, 4, 4), 51, dtype=torch.uint8), torch.zeros(2), ())
    mean, std = training.channel_statistics(images)
    assert mean == pytest.approx((0.2, 0.2, 0.2)) and std == pytest.approx((1e-3,) * 3)


def test_random_crop_flip_without_padding_only_flips():
    batch = tiny_set(16).images
    out = training.random_crop_flip(batch, padding=0, generator=torch.Generator().manual_seed(0))
    flipped = [torch.equal(o, b.flip(-1)) for o, b in zip(out, batch, strict=True)]
    same = [torch.equal(o, b) for o, b in zip(out, batch, strict=True)]
    assert all(f or s for f, s in zip(flipped, same, strict=True))
    assert any(flipped) and any(same)


def test_random_crop_flip_shifts_each_image_within_the_padding():
    batch = torch.zeros(64, 1, 8, 8, dtype=torch.uint8)
    batch[:, :, 3, 3] = 255  # one bright pixel; after the crop it moves by at most 2
    out = training.random_crop_flip(batch, padding=2, generator=torch.Generator().manual_seed(1))
    assert out.shape == batch.shape and out.dtype == torch.uint8
    positions = {tuple(pixel[2:].tolist()) for pixel in (out == 255).nonzero()}
    assert len(positions) > 5
    assert all(1 <= row <= 5 and 0 <= column <= 6 for row, column in positions)


def test_a_uint8_pipeline_is_normalized_and_a_float_one_used_as_is():
    batch = tiny_set(4, size=32).images
    kept = training.apply_pipeline(
        batch, v2.RandomHorizontalFlip(p=0.0), mean=(0,) * 3, std=(1,) * 3
    )
    assert torch.allclose(kept, batch.float() / 255)
    to_float = v2.ToDtype(torch.float32, scale=True)
    assert torch.equal(training.apply_pipeline(batch, to_float, mean=(9,) * 3, std=(1,) * 3), kept)


def test_a_pipeline_that_resizes_is_refused_with_a_fix():
    with pytest.raises(training.TrainingError, match="same size") as caught:
        training.apply_pipeline(tiny_set(2).images, v2.Resize(10), mean=(0,) * 3, std=(1,) * 3)
    assert caught.value.key == "training.pipeline_shape"


@pytest.mark.parametrize(
    "change",
    [
        {"epochs": 0},
        {"batch_size": 0},
        {"learning_rate": 0.0},
        {"schedule": "warp"},
        {"optimizer": "lbfgs"},
        {"augmentation": "mixup"},
        {"weight_decay": -1.0},
    ],
)
def test_settings_that_cannot_work_are_refused(change):
    with pytest.raises(PlaygroundError) as caught:
        training.TrainConfig(**change).check()
    assert caught.value.key == "training.bad_setting"
    assert caught.value.params["name"] == next(iter(change))


def test_training_lowers_the_loss_and_beats_chance_on_held_out_images(cifar, trained):
    result, losses = trained
    assert len(losses) == result.steps == 2 * math.ceil(TRAIN_IMAGES / 64)
    assert np.mean(losses[-10:]) < np.mean(losses[:10]) - 0.3
    assert result.epochs[1].train_loss < result.epochs[0].train_loss
    evaluation = training.evaluate(result.model, cifar.take(torch.arange(10_000)[HELD_OUT]))
    assert evaluation.accuracy > 0.25  # chance is 0.10


def test_evaluation_adds_up(cifar, trained):
    held_out = cifar.take(torch.arange(10_000)[HELD_OUT])
    evaluation = training.evaluate(trained[0].model, held_out, wrong=5)
    confusion = torch.tensor(evaluation.confusion)
    assert confusion.sum() == evaluation.count == 1_000
    assert confusion.sum(1).tolist() == torch.bincount(held_out.labels, minlength=10).tolist()
    assert evaluation.accuracy == pytest.approx(float(confusion.diag().sum()) / 1_000)
    per_class = (confusion.diag() / confusion.sum(1)).tolist()
    assert evaluation.per_class_accuracy == pytest.approx(per_class)
    wrong = evaluation.most_confident_wrong
    assert len(wrong) == 5
    assert all(w.true_label != w.predicted_label for w in wrong)
    assert [w.confidence for w in wrong] == sorted((w.confidence for w in wrong), reverse=True)
    assert all(held_out.labels[w.index] == w.true_label for w in wrong)


def test_stop_ends_the_run_early_and_keeps_a_usable_model(cifar):
    torch.set_num_threads(1)
    stop = threading.Event()
    epochs: list[training.EpochReport] = []

    def on_step(report: training.StepReport) -> None:
        if report.step == 60:
            stop.set()

    trainer = training.Trainer(
        training.seeded_model("SmallVGG", seed=1, num_classes=10),
        train=cifar.take(torch.arange(TRAIN_IMAGES)),
        validation=cifar.take(torch.arange(10_000)[HELD_OUT]),
        settings=training.TrainConfig(epochs=5, batch_size=64, augmentation="standard"),
    )
    result = trainer.run(on_step=on_step, on_epoch=epochs.append, stop=stop)
    assert result.stopped and result.steps == 60
    assert [report.epoch for report in result.epochs] == [1, 2] == [e.epoch for e in epochs]
    assert not result.model.training
    evaluation = training.evaluate(result.model, cifar.take(torch.arange(10_000)[HELD_OUT]))
    assert evaluation.accuracy > 0.18
    assert epochs[0].validation_accuracy is not None


def test_step_reports_count_down_the_time_left():
    reports: list[training.StepReport] = []
    settings = training.TrainConfig(epochs=2, batch_size=4, schedule="cosine", optimizer="adam")
    trainer = training.Trainer(
        training.seeded_model("ResNet-8", seed=0, num_classes=2),
        train=tiny_set(8, size=32),
        settings=settings,
    )
    trainer.run(on_step=reports.append)
    assert [r.step for r in reports] == [1, 2, 3, 4] and reports[0].total_steps == 4
    assert [r.epoch for r in reports] == [1, 1, 2, 2]
    assert reports[-1].seconds_left == 0 and all(r.images_per_s > 0 for r in reports)
    assert reports[-1].learning_rate < reports[0].learning_rate
