"""Grad-CAM through torchcam on the shared, cached model: right shape, no leaked hooks."""

from __future__ import annotations

import dataclasses
import threading

import numpy as np
import pytest
import torch

from core import cam, models, samples

ESPRESSO = 967


@pytest.fixture(scope="module")
def lite0() -> models.Classifier:
    return models.load("efficientnet_lite0", device=torch.device("cpu"))


@pytest.fixture(scope="module")
def coffee():
    return samples.load_sample("coffee")


def _hook_count(module: torch.nn.Module) -> int:
    return sum(
        len(child._forward_hooks) + len(child._forward_pre_hooks) + len(child._backward_hooks)
        for child in module.modules()
    )


def test_grad_cam_maps_the_last_feature_map_over_the_crop(lite0, coffee):
    result = cam.grad_cam(coffee, model=lite0, class_index=ESPRESSO)
    assert result.heatmap.shape == (7, 7)
    assert np.isfinite(result.heatmap).all()
    assert 0.0 <= result.heatmap.min() <= result.heatmap.max() <= 1.0
    assert result.overlay.size == (224, 224) and result.overlay.mode == "RGB"
    assert result.layer == "bn2"
    # The cup fills the middle of the crop; the saucer's rim and the table the border.
    row, column = np.unravel_index(result.heatmap.argmax(), result.heatmap.shape)
    assert 1 <= row <= 5 and 1 <= column <= 5


def test_grad_cam_removes_its_hooks_and_leaves_the_model_as_it_was(lite0, coffee):
    hooks = _hook_count(lite0.module)
    flags = [parameter.requires_grad for parameter in lite0.module.parameters()]
    cam.grad_cam(coffee, model=lite0, class_index=ESPRESSO)
    assert _hook_count(lite0.module) == hooks
    assert [parameter.requires_grad for parameter in lite0.module.parameters()] == flags
    assert all(parameter.grad is None for parameter in lite0.module.parameters())
    assert not lite0.module.training


def test_grad_cam_removes_its_hooks_when_the_class_is_out_of_range(lite0, coffee):
    hooks = _hook_count(lite0.module)
    with pytest.raises((IndexError, RuntimeError)):
        cam.grad_cam(coffee, model=lite0, class_index=5000)
    assert _hook_count(lite0.module) == hooks
    assert not lite0.lock.locked()


def test_different_classes_give_different_maps(lite0, coffee):
    espresso = cam.grad_cam(coffee, model=lite0, class_index=ESPRESSO).heatmap
    cup = cam.grad_cam(coffee, model=lite0, class_index=968).heatmap
    assert not np.allclose(espresso, cup)


def test_concurrent_sessions_do_not_mix_their_maps(lite0, coffee):
    expected = cam.grad_cam(coffee, model=lite0, class_index=ESPRESSO).heatmap
    maps: list[np.ndarray] = []

    def explain() -> None:
        maps.append(cam.grad_cam(coffee, model=lite0, class_index=ESPRESSO).heatmap)

    def classify() -> None:
        models.classify(coffee, model=lite0)

    threads = [threading.Thread(target=target) for target in (explain, classify, explain)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(maps) == 2
    assert all(np.allclose(found, expected, atol=1e-5) for found in maps)


def test_a_model_without_a_feature_map_says_so(lite0, coffee):
    vit_like = dataclasses.replace(
        lite0, record=dataclasses.replace(lite0.record, cam_layer=None, title="ViT-B/16")
    )
    with pytest.raises(cam.CamUnavailableError) as caught:
        cam.grad_cam(coffee, model=vit_like, class_index=ESPRESSO)
    assert caught.value.key == "classify.cam_unavailable"
