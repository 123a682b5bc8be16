"""Grad-CAM heatmaps ("which pixels made the network say this?") through torchcam.

The model is shared by every session, so hooks are attached only while holding the model's
lock and are always removed afterwards; parameters and modes are left as they were.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
from PIL import Image
from torchcam.methods import GradCAM
from torchcam.utils import overlay_mask
from torchvision.transforms.v2 import functional as F

from core.errors import PlaygroundError
from core.models import Classifier, preprocess, preprocessing_steps

OVERLAY_ALPHA = 0.5  # share of the photo kept under the heatmap


class CamUnavailableError(PlaygroundError, ValueError):
    """A model without a spatial feature map (ViT), for which Grad-CAM is not offered."""

    key = "classify.cam_unavailable"


@dataclasses.dataclass(frozen=True)
class CamResult:
    """A Grad-CAM map for one class.

    Attributes:
        heatmap: (h, w) float32 in [0, 1], the target layer's resolution (e.g. 7×7).
        overlay: the model's center-cropped input with the heatmap blended over it (RGB).
        layer: the module whose activations and gradients were used.
        class_index: the class explained.
    """

    heatmap: np.ndarray
    overlay: Image.Image
    layer: str
    class_index: int


def grad_cam(image: Image.Image, *, model: Classifier, class_index: int) -> CamResult:
    """Grad-CAM of `class_index` for an RGB image, over the crop the model actually sees.

    Raises:
        CamUnavailableError: the model has no convolutional target layer (ViT).
    """
    layer = model.record.cam_layer
    if layer is None:
        raise CamUnavailableError(
            f"Grad-CAM needs a convolutional feature map; {model.record.title} has none.",
            model=model.record.title,
        )
    batch = preprocess(image, model=model)
    # torchcam removes its hooks on leaving the `with`, even when the forward fails.
    with (
        model.lock,
        torch.inference_mode(False),
        torch.enable_grad(),
        GradCAM(model.module, target_layer=layer) as extractor,
    ):
        scores = model.module(batch)
        maps = extractor(class_idx=class_index, scores=scores)
    heatmap = maps[0][0].detach().float().cpu()
    crop = preprocessing_steps(image, preprocessing=model.record.preprocessing).cropped
    overlay = overlay_mask(crop, F.to_pil_image(heatmap, mode="F"), alpha=OVERLAY_ALPHA)
    return CamResult(
        heatmap=heatmap.numpy(),
        overlay=overlay,
        layer=layer,
        class_index=class_index,
    )
