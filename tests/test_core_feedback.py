"""Honest feedback on a finished run: collapse and near-chance accuracy are named, with causes."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from core.feedback import diagnose, passes
from core.training import Evaluation, TrainConfig

CATEGORIES = ("airplane", "automobile", "bird", "cat", "deer")


def _evaluation(confusion: list[list[int]]) -> Evaluation:
    count = sum(map(sum, confusion))
    correct = sum(confusion[i][i] for i in range(len(confusion)))
    return Evaluation(
        count=count,
        accuracy=correct / count,
        per_class_accuracy=tuple(row[i] / sum(row) for i, row in enumerate(confusion)),
        confusion=tuple(map(tuple, confusion)),
        categories=CATEGORIES,
        most_confident_wrong=(),
    )


# Every image predicted "deer" (column 4): 20 % accuracy, chance is 20 %.
COLLAPSED = [[0, 0, 0, 0, 10] for _ in range(4)] + [[0, 0, 0, 0, 10]]
# Predictions spread out, but hardly better than guessing.
GUESSING = [[2, 2, 2, 2, 2], [2, 2, 2, 2, 2], [2, 2, 3, 2, 1], [1, 2, 2, 3, 2], [2, 2, 2, 2, 2]]
# Mostly right: 8 of 10 per class.
LEARNED = [[8, 1, 1, 0, 0], [0, 8, 1, 1, 0], [0, 0, 8, 1, 1], [1, 0, 0, 8, 1], [1, 1, 0, 0, 8]]


def test_a_run_that_predicts_one_class_for_everything_is_a_collapse():
    found = diagnose(_evaluation(COLLAPSED), settings=TrainConfig(epochs=1), steps=8)
    assert found is not None
    assert (found.kind, found.category, found.share) == ("collapse", "deer", 1.0)
    assert found.chance == pytest.approx(0.2)
    assert found.causes[:1] == ("few_steps",) and "few_epochs" in found.causes


def test_near_chance_accuracy_is_named_even_without_a_collapse():
    evaluation = _evaluation(GUESSING)
    assert evaluation.accuracy < 0.3
    found = diagnose(evaluation, settings=TrainConfig(learning_rate=1.0), steps=5_000)
    assert found is not None and found.kind == "near_chance"
    assert found.causes == ("high_rate",)


def test_a_model_that_learned_gets_no_diagnosis():
    assert diagnose(_evaluation(LEARNED), settings=TrainConfig(), steps=10) is None


def test_a_tiny_learning_rate_is_a_cause():
    found = diagnose(_evaluation(COLLAPSED), settings=TrainConfig(learning_rate=1e-4), steps=9_000)
    assert found is not None and found.causes == ("low_rate",)


def test_passes_count_epochs_over_the_training_images():
    assert passes(images_seen=13_500, train_count=4_500) == 3
    assert passes(images_seen=0, train_count=0) == 0


def _show_a_collapse():
    from core.feedback import Diagnosis
    from ui.feedback import show_diagnosis

    show_diagnosis(Diagnosis("collapse", 0.092, 0.1, "deer", 0.97, ("few_steps", "high_rate")))


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("en", ["**deer** for 97%", "9.2%", "Too few training steps", "learning rate is too high"]),
        ("zh", ["**deer（鹿）**", "97%", "训练步数太少", "学习率太高"]),
    ],
)
def test_the_diagnosis_is_worded_in_the_ui_language(lang, words):
    at = AppTest.from_function(_show_a_collapse)
    at.query_params["lang"] = lang
    at.run()
    assert not at.exception
    (warning,) = at.warning
    assert all(word in warning.value for word in words), warning.value
