"""How fast is the Classify page's path, compared with the classic tutorial's plain code?

    python bench/classify.py

Prints ratios against a baseline measured in this same process (absolute times for context):
- the whole classify call (image bytes -> top-5) vs the tutorial's `Image.open -> Resize(256)
  -> CenterCrop(224) -> ToTensor -> Normalize -> model`, same model, on a 12-megapixel JPEG
  (target <= 0.5x, thanks to JPEG draft decoding) and on a 224-pixel image (target <= 1.1x);
- the share of the classify call spent in the model's forward pass;
- cold start (fresh process: imports, model load, first classification) vs a warm call;
- model copies per process when several sessions use the page (st.cache_resource);
- channels_last vs the default memory format for the forward pass (informational).
"""

from __future__ import annotations

import io
import os
import pathlib
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
from PIL import Image  # noqa: E402
from torchvision import transforms  # noqa: E402

from core import models, samples  # noqa: E402
from core.images import decode_image  # noqa: E402

REPEATS = 5
MODEL = models.DEFAULT_MODEL


def best_seconds(*functions: Callable[[], object], repeats: int = REPEATS) -> list[float]:
    """The fastest of `repeats` runs of each function, run in turn so that load from other
    processes on a shared machine hits all of them alike (the minimum is the least noisy)."""
    for function in functions:
        function()  # warm-up: allocator, lazy imports
    times: list[list[float]] = [[] for _ in functions]
    for _ in range(repeats):
        for function, measured in zip(functions, times, strict=True):
            start = time.perf_counter()
            function()
            measured.append(time.perf_counter() - start)
    return [min(measured) for measured in times]


def jpeg_bytes(image: Image.Image, size: tuple[int, int]) -> bytes:
    buffer = io.BytesIO()
    image.resize(size, Image.Resampling.BICUBIC).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def tutorial_batch(data: bytes, model: models.Classifier) -> torch.Tensor:
    """The classic tutorial's preprocessing (same mean/std as the model's)."""
    settings = model.record.preprocessing
    preprocess = transforms.Compose(
        [
            transforms.Resize(256),
            transforms.CenterCrop(224),
            transforms.ToTensor(),
            transforms.Normalize(mean=settings.mean, std=settings.std),
        ]
    )
    image = Image.open(io.BytesIO(data)).convert("RGB")
    return preprocess(image).unsqueeze(0)


def our_batch(data: bytes, model: models.Classifier) -> torch.Tensor:
    """What classify_bytes does before the forward pass."""
    image = decode_image(data, min_side=model.record.preprocessing.resize_size)
    return models.preprocess(image, model=model)


def tutorial(data: bytes, model: models.Classifier) -> list[int]:
    """The classic tutorial's code: its preprocessing, then the model."""
    batch = tutorial_batch(data, model)
    with torch.no_grad():
        output = model.module(batch)
    return output[0].softmax(dim=0).topk(5).indices.tolist()


def compare(title: str, data: bytes, model: models.Classifier, target: float) -> None:
    ours, baseline = best_seconds(
        lambda: models.classify_bytes(data, model=model), lambda: tutorial(data, model)
    )
    verdict = "ok" if ours / baseline <= target else "ABOVE TARGET"
    print(
        f"{title}: classify {ours * 1000:7.1f} ms vs tutorial {baseline * 1000:7.1f} ms "
        f"-> {ours / baseline:.2f}x (target <= {target}x, {verdict})"
    )
    # The forward pass is the same work in both; on a busy machine its noise swamps the rest.
    ours, baseline = best_seconds(
        lambda: our_batch(data, model), lambda: tutorial_batch(data, model)
    )
    print(
        f"{title}  bytes -> input tensor only: {ours * 1000:7.1f} ms vs "
        f"{baseline * 1000:7.1f} ms -> {ours / baseline:.2f}x"
    )


def forward_share(data: bytes, model: models.Classifier) -> None:
    results = [models.classify_bytes(data, model=model) for _ in range(REPEATS)]
    share = statistics.median(r.forward_seconds / r.seconds for r in results)
    print(f"forward pass share of a classify call (224-px image): {share:.0%}")


COLD_START = """
import sys, time
start = time.perf_counter()
sys.path.insert(0, {root!r})
from core import models
model = models.load({model!r})
models.classify_bytes(open({path!r}, "rb").read(), model=model)
print(time.perf_counter() - start)
"""


def cold_start(data_path: pathlib.Path, warm: float) -> None:
    code = COLD_START.format(root=str(ROOT), model=MODEL, path=str(data_path))
    launched = time.perf_counter()
    finished = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    wall = time.perf_counter() - launched
    inside = float(finished.stdout.strip().splitlines()[-1])
    print(
        f"cold start (fresh process, imports + model load + first call): {inside:.2f} s "
        f"({wall:.2f} s with interpreter start) vs warm call {warm * 1000:.1f} ms "
        f"-> {inside / warm:.0f}x"
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
    try:
        for _ in range(sessions):
            at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=300)
            at.run()
            at.switch_page("pages/classify.py")
            at.run()
            assert not at.exception, at.exception
    finally:
        models.load = real_load
    same = ui.models.classifier(MODEL) is ui.models.classifier(MODEL)
    print(
        f"model copies for {sessions} AppTest sessions in one process: {len(loads)} "
        f"(cached object shared: {same})"
    )


def memory_format(model: models.Classifier) -> None:
    batch = torch.rand(1, 3, 224, 224)
    contiguous_model = models.load(MODEL)
    contiguous_model.module.to(memory_format=torch.contiguous_format)
    last_batch = batch.contiguous(memory_format=torch.channels_last)

    def run(tensor: torch.Tensor) -> None:
        with torch.inference_mode():
            contiguous_model.module(tensor)

    def run_last() -> None:
        with torch.inference_mode():
            model.module(last_batch)

    default, last = best_seconds(lambda: run(batch), run_last)
    print(f"forward in channels_last (what load() uses) vs default: {last / default:.2f}x")


def main() -> None:
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, model {MODEL}")
    model = models.load(MODEL)
    coffee = samples.load_sample("coffee")
    large = jpeg_bytes(coffee, (4000, 3000))
    small = jpeg_bytes(coffee, (224, 224))
    compare("12-megapixel JPEG", large, model, target=0.5)
    compare("224-pixel JPEG   ", small, model, target=1.1)
    forward_share(small, model)
    (warm,) = best_seconds(lambda: models.classify_bytes(small, model=model))
    path = pathlib.Path(os.environ.get("TMPDIR", "/tmp")) / "bench-classify-224.jpg"
    path.write_bytes(small)
    cold_start(path, warm)
    sessions_share_one_model()
    memory_format(model)


if __name__ == "__main__":
    main()
