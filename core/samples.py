"""The bundled sample photos (scikit-image's CC0 / public-domain images; see SOURCES.md)."""

from __future__ import annotations

import pathlib

from PIL import Image

from core import config
from core.images import decode_image

SAMPLES: dict[str, str] = {
    "coffee": "coffee.png",
    "chelsea": "chelsea.png",
    "rocket": "rocket.jpg",
    "astronaut": "astronaut.png",
}
DEFAULT_SAMPLE = "coffee"


def sample_path(name: str) -> pathlib.Path:
    """The file of sample `name` (one of `SAMPLES`)."""
    return config.SAMPLES_DIR / SAMPLES[name]


def load_sample(name: str, *, min_side: int | None = None) -> Image.Image:
    """Sample `name` as an RGB image, through the same decoder as uploads."""
    return decode_image(sample_path(name).read_bytes(), min_side=min_side)
