"""Dataset browser figures, on the corpus's CIFAR-10 laid out as `cifar-10-batches-py`.

1. A 100-image grid page once the dataset is cached (target under 50 ms of server time), next to
   a baseline that upscales the same page into one mosaic PNG.
2. Memory held by the loaded training split (target at most 1.3x its raw pixel bytes), and
   whether a second session gets the same object.
3. The first grid in a fresh process vs `torchvision.datasets.CIFAR10(...)` alone (target at
   most 1.2x), each timed from a clean interpreter after its imports; wall time, and CPU time,
   which other work on a shared machine disturbs less. The corpus's training split holds 10,000
   images, not 50,000, so fixed costs weigh five times more here than on the real one.

Run: python bench/datasets.py
"""

from __future__ import annotations

import json
import logging
import pathlib
import subprocess
import sys
import tempfile
import time
import tracemalloc

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from core import datasets  # noqa: E402
from tests import corpus  # noqa: E402

PAGE_SIZE = 100
REPEATS = 10
FRESH_RUNS = 4
GRID_TARGET_MS = 50.0

_FRESH = """
import json, sys, time
sys.path.insert(0, {root!r})
from tests import corpus
{imports}
with corpus.cifar_checksums(json.loads({md5s!r})):
    start, start_cpu = time.perf_counter(), time.process_time()
{body}
    print(time.perf_counter() - start, time.process_time() - start_cpu)
"""
_TORCHVISION = (
    "from torchvision.datasets import CIFAR10",
    "    CIFAR10({data!r}, train=True)",
)
_FIRST_GRID = (
    "import pathlib\nfrom core import datasets\nfrom ui.datasets import labels_of, render_grid",
    "    data = datasets.CifarImages(datasets.load_cifar10(pathlib.Path({data!r}), train=True))\n"
    "    shown = datasets.page_of(datasets.select(data.targets), page=0, page_size=100)\n"
    "    render_grid(data, shown, labels_of(data, shown))",
)


def best_ms(function, repeats: int = REPEATS) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times) * 1000


def fresh_process_s(snippets: list[tuple[str, str]], *, data: pathlib.Path, md5s: dict):
    """Best (wall, CPU) seconds of each snippet over FRESH_RUNS clean interpreters, interleaved
    so that load from other processes on the machine falls on both alike."""
    runs: list[list[tuple[float, float]]] = [[] for _ in snippets]
    for _ in range(FRESH_RUNS):
        for times, (imports, body) in zip(runs, snippets, strict=True):
            code = _FRESH.format(
                root=str(ROOT),
                md5s=json.dumps(md5s),
                imports=imports,
                body=body.format(data=str(data)),
            )
            result = subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
            )
            wall, cpu = result.stdout.strip().splitlines()[-1].split()
            times.append((float(wall), float(cpu)))
    return [(min(wall for wall, _ in times), min(cpu for _, cpu in times)) for times in runs]


def main() -> None:
    logging.getLogger("streamlit").setLevel(logging.ERROR)  # bare mode: no script run context
    from ui import datasets as ui_datasets

    with tempfile.TemporaryDirectory() as folder:
        data_dir = pathlib.Path(folder)
        md5s = corpus.write_cifar_batches(data_dir)
        with corpus.cifar_checksums(md5s):
            # 2. Memory first, before anything else allocates.
            tracemalloc.start()
            before = tracemalloc.get_traced_memory()[0]
            data = datasets.CifarImages(datasets.load_cifar10(data_dir, train=True))
            held = tracemalloc.get_traced_memory()[0] - before
            tracemalloc.stop()
            raw = data.source.data.nbytes
            source = ui_datasets.Source("cifar10", str(data_dir), train=True)
            shared = ui_datasets.browsable(source) is ui_datasets.browsable(source)

            # 1. One 100-image page, the dataset already loaded.
            cats = datasets.select(data.targets, classes=[3])
            pages = iter(range(10_000))

            def new_page() -> str:  # a page not seen before: nothing of it is cached
                shown = datasets.page_of(cats, page=next(pages) % 10, page_size=PAGE_SIZE)
                return ui_datasets.render_grid(data, shown, ui_datasets.labels_of(data, shown))

            def mosaic_png() -> bytes:  # baseline: the same page as one upscaled image
                shown = datasets.page_of(cats, page=0, page_size=PAGE_SIZE)
                tiles = datasets.upscale(data.pixels(shown), factor=2)  # (100, 64, 64, 3)
                grid = tiles.reshape(10, 10, 64, 64, 3).transpose(0, 2, 1, 3, 4)
                return datasets.encode_image(np.ascontiguousarray(grid).reshape(640, 640, 3))

            grid_ms = best_ms(new_page)
            mosaic_ms = best_ms(mosaic_png)
            ui_datasets.grid_html(source, (0, 1), ("cat", "ship"))
            cached_ms = best_ms(lambda: ui_datasets.grid_html(source, (0, 1), ("cat", "ship")))

        # 3. Fresh processes.
        torchvision_s, first_grid_s = fresh_process_s(
            [_TORCHVISION, _FIRST_GRID], data=data_dir, md5s=md5s
        )

    print(f"grid of {PAGE_SIZE} images, new page:     {grid_ms:7.2f} ms")
    print(f"  vs target {GRID_TARGET_MS:.0f} ms:                  {grid_ms / GRID_TARGET_MS:7.2f}x")
    print(f"  vs one mosaic PNG ({mosaic_ms:.2f} ms):   {grid_ms / mosaic_ms:7.2f}x")
    print(f"  same page again (st.cache_data): {cached_ms:7.2f} ms")
    print(f"memory held by the train split:  {held / 2**20:7.1f} MiB")
    print(f"  vs raw pixel bytes ({raw / 2**20:.1f} MiB): {held / raw:7.2f}x (target <= 1.3x)")
    print(f"  one object for every session:  {shared}")
    for name, index in (("wall", 0), ("CPU", 1)):
        grid_s, alone_s = first_grid_s[index], torchvision_s[index]
        print(f"first grid, fresh process ({name}):  {grid_s * 1000:7.0f} ms")
        print(
            f"  vs CIFAR10(...) alone ({alone_s * 1000:.0f} ms): "
            f"{grid_s / alone_s:5.2f}x (target <= 1.2x)"
        )


if __name__ == "__main__":
    main()
