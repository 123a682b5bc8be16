"""Property-based fuzzing of the index parser: 10,000+ generated inputs, hostile ones included.

Only the parser's own error ever escapes, and nothing the user types is evaluated: a sentinel
named `canary` sits in builtins and records any call or attribute access, and `eval`/`exec`
record any source that mentions it (they still work: PyTorch and dataclasses use them).
"""

from __future__ import annotations

import builtins
import contextlib
from unittest import mock

import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.indexing import IndexExpressionError, IndexResult, apply_index, parse_index

T = torch.arange(24.0).reshape(2, 3, 4)
apply_index(T, parse_index("[t > t]"))  # pays PyTorch's one-off lazy imports outside the timing
FUZZ_SETTINGS = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow]}


class Sentinel:
    """Records every call and attribute access; evaluating user text would trip it."""

    def __init__(self) -> None:
        self.touched: list[str] = []

    def __call__(self, *args, **kwargs):
        self.touched.append("call")
        return self

    def __getattr__(self, name):
        self.touched.append(f"attribute {name}")
        return self

    def __getitem__(self, key):
        self.touched.append("subscript")
        return self


def _recording(function, evaluated: list[str]):
    def record(source, *args, **kwargs):
        if "canary" in str(source):
            evaluated.append(str(source))
        return function(source, *args, **kwargs)

    return record


@contextlib.contextmanager
def watched():
    """Builtins rigged for the duration: `canary` is the sentinel, eval/exec are watched."""
    sentinel = Sentinel()
    evaluated: list[str] = []
    with (
        mock.patch.object(builtins, "canary", sentinel, create=True),
        mock.patch.object(builtins, "eval", _recording(builtins.eval, evaluated)),
        mock.patch.object(builtins, "exec", _recording(builtins.exec, evaluated)),
    ):
        yield sentinel, evaluated


def check(text: str) -> None:
    """Parse and apply `text`: a result or an IndexExpressionError, never anything else."""
    try:
        result = apply_index(T, parse_index(text))
    except IndexExpressionError:
        return
    assert isinstance(result, IndexResult)


def run_watched(fuzz) -> None:
    """Run a Hypothesis test with builtins rigged, then check nothing was evaluated."""
    with watched() as (sentinel, evaluated):
        fuzz()
    assert not sentinel.touched
    assert not evaluated


# --- Random text ------------------------------------------------------------------------------
HOSTILE_ALPHABET = "t[](){}:,.;-+*/%@~&|^<>=! 0123456789_abcxyzlambdaforinimport'\"\\\n\x00é中"


@settings(max_examples=3_000, **FUZZ_SETTINGS)
@given(st.text(max_size=60))
def _random_unicode_text_never_escapes(text):
    check(text)


def test_random_unicode_text_never_escapes():
    run_watched(_random_unicode_text_never_escapes)


@settings(max_examples=3_000, **FUZZ_SETTINGS)
@given(st.text(alphabet=HOSTILE_ALPHABET, max_size=80))
def _random_python_like_text_never_escapes(text):
    check(text)


def test_random_python_like_text_never_escapes():
    run_watched(_random_python_like_text_never_escapes)


# --- Random expression trees, hostile nodes included ------------------------------------------
numbers = st.one_of(
    st.integers(-30, 30),
    st.integers(-(10**40), 10**40),
    st.floats(allow_nan=True, allow_infinity=True),
).map(repr)
atoms = st.one_of(
    numbers,
    st.sampled_from(["t", "canary", "x", "__import__", "None", "...", "True", "'s'", "b''"]),
)


# Each template wraps the expression built so far (`{e}`) with a fresh atom (`{a}`): a flat list
# of templates makes a deep tree, and flat lists are cheap for Hypothesis to generate and shrink.
TEMPLATES = (
    "canary({e})",
    "canary.attr[{e}]",
    "{e}.real",
    "(lambda: canary({e}))()",
    "[canary(i) for i in {e}]",
    "(canary(i) for i in {e})",
    "{{k: canary() for k in {e}}}",
    "t[{e}]",
    "-{e}",
    "~({e})",
    "({e})",
    "[{e}]",
    "(y := {e})",
    "f'{{{e}}}'",
    "*{e}",
    "{e}:{a}",
    "{a}:{e}:{a}",
    "{e}, {a}",
    "[{e}, {a}]",
    "{e} > {a}",
    "{a} <= {e}",
    "({e}) & ({a})",
    "({e}) | ({a})",
    "{e} ** {a}",
    "{e} and {a}",
    "{e} if canary() else {a}",
    "{e} < {a} < t",
    "{{{e}: {a}}}",
    "{e} in {a}",
    "await {e}",
    "{e}[{a}]",
)


def _build(atoms_and_templates: tuple[list[str], list[str]]) -> str:
    leaves, templates = atoms_and_templates
    expression = leaves[0]
    for number, template in enumerate(templates):
        expression = template.format(e=expression, a=leaves[(number + 1) % len(leaves)])
    return expression


expressions = st.tuples(
    st.lists(atoms, min_size=1, max_size=4), st.lists(st.sampled_from(TEMPLATES), max_size=10)
).map(_build)
wrapped = st.tuples(st.sampled_from(["[{}]", "t[{}]", "{}", "[{}", "(((({}))))"]), expressions)


@settings(max_examples=3_800, **FUZZ_SETTINGS)
@given(wrapped)
def _random_expression_trees_never_escape(form_and_expression):
    form, expression = form_and_expression
    check(form.format(expression))


def test_random_expression_trees_never_escape():
    run_watched(_random_expression_trees_never_escape)


@settings(max_examples=300, **FUZZ_SETTINGS)
@given(st.integers(1, 400))
def _deep_nesting_never_escapes(depth):
    for text in (
        "[" * depth + "0" + "]" * depth,
        "(" * depth + "t" + ")" * depth,
        "-" * depth + "1",
    ):
        check(text)


def test_deep_nesting_never_escapes():
    run_watched(_deep_nesting_never_escapes)


# --- Accepted expressions mean what PyTorch means -----------------------------------------------
bounds = st.one_of(st.none(), st.integers(-5, 5))
basic_items = st.one_of(
    st.integers(-2, 1).map(lambda i: (str(i), i)),
    st.tuples(bounds, bounds, st.one_of(st.none(), st.integers(1, 3))).map(
        lambda s: (
            f"{'' if s[0] is None else s[0]}:{'' if s[1] is None else s[1]}"
            + ("" if s[2] is None else f":{s[2]}"),
            slice(*s),
        )
    ),
    st.just(("None", None)),
    st.lists(st.integers(-2, 1), min_size=1, max_size=4).map(lambda v: (str(v), v)),
)


@settings(max_examples=500, **FUZZ_SETTINGS)
@given(st.lists(basic_items, max_size=4))
def test_accepted_indices_select_what_pytorch_selects(items):
    text = "[" + ", ".join(source for source, _ in items) + "]"
    index = tuple(torch.tensor(value) if isinstance(value, list) else value for _, value in items)
    try:
        expected = T[index]
    except IndexError:
        expected = None
    if expected is None:
        try:
            apply_index(T, parse_index(text))
        except IndexExpressionError:
            return
        raise AssertionError(f"{text} should have been refused")
    assert torch.equal(apply_index(T, parse_index(text)).result, expected)
