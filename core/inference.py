"""One inference worker per model: concurrent requests batched into one forward pass.

Streamlit runs every session's script in its own thread. If each of them ran its own forward
under the model's lock, twenty sessions would queue behind each other and their thread pools
would spin against each other on a 2-core machine. Instead each model gets one `InferenceWorker`
thread: a request (one preprocessed image) waits at most `wait_s` for others, and the worker
runs them as one batch (dynamic micro-batching), then hands every caller its own row.

The worker serves with eager PyTorch from the first request. In the background it builds an
ONNX Runtime session from the same weights (exported once, cached on disk), times both in its
own thread, the way requests run, and keeps the faster one when its logits agree with eager
PyTorch's. `Classification.runtime` says which one served a number.
"""

from __future__ import annotations

import atexit
import concurrent.futures
import copy
import dataclasses
import hashlib
import io
import os
import queue
import statistics
import threading
import time
import warnings
from collections.abc import Callable

import torch
from PIL import Image

from core import config
from core.models import Classification, Classifier, Prediction, preprocess

EAGER = "pytorch"
ONNX = "onnxruntime"
MAX_BATCH = 16  # more waiting images run in the next batch
WAIT_S = 0.004  # how long a request waits for others to join its batch
MEASURE_ROUNDS = 7  # interleaved rounds when picking the runtime
AGREEMENT_ATOL = 1e-3  # logits of a candidate runtime may differ from eager by at most this
RUNTIMES_DIR = config.DATA_DIR / "runtimes"

Runtime = Callable[[torch.Tensor], torch.Tensor]  # (B, 3, H, W) float -> (B, classes) logits


@dataclasses.dataclass(frozen=True)
class RuntimeChoice:
    """Which runtime serves a model, and the single-image forward times that decided it.

    Attributes:
        name: `EAGER` or `ONNX`.
        milliseconds: median forward time of one image per measured runtime.
        reason: why the choice fell this way ("faster", "disagrees", "unavailable: ...").
    """

    name: str
    milliseconds: dict[str, float]
    reason: str


def eager_runtime(model: Classifier) -> Runtime:
    """The model's module under `inference_mode`, holding its lock (Grad-CAM hooks it)."""

    def run(batch: torch.Tensor) -> torch.Tensor:
        batch = batch.to(model.device, memory_format=torch.channels_last)
        with model.lock, torch.inference_mode():
            logits = model.module(batch)
        return logits.float().cpu()

    return run


def onnx_model_bytes(model: Classifier) -> bytes:
    """The model as ONNX (dynamic batch), cached on disk by a digest of its weights.

    The TorchScript-based exporter takes seconds where the torch.export one takes a minute on a
    2-core machine; the file is only this app's runtime, never shown to the learner.
    """
    digest = _weights_digest(model.module)
    path = RUNTIMES_DIR / f"{model.record.name.replace(':', '_')}-{digest}.onnx"
    if path.is_file():
        return path.read_bytes()
    crop = model.record.preprocessing.crop_size
    module = copy.deepcopy(model.module).cpu().float().to(memory_format=torch.contiguous_format)
    buffer = io.BytesIO()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module.eval(),
            (torch.zeros(1, 3, crop, crop),),
            buffer,
            input_names=["images"],
            output_names=["logits"],
            dynamic_axes={"images": {0: "batch"}, "logits": {0: "batch"}},
            dynamo=False,
        )
    data = buffer.getvalue()
    try:  # a read-only data folder only costs the next start another export
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.part")
        partial.write_bytes(data)
        partial.replace(path)
    except OSError:
        pass
    return data


def _weights_digest(module: torch.nn.Module) -> str:
    digest = hashlib.sha256()
    for name, tensor in module.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


def onnx_runtime(model: Classifier, *, onnx: bytes | None = None) -> Runtime:
    """An ONNX Runtime session on the model's weights, built once.

    Its threads sleep instead of spinning between runs: on a shared 2-core machine a spinning
    pool steals the core that the next request's preprocessing needs.
    """
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = onnxruntime.InferenceSession(
        onnx or onnx_model_bytes(model), options, providers=["CPUExecutionProvider"]
    )

    def run(batch: torch.Tensor) -> torch.Tensor:
        array = batch.float().cpu().contiguous().numpy()
        return torch.from_numpy(session.run(["logits"], {"images": array})[0])

    return run


def measure(runtimes: dict[str, Runtime], probe: torch.Tensor, *, rounds: int) -> dict[str, float]:
    """Median milliseconds of each runtime on `probe`, in interleaved rounds (load hits all)."""
    for run in runtimes.values():
        run(probe)  # warm-up: allocations, lazy initialisation
    times: dict[str, list[float]] = {name: [] for name in runtimes}
    for _ in range(rounds):
        for name, run in runtimes.items():
            start = time.perf_counter()
            run(probe)
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) * 1000 for name, values in times.items()}


def choose_runtime(
    model: Classifier, *, onnx: bytes | None = None, rounds: int = MEASURE_ROUNDS
) -> tuple[RuntimeChoice, Runtime]:
    """Eager PyTorch vs ONNX Runtime on one image of the model's size: the faster that agrees.

    Call it from the thread that will serve requests: thread pools behave per calling thread.
    """
    eager = eager_runtime(model)
    crop = model.record.preprocessing.crop_size
    probe = torch.randn(1, 3, crop, crop, generator=torch.Generator().manual_seed(0))
    try:
        candidate = onnx_runtime(model, onnx=onnx)
    except Exception as error:  # noqa: BLE001 - any export failure: stay eager, say why
        return RuntimeChoice(EAGER, {}, f"unavailable: {type(error).__name__}"), eager
    if not torch.allclose(candidate(probe), eager(probe), atol=AGREEMENT_ATOL, rtol=1e-3):
        return RuntimeChoice(EAGER, {}, "disagrees"), eager
    timings = measure({EAGER: eager, ONNX: candidate}, probe, rounds=rounds)
    if timings[ONNX] < timings[EAGER]:
        return RuntimeChoice(ONNX, timings, "faster"), candidate
    return RuntimeChoice(EAGER, timings, "faster"), eager


@dataclasses.dataclass
class _Request:
    batch: torch.Tensor  # (1, 3, H, W)
    future: concurrent.futures.Future
    queued: float


@dataclasses.dataclass(frozen=True)
class _Served:
    logits: torch.Tensor  # (classes,)
    runtime: str
    batch_size: int
    forward_seconds: float


class InferenceWorker:
    """The one thread that runs a model's forward passes, in micro-batches.

    Args:
        model: the shared classifier.
        optimise: build ONNX Runtime in the background and keep the faster runtime.
        max_batch: the most images in one forward pass.
        wait_s: how long the first request of a batch waits for others.
    """

    def __init__(
        self,
        model: Classifier,
        *,
        optimise: bool = True,
        max_batch: int = MAX_BATCH,
        wait_s: float = WAIT_S,
    ) -> None:
        self.model = model
        self.max_batch = max_batch
        self.wait_s = wait_s
        self.runtime_name = EAGER
        self.choice: RuntimeChoice | None = None
        self._runtime = eager_runtime(model)
        self._requests: queue.Queue[_Request | Callable[[], None] | None] = queue.Queue()
        self._ready = threading.Event()  # set once the runtime choice is final
        self._closed = False
        title = model.record.name
        self._thread = threading.Thread(target=self._serve, name=f"infer-{title}", daemon=True)
        self._optimiser = threading.Thread(
            target=self._optimise, name=f"optimise-{title}", daemon=True
        )
        self._thread.start()
        if optimise:
            self._optimiser.start()
        else:
            self._ready.set()
        # A daemon thread still inside torch or ONNX Runtime when Python exits aborts it.
        atexit.register(self.close)

    # --- for callers (any thread) ----------------------------------------------------------

    def predict(self, image: Image.Image, *, top_k: int = 5) -> Classification:
        """Classify an RGB image: top-k, timings, the runtime and batch that served it."""
        start = time.perf_counter()
        served = self.submit(preprocess(image, model=self.model)).result()
        probabilities = served.logits.softmax(dim=0)
        top = probabilities.topk(min(top_k, probabilities.numel()))
        categories = self.model.record.meta.categories
        predictions = tuple(
            Prediction(index=int(index), label=categories[int(index)], probability=float(value))
            for value, index in zip(top.values, top.indices, strict=True)
        )
        return Classification(
            predictions=predictions,
            seconds=time.perf_counter() - start,
            forward_seconds=served.forward_seconds,
            runtime=served.runtime,
            batch_size=served.batch_size,
        )

    def submit(self, batch: torch.Tensor) -> concurrent.futures.Future:
        """Queue a (1, 3, H, W) input; the future's result is a `_Served` row."""
        future: concurrent.futures.Future = concurrent.futures.Future()
        self._requests.put(_Request(batch, future, time.perf_counter()))
        return future

    def wait_until_optimised(self, timeout: float | None = None) -> bool:
        """Block until the runtime choice is made (for benches and tests)."""
        return self._ready.wait(timeout)

    def close(self) -> None:
        """Stop the threads once the queued requests are served (idempotent)."""
        self._closed = True
        if self._optimiser.is_alive():
            self._optimiser.join()
        self._requests.put(None)
        self._thread.join()
        atexit.unregister(self.close)

    # --- the worker thread ------------------------------------------------------------------

    def _serve(self) -> None:
        while True:
            first = self._requests.get()
            if first is None:
                return
            if callable(first):  # a job that must run in this thread (the runtime choice)
                first()
                continue
            requests = [first]
            deadline = first.queued + self.wait_s
            while len(requests) < self.max_batch:
                try:
                    item = self._requests.get(timeout=max(deadline - time.perf_counter(), 0))
                except queue.Empty:
                    break
                if item is None or callable(item):
                    self._requests.put(item)  # after this batch
                    break
                requests.append(item)
            self._run(requests)

    def _run(self, requests: list[_Request]) -> None:
        try:
            batch = torch.cat([request.batch for request in requests])
            start = time.perf_counter()
            logits = self._runtime(batch)
            seconds = time.perf_counter() - start
        except Exception as error:  # noqa: BLE001 - re-raised in every waiting caller's thread
            for request in requests:
                request.future.set_exception(error)
            return
        for row, request in zip(logits, requests, strict=True):
            request.future.set_result(_Served(row, self.runtime_name, len(requests), seconds))

    def _optimise(self) -> None:
        # Building the session (export or disk read) happens here, off the serving thread; the
        # timing itself runs on the serving thread, between batches.
        try:
            onnx = onnx_model_bytes(self.model)
        except Exception:  # noqa: BLE001
            onnx = None  # choose_runtime tries once more, reports why and stays eager

        if self._closed:
            return

        def decide() -> None:
            try:
                self.choice, self._runtime = choose_runtime(self.model, onnx=onnx)
                self.runtime_name = self.choice.name
            finally:
                self._ready.set()

        self._requests.put(decide)
