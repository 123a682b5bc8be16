"""The app a learner might pick instead: a plain Gradio `gr.Interface` with the same model and
preprocessing as the Classify page, for bench/browser.py and bench/load.py.

    python bench/gradio_peer.py --port 7860
"""

from __future__ import annotations

import argparse
import os
import pathlib
import sys

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

import gradio as gr
import torch

from core import models

model = models.load(models.DEFAULT_MODEL)
preprocess = model.record.preprocessing.transform()
categories = model.record.meta.categories


def classify(image) -> dict[str, float]:
    """Gradio's usual recipe: PIL image in, {label: probability} of the top 5 out."""
    batch = preprocess(image.convert("RGB")).unsqueeze(0)
    with torch.inference_mode():
        probabilities = model.module(batch).softmax(dim=1)[0]
    top = probabilities.topk(5)
    return {categories[int(i)]: float(p) for p, i in zip(top.values, top.indices, strict=True)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=7860)
    port = parser.parse_args().port
    demo = gr.Interface(
        fn=classify,
        inputs=gr.Image(type="pil", label="Photo"),
        outputs=gr.Label(num_top_classes=5, label="Top 5"),
        title="EfficientNet-Lite0",
        flagging_mode="never",
    )
    demo.launch(server_name="127.0.0.1", server_port=port, show_error=True)  # defaults


if __name__ == "__main__":
    main()
