"""Training throughput of the app's Trainer against a bare PyTorch loop (same net, batch size and
images, same process), and the held-out accuracy after a fixed budget on real CIFAR-10 images.

    python bench/train.py

Images: the test corpus's real CIFAR-10 test split; 8,000 to train on, the other 2,000 held out.
"""

from __future__ import annotations

import copy
import pathlib
import sys
import time

import torch
from torch import nn

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

from core import training
from tests.corpus import load_cifar_npz

NET = "SmallVGG"
BATCH_SIZE = 128
SPEED_IMAGES = 2_560  # 20 batches per timed pass
ROUNDS = 3  # app and bare passes alternate, to share the machine's noise fairly
TRAIN_IMAGES = 8_000
EPOCHS = 3


def bare_loop(model: nn.Module, inputs: torch.Tensor, labels: torch.Tensor) -> float:
    """One epoch of the textbook loop on pre-normalised float images; returns images/s."""
    optimizer = torch.optim.SGD(
        model.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4
    )
    loss_function = nn.CrossEntropyLoss()
    model.train()
    order = torch.randperm(len(labels))
    started = time.perf_counter()
    for first in range(0, len(order), BATCH_SIZE):
        indices = order[first : first + BATCH_SIZE]
        optimizer.zero_grad(set_to_none=True)
        loss = loss_function(model(inputs[indices]), labels[indices])
        loss.backward()
        optimizer.step()
    return len(labels) / (time.perf_counter() - started)


def app_loop(model: nn.Module, images: training.ImageSet) -> float:
    """One epoch of the app's Trainer (uint8 batches normalised on the fly, per-step reports)."""
    settings = training.TrainConfig(epochs=1, batch_size=BATCH_SIZE, augmentation="none")
    reports: list[training.StepReport] = []
    started = time.perf_counter()
    training.Trainer(model, train=images, settings=settings).run(on_step=reports.append)
    return len(images) / (time.perf_counter() - started)


def main() -> None:
    arrays = load_cifar_npz()
    cifar = training.from_arrays(
        arrays["data"], arrays["labels"], categories=[str(name) for name in arrays["classes"]]
    )
    speed_set = cifar.take(torch.arange(SPEED_IMAGES))
    inputs = training.to_inputs(
        speed_set.images, mean=training.CIFAR10_MEAN, std=training.CIFAR10_STD
    )
    start = training.seeded_model(NET, seed=0, num_classes=10)
    app_loop(copy.deepcopy(start), speed_set.take(torch.arange(BATCH_SIZE * 2)))  # warm-up
    bare_loop(copy.deepcopy(start), inputs[: BATCH_SIZE * 2], speed_set.labels[: BATCH_SIZE * 2])
    app_speeds, bare_speeds = [], []
    for _ in range(ROUNDS):
        bare_speeds.append(bare_loop(copy.deepcopy(start), inputs, speed_set.labels))
        app_speeds.append(app_loop(copy.deepcopy(start), speed_set))
    app, bare = max(app_speeds), max(bare_speeds)
    print(f"{NET}, batch {BATCH_SIZE}, {SPEED_IMAGES:,} images, {torch.get_num_threads()} threads")
    print(f"  bare PyTorch loop: {bare:8.0f} images/s")
    print(f"  app Trainer:       {app:8.0f} images/s")
    print(f"  ratio app / bare:  {app / bare:8.2f}x  (target >= 0.90)")

    train = cifar.take(torch.arange(TRAIN_IMAGES))
    held_out = cifar.take(torch.arange(TRAIN_IMAGES, len(cifar)))
    settings = training.TrainConfig(epochs=EPOCHS, batch_size=BATCH_SIZE)
    trainer = training.Trainer(
        training.seeded_model(NET, seed=0, num_classes=10), train=train, settings=settings
    )
    result = trainer.run()
    evaluation = training.evaluate(result.model, held_out)
    print(
        f"{NET}, {EPOCHS} epochs on {len(train):,} real images ({settings.optimizer}, "
        f"{settings.schedule}, {settings.augmentation} augmentation): "
        f"held-out accuracy {evaluation.accuracy:.1%} on {len(held_out):,} images "
        f"(chance 10%), {result.seconds:.0f} s"
    )


if __name__ == "__main__":
    main()
