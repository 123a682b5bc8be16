"""Transforms studio: server time of a page rerun (8 draws) for every preset and a photometric
pipeline, on the studio's display-sized working copy vs the 1-megapixel photo.

    python bench/transforms.py [--rounds 5]

"studio" is what the page computes on every rerun: the seeded draws with their recorded
parameters, each draw made viewable (Normalize undone) and shrunk for the browser, plus the
step-by-step trace of one draw. The baseline is a bare torchvision loop doing the same draws.
Target: every pipeline's rerun under 200 ms on the working copy (full resolution is drawn only
on request, with a progress line). Timed in a worker thread, as Streamlit runs the page. Runs
with torch's default
thread count, then with one thread (as in a DataLoader worker): on a loaded machine intra-op
threads on small tensors cost more than they save.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import arguments, in_app_thread
from core import config, transforms
from core.samples import load_sample
from core.transforms import Step

DRAWS = 8
REPEATS = 5
TARGET_MS = 200.0

PIPELINES = {
    **{f"preset {name}": pipeline for name, pipeline in transforms.PRESETS.items()},
    "full-size photometric": (
        transforms.default_step("RandomRotation"),
        transforms.default_step("ColorJitter"),
        Step("GaussianBlur", {"kernel_size": 9, "sigma": [0.1, 2.0]}),
        transforms.default_step("ToImage"),
        transforms.default_step("ToDtype"),
    ),
}


def _interleaved_ms(functions: dict[str, Callable[[], object]]) -> dict[str, float]:
    for function in functions.values():
        function()  # warm-up
    times: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(REPEATS):
        for name, function in functions.items():
            start = time.perf_counter()
            function()
            times[name].append((time.perf_counter() - start) * 1000)
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> None:
    global REPEATS
    REPEATS = arguments(__doc__.splitlines()[0], rounds=REPEATS).parse_args().rounds
    default_threads = torch.get_num_threads()
    for threads in sorted({default_threads, 1}, reverse=True):
        torch.set_num_threads(threads)
        in_app_thread(run)
    torch.set_num_threads(default_threads)


def run() -> None:
    full = load_sample("astronaut").resize((1000, 1000))  # 1 megapixel
    working = transforms.fit_source(full, max_side=config.TRANSFORMS_WORKING_SIDE)
    print(
        f"{DRAWS} draws, median of {REPEATS} interleaved rounds, {torch.get_num_threads()} "
        f"threads; working copy {working.width}×{working.height} vs full {full.width}×{full.height}"
    )
    for label, pipeline in PIPELINES.items():

        def studio(photo, pipeline=pipeline) -> None:
            """What the page computes on a rerun that changes the draws."""
            draws = transforms.draw(photo, pipeline, seed=0, count=DRAWS)
            for drawn in draws:
                shown = transforms.to_display(drawn.output, pipeline)
                transforms.fit_source(shown, max_side=config.TRANSFORMS_DISPLAY_SIDE)
            transforms.trace(
                photo, pipeline, seed=0, preview_side=config.TRANSFORMS_STEP_PREVIEW_SIDE
            )

        compose = transforms.build(pipeline)

        def bare(photo, compose=compose) -> None:
            for index in range(DRAWS):
                torch.manual_seed(index)
                compose(photo)

        functions = {
            "studio, working copy": lambda: studio(working),
            "studio, full": lambda: studio(full),
            "bare loop, working copy": lambda: bare(working),
        }
        timings = _interleaved_ms(functions)
        shown = timings["studio, working copy"]
        verdict = "under" if shown < TARGET_MS else "OVER"
        full_ms, bare_ms = timings["studio, full"], timings["bare loop, working copy"]
        print(
            f"  {label:28s} rerun {shown:7.1f} ms ({verdict} {TARGET_MS:.0f} ms); "
            f"{shown / full_ms:.2f}x full resolution ({full_ms:.0f} ms), "
            f"{shown / bare_ms:.2f}x a bare torchvision loop on the same copy"
        )


if __name__ == "__main__":
    main()
