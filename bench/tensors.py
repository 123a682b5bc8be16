"""How long one interaction with the tensor playground takes, on a 100,000-element tensor.

Core: parse the typed index, apply it (result, highlight, view/copy verdict) and prepare what is
drawn (the table's text and cell styles, the heatmap's values). Baseline: PyTorch indexing the
same tensor directly, in the same process. Then a whole AppTest rerun of the page after typing
an expression. Target: the core part under 50 ms.

    python bench/tensors.py
"""

from __future__ import annotations

import pathlib
import statistics
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from core.indexing import apply_index, parse_index  # noqa: E402
from core.tensors import TensorRecipe, build_tensor  # noqa: E402
from ui.tensors import MAX_HEATMAP_SIDE, MAX_TABLE_SIDE, as_numpy, table_frame  # noqa: E402

SHAPE = (250, 400)  # 100,000 elements
EXPRESSIONS = {
    "[1:, ::2]": lambda t: t[1:, ::2],
    "[t > 0.5]": lambda t: t[t > 0.5],
    "[[0, 2, 4], 10:20]": lambda t: t[[0, 2, 4], 10:20],
    "[..., None, 0]": lambda t: t[..., None, 0],
}
TARGET_MS = 50.0


def timed_ms(function, repeats: int) -> tuple[float, float]:
    """Median and best time in ms; the best shows the cost without other processes' noise."""
    function()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000, min(times) * 1000


def interaction(tensor: torch.Tensor, text: str) -> None:
    """What one edit of the index costs before Streamlit draws anything."""
    selection = apply_index(tensor, parse_index(text))
    window = (slice(0, MAX_TABLE_SIDE), slice(0, MAX_TABLE_SIDE))
    table_frame(tensor[window], selection.highlight[window])
    as_numpy(tensor[:MAX_HEATMAP_SIDE, :MAX_HEATMAP_SIDE])
    result = selection.result if selection.result.dim() == 2 else selection.result.reshape(1, -1)
    table_frame(result[window], None)


def page_rerun_ms(repeats: int) -> float:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=180)
    at.query_params["lang"] = "en"
    at.run()
    at.switch_page("pages/tensors.py").run()
    at.selectbox(key="tensors_factory").set_value("rand").run()
    at.text_input(key="tensors_shape").set_value(", ".join(map(str, SHAPE))).run()
    expressions = list(EXPRESSIONS)
    times = []
    for number in range(repeats + 1):
        start = time.perf_counter()
        at.text_input(key="tensors_index").set_value(expressions[number % len(expressions)]).run()
        if number:  # the first rerun is a warm-up
            times.append(time.perf_counter() - start)
    assert not at.exception and not at.error, "the page failed while benchmarking"
    return statistics.median(times) * 1000


def main() -> None:
    tensor = build_tensor(TensorRecipe(factory="rand", shape=SHAPE)).tensor
    print(f"tensor {tuple(tensor.shape)} float32, {tensor.numel():,} elements")
    print(f"torch threads: {torch.get_num_threads()}; times are medians (best in brackets)")
    print(f"{'expression':<20}{'torch ms':>10}{'core ms':>18}{'core/torch':>12}{'of target':>11}")
    core_times = []
    for text, direct in EXPRESSIONS.items():
        baseline, _ = timed_ms(lambda direct=direct: direct(tensor), repeats=50)
        core, best = timed_ms(lambda text=text: interaction(tensor, text), repeats=30)
        core_times.append(core)
        ratio, share = core / baseline, core / TARGET_MS
        timing = f"{core:.2f} ({best:.2f})"
        print(f"{text:<20}{baseline:>10.3f}{timing:>18}{ratio:>11.0f}×{share:>10.2f}×")
    worst = max(core_times)
    print(
        f"core, worst median: {worst:.2f} ms = {worst / TARGET_MS:.2f}× the {TARGET_MS:.0f} ms goal"
    )
    rerun = page_rerun_ms(repeats=6)
    print(f"AppTest rerun of the page (type an index): {rerun:.0f} ms median")
    print(f"rerun / core worst median: {rerun / worst:.1f}×")


if __name__ == "__main__":
    main()
