"""One safe decoder for every image that enters the app (uploads, camera, samples).

Untrusted bytes in, an RGB `PIL.Image` out, or an `ImageDecodeError` that says what was wrong.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image, ImageOps

from core import config
from core.errors import ImageDecodeError

# Modes whose samples are wider than 8 bits; Pillow's convert("RGB") would clip them.
_WIDE_MODES = ("I", "I;16", "I;16B", "I;16L", "I;16N", "F")
_ALPHA_MODES = ("RGBA", "LA", "PA", "RGBa", "La")


def decode_image(data: bytes, *, min_side: int | None = None) -> Image.Image:
    """Decode untrusted image bytes into an 8-bit RGB image.

    Only the formats in `config.IMAGE_FORMATS` are opened (PostScript never reaches
    Ghostscript), images above `config.MAX_IMAGE_PIXELS` are refused, EXIF orientation is
    applied, transparency is composited on white, and animated files give their first frame.

    Args:
        data: the raw file bytes.
        min_side: when given, large JPEGs are decoded with `Image.draft` straight to the
            smallest scale whose shorter side is still at least this many pixels.

    Returns:
        An RGB image, fully loaded and detached from `data`.

    Raises:
        ImageDecodeError: empty, unknown, disallowed, oversized, truncated or corrupt input.
    """
    if not data:
        raise ImageDecodeError("The file is empty. Upload a JPEG or PNG photo.", key="empty")
    try:
        with warnings.catch_warnings():
            # Pillow only warns between its limit and twice it; make every bomb an error.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            warnings.simplefilter("ignore", UserWarning)  # Pillow's notes on odd EXIF/MPO data
            image = Image.open(io.BytesIO(data), formats=list(config.IMAGE_FORMATS))
            _check_size(image)
            if min_side is not None and image.format == "JPEG":
                image.draft("RGB", (min_side, min_side))
            image.seek(0)
            image.load()
            # A copy, even when upright: a plain Image, detached from the file's plugin object.
            image = ImageOps.exif_transpose(image)
            return _to_rgb(image)
    except ImageDecodeError:
        raise
    except Image.UnidentifiedImageError as error:
        raise ImageDecodeError(
            "Not an image this app can read. Upload a JPEG, PNG, WebP, GIF, BMP or TIFF file.",
            key="unidentified",
        ) from error
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ImageDecodeError(
            f"The image is too large to decode safely (limit {config.MAX_IMAGE_PIXELS:,} "
            "pixels). Upload a smaller image.",
            key="too_large",
            limit=config.MAX_IMAGE_PIXELS,
        ) from error
    except Exception as error:
        raise ImageDecodeError(
            f"The image is damaged or truncated and cannot be decoded ({type(error).__name__}). "
            "Try re-saving it as JPEG or PNG.",
            key="corrupt",
            reason=type(error).__name__,
        ) from error


def _check_size(image: Image.Image) -> None:
    width, height = image.size
    if width < 1 or height < 1:
        raise ImageDecodeError("The image has no pixels.", key="corrupt", reason="empty size")
    if width * height > config.MAX_IMAGE_PIXELS:
        raise ImageDecodeError(
            f"The image is {width}×{height} pixels, above the limit of "
            f"{config.MAX_IMAGE_PIXELS:,}. Upload a smaller image.",
            key="too_large",
            limit=config.MAX_IMAGE_PIXELS,
        )


def _to_rgb(image: Image.Image) -> Image.Image:
    """Any Pillow mode to 8-bit RGB, scaling wide samples and compositing alpha on white."""
    if image.mode in _WIDE_MODES:
        return Image.fromarray(_scale_to_uint8(np.asarray(image)), mode="L").convert("RGB")
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in _ALPHA_MODES:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if image.mode != "RGB":
        return image.convert("RGB")
    return image


def _scale_to_uint8(samples: np.ndarray) -> np.ndarray:
    """Wide grey samples (16-bit, 32-bit int or float) to 0..255, keeping their meaning."""
    values = samples.astype(np.float64)
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return np.zeros(samples.shape, dtype=np.uint8)
    low, high = float(finite.min()), float(finite.max())
    if samples.dtype.kind == "f" and low >= 0.0 and high <= 1.0:
        scaled = values * 255.0
    elif samples.dtype.kind in "iu" and low >= 0 and high <= 255:
        scaled = values
    elif samples.dtype.kind in "iu" and low >= 0 and high <= 65535:
        scaled = values / 257.0
    else:
        scaled = (values - low) / max(high - low, 1e-12) * 255.0
    return np.nan_to_num(scaled, nan=0.0).clip(0, 255).round().astype(np.uint8)
