"""Train a small classifier on 32×32 images and evaluate it: data as uint8 tensors normalised
batch by batch, seeded splits, augmentation presets, a `Trainer` that reports every step and
stops on request keeping what it learned, and an evaluation with a confusion matrix.
"""

from __future__ import annotations

import dataclasses
import pathlib
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn
from torchvision.datasets import ImageFolder
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as TF

from core import config
from core.errors import PlaygroundError
from core.images import decode_image
from core.nets import build

# torchvision's reference values for CIFAR-10 (per channel, inputs in [0, 1]).
CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)

AUGMENTATIONS = ("none", "standard")  # "standard": random crop (padding 4) + horizontal flip
SCHEDULES = ("none", "step", "cosine", "onecycle")
OPTIMIZERS = ("sgd", "adam")
DEFAULT_LEARNING_RATE = {"sgd": 0.05, "adam": 0.002}


class TrainingError(PlaygroundError, ValueError):
    """Training settings or data the app cannot train with."""

    key = "training"


@dataclasses.dataclass(frozen=True)
class ImageSet:
    """Labelled images kept as one uint8 tensor; normalised only batch by batch.

    Attributes:
        images: (N, 3, H, W) uint8.
        labels: (N,) int64 class indices.
        categories: class names; index i names label i.
    """

    images: torch.Tensor
    labels: torch.Tensor
    categories: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.labels)

    def take(self, indices: torch.Tensor) -> ImageSet:
        """The images at `indices` (a 1-D int64 tensor), in that order."""
        return ImageSet(self.images[indices], self.labels[indices], self.categories)


def from_arrays(data: np.ndarray, labels: Sequence[int], *, categories: Sequence[str]) -> ImageSet:
    """An ImageSet from HWC arrays such as CIFAR10's `.data` and `.targets`.

    Args:
        data: (N, H, W, 3) uint8 RGB.
        labels: N class indices.
        categories: the class names.
    """
    if data.dtype != np.uint8 or data.ndim != 4 or data.shape[-1] != 3:
        raise ValueError(f"expected (N, H, W, 3) uint8 images, got {data.dtype} {data.shape}")
    images = torch.from_numpy(np.ascontiguousarray(data.transpose(0, 3, 1, 2)))
    return ImageSet(
        images, torch.as_tensor(np.asarray(labels), dtype=torch.int64), tuple(categories)
    )


def from_cifar(dataset: Any) -> ImageSet:
    """An ImageSet from a torchvision `CIFAR10` (its `.data`, `.targets` and `.classes`)."""
    return from_arrays(dataset.data, dataset.targets, categories=dataset.classes)


def from_image_folder(root: pathlib.Path, *, image_size: int = 32) -> ImageSet:
    """Images in `root/<class>/<file>` (torchvision's ImageFolder), resized to a square.

    Every file goes through the app's safe decoder.

    Raises:
        TrainingError: the folder has no class folders with images, or too many images.
        ImageDecodeError: a file is not an image the app can read.
    """
    try:
        folder = ImageFolder(
            str(root), loader=lambda path: decode_image(pathlib.Path(path).read_bytes())
        )
    except (FileNotFoundError, NotADirectoryError) as error:
        raise TrainingError(
            f"No class folders with images in {root}. Use a folder with one subfolder of "
            "images per class, e.g. data/cat/1.jpg and data/dog/2.jpg.",
            key="training.folder_empty",
            root=str(root),
        ) from error
    if len(folder) > config.MAX_FOLDER_IMAGES:
        raise TrainingError(
            f"{root} holds {len(folder):,} images; the limit is {config.MAX_FOLDER_IMAGES:,}. "
            "Use a smaller folder.",
            key="training.folder_too_large",
            root=str(root),
            count=len(folder),
            limit=config.MAX_FOLDER_IMAGES,
        )
    resize = v2.Compose([v2.PILToTensor(), v2.Resize((image_size, image_size), antialias=True)])
    images = torch.stack([resize(folder.loader(path)) for path, _ in folder.samples])
    return ImageSet(images, torch.tensor(folder.targets, dtype=torch.int64), tuple(folder.classes))


def channel_statistics(images: ImageSet) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and standard deviation of the images scaled to [0, 1], for Normalize."""
    pixels = images.images.double().div(255).transpose(0, 1).reshape(images.images.shape[1], -1)
    return tuple(pixels.mean(1).tolist()), tuple(pixels.std(1).clamp_min(1e-3).tolist())


def subset(images: ImageSet, *, size: int | None, seed: int) -> ImageSet:
    """A seeded random sample of `size` images (all of them, shuffled, when size is None)."""
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))
    return images.take(order[: size or len(images)])


def split(images: ImageSet, *, fraction: float, seed: int) -> tuple[ImageSet, ImageSet]:
    """Split into (kept, held out), holding out `fraction` of the images at random (seeded)."""
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed + 1))
    held_out = round(len(images) * fraction)
    return images.take(order[held_out:]), images.take(order[:held_out])


def to_inputs(batch: torch.Tensor, *, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    """(B, 3, H, W) uint8 → (B, 3, H, W) float32, scaled to [0, 1] then normalised."""
    return TF.normalize(TF.to_dtype(batch, torch.float32, scale=True), list(mean), list(std))


def random_crop_flip(
    batch: torch.Tensor, *, padding: int = 4, generator: torch.Generator | None = None
) -> torch.Tensor:
    """The standard CIFAR augmentation, drawn per image on a whole batch at once.

    torchvision's v2.RandomCrop draws one crop per call; this draws one per image without a
    Python loop: zero-pad by `padding`, crop back at a random offset, flip half the images.

    Args:
        batch: (B, C, H, W), any dtype.

    Returns:
        (B, C, H, W), same dtype.
    """
    count, channels, height, width = batch.shape
    padded = nn.functional.pad(batch, (padding,) * 4)
    top = torch.randint(0, 2 * padding + 1, (count, 1), generator=generator)
    left = torch.randint(0, 2 * padding + 1, (count, 1), generator=generator)
    rows = (top + torch.arange(height))[:, None, :, None]
    columns = (left + torch.arange(width))[:, None, None, :]
    flip = torch.rand(count, generator=generator) < 0.5
    columns = torch.where(flip[:, None, None, None], columns.flip(-1), columns)
    images = torch.arange(count)[:, None, None, None]
    return padded[images, torch.arange(channels)[None, :, None, None], rows, columns]


def apply_pipeline(
    batch: torch.Tensor, pipeline: Callable, *, mean: Sequence[float], std: Sequence[float]
) -> torch.Tensor:
    """Apply a handed transform pipeline to each image of a uint8 batch.

    A pipeline that ends in uint8 is scaled and normalised here; one that ends in float is
    taken as the network's input as it is.

    Args:
        batch: (B, 3, H, W) uint8.

    Returns:
        (B, 3, H, W) float32.

    Raises:
        TrainingError: the pipeline changes the image size or returns something else.
    """
    outputs = [pipeline(image) for image in batch]
    expected = tuple(batch.shape[1:])
    for output in outputs:
        if not isinstance(output, torch.Tensor) or tuple(output.shape) != expected:
            got = tuple(output.shape) if isinstance(output, torch.Tensor) else type(output).__name__
            raise TrainingError(
                f"The transform pipeline turns a {expected} image into {got}; training needs "
                "the same size back. Remove resizing and cropping steps that change the size.",
                key="training.pipeline_shape",
                expected=str(expected),
                got=str(got),
            )
    stacked = torch.stack(outputs)
    if stacked.dtype == torch.uint8:
        return to_inputs(stacked, mean=mean, std=std)
    return stacked.float()


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Hyperparameters of one training run."""

    epochs: int = 5
    batch_size: int = 128
    learning_rate: float = DEFAULT_LEARNING_RATE["sgd"]
    schedule: str = "onecycle"  # one of SCHEDULES
    optimizer: str = "sgd"  # one of OPTIMIZERS; SGD uses momentum 0.9
    weight_decay: float = 5e-4
    seed: int = 0
    augmentation: str = "standard"  # one of AUGMENTATIONS; ignored when a pipeline is given
    device: str = "cpu"

    def check(self) -> None:
        """Raise TrainingError naming the first setting that cannot work."""
        problems = {
            "epochs": not 1 <= self.epochs <= config.MAX_EPOCHS,
            "batch_size": not 1 <= self.batch_size <= config.MAX_BATCH_SIZE,
            "learning_rate": not 0 < self.learning_rate <= 10,
            "weight_decay": not 0 <= self.weight_decay < 1,
            "schedule": self.schedule not in SCHEDULES,
            "optimizer": self.optimizer not in OPTIMIZERS,
            "augmentation": self.augmentation not in AUGMENTATIONS,
        }
        for name, bad in problems.items():
            if bad:
                raise TrainingError(
                    f"The setting {name}={getattr(self, name)!r} cannot be used. Pick a value "
                    "in the range the form offers.",
                    key="training.bad_setting",
                    name=name,
                    value=str(getattr(self, name)),
                )


@dataclasses.dataclass(frozen=True)
class StepReport:
    """Where a run stands after one optimisation step."""

    epoch: int  # 1-based
    step: int  # 1-based, counted over the whole run
    total_steps: int
    loss: float  # of this batch
    accuracy: float  # of this batch, in [0, 1]
    images_per_s: float  # training images per second so far
    seconds_left: float  # estimate for the rest of the run
    learning_rate: float


@dataclasses.dataclass(frozen=True)
class EpochReport:
    """Averages of one finished epoch (validation is None without a validation split)."""

    epoch: int
    train_loss: float
    train_accuracy: float
    validation_loss: float | None
    validation_accuracy: float | None
    seconds: float


@dataclasses.dataclass(frozen=True)
class TrainResult:
    """What a run produced: the model (eval mode, on the training device) and its history."""

    model: nn.Module
    epochs: tuple[EpochReport, ...]
    stopped: bool  # True when a stop request ended it early
    steps: int
    images_seen: int
    seconds: float


def seeded_model(name: str, *, seed: int, num_classes: int) -> nn.Module:
    """A network from core.nets whose initial weights depend only on `seed`."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build(name, num_classes=num_classes)


def _optimizer(model: nn.Module, settings: TrainConfig) -> torch.optim.Optimizer:
    if settings.optimizer == "adam":
        return torch.optim.Adam(
            model.parameters(), lr=settings.learning_rate, weight_decay=settings.weight_decay
        )
    return torch.optim.SGD(
        model.parameters(),
        lr=settings.learning_rate,
        momentum=0.9,
        nesterov=True,
        weight_decay=settings.weight_decay,
    )


def _scheduler(
    optimizer: torch.optim.Optimizer, settings: TrainConfig, total_steps: int
) -> torch.optim.lr_scheduler.LRScheduler:
    # Every schedule steps once per batch, so a run stopped early has followed it faithfully.
    schedulers = torch.optim.lr_scheduler
    if settings.schedule == "step":  # divide by 10 after each third of the run
        return schedulers.StepLR(optimizer, step_size=max(1, total_steps // 3), gamma=0.1)
    if settings.schedule == "cosine":
        return schedulers.CosineAnnealingLR(optimizer, T_max=total_steps)
    if settings.schedule == "onecycle":
        return schedulers.OneCycleLR(
            optimizer, max_lr=settings.learning_rate, total_steps=total_steps
        )
    return schedulers.ConstantLR(optimizer, factor=1.0, total_iters=0)


class Trainer:
    """Trains `model` in place on `train`, one epoch after another.

    Args:
        model: the network; it is moved to `settings.device`.
        train: the training images.
        validation: images scored after every epoch, or None.
        settings: the hyperparameters.
        mean, std: Normalize values applied to every batch.
        pipeline: a transform applied to each uint8 training image instead of the
            augmentation preset (see `apply_pipeline`).
    """

    def __init__(
        self,
        model: nn.Module,
        *,
        train: ImageSet,
        validation: ImageSet | None = None,
        settings: TrainConfig,
        mean: Sequence[float] = CIFAR10_MEAN,
        std: Sequence[float] = CIFAR10_STD,
        pipeline: Callable | None = None,
    ) -> None:
        settings.check()
        if len(train) == 0:
            raise TrainingError(
                "No training images. Pick a larger subset.", key="training.no_images"
            )
        self.device = torch.device(settings.device)
        self.model = model.to(self.device)
        self.train_set, self.validation_set = train, validation
        self.settings = settings
        self.mean, self.std = tuple(mean), tuple(std)
        self.pipeline = pipeline

    def steps_per_epoch(self) -> int:
        return -(-len(self.train_set) // self.settings.batch_size)

    def _inputs(self, batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        if self.pipeline is not None:
            return apply_pipeline(batch, self.pipeline, mean=self.mean, std=self.std)
        if self.settings.augmentation == "standard":
            batch = random_crop_flip(batch, generator=generator)
        return to_inputs(batch, mean=self.mean, std=self.std)

    def run(
        self,
        *,
        on_step: Callable[[StepReport], None] | None = None,
        on_epoch: Callable[[EpochReport], None] | None = None,
        stop: threading.Event | None = None,
    ) -> TrainResult:
        """Train for `settings.epochs` epochs, or until `stop` is set (checked every step).

        Returns:
            The result; its model is the one trained so far, in eval mode.
        """
        settings, model = self.settings, self.model
        generator = torch.Generator().manual_seed(settings.seed)
        optimizer = _optimizer(model, settings)
        total_steps = self.steps_per_epoch() * settings.epochs
        scheduler = _scheduler(optimizer, settings, total_steps)
        loss_function = nn.CrossEntropyLoss()
        history: list[EpochReport] = []
        step = images_seen = 0
        training_seconds = 0.0
        started = time.perf_counter()
        stopped = False
        for epoch in range(1, settings.epochs + 1):
            epoch_started = time.perf_counter()
            model.train()
            order = torch.randperm(len(self.train_set), generator=generator)
            loss_sum = correct = seen = 0
            for first in range(0, len(order), settings.batch_size):
                if stop is not None and stop.is_set():
                    stopped = True
                    break
                step_started = time.perf_counter()
                indices = order[first : first + settings.batch_size]
                inputs = self._inputs(self.train_set.images[indices], generator).to(self.device)
                labels = self.train_set.labels[indices].to(self.device)
                optimizer.zero_grad(set_to_none=True)
                logits = model(inputs)
                loss = loss_function(logits, labels)
                loss.backward()
                optimizer.step()
                scheduler.step()
                batch_loss = loss.item()
                batch_correct = int((logits.argmax(1) == labels).sum())
                count = len(indices)
                loss_sum += batch_loss * count
                correct += batch_correct
                seen += count
                step += 1
                images_seen += count
                training_seconds += time.perf_counter() - step_started
                if on_step is not None:
                    on_step(
                        StepReport(
                            epoch=epoch,
                            step=step,
                            total_steps=total_steps,
                            loss=batch_loss,
                            accuracy=batch_correct / count,
                            images_per_s=images_seen / training_seconds,
                            seconds_left=(total_steps - step) * training_seconds / step,
                            learning_rate=scheduler.get_last_lr()[0],
                        )
                    )
            if seen:
                report = self._epoch_report(
                    epoch, loss_sum / seen, correct / seen, time.perf_counter() - epoch_started
                )
                history.append(report)
                if on_epoch is not None:
                    on_epoch(report)
            if stopped:
                break
        model.eval()
        return TrainResult(
            model=model,
            epochs=tuple(history),
            stopped=stopped,
            steps=step,
            images_seen=images_seen,
            seconds=time.perf_counter() - started,
        )

    def _epoch_report(
        self, epoch: int, train_loss: float, train_accuracy: float, seconds: float
    ) -> EpochReport:
        validation_loss = validation_accuracy = None
        if self.validation_set is not None and len(self.validation_set):
            probabilities = predict_probabilities(
                self.model,
                self.validation_set.images,
                mean=self.mean,
                std=self.std,
                device=self.device,
            )
            labels = self.validation_set.labels
            picked = probabilities[torch.arange(len(labels)), labels].clamp_min(1e-12)
            validation_loss = float(-picked.log().mean())
            validation_accuracy = float((probabilities.argmax(1) == labels).float().mean())
        return EpochReport(
            epoch=epoch,
            train_loss=train_loss,
            train_accuracy=train_accuracy,
            validation_loss=validation_loss,
            validation_accuracy=validation_accuracy,
            seconds=seconds,
        )


def predict_probabilities(
    model: nn.Module,
    images: torch.Tensor,
    *,
    mean: Sequence[float] = CIFAR10_MEAN,
    std: Sequence[float] = CIFAR10_STD,
    device: torch.device | str = "cpu",
    batch_size: int = 500,
) -> torch.Tensor:
    """Softmax outputs of `model` in eval mode (restored afterwards).

    Args:
        images: (N, 3, H, W) uint8.

    Returns:
        (N, num_classes) float32 on the CPU.
    """
    was_training = model.training
    model.eval()
    outputs = []
    with torch.inference_mode():
        for first in range(0, len(images), batch_size):
            inputs = to_inputs(images[first : first + batch_size], mean=mean, std=std)
            outputs.append(model(inputs.to(device)).softmax(1).float().cpu())
    model.train(was_training)
    return torch.cat(outputs) if outputs else torch.empty(0, 0)


@dataclasses.dataclass(frozen=True)
class WrongPrediction:
    index: int  # position in the evaluated ImageSet
    true_label: int
    predicted_label: int
    confidence: float  # the softmax probability of the wrong prediction


@dataclasses.dataclass(frozen=True)
class Evaluation:
    """How a model does on a labelled set it did not train on."""

    count: int
    accuracy: float
    per_class_accuracy: tuple[float, ...]  # NaN for a class absent from the set
    confusion: tuple[tuple[int, ...], ...]  # confusion[true][predicted]
    categories: tuple[str, ...]
    most_confident_wrong: tuple[WrongPrediction, ...]


def evaluate(
    model: nn.Module,
    images: ImageSet,
    *,
    mean: Sequence[float] = CIFAR10_MEAN,
    std: Sequence[float] = CIFAR10_STD,
    device: torch.device | str = "cpu",
    wrong: int = 12,
) -> Evaluation:
    """Accuracy, per-class accuracy, confusion matrix and the `wrong` most confident mistakes."""
    probabilities = predict_probabilities(model, images.images, mean=mean, std=std, device=device)
    classes = len(images.categories)
    confidence, predicted = probabilities.max(1)
    truth = images.labels
    confusion = torch.bincount(truth * classes + predicted, minlength=classes * classes)
    confusion = confusion.reshape(classes, classes)
    per_class = confusion.diag().double() / confusion.sum(1).double()  # 0/0 gives NaN
    mistakes = (predicted != truth).nonzero().flatten()
    ranked = mistakes[confidence[mistakes].argsort(descending=True)][:wrong]
    return Evaluation(
        count=len(images),
        accuracy=float((predicted == truth).double().mean()) if len(images) else float("nan"),
        per_class_accuracy=tuple(float(value) for value in per_class),
        confusion=tuple(tuple(int(value) for value in row) for row in confusion),
        categories=images.categories,
        most_confident_wrong=tuple(
            WrongPrediction(
                index=int(index),
                true_label=int(truth[index]),
                predicted_label=int(predicted[index]),
                confidence=float(confidence[index]),
            )
            for index in ranked
        ),
    )
