"""Tensor recipes: every factory and dtype, limits checked before allocation, code that runs."""

from __future__ import annotations

import pytest
import torch

from core import config, snippets, tensors
from core.tensors import (
    DTYPES,
    FACTORIES,
    TensorRecipe,
    TensorRecipeError,
    build_tensor,
    describe,
    parse_shape,
)
from tests.corpus import SAMPLES

RECIPES = [
    TensorRecipe(factory=factory, shape=shape, dtype=dtype)
    for factory in FACTORIES
    for shape in [(3, 4), (2, 1, 3), ()]
    for dtype in ("float32", "int64")
    if not (factory == "eye" and len(shape) != 2)
    and not (factory == "image" and len(shape) < 2)
    and not (factory in ("rand", "randn") and dtype == "int64")
]


@pytest.mark.parametrize("recipe", RECIPES, ids=repr)
def test_shown_code_builds_the_same_tensor(recipe, monkeypatch):
    monkeypatch.chdir(SAMPLES)  # the image recipe opens its sample by file name
    built = build_tensor(recipe)
    namespace: dict = {}  # the complete program, nothing injected
    exec(snippets.tensor_code(tensors=[built.code]), namespace)  # our own generated code
    assert torch.equal(namespace["t"], built.tensor)
    assert built.tensor.dtype == DTYPES[recipe.dtype]


@pytest.mark.parametrize("dtype", list(DTYPES))
def test_every_dtype_is_offered(dtype):
    assert (
        build_tensor(TensorRecipe(factory="ones", shape=(2,), dtype=dtype)).tensor.dtype
        == (DTYPES[dtype])
    )


@pytest.mark.parametrize("ndim", range(7))
def test_shapes_from_0d_to_6d(ndim):
    shape = (2,) * ndim
    assert build_tensor(TensorRecipe(shape=shape)).tensor.shape == shape


def test_image_recipe_is_three_by_height_by_width():
    built = build_tensor(TensorRecipe(factory="image", shape=(12, 20), dtype="uint8"))
    assert built.tensor.shape == (3, 12, 20)
    assert built.tensor.max() > 0


def test_seed_makes_random_tensors_repeatable():
    first = build_tensor(TensorRecipe(factory="randn", seed=3)).tensor
    assert torch.equal(first, build_tensor(TensorRecipe(factory="randn", seed=3)).tensor)
    assert not torch.equal(first, build_tensor(TensorRecipe(factory="randn", seed=4)).tensor)


@pytest.mark.parametrize(
    ("recipe", "key"),
    [
        (TensorRecipe(shape=(1001, 1000)), "tensors.too_many_elements"),
        (TensorRecipe(factory="image", shape=(1000, 1000)), "tensors.too_many_elements"),
        (TensorRecipe(factory="eye", shape=(2, 2, 2)), "tensors.eye_shape"),
        (TensorRecipe(factory="randn", dtype="int64"), "tensors.recipe_failed"),
        (TensorRecipe(factory="list", literal="[[1, 2], [3]]"), "tensors.recipe_failed"),
        (TensorRecipe(factory="list", literal="[1, (2)] + canary()"), "tensors.bad_literal"),
        (TensorRecipe(factory="list", literal="[" * 50 + "]" * 50), "tensors.bad_literal"),
        (TensorRecipe(factory="list", literal="1," * 20_000), "tensors.literal_too_long"),
        (TensorRecipe(factory="nope"), "tensors.unknown_recipe"),
    ],
)
def test_bad_recipes_raise_a_clear_error(recipe, key):
    with pytest.raises(TensorRecipeError) as caught:
        build_tensor(recipe)
    assert caught.value.key == key


def test_limits_are_checked_before_anything_is_allocated(monkeypatch):
    def allocate(*args, **kwargs):
        raise AssertionError("allocated despite the limit")

    monkeypatch.setattr(tensors, "_make", allocate)
    with pytest.raises(TensorRecipeError) as caught:
        build_tensor(TensorRecipe(factory="zeros", shape=(10**6, 10**6)))
    assert caught.value.params["limit"] == config.MAX_TENSOR_ELEMENTS


def test_byte_limit_applies_to_wide_dtypes(monkeypatch):
    monkeypatch.setattr(config, "MAX_TENSOR_BYTES", 1_000)
    with pytest.raises(TensorRecipeError) as caught:
        build_tensor(TensorRecipe(factory="zeros", shape=(200,), dtype="float64"))
    assert caught.value.key == "tensors.too_many_bytes"
    assert build_tensor(TensorRecipe(factory="zeros", shape=(200,), dtype="uint8"))


def test_typed_list_is_read_without_evaluation():
    built = build_tensor(TensorRecipe(factory="list", literal="[[1, -2.5], [3, 4]]"))
    assert built.tensor.tolist() == [[1.0, -2.5], [3.0, 4.0]]


@pytest.mark.parametrize(
    ("text", "shape"),
    [("3, 4", (3, 4)), ("(2, 3, 4)", (2, 3, 4)), ("", ()), ("5", (5,)), ("2x3", (2, 3))],
)
def test_parse_shape_reads_common_spellings(text, shape):
    assert parse_shape(text) == shape


@pytest.mark.parametrize("text", ["-1, 2", "a", "1, 2, 3, 4, 5, 6, 7", "1e9", "9999999999"])
def test_parse_shape_refuses_the_rest(text):
    with pytest.raises(TensorRecipeError):
        parse_shape(text)


def test_describe_reports_layout():
    info = describe(torch.arange(12.0).reshape(3, 4).T[1:])
    assert info.shape == (3, 3)
    assert info.stride == (1, 4)
    assert info.storage_offset == 1
    assert info.is_contiguous is False
    assert (info.numel, info.bytes, info.dtype) == (9, 36, "float32")


def test_code_names_the_variable_it_builds():
    built = build_tensor(TensorRecipe(factory="randint", shape=(2, 2), seed=5), name="u")
    namespace: dict = {}
    exec(snippets.tensor_code(tensors=[built.code]), namespace)  # our own generated code
    assert torch.equal(namespace["u"], built.tensor)
    assert "t" not in namespace
