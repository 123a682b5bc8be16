"""How fast is the Classify page's path, called the way the app calls it?

    python bench/classify.py [--rounds 7] [--no-compile]

Every timing runs in a worker thread, as Streamlit runs page scripts (bench/common.py), with
interleaved rounds; ratios are against a baseline measured in this same process:
- threads: one forward pass from Python's main thread vs from a worker thread, with OpenMP's
  threads spinning (OMP_WAIT_POLICY=ACTIVE, libgomp's default) and sleeping (PASSIVE, what
  `core` sets): the cause of the main-thread slowdown on a shared 2-core machine;
- runtimes: the single-image forward of the app's model in eager PyTorch (default layout and
  channels_last), torch.compile, TorchScript freeze + optimize_for_inference and ONNX Runtime,
  each with the same top-5 on the bundled photos (goal: the app's runtime within 1.1x of ONNX
  Runtime);
- the page's classify call (bytes -> top-5, through the inference worker) vs the classic
  tutorial's code on a 12-megapixel and a 224-pixel JPEG;
- 20 concurrent sessions: the batching inference worker vs a forward per session under the
  model's lock (p50/p95 of each session's wait);
- cold start (fresh process) vs a warm call, and model copies per process.
"""

from __future__ import annotations

import io
import os
import pathlib
import statistics
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Callable

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
from PIL import Image  # noqa: E402
from torchvision import transforms  # noqa: E402

from bench.common import arguments, in_app_thread  # noqa: E402
from core import inference, models, samples  # noqa: E402
from core.images import decode_image  # noqa: E402

MODEL = models.DEFAULT_MODEL
SESSIONS = 20


def median_ms(functions: dict[str, Callable[[], object]], *, rounds: int) -> dict[str, float]:
    """Median milliseconds of each function, run in turn each round (load hits all alike)."""
    for function in functions.values():
        function()  # warm-up: allocator, lazy imports
    times: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(rounds):
        for name, function in functions.items():
            start = time.perf_counter()
            function()
            times[name].append((time.perf_counter() - start) * 1000)
    return {name: statistics.median(values) for name, values in times.items()}


# --- threads --------------------------------------------------------------------------------

THREADS = """
import os, statistics, sys, threading, time
sys.path.insert(0, {root!r})
import torch
from core import models
model = models.load({model!r})
batch = torch.rand(1, 3, 224, 224).contiguous(memory_format=torch.channels_last)
def forward_ms():
    times = []
    for _ in range({rounds}):
        start = time.perf_counter()
        with torch.inference_mode():
            model.module(batch)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)
def in_thread():
    box = []
    thread = threading.Thread(target=lambda: box.append(forward_ms()))
    thread.start(); thread.join()
    return box[0]
forward_ms()
main, worker = [], []
for _ in range(3):
    main.append(forward_ms()); worker.append(in_thread())
print(statistics.median(main), statistics.median(worker))
"""


def threads(rounds: int) -> None:
    print("forward pass from Python's main thread vs a worker thread (where Streamlit runs):")
    for policy in ("ACTIVE", "PASSIVE"):
        code = THREADS.format(root=str(ROOT), model=MODEL, rounds=rounds)
        environment = os.environ | {"OMP_WAIT_POLICY": policy}
        finished = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=environment
        )
        if finished.returncode:
            print(f"  OMP_WAIT_POLICY={policy}: failed\n{finished.stderr[-2000:]}")
            continue
        main, worker = map(float, finished.stdout.split()[-2:])
        print(
            f"  OMP_WAIT_POLICY={policy:7s}: main {main:6.1f} ms, worker {worker:6.1f} ms "
            f"-> main / worker {main / worker:.2f}x"
        )


# --- runtimes -------------------------------------------------------------------------------


def runtimes(model: models.Classifier, *, rounds: int, compile_model: bool) -> None:
    crop = model.record.preprocessing.crop_size
    batch = torch.rand(1, 3, crop, crop)
    last = batch.contiguous(memory_format=torch.channels_last)
    default_layout = models.load(MODEL)
    default_layout.module.to(memory_format=torch.contiguous_format)

    def eager(module: torch.nn.Module, tensor: torch.Tensor) -> Callable[[], torch.Tensor]:
        def run() -> torch.Tensor:
            with torch.inference_mode():
                return module(tensor)

        return run

    candidates: dict[str, Callable[[], torch.Tensor]] = {
        "eager, default layout": eager(default_layout.module, batch),
        "eager, channels_last": eager(model.module, last),
    }
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frozen = torch.jit.optimize_for_inference(
            torch.jit.freeze(torch.jit.trace(default_layout.module, batch).eval())
        )
    candidates["TorchScript freeze + optimize"] = eager(frozen, batch)
    if compile_model:
        compiled = torch.compile(default_layout.module)
        candidates["torch.compile"] = eager(compiled, batch)
    onnx = inference.onnx_runtime(model)
    candidates["ONNX Runtime"] = lambda: onnx(batch)
    chosen, _ = inference.choose_runtime(model)

    timings = in_app_thread(lambda: median_ms(candidates, rounds=rounds))
    baseline = timings["ONNX Runtime"]
    print(f"single-image forward in a worker thread, median of {rounds} interleaved rounds:")
    for name, milliseconds in timings.items():
        print(f"  {name:30s} {milliseconds:7.1f} ms  {milliseconds / baseline:5.2f}x ONNX Runtime")
    served = timings["ONNX Runtime" if chosen.name == inference.ONNX else "eager, channels_last"]
    print(
        f"  the app's choice, by its own measurement: {chosen.name} ({chosen.reason}) "
        f"-> {served / baseline:.2f}x ONNX Runtime (goal <= 1.1x)"
    )
    agree = []
    for name in samples.SAMPLES:
        image = samples.load_sample(name)
        tensor = models.preprocess(image, model=model)
        with torch.inference_mode():
            expected = model.module(tensor).topk(5).indices.tolist()
        plain = tensor.contiguous()
        with torch.inference_mode():
            outputs = [frozen(plain), onnx(plain)] + ([compiled(plain)] if compile_model else [])
        agree.append(all(out.topk(5).indices.tolist() == expected for out in outputs))
    print(f"  same top-5 as eager PyTorch on {sum(agree)}/{len(agree)} bundled photos")


# --- the page's classify call -----------------------------------------------------------------


def jpeg_bytes(image: Image.Image, size: tuple[int, int]) -> bytes:
    buffer = io.BytesIO()
    image.resize(size, Image.Resampling.BICUBIC).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def tutorial(data: bytes, model: models.Classifier) -> list[int]:
    """The classic tutorial's code: Image.open, Resize(256), CenterCrop(224), the model."""
    settings = model.record.preprocessing
    preprocess = transforms.Compose(
        [
            transforms.Resize(256),
            transforms.CenterCrop(224),
            transforms.ToTensor(),
            transforms.Normalize(mean=settings.mean, std=settings.std),
        ]
    )
    batch = preprocess(Image.open(io.BytesIO(data)).convert("RGB")).unsqueeze(0)
    with torch.no_grad():
        output = model.module(batch)
    return output[0].softmax(dim=0).topk(5).indices.tolist()


def page_call(data: bytes, worker: inference.InferenceWorker) -> object:
    """What the page does with uploaded bytes: the safe decoder, then the inference worker."""
    image = decode_image(data, min_side=worker.model.record.preprocessing.resize_size)
    return worker.predict(image)


def compare(worker: inference.InferenceWorker, *, rounds: int) -> None:
    coffee = samples.load_sample("coffee")
    for title, size, target in (
        ("12-megapixel JPEG", (4000, 3000), 0.5),
        ("224-px JPEG", (224, 224), 1.1),
    ):
        data = jpeg_bytes(coffee, size)
        timings = in_app_thread(
            lambda data=data: median_ms(
                {
                    "page": lambda: page_call(data, worker),
                    "tutorial": lambda: tutorial(data, worker.model),
                },
                rounds=rounds,
            )
        )
        ratio = timings["page"] / timings["tutorial"]
        verdict = "ok" if ratio <= target else "above target"
        print(
            f"{title:18s}: page {timings['page']:7.1f} ms vs tutorial {timings['tutorial']:7.1f} "
            f"ms -> {ratio:.2f}x (target <= {target}x, {verdict})"
        )


# --- concurrent sessions --------------------------------------------------------------------


def concurrent_sessions(worker: inference.InferenceWorker, *, sessions: int = SESSIONS) -> None:
    """`sessions` threads classify at once: through the worker vs each under the model's lock."""
    photos = [samples.load_sample(name, min_side=292) for name in samples.SAMPLES]

    def wave(classify: Callable[[Image.Image], object]) -> list[float]:
        waits: list[float] = []
        barrier = threading.Barrier(sessions)

        def session(number: int) -> None:
            barrier.wait()
            start = time.perf_counter()
            classify(photos[number % len(photos)])
            waits.append((time.perf_counter() - start) * 1000)

        threads = [threading.Thread(target=session, args=(n,)) for n in range(sessions)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return sorted(waits)

    def percentiles(waits: list[float]) -> tuple[float, float]:
        return statistics.median(waits), waits[min(len(waits) - 1, round(0.95 * len(waits)))]

    locked, batched = [], []
    for _ in range(2):  # interleaved
        locked += wave(lambda image: models.predict(image, model=worker.model))
        batched += wave(lambda image: worker.predict(image))
    (lock50, lock95), (batch50, batch95) = percentiles(sorted(locked)), percentiles(sorted(batched))
    print(
        f"{sessions} concurrent sessions, each session's wait for its top-5: "
        f"batching worker p50 {batch50:.0f} ms / p95 {batch95:.0f} ms vs forward per session "
        f"under the lock p50 {lock50:.0f} / p95 {lock95:.0f} ms -> p95 {batch95 / lock95:.2f}x"
    )


# --- cold start -----------------------------------------------------------------------------

COLD_START = """
import sys, time
start = time.perf_counter()
sys.path.insert(0, {root!r})
from core import inference, models
worker = inference.InferenceWorker(models.load({model!r}), optimise=False)
from core.images import decode_image
worker.predict(decode_image(open({path!r}, "rb").read(), min_side=292))
print(time.perf_counter() - start)
"""


def cold_start(worker: inference.InferenceWorker, *, rounds: int) -> None:
    data = jpeg_bytes(samples.load_sample("coffee"), (224, 224))
    path = pathlib.Path(os.environ.get("TMPDIR", "/tmp")) / "bench-classify-224.jpg"
    path.write_bytes(data)
    code = COLD_START.format(root=str(ROOT), model=MODEL, path=str(path))
    finished = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    inside = float(finished.stdout.strip().splitlines()[-1])
    warm = in_app_thread(
        lambda: median_ms({"warm": lambda: page_call(data, worker)}, rounds=rounds)
    )
    print(
        f"cold start (fresh process: imports, model load, first top-5): {inside:.2f} s vs warm "
        f"call {warm['warm']:.1f} ms -> {inside * 1000 / warm['warm']:.0f}x"
    )


def sessions_share_one_model(sessions: int = 3) -> None:
    from streamlit.testing.v1 import AppTest

    import ui.models

    loads: list[str] = []
    real_load = models.load

    def counting_load(name: str, **options):
        loads.append(name)
        return real_load(name, **options)

    models.load = counting_load
    ui.models.classifier.clear()
    ui.models.inference_worker.clear()
    try:
        for _ in range(sessions):
            at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=300)
            at.run()
            at.switch_page("pages/classify.py")
            at.run()
            assert not at.exception, at.exception
    finally:
        models.load = real_load
    print(f"model copies for {sessions} AppTest sessions in one process: {len(loads)}")


def main() -> None:
    parser = arguments(__doc__.splitlines()[0], rounds=7)
    parser.add_argument("--no-compile", action="store_true", help="skip torch.compile (slow)")
    options = parser.parse_args()
    torch.manual_seed(0)
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, model {MODEL}, "
        f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}"
    )
    threads(options.rounds)
    model = models.load(MODEL)
    runtimes(model, rounds=options.rounds, compile_model=not options.no_compile)
    worker = inference.InferenceWorker(model)
    worker.wait_until_optimised()
    print(f"inference worker runtime: {worker.choice}")
    compare(worker, rounds=options.rounds)
    concurrent_sessions(worker)
    cold_start(worker, rounds=options.rounds)
    sessions_share_one_model()
    worker.close()


if __name__ == "__main__":
    main()
