"""Honest feedback on a finished training run: did the model learn, or only guess?

A run can end "successfully" with a model that predicts one class for nearly every image, or
scores about what guessing would. `diagnose` spots both from the evaluation and names the
likely causes from the run's own numbers, so the page can say so instead of ending silently.
"""

from __future__ import annotations

import dataclasses
import math

from core.training import DEFAULT_LEARNING_RATE, Evaluation, TrainConfig

COLLAPSE_SHARE = 0.8  # one class taking this share of all predictions is a collapse
NEAR_CHANCE = 1.5  # accuracy under this many times chance is close to guessing
FEW_STEPS = 500  # optimizer steps below this rarely teach a CIFAR-10 net much
RATE_FACTOR = 5  # a learning rate this many times off the optimizer's default is suspect


@dataclasses.dataclass(frozen=True)
class Diagnosis:
    """What went wrong with a run, for the page to word.

    Attributes:
        kind: "collapse" (one class predicted for most images) or "near_chance".
        accuracy: the test accuracy.
        chance: the accuracy of guessing uniformly, 1 / classes.
        category: the class predicted most often.
        share: the share of predictions that went to `category`.
        causes: likely causes, most likely first: "few_steps", "high_rate", "low_rate",
            "few_epochs".
    """

    kind: str
    accuracy: float
    chance: float
    category: str
    share: float
    causes: tuple[str, ...]


def passes(*, images_seen: int, train_count: int) -> float:
    """How many times over the training images a run went: 13,500 presentations of 4,500
    images are 3 passes (a stopped run may end between two)."""
    return images_seen / train_count if train_count else 0.0


def diagnose(evaluation: Evaluation, *, settings: TrainConfig, steps: int) -> Diagnosis | None:
    """A collapse or near-chance accuracy, with its likely causes; None when the model learned.

    Args:
        evaluation: the run's evaluation on its test images.
        settings: the run's hyperparameters.
        steps: optimizer steps the run took.
    """
    classes = len(evaluation.categories)
    if classes < 2 or not evaluation.count or math.isnan(evaluation.accuracy):
        return None
    predicted = [sum(column) for column in zip(*evaluation.confusion, strict=True)]
    top = max(range(classes), key=predicted.__getitem__)
    share = predicted[top] / evaluation.count
    chance = 1 / classes
    if share >= COLLAPSE_SHARE:
        kind = "collapse"
    elif evaluation.accuracy < NEAR_CHANCE * chance:
        kind = "near_chance"
    else:
        return None
    return Diagnosis(
        kind=kind,
        accuracy=evaluation.accuracy,
        chance=chance,
        category=evaluation.categories[top],
        share=share,
        causes=_causes(settings, steps=steps),
    )


def _causes(settings: TrainConfig, *, steps: int) -> tuple[str, ...]:
    causes = []
    default = DEFAULT_LEARNING_RATE[settings.optimizer]
    if settings.learning_rate >= RATE_FACTOR * default:
        causes.append("high_rate")  # steps overshoot: the net settles on one answer
    elif settings.learning_rate <= default / RATE_FACTOR:
        causes.append("low_rate")
    if steps < FEW_STEPS:
        causes.append("few_steps")
    if settings.epochs < 3:
        causes.append("few_epochs")
    # Neither number stands out: the usual suspects, in the order to try them.
    return tuple(causes) or ("few_steps", "high_rate")
