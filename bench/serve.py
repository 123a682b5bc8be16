"""Requests per second and latency of a Ray Serve deployment (1 and 2 replicas) against calling
the same model in-process, on the same photo, in the same run.

    python bench/serve.py [--model efficientnet_lite0|small] [--requests 40] [--clients 4]

Ray starts once (about 20 s on a 2-core machine, not timed). Each served figure is measured with
`--clients` concurrent HTTP clients; the in-process baseline calls `core.models.classify_bytes`
sequentially (one caller, all the process's threads). Times are for context; the ratios are the
point, and on a shared machine they swing with load.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import pathlib
import statistics
import sys
import time

import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

from core import models, nets, samples, serving
from core.trained import TrainedModel


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def measure(call, *, requests: int, clients: int) -> dict[str, float]:
    """Run `call()` `requests` times from `clients` threads: req/s, p50 and p95 in seconds."""
    latencies: list[float] = []

    def timed(_: int) -> None:
        started = time.perf_counter()
        call()
        latencies.append(time.perf_counter() - started)

    call()  # warm-up, not counted
    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(timed, range(requests)))
    elapsed = time.perf_counter() - started
    return {
        "rps": requests / elapsed,
        "p50": statistics.median(latencies),
        "p95": percentile(latencies, 0.95),
    }


def load(name: str) -> models.Classifier:
    if name == "small":
        torch.manual_seed(0)
        return models.from_trained(
            TrainedModel(
                name="SmallVGG",
                net="SmallVGG",
                module=nets.build("SmallVGG").eval(),
                categories=tuple(str(index) for index in range(10)),
                mean=(0.5, 0.5, 0.5),
                std=(0.25, 0.25, 0.25),
                image_size=32,
            )
        )
    return models.load(name, device=torch.device("cpu"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default=models.DEFAULT_MODEL)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()
    classifier = load(args.model)
    photo = samples.sample_path(samples.DEFAULT_SAMPLE).read_bytes()

    rows = {
        "in-process": measure(
            lambda: models.classify_bytes(photo, model=classifier),
            requests=args.requests,
            clients=1,
        )
    }
    host = serving.ServeHost(port=serving.free_port())
    try:
        for replicas in (1, 2):
            url = host.deploy("bench", serving.served_model(classifier), replicas=replicas)
            rows[f"served, {replicas} replica(s)"] = measure(
                lambda url=url: serving.post_image(url, photo),
                requests=args.requests,
                clients=args.clients,
            )
    finally:
        host.shutdown()

    base = rows["in-process"]
    print(f"model {classifier.record.title}, {args.requests} requests, {args.clients} clients")
    print(f"{'':24} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'req/s ×':>8} {'p50 ×':>7}")
    for name, row in rows.items():
        print(
            f"{name:24} {row['rps']:8.1f} {row['p50'] * 1000:8.1f} {row['p95'] * 1000:8.1f} "
            f"{row['rps'] / base['rps']:8.2f} {row['p50'] / base['p50']:7.2f}"
        )


if __name__ == "__main__":
    main()
