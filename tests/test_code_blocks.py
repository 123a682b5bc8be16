"""Every code block the pages show runs as shown and prints what the page shows.

Each page is opened with AppTest in its default state and in each view that shows code; every
`st.code` element it drew is written to a file and run with a fresh `python` in an empty
folder that holds only the files the block names (copies of the sample photos, the state_dict
the app exports). CIFAR-10 comes from the test corpus's layout, whose checksums a
`sitecustomize.py` on PYTHONPATH swaps in (the same swap as the in-process fixture); nothing
else is injected. The numbers a block prints are compared with the numbers the page showed in
that run, parsed from its elements; a few views check named values exactly.
"""

from __future__ import annotations

import ast
import dataclasses
import hashlib
import json
import math
import os
import pathlib
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor

import pytest
from streamlit.testing.v1 import AppTest

from core import deploy, models
from core.trained import TrainedModel
from tests import corpus
from tests.test_app import APP, TIMEOUT_S
from tests.test_page_classify import top_k_rows
from ui import state
from ui import training as runs
from ui.i18n import catalog

BLOCK_TIMEOUT_S = 300
WORKERS = 2  # the machine's cores; blocks are mostly one torch import and a small model
RUN_TIMEOUT_S = 300
LANGUAGES = ("en", "zh")
CHECKED: list[str] = []  # names of the blocks run, for the count printed at the end

# A number as printed or shown: 1,234 / -0.5 / 1e-05 / 49.1% (not the 32 of "float32").
_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?:e[+-]?\d+)?%?(?![\w])")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")


@dataclasses.dataclass(frozen=True)
class Number:
    value: float
    decimals: int  # digits after the point as written (a percent counts two more)


def numbers(text: str) -> list[Number]:
    """Every number in `text`, percentages as fractions (49.1% → 0.491)."""
    found = []
    for match in _NUMBER.finditer(_THOUSANDS.sub("", text)):
        token = match.group()
        percent = token.endswith("%")
        token = token.rstrip("%")
        mantissa = token.split("e")[0]
        decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
        if "e" in token:
            decimals -= int(token.split("e")[1])
        value = float(token)
        if percent:
            value, decimals = value / 100, decimals + 2
        found.append(Number(value, max(decimals, 0)))
    return found


def same(printed: Number, shown: Number) -> bool:
    """Equal at the coarser of the two precisions (each is rounded to its own digits)."""
    slack = 0.5 * 10.0**-printed.decimals + 0.5 * 10.0**-shown.decimals
    return math.isclose(printed.value, shown.value, rel_tol=1e-6, abs_tol=slack * 1.0001)


def _texts(value: object) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _texts(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _texts(item)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        yield repr(value)


def shown_numbers(at: AppTest) -> list[Number]:
    """The numbers the page shows: text, tables, metrics, chart data, and non-Python blocks."""
    texts: list[str] = []
    for kind in ("markdown", "caption", "subheader", "header", "title", "text", "info", "success"):
        texts += [element.value for element in at.get(kind)]
    texts += [str(element.value) for element in at.metric]
    texts += [block.value for block in at.code if block.language != "python"]
    texts += [element.proto.body for element in at.get("html")]
    # The Datasets grid: a clickable component whose data is the tiles' HTML.
    texts += [json.loads(grid.proto.json) for grid in at.get("bidi_component")]
    texts += [caption for image in at.image for caption in image.captions]
    for frame in [*at.dataframe, *at.table]:
        value = frame.value
        texts += [str(cell) for cell in value.to_numpy().ravel()]
        texts += [str(name) for name in value.columns] + [str(name) for name in value.index]
    for chart in at.get("plotly_chart"):
        texts += list(_texts(json.loads(chart.proto.spec).get("data", [])))
    return [number for text in texts for number in numbers(text)]


@dataclasses.dataclass
class Block:
    name: str
    code: str
    shown: list[Number]  # what the page showed in the run that drew this block
    files: dict[str, bytes]  # name → content, put beside the script when the code names it
    stdout: str = ""


def python_blocks(at: AppTest, name: str, *, files: dict[str, bytes] | None = None) -> list[Block]:
    """The Python blocks of the page's last run, with the numbers that run showed."""
    assert not at.exception, [str(error.value) for error in at.exception]
    shown = shown_numbers(at)
    python = [element.value for element in at.code if element.language == "python"]
    assert python, f"{name}: the page shows no Python block"
    return [
        Block(f"{name}[{index}]", code, shown, dict(files or {}))
        for index, code in enumerate(python)
    ]


def run_blocks(blocks: list[Block], environment: dict[str, str]) -> list[Block]:
    """Run every block in a fresh interpreter in its own empty folder; fail on a non-zero exit."""

    def run(block: Block) -> Block:
        with tempfile.TemporaryDirectory() as folder:
            workdir = pathlib.Path(folder)
            for file_name in _named_files(block):
                (workdir / file_name).write_bytes(block.files[file_name])
            (workdir / "block.py").write_text(block.code, encoding="utf-8")
            finished = subprocess.run(
                [sys.executable, "block.py"],
                cwd=workdir,
                env=environment,
                capture_output=True,
                text=True,
                timeout=BLOCK_TIMEOUT_S,
            )
        assert finished.returncode == 0, f"{block.name}\n{block.code}\n{finished.stderr[-3000:]}"
        block.stdout = finished.stdout
        CHECKED.append(block.name)
        return block

    with ThreadPoolExecutor(WORKERS) as pool:
        return list(pool.map(run, blocks))


def _named_files(block: Block) -> list[str]:
    """The files the block names in quotes, from those the test can supply."""
    return [name for name in block.files if f"'{name}'" in block.code or f'"{name}"' in block.code]


def assert_prints_what_the_page_shows(block: Block) -> None:
    shown = block.shown
    printed = numbers(block.stdout)
    assert printed, f"{block.name} printed no numbers:\n{block.stdout}"
    missing = [n for n in printed if not any(same(n, s) for s in shown)]
    assert not missing, (
        f"{block.name} printed numbers the page does not show: {missing}\n" + (block.stdout[-2000:])
    )


def _samples() -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in corpus.SAMPLES.iterdir() if path.is_file()}


@pytest.fixture(scope="module")
def environment(cifar10_root, tmp_path_factory) -> dict[str, str]:
    """The subprocesses' environment: the checksum swap for the corpus's CIFAR-10 layout."""
    folder = cifar10_root / "cifar-10-batches-py"
    md5s = {path.name: hashlib.md5(path.read_bytes()).hexdigest() for path in folder.iterdir()}
    site = tmp_path_factory.mktemp("site")
    corpus.write_sitecustomize(site, md5s)
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    return {**environment, "PYTHONPATH": str(site)}


@pytest.fixture(scope="module", autouse=True)
def report_count():
    yield
    print(f"\n{len(CHECKED)} code blocks run and checked: {', '.join(sorted(CHECKED))}")


def open_page(path: str, *, lang: str, prepare: Callable[[AppTest], None] | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    at.query_params["lang"] = lang
    if prepare is not None:
        prepare(at)
    at.run()
    at.switch_page(path)
    at.run()
    assert not at.exception, [str(error.value) for error in at.exception]
    return at


# --- Tensors ------------------------------------------------------------------------------------

TENSOR_VIEWS = (
    "index",
    "combine",
    "split",
    "reshape",
    "broadcast",
    "reduce",
    "autograd",
    "devices",
)


# Each state is set before the page's first run: AppTest matches a radio's options through its
# format_func outside the script run, in English, so Chinese labels cannot be picked by value.
TENSOR_STATES = {
    **{view: {"tensors_section": view} for view in TENSOR_VIEWS},
    "transposed": {  # view() refuses a transposed tensor; reshape() copies
        "tensors_section": "reshape",
        "tensors_transposed": True,
        "tensors_reshape_op": "reshape",
    },
    "image": {"tensors_section": "index", "tensors_factory": "image", "tensors_shape": "4, 6"},
}
CHINESE_TENSOR_STATES = ("index", "transposed", "autograd", "devices")  # comments that change


def _with_state(values: dict[str, object]) -> Callable[[AppTest], None]:
    def prepare(at: AppTest) -> None:
        for key, value in values.items():
            at.session_state[key] = value

    return prepare


@pytest.mark.slow
@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_tensor_view_prints_what_it_shows(environment, lang):
    names = list(TENSOR_STATES) if lang == "en" else CHINESE_TENSOR_STATES
    blocks = []
    for name in names:
        at = open_page("pages/tensors.py", lang=lang, prepare=_with_state(TENSOR_STATES[name]))
        blocks += python_blocks(at, f"tensors-{name}-{lang}", files=_samples())
    codes = "\n".join(block.code for block in blocks)
    assert "fill_(" in codes  # the write-through expander's block
    assert "t = t.transpose(0, -1)" in codes
    assert "np.arange" in codes  # the NumPy block
    if lang == "en":
        assert 'Image.open("coffee.png")' in codes
    else:  # only the blocks whose comments are Chinese: the others equal the English ones
        blocks = [block for block in blocks if re.search(r"#.*[\u4e00-\u9fff]", block.code)]
        assert len(blocks) >= 4
    for block in run_blocks(_unique(blocks), environment):
        assert_prints_what_the_page_shows(block)


def _unique(blocks: list[Block]) -> list[Block]:
    seen, unique = set(), []
    for block in blocks:
        if block.code not in seen:
            seen.add(block.code)
            unique.append(block)
    return unique


# --- Datasets -----------------------------------------------------------------------------------


def _with_data(root: pathlib.Path) -> Callable[[AppTest], None]:
    def prepare(at: AppTest) -> None:
        at.session_state["data_dir"] = str(root)

    return prepare


@pytest.mark.slow
def test_every_datasets_view_prints_what_it_shows(environment, cifar10_root, lang="en"):
    at = open_page("pages/datasets.py", lang=lang, prepare=_with_data(cifar10_root))
    assert [block.language for block in at.code].count("text") == 1, "the repr is marked text"
    blocks = python_blocks(at, f"datasets-{lang}")
    assert len(blocks) == 3  # overview, browse, detail
    at.multiselect(key="datasets_classes").set_value([3, 5])
    at.number_input(key="datasets_index").set_value(4321).run()
    blocks += python_blocks(at, f"datasets-filtered-{lang}")
    for block in run_blocks(_unique(blocks), environment):
        assert_prints_what_the_page_shows(block)


# --- Transforms ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_transforms_code_prints_the_first_draws_last_step(environment, cifar10_root, lang="en"):
    at = open_page("pages/transforms.py", lang=lang, prepare=_with_data(cifar10_root))
    blocks = python_blocks(at, f"transforms-sample-{lang}", files=_samples())
    at.radio(key="transforms_source").set_value("cifar10").run()
    blocks += python_blocks(at, f"transforms-cifar-{lang}")
    for block in run_blocks(blocks, environment):
        assert_prints_what_the_page_shows(block)
        assert len(numbers(block.stdout)) >= 5  # the shape and min, max, mean


# --- Train, then Classify with the trained model ------------------------------------------------


def _wait_for_run(at: AppTest) -> AppTest:
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while at.session_state[runs.RUN_KEY].active:
        assert time.monotonic() < deadline, "the training run did not finish"
        time.sleep(0.5)
        at.run()
    return at.run()


def _metric(at: AppTest, label: str) -> str:
    return next(metric.value for metric in at.metric if metric.label == label)


@pytest.mark.slow
def test_a_tiny_training_run_and_its_model_in_classify_print_what_the_pages_show(
    environment, cifar10_root, tmp_path_factory, lang="en"
):
    at = open_page("pages/train.py", lang=lang, prepare=_with_data(cifar10_root))
    at.number_input(key="train_subset").set_value(100)
    at.number_input(key="train_test_size").set_value(60)
    at.number_input(key="train_epochs").set_value(1)
    at.selectbox(key="train_batch").set_value(32)
    at.run()
    before = python_blocks(at, f"train-before-{lang}")
    at.button(key="train_start").click().run()
    _wait_for_run(at)
    after = python_blocks(at, f"train-after-{lang}")
    # The block beside the settings and the one under the evaluation are the same run.
    assert before[1].code == after[-1].code
    accuracy = _metric(at, catalog(lang)["train.test_accuracy"])  # as shown: "41.7%"
    trained_images = _metric(at, catalog(lang)["train_feedback.presentations"])
    (trained,) = state_models(at).values()  # kept when the run finished
    subject = deploy.from_trained(trained)
    state_dict = deploy.export("state_dict", subject, folder=tmp_path_factory.mktemp("deploy"))
    files = {**_samples(), state_dict.path.name: state_dict.path.read_bytes()}
    at.switch_page("pages/classify.py")
    at.run()
    at.selectbox(key="classify_model").set_value(f"trained:{trained.name}").run()
    at.session_state["classify_tabs"] = catalog(lang)["classify.tab_why"]  # Grad-CAM runs when open
    at.run()
    classify = python_blocks(at, f"classify-trained-{lang}", files=files)
    assert len(classify) == 2  # the Why tab's Grad-CAM and the Code tab's prediction
    shown_top = _top_lines(at)

    ran = run_blocks([before[0], after[-1], *classify], environment)
    for block in ran:
        assert_prints_what_the_page_shows(block)
    training = ran[1].stdout
    assert f"test accuracy {accuracy}" in training.splitlines(), training
    assert f"trained images {trained_images}" in training.splitlines(), training
    assert _printed_top(ran[3].stdout) == shown_top


def state_models(at: AppTest) -> dict[str, TrainedModel]:
    return at.session_state[state.TRAINED_MODELS]


def _top_lines(at: AppTest) -> list[tuple[str, str]]:
    """The Classify bars' (probability text, label) pairs, best first."""
    (block,) = [element for element in at.get("html") if "top-k" in element.proto.body]
    return [(value, label) for label, value in top_k_rows(block.proto.body)]


def _printed_top(stdout: str) -> list[tuple[str, str]]:
    return [tuple(line.split("  ", 1)) for line in stdout.splitlines()]


# --- Classify -----------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_default_classify_code_and_grad_cam_print_what_the_page_shows(environment, lang="en"):
    at = open_page("pages/classify.py", lang=lang)
    at.session_state["classify_tabs"] = catalog(lang)["classify.tab_why"]  # Grad-CAM runs when open
    at.run()
    blocks = python_blocks(at, f"classify-lite0-{lang}", files=_samples())
    assert len(blocks) == 2
    assert "GradCAM(model, target_layer=" in blocks[0].code
    assert "coffee.png" in blocks[1].code
    shown_top = _top_lines(at)
    cam, prediction = run_blocks(blocks, environment)
    assert _printed_top(prediction.stdout) == shown_top
    layer = models.get_record(models.DEFAULT_MODEL).cam_layer
    assert layer in cam.stdout
    assert_prints_what_the_page_shows(cam)


def test_without_weights_the_card_preprocessing_and_code_stay_visible(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))  # no weights downloaded
    at = open_page("pages/classify.py", lang="en")
    at.selectbox(key="classify_model").set_value("alexnet").run()
    assert not at.exception
    record = models.get_record("alexnet")
    assert at.button(key="classify_download")  # the download is offered ...
    assert not any(
        "top-k" in element.proto.body for element in at.get("html")
    )  # ... and the prediction waits for it
    assert any(record.title in markdown.value for markdown in at.markdown)  # the card
    assert any(f"{record.preprocessing.crop_size}" in caption.value for caption in at.caption)
    (code,) = [block.value for block in at.code if block.language == "python"]
    assert "models.alexnet(weights=weights)" in code
    compile(code, "classify.py", "exec")  # runs once the weights are downloaded


# --- Chinese ------------------------------------------------------------------------------------


def _without_comments(code: str) -> str:
    """The program without its comments and docstrings: what runs."""
    tree = ast.parse(code)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(body, list)
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            body.pop(0)
            if not body:
                body.append(ast.Pass())
    return ast.unparse(tree)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("path", "action"),
    [
        ("pages/datasets.py", None),
        ("pages/transforms.py", None),
        ("pages/train.py", None),
        ("pages/classify.py", None),
        ("pages/tensors.py", ("tensors_section", "autograd")),
    ],
)
def test_chinese_blocks_are_the_english_programs_with_chinese_comments(cifar10_root, path, action):
    """The English runs above check what the programs print; in Chinese only comments change."""
    codes = {}
    for lang in LANGUAGES:
        values = {"data_dir": str(cifar10_root), **dict([action] if action else [])}
        at = open_page(path, lang=lang, prepare=_with_state(values))
        codes[lang] = [block.value for block in at.code if block.language == "python"]
    assert codes["en"] and len(codes["en"]) == len(codes["zh"])
    for english, chinese in zip(codes["en"], codes["zh"], strict=True):
        assert _without_comments(english) == _without_comments(chinese)
        if "#" in english:
            assert re.search(r"#.*[\u4e00-\u9fff]", chinese), chinese
        assert not re.search(r"[\u4e00-\u9fff]", english)
