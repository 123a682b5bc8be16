"""The transform catalogue, pipelines built from it, seeded draws, JSON and exported code."""

from __future__ import annotations

import contextlib
import io
import json

import pytest
import torch
from PIL import Image
from torchvision.transforms import v2
from torchvision.transforms.v2.functional import pil_to_tensor

from core import snippets, transforms
from core.transforms import CATALOGUE, PRESETS, Step, TransformError

IMAGE = Image.radial_gradient("L").resize((96, 80)).convert("RGB")  # 96×80, not symmetric
IMAGE.putpixel((3, 5), (255, 0, 0))


def _uint8_tensor() -> torch.Tensor:
    return v2.functional.pil_to_tensor(IMAGE)  # (3, 80, 96) uint8


def _small(name: str) -> Step:
    """The default step, with crops small enough for the 96×80 test image."""
    step = transforms.default_step(name)
    if "size" in step.params:
        return Step(name, {**step.params, "size": 48})
    return step


@pytest.mark.parametrize("name", list(CATALOGUE))
def test_every_catalogue_transform_builds_from_its_defaults(name):
    transform = transforms.build_step(transforms.default_step(name))
    assert isinstance(transform, CATALOGUE[name].cls)


@pytest.mark.parametrize("name", [n for n, spec in CATALOGUE.items() if spec.needs == "any"])
def test_every_transform_that_takes_any_input_applies_to_a_pil_image(name):
    output = transforms.build_step(_small(name))(IMAGE)
    assert isinstance(output, Image.Image | torch.Tensor)


@pytest.mark.parametrize("name", [n for n, spec in CATALOGUE.items() if spec.needs != "float"])
def test_every_transform_applies_to_a_uint8_tensor(name):
    output = transforms.build_step(_small(name))(_uint8_tensor())
    assert isinstance(output, torch.Tensor)
    assert output.shape[0] in (1, 3)


@pytest.mark.parametrize("name", list(CATALOGUE))
def test_every_transform_applies_to_a_float_tensor(name):
    tensor = _uint8_tensor().float() / 255
    if name == "RandomSolarize":  # its threshold is on the uint8 scale by default
        step = Step(name, {**transforms.default_step(name).params, "threshold": 0.5})
    else:
        step = _small(name)
    output = transforms.build_step(step)(tensor)
    assert output.is_floating_point()


def test_transforms_that_need_a_float_tensor_are_marked_in_the_table():
    with pytest.raises(TypeError):
        transforms.build_step(transforms.default_step("Normalize"))(_uint8_tensor())
    assert CATALOGUE["Normalize"].needs == "float"


def test_the_catalogue_has_every_transform_the_issue_names():
    wanted = [
        "Resize",
        "CenterCrop",
        "RandomCrop",
        "RandomResizedCrop",
        "RandomHorizontalFlip",
        "RandomVerticalFlip",
        "RandomRotation",
        "RandomAffine",
        "RandomPerspective",
        "ColorJitter",
        "Grayscale",
        "RandomGrayscale",
        "GaussianBlur",
        "RandomInvert",
        "RandomPosterize",
        "RandomSolarize",
        "RandomAutocontrast",
        "RandomEqualize",
        "AutoAugment",
        "RandAugment",
        "TrivialAugmentWide",
        "AugMix",
        "ToImage",
        "ToDtype",
        "Normalize",
        "RandomErasing",
    ]
    assert set(wanted) <= set(CATALOGUE)


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ([{"name": "Nope"}], "transforms.unknown_transform"),
        ([{"name": "Resize", "params": {"colour": 1}}], "transforms.unknown_param"),
        ([{"name": "Resize", "params": {"size": "big"}}], "transforms.bad_value"),
        ([{"name": "Resize", "params": {"size": 2.5}}], "transforms.bad_value"),
        ([{"name": "Resize", "params": {"antialias": 1}}], "transforms.bad_value"),
        ([{"name": "RandomHorizontalFlip", "params": {"p": 2}}], "transforms.out_of_range"),
        ([{"name": "ColorJitter", "params": {"hue": [0.3, 0.1]}}], "transforms.bad_value"),
        ([{"name": "Normalize", "params": {"mean": [0.5, 0.5]}}], "transforms.bad_value"),
        ([{"name": "ToDtype", "params": {"dtype": "complex64"}}], "transforms.bad_value"),
        ([{"params": {}}], "transforms.bad_json"),
        ([{"name": "ToImage"}] * 33, "transforms.too_many_steps"),
    ],
)
def test_validate_rejects_bad_steps_with_an_explained_error(raw, key):
    with pytest.raises(TransformError) as caught:
        transforms.validate(raw)
    assert caught.value.key == key


def test_a_value_the_transform_refuses_keeps_the_transforms_own_message():
    step = Step("GaussianBlur", {"kernel_size": 4, "sigma": [0.1, 2.0]})
    with pytest.raises(TransformError) as caught:
        transforms.build([step])
    assert caught.value.key == "transforms.rejected"
    assert "odd and positive" in caught.value.params["reason"]


@pytest.mark.parametrize(
    ("pipeline", "key"),
    [
        ([transforms.default_step("Normalize")], "transforms.needs_tensor"),
        (
            [transforms.default_step("ToImage"), transforms.default_step("Normalize")],
            "transforms.needs_float",
        ),
        ([Step("CenterCrop", {"size": 48}), Step("RandomCrop", {"size": 64})], "crop_too_large"),
        ([Step("Grayscale", {"num_output_channels": 2})], "transforms.apply_failed"),
    ],
)
def test_a_step_that_fails_on_its_input_says_how_to_fix_it(pipeline, key):
    with pytest.raises(TransformError) as caught:
        transforms.draw(IMAGE, pipeline, seed=0)
    assert caught.value.key.endswith(key)
    assert caught.value.params["position"] == len(pipeline)


@pytest.mark.parametrize("preset", list(PRESETS))
def test_json_round_trip_keeps_the_pipeline(preset):
    pipeline = PRESETS[preset]
    assert transforms.from_json(transforms.to_json(pipeline)) == pipeline
    assert transforms.from_json(transforms.to_json(pipeline, indent=2)) == pipeline


def test_json_fills_missing_parameters_with_defaults():
    (step,) = transforms.from_json('[{"name": "RandomCrop", "params": {"size": 32}}]')
    assert step.params["size"] == 32
    assert step.params["padding"] == transforms.default_step("RandomCrop").params["padding"]


@pytest.mark.parametrize("text", ["not json", '{"name": "Resize"}', "[1]", b"\xff\xfe"])
def test_from_json_rejects_what_is_not_a_pipeline(text):
    with pytest.raises(TransformError) as caught:
        transforms.from_json(text)
    assert caught.value.key == "transforms.bad_json"


def _every_transform_pipeline() -> list[Step]:
    """One pipeline that runs every catalogue transform in a valid order."""
    pil = [_small(n) for n, spec in CATALOGUE.items() if spec.group != "tensor"]
    tensor = ["ToImage", "ToDtype", "RandomErasing", "Normalize"]
    return [*pil, *[transforms.default_step(name) for name in tensor]]


@pytest.mark.parametrize(
    "pipeline",
    [*PRESETS.values(), _every_transform_pipeline(), ()],
    ids=[*PRESETS, "every_transform", "empty"],
)
def test_exported_code_builds_the_same_compose_and_gives_the_same_output(
    pipeline, tmp_path, monkeypatch
):
    seed = 7
    (drawn,) = transforms.draw(IMAGE, pipeline, seed=seed)
    IMAGE.save(tmp_path / "photo.png")
    monkeypatch.chdir(tmp_path)
    code = snippets.transforms_code(pipeline, seed=seed, source="sample", file_name="photo.png")
    namespace: dict = {}  # the complete program, nothing injected
    with contextlib.redirect_stdout(io.StringIO()):
        exec(code, namespace)  # our own generated code
    assert repr(namespace["transform"]) == repr(transforms.build(pipeline))
    expected = drawn.output
    if isinstance(expected, Image.Image):  # the program prints a PIL output as its tensor
        expected = pil_to_tensor(expected)
    assert torch.equal(namespace["output"], expected.as_subclass(torch.Tensor))


def test_the_same_seed_gives_the_same_draw_and_another_seed_differs():
    pipeline = PRESETS["imagenet_train"]
    first = transforms.draw(IMAGE, pipeline, seed=3, count=3)
    again = transforms.draw(IMAGE, pipeline, seed=3, count=3)
    assert [d.seed for d in first] == [3, 4, 5]
    assert all(torch.equal(a.output, b.output) for a, b in zip(first, again, strict=True))
    assert not torch.equal(first[0].output, first[1].output)


def test_draw_records_the_crop_box_and_whether_a_flip_happened():
    pipeline = [
        Step(
            "RandomResizedCrop", {**transforms.default_step("RandomResizedCrop").params, "size": 32}
        ),
        Step("RandomHorizontalFlip", {"p": 0.5}),
    ]
    draws = transforms.draw(IMAGE, pipeline, seed=0, count=8)
    crop = draws[0].steps[0]
    assert set(crop.values) == {"top", "left", "height", "width"}
    assert 0 < crop.values["height"] <= 80
    assert {d.steps[1].applied for d in draws} == {True, False}


def test_draw_records_jitter_factors_and_auto_augment_ops():
    pipeline = [transforms.default_step("ColorJitter"), transforms.default_step("RandAugment")]
    (drawn,) = transforms.draw(IMAGE, pipeline, seed=1)
    jitter, rand_augment = drawn.steps
    assert 0.6 <= jitter.values["brightness_factor"] <= 1.4
    assert len(rand_augment.values["ops"]) == 2
    json.dumps([dict(step.values) for step in drawn.steps])  # plain values only


def test_recording_leaves_the_transforms_unpatched():
    compose = transforms.build([transforms.default_step("RandomRotation")])
    with transforms._recording(compose.transforms[0]):
        pass
    assert "make_params" not in compose.transforms[0].__dict__


def test_trace_describes_each_step_and_normalize_centres_the_values():
    outputs = transforms.trace(IMAGE, PRESETS["classic_eval"], seed=0)
    assert [o.name for o in outputs] == [s.name for s in PRESETS["classic_eval"]]
    resize, _, to_image, to_dtype, normalize = outputs
    assert not resize.is_tensor and resize.histogram is None
    assert to_image.dtype == "torch.uint8" and to_image.high <= 255
    assert to_dtype.dtype == "torch.float32" and to_dtype.high <= 1.0
    assert normalize.low < 0 and normalize.shape == (3, 224, 224)
    assert len(normalize.histogram.counts) == 3
    assert sum(normalize.histogram.counts[0]) == 224 * 224


def test_trace_previews_each_step_at_the_asked_size():
    outputs = transforms.trace(IMAGE, PRESETS["classic_eval"], seed=0, preview_side=64)
    assert [max(o.preview.size) for o in outputs] == [64] * len(outputs)
    assert transforms.trace(IMAGE, PRESETS["classic_eval"], seed=0)[0].preview is None


def test_to_display_undoes_normalize():
    pipeline = PRESETS["classic_eval"]
    (drawn,) = transforms.draw(IMAGE, pipeline, seed=0)
    shown = transforms.to_display(drawn.output, pipeline)
    (plain,) = transforms.draw(IMAGE, pipeline[:2], seed=0)  # the same image before ToImage
    difference = (
        v2.functional.pil_to_tensor(shown).int() - v2.functional.pil_to_tensor(plain.output).int()
    )
    assert shown.size == (224, 224)
    assert difference.abs().max() <= 1


def test_fit_source_shrinks_only_large_images():
    assert transforms.fit_source(IMAGE) is IMAGE
    assert max(transforms.fit_source(IMAGE, max_side=48).size) == 48
