"""The networks the Train page offers: shapes, parameter counts and the per-layer summary."""

from __future__ import annotations

import pytest
import torch

from core import nets


@pytest.mark.parametrize("name", list(nets.NETS))
@pytest.mark.parametrize("classes", [2, 10])
def test_every_net_maps_32px_images_to_one_logit_per_class(name, classes):
    model = nets.build(name, num_classes=classes).eval()
    assert model(torch.zeros(3, 3, 32, 32)).shape == (3, classes)


@pytest.mark.parametrize(
    ("name", "low", "high"),
    [("ResNet-8", 70_000, 90_000), ("ResNet-20", 260_000, 280_000), ("SmallVGG", 50_000, 100_000)],
)
def test_parameter_counts_match_the_published_sizes(name, low, high):
    assert low <= nets.count_params(nets.build(name)) <= high


def test_resnet20_has_three_basic_blocks_per_stage():
    model = nets.resnet20()
    assert [len(stage) for stage in model.stages] == [3, 3, 3]


def test_summary_lists_each_leaf_layer_with_its_output_shape():
    summary = nets.summarize(nets.small_vgg(width=4))
    first, last = summary.rows[0], summary.rows[-1]
    assert (first.kind, first.output_shape, first.params) == ("Conv2d", (1, 4, 32, 32), 3 * 4 * 9)
    assert (last.kind, last.output_shape) == ("Linear", (1, 10))
    assert summary.output_shape == (1, 10)
    pools = [row.output_shape for row in summary.rows if row.kind == "MaxPool2d"]
    assert pools == [(1, 4, 16, 16), (1, 8, 8, 8), (1, 16, 4, 4)]


def test_summary_counts_every_parameter_once():
    model = nets.resnet8()
    summary = nets.summarize(model)
    assert summary.total_params == summary.trainable_params == nets.count_params(model)
    assert sum(row.params for row in summary.rows) == summary.total_params


def test_summary_leaves_the_model_as_it_was():
    model = nets.resnet8().train()
    before = {name: value.clone() for name, value in model.state_dict().items()}
    nets.summarize(model, input_shape=(2, 3, 32, 32))
    assert model.training
    assert all(torch.equal(before[name], value) for name, value in model.state_dict().items())
    assert not model._forward_hooks and not model.stem[0]._forward_hooks
