"""Transforms studio: server time of 8 draws of a 5-step pipeline on a 1-megapixel photo.

    python bench/transforms.py

"studio" is what the page computes on every rerun: the seeded draws with their recorded
parameters, each draw made viewable (Normalize undone) and shrunk for the browser, plus the
step-by-step trace of one draw. The baseline is a bare torchvision loop doing the same draws.
Target: the studio under 200 ms for the ImageNet-style pipeline. Runs with torch's default
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

from core import config, transforms
from core.samples import load_sample
from core.transforms import Step

DRAWS = 8
REPEATS = 5
TARGET_MS = 200.0

PIPELINES = {
    "imagenet_train (crop first)": transforms.PRESETS["imagenet_train"],
    "full-size photometric": (
        transforms.default_step("RandomRotation"),
        transforms.default_step("ColorJitter"),
        Step("GaussianBlur", {"kernel_size": 9, "sigma": [0.1, 2.0]}),
        transforms.default_step("ToImage"),
        transforms.default_step("ToDtype"),
    ),
}


def _median_ms(function: Callable[[], object]) -> float:
    function()  # warm-up
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        function()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    default_threads = torch.get_num_threads()
    for threads in sorted({default_threads, 1}, reverse=True):
        torch.set_num_threads(threads)
        run()
    torch.set_num_threads(default_threads)


def run() -> None:
    photo = load_sample("astronaut").resize((1000, 1000))  # 1 megapixel
    print(
        f"photo {photo.width}×{photo.height}, {DRAWS} draws, median of {REPEATS}, "
        f"{torch.get_num_threads()} threads"
    )
    for label, pipeline in PIPELINES.items():
        compose = transforms.build(pipeline)

        def bare(compose=compose) -> None:
            for index in range(DRAWS):
                torch.manual_seed(index)
                compose(photo)

        def studio(pipeline=pipeline) -> None:
            draws = transforms.draw(photo, pipeline, seed=0, count=DRAWS)
            for drawn in draws:
                shown = transforms.to_display(drawn.output, pipeline)
                transforms.fit_source(shown, max_side=config.TRANSFORMS_DISPLAY_SIDE)
            transforms.trace(
                photo, pipeline, seed=0, preview_side=config.TRANSFORMS_STEP_PREVIEW_SIDE
            )

        def draws_only(pipeline=pipeline) -> None:
            transforms.draw(photo, pipeline, seed=0, count=DRAWS)

        bare_ms, draws_ms, studio_ms = _median_ms(bare), _median_ms(draws_only), _median_ms(studio)
        verdict = "under" if studio_ms < TARGET_MS else "OVER"
        print(f"{label} ({len(pipeline)} steps):")
        print(f"  bare torchvision loop  {bare_ms:8.1f} ms")
        print(f"  studio draws (record)  {draws_ms:8.1f} ms   ratio {draws_ms / bare_ms:5.2f}x")
        print(
            f"  studio full rerun      {studio_ms:8.1f} ms   ratio {studio_ms / bare_ms:5.2f}x"
            f"   ({verdict} the {TARGET_MS:.0f} ms target)"
        )


if __name__ == "__main__":
    main()
