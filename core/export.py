"""Deploy a trained classifier: its weights, a TorchScript file and an ONNX file checked with
ONNX Runtime, plus the code that loads each file outside the app."""

from __future__ import annotations

import copy
import dataclasses
import io
import pathlib
import tempfile
import warnings
from collections.abc import Sequence

import numpy as np
import onnxruntime
import torch
from torch import nn

INPUT_NAME = "images"
OUTPUT_NAME = "logits"

FILE_NAMES = {
    "state_dict": "model_state_dict.pt",
    "torchscript": "model_torchscript.pt",
    "onnx": "model.onnx",
}


def _cpu_copy(model: nn.Module) -> nn.Module:
    # Exports never touch the caller's model (it may be shown or trained further elsewhere).
    return copy.deepcopy(model).cpu().eval()


def state_dict_bytes(model: nn.Module) -> bytes:
    """The model's `state_dict`, as `torch.save` writes it (load with `torch.load`)."""
    buffer = io.BytesIO()
    torch.save(_cpu_copy(model).state_dict(), buffer)
    return buffer.getvalue()


def torchscript_bytes(model: nn.Module, *, image_size: int = 32) -> bytes:
    """The model traced with `torch.jit.trace` on a (1, 3, S, S) input and saved.

    Tracing fits these nets: their forward has no data-dependent control flow.
    """
    example = torch.zeros(1, 3, image_size, image_size)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # TorchScript is deprecated, still loads
        traced = torch.jit.trace(_cpu_copy(model), example)
        buffer = io.BytesIO()
        torch.jit.save(traced, buffer)
    return buffer.getvalue()


def onnx_bytes(model: nn.Module, *, image_size: int = 32) -> bytes:
    """The model exported by `torch.onnx.export` (the torch.export-based exporter), with a
    dynamic batch dimension, input `images` (B, 3, S, S) and output `logits` (B, classes)."""
    example = torch.zeros(2, 3, image_size, image_size)
    batch = torch.export.Dim("batch")
    with tempfile.TemporaryDirectory() as folder:
        path = pathlib.Path(folder) / FILE_NAMES["onnx"]
        torch.onnx.export(
            _cpu_copy(model),
            (example,),
            str(path),
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_shapes=({0: batch},),
            dynamo=True,
            external_data=False,
            verbose=False,
        )
        return path.read_bytes()


@dataclasses.dataclass(frozen=True)
class OnnxCheck:
    """ONNX Runtime's outputs compared with PyTorch's on the same images."""

    images: int
    max_abs_difference: float  # over every logit of every image
    top1_agreements: int  # images where both pick the same class

    @property
    def all_agree(self) -> bool:
        return self.top1_agreements == self.images


def check_onnx(onnx: bytes, model: nn.Module, inputs: torch.Tensor) -> OnnxCheck:
    """Run `inputs` through ONNX Runtime and through `model`, and compare the logits.

    Args:
        onnx: the file `onnx_bytes` made.
        inputs: (N, 3, S, S) float32, already normalised.
    """
    session = onnxruntime.InferenceSession(onnx, providers=["CPUExecutionProvider"])
    runtime = session.run([OUTPUT_NAME], {INPUT_NAME: inputs.numpy().astype(np.float32)})[0]
    with torch.inference_mode():
        expected = _cpu_copy(model)(inputs).numpy()
    return OnnxCheck(
        images=len(inputs),
        max_abs_difference=float(np.abs(runtime - expected).max()) if len(inputs) else 0.0,
        top1_agreements=int((runtime.argmax(1) == expected.argmax(1)).sum()),
    )


_PREPROCESS = '''\
import numpy as np
from PIL import Image

CATEGORIES = {categories}
MEAN = np.array({mean}, dtype=np.float32)
STD = np.array({std}, dtype=np.float32)


def preprocess(path):
    """An image file -> (1, 3, {size}, {size}) float32, as the model was trained."""
    image = Image.open(path).convert("RGB").resize(({size}, {size}), Image.BILINEAR)
    pixels = np.asarray(image, dtype=np.float32) / 255.0
    return ((pixels - MEAN) / STD).transpose(2, 0, 1)[None]

'''

_LOADERS = {
    "state_dict": """\
import torch

from core.nets import build  # the network's code: this app's core/nets.py

model = build({net!r}, num_classes={classes})
model.load_state_dict(torch.load("{file}", map_location="cpu", weights_only=True))
model.eval()
with torch.inference_mode():
    logits = model(torch.from_numpy(preprocess("image.png")))
print(CATEGORIES[int(logits.argmax(1))])
""",
    "torchscript": """\
import torch

model = torch.jit.load("{file}", map_location="cpu")  # no model code needed
with torch.inference_mode():
    logits = model(torch.from_numpy(preprocess("image.png")))
print(CATEGORIES[int(logits.argmax(1))])
""",
    "onnx": """\
import onnxruntime

session = onnxruntime.InferenceSession("{file}", providers=["CPUExecutionProvider"])
(logits,) = session.run(["{output}"], {{"{input}": preprocess("image.png")}})
print(CATEGORIES[int(logits.argmax(1)[0])])
""",
}


def load_code(
    kind: str,
    *,
    net: str,
    categories: Sequence[str],
    mean: Sequence[float],
    std: Sequence[float],
    image_size: int = 32,
) -> str:
    """A standalone script that loads the exported file of `kind` (a key of FILE_NAMES) from
    the current folder, classifies `image.png` and prints the class name."""
    preprocess = _PREPROCESS.format(
        categories=repr(tuple(categories)),
        mean=repr(tuple(round(value, 4) for value in mean)),
        std=repr(tuple(round(value, 4) for value in std)),
        size=image_size,
    )
    loader = _LOADERS[kind].format(
        file=FILE_NAMES[kind],
        net=net,
        classes=len(categories),
        input=INPUT_NAME,
        output=OUTPUT_NAME,
    )
    return preprocess + loader
