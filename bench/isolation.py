"""Long work never starves the pages: how long the default pages take to draw while two training
runs go (against the same server idle), and a worker's training throughput against a bare loop
with the same thread budget.

    python bench/isolation.py [--rounds 3] [--train-images 2560]

One `streamlit run` serves the corpus's CIFAR-10; headless Chromium opens each page in a fresh
tab and waits until Streamlit's running indicator is gone. Idle draws first, then two browser
sessions press Train on the Train page (defaults, many epochs) and the same draws are timed
again. Goals (issue 16): every loaded/idle ratio ≤ 2, worker/bare throughput ≥ 0.9.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import statistics
import sys
import tempfile
import time

import torch
from torch import nn

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core import config, training, workers  # noqa: E402
from tests import corpus  # noqa: E402
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, serve, wait_for_app  # noqa: E402
from tests.e2e.serve_corpus import MD5S_VARIABLE  # noqa: E402

PAGES = ("tensors", "transforms", "datasets", "classify")
RUNS = 2
RUN_EPOCHS = 50  # long enough to outlast the loaded draws; stopped at the end
DRAW_GOAL = 2.0
THROUGHPUT_GOAL = 0.9
NET = "SmallVGG"
BATCH_SIZE = 128
TIMEOUT_MS = 300_000  # a shared, loaded machine can take minutes to serve a page


def new_page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    return context, context.new_page()


def draw_seconds(browser, url: str, key: str) -> float:
    """Seconds from opening `key` in a fresh tab until the page has finished drawing."""
    context, page = new_page(browser)
    try:
        started = time.perf_counter()
        page.goto(f"{url}/{key}?lang=en")
        wait_for_app(page)
        return time.perf_counter() - started
    finally:
        context.close()


def draw_medians(browser, url: str, rounds: int) -> dict[str, float]:
    times: dict[str, list[float]] = {key: [] for key in PAGES}
    for _ in range(rounds):  # pages interleaved, so the machine's noise spreads evenly
        for key in PAGES:
            times[key].append(draw_seconds(browser, url, key))
    return {key: statistics.median(values) for key, values in times.items()}


def start_run(browser, url: str):
    """A browser session that pressed Train; returns its page once the run reports progress."""
    _, page = new_page(browser)
    page.goto(f"{url}/train?lang=en")
    wait_for_app(page)
    epochs = page.locator(".st-key-train_epochs input")
    epochs.fill(str(RUN_EPOCHS))
    epochs.press("Enter")
    wait_for_app(page)
    page.locator(".st-key-train_start button").click()
    page.get_by_text("Epoch 1/").first.wait_for(timeout=300_000)
    return page


def stop_run(page) -> None:
    page.locator(".st-key-train_stop button").click()
    page.context.close()


def bare_images_per_s(inputs: torch.Tensor, labels: torch.Tensor, threads: int) -> float:
    """The textbook loop on pre-normalised images, in this process, with `threads` threads."""
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        model = training.seeded_model(NET, seed=0, num_classes=10)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True)
        loss_function = nn.CrossEntropyLoss()
        model.train()
        started = time.perf_counter()
        for first in range(0, len(labels), BATCH_SIZE):
            optimizer.zero_grad()
            loss = loss_function(
                model(inputs[first : first + BATCH_SIZE]), labels[first : first + BATCH_SIZE]
            )
            loss.backward()
            optimizer.step()
        return len(labels) / (time.perf_counter() - started)
    finally:
        torch.set_num_threads(previous)


def worker_images_per_s(images: training.ImageSet, threads: int) -> float:
    """The app's worker process on the same images (its start-up not counted: the run's own
    clock, which includes every report sent over the queue)."""
    request = workers.TrainingRequest(
        net=NET,
        train=images,
        validation=None,
        test=images.take(torch.arange(10)),
        settings=training.TrainConfig(
            epochs=1, batch_size=BATCH_SIZE, augmentation="none", schedule="none"
        ),
        mean=training.CIFAR10_MEAN,
        std=training.CIFAR10_STD,
        threads=threads,
    )
    job = workers.TrainingJob(request)
    job.start()
    if not job.wait(600) or job.failure is not None:
        raise RuntimeError(f"the worker failed: {job.failure}")
    return job.result.images_seen / job.result.seconds


def throughput(rounds: int, count: int) -> tuple[float, float]:
    arrays = corpus.load_cifar_npz()
    images = training.from_arrays(
        arrays["data"][:count], arrays["labels"][:count], categories=list(arrays["classes"])
    )
    inputs = training.to_inputs(images.images, mean=training.CIFAR10_MEAN, std=training.CIFAR10_STD)
    threads = config.TRAIN_WORKER_THREADS
    bare, worker = [], []
    for _ in range(rounds):  # alternate, to share the machine's noise fairly
        bare.append(bare_images_per_s(inputs, images.labels, threads))
        worker.append(worker_images_per_s(images, threads))
    return statistics.median(bare), statistics.median(worker)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="draws per page and condition")
    parser.add_argument("--train-images", type=int, default=2560, help="per throughput pass")
    parser.add_argument("--skip-pages", action="store_true", help="only the throughput part")
    parser.add_argument("--skip-throughput", action="store_true", help="only the page part")
    args = parser.parse_args()
    print(
        f"{config.TRAIN_WORKER_THREADS} training thread(s) per run, {RUNS} runs, "
        f"{args.rounds} round(s), {torch.multiprocessing.cpu_count()} CPUs"
    )

    if not args.skip_throughput:
        bare, worker = throughput(args.rounds, args.train_images)
        print(
            f"throughput: bare loop {bare:,.0f} images/s, worker {worker:,.0f} images/s, "
            f"ratio {worker / bare:.2f} (goal ≥ {THROUGHPUT_GOAL})",
            flush=True,
        )
    if args.skip_pages:
        return

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as temporary:
        folder = pathlib.Path(temporary)
        data = folder / "data"
        data.mkdir()
        md5s = corpus.write_cifar_batches(data)
        (folder / "md5s.json").write_text(json.dumps(md5s))
        env = {"TORCH_PLAYGROUND_DATA": str(data), MD5S_VARIABLE: str(folder / "md5s.json")}
        entry = [sys.executable, str(ROOT / "tests" / "e2e" / "serve_corpus.py")]
        with (
            serve(folder, entry=entry, env=env) as url,
            sync_playwright() as playwright,
        ):
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for key in PAGES:  # warm the server's caches (models, datasets) once
                draw_seconds(browser, url, key)
            idle = draw_medians(browser, url, args.rounds)
            print(
                "idle draws (s):", {key: round(value, 2) for key, value in idle.items()}, flush=True
            )
            runs = [start_run(browser, url) for _ in range(RUNS)]
            try:
                loaded = draw_medians(browser, url, args.rounds)
            finally:
                for page in runs:
                    stop_run(page)
            browser.close()
    print(f"{'page':<12}{'idle s':>9}{'2 runs s':>10}{'ratio':>8}")
    for key in PAGES:
        ratio = loaded[key] / idle[key]
        verdict = "ok" if ratio <= DRAW_GOAL else f"over {DRAW_GOAL}×"
        print(f"{key:<12}{idle[key]:>9.2f}{loaded[key]:>10.2f}{ratio:>8.2f}  {verdict}")
    worst = max(loaded[key] / idle[key] for key in PAGES)
    print(f"worst ratio {worst:.2f} (goal ≤ {DRAW_GOAL})")


if __name__ == "__main__":
    main()
