"""The safe decoder: every mode to RGB, hostile files to one clear error, never a traceback."""

from __future__ import annotations

import io
import time

import numpy as np
import pytest
from PIL import Image

from core import config
from core.errors import ImageDecodeError
from core.images import decode_image
from tests.corpus import PILLOW_IMAGES

CORPUS_FILES = sorted(path for path in PILLOW_IMAGES.rglob("*") if path.is_file())
DECODE_BUDGET_S = 2.0


def encode(image: Image.Image, format: str = "PNG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=format, **options)
    return buffer.getvalue()


def test_corpus_is_present():
    assert len(CORPUS_FILES) > 900


def corpus_id(path) -> str:
    return str(path.relative_to(PILLOW_IMAGES))


@pytest.mark.parametrize("path", CORPUS_FILES, ids=corpus_id)
def test_every_corpus_file_decodes_to_rgb_or_raises_the_decoder_error(path):
    data = path.read_bytes()
    started = time.perf_counter()
    try:
        image = decode_image(data)
    except ImageDecodeError as error:
        assert str(error)
    else:
        assert image.mode == "RGB"
        assert image.width >= 1 and image.height >= 1
    assert time.perf_counter() - started < DECODE_BUDGET_S


def test_corpus_decodes_most_files():
    decoded = 0
    for path in CORPUS_FILES:
        try:
            decode_image(path.read_bytes())
            decoded += 1
        except ImageDecodeError:
            pass
    # Fewer than plain Pillow's ~797: EPS, PDF-ish and other non-allow-listed formats are refused.
    assert 500 < decoded < len(CORPUS_FILES)


@pytest.mark.parametrize("name", ["eps/1.eps", "eps/non_zero_bb.eps", "eps/pil_sample_cmyk.eps"])
def test_postscript_never_reaches_ghostscript(name, monkeypatch):
    import subprocess

    def refuse(*args, **kwargs):
        raise AssertionError("Ghostscript was started")

    monkeypatch.setattr(subprocess, "Popen", refuse)
    monkeypatch.setattr(subprocess, "check_call", refuse)
    path = PILLOW_IMAGES / name
    with pytest.raises(ImageDecodeError) as caught:
        decode_image(path.read_bytes())
    assert caught.value.key == "unidentified"


def test_empty_bytes_raise_the_empty_error():
    with pytest.raises(ImageDecodeError) as caught:
        decode_image(b"")
    assert caught.value.key == "empty"


def test_text_is_not_an_image():
    with pytest.raises(ImageDecodeError) as caught:
        decode_image(b"hello, this is plain text\n" * 10)
    assert caught.value.key == "unidentified"


def test_truncated_png_raises_the_corrupt_error():
    data = encode(Image.new("RGB", (64, 64), "red"))
    with pytest.raises(ImageDecodeError) as caught:
        decode_image(data[: len(data) // 2])
    assert caught.value.key == "corrupt"


def test_decompression_bomb_is_an_error(monkeypatch):
    monkeypatch.setattr(config, "MAX_IMAGE_PIXELS", 100)
    with pytest.raises(ImageDecodeError) as caught:
        decode_image(encode(Image.new("L", (20, 20))))
    assert caught.value.key == "too_large"


def test_pillow_bomb_file_from_corpus_is_refused():
    with pytest.raises(ImageDecodeError) as caught:
        decode_image((PILLOW_IMAGES / "decompression_bomb.gif").read_bytes())
    assert caught.value.key in {"too_large", "corrupt"}


@pytest.mark.parametrize(
    ("mode", "value", "expected"),
    [
        ("1", 1, (255, 255, 255)),
        ("L", 128, (128, 128, 128)),
        ("RGB", (10, 20, 30), (10, 20, 30)),
        ("CMYK", (0, 0, 0, 0), (255, 255, 255)),
        ("I;16", 65535, (255, 255, 255)),
        ("I;16", 32896, (128, 128, 128)),
        ("I", 1000, (255, 255, 255)),
        ("F", 0.5, (128, 128, 128)),
    ],
)
def test_mode_converts_to_rgb(mode, value, expected):
    image = Image.new(mode, (4, 4), value)
    if mode == "I":  # one bright pixel beside a dark one: min-max scaling maps 1000 to white
        image.putpixel((0, 0), 70000)
        image.putpixel((1, 1), 0)
    fmt = "TIFF" if mode in {"I;16", "I", "F", "CMYK"} else "PNG"
    decoded = decode_image(encode(image, fmt))
    assert decoded.mode == "RGB"
    pixel = decoded.getpixel((3, 3))
    if mode == "I":
        expected = tuple([round(1000 / 70000 * 255)] * 3)
    assert pixel == pytest.approx(expected, abs=1)


def test_transparent_rgba_is_composited_on_white():
    image = Image.new("RGBA", (4, 4), (255, 0, 0, 0))
    image.putpixel((0, 0), (255, 0, 0, 255))
    decoded = decode_image(encode(image))
    assert decoded.getpixel((0, 0)) == (255, 0, 0)
    assert decoded.getpixel((3, 3)) == (255, 255, 255)


def test_palette_transparency_is_composited_on_white():
    image = Image.new("P", (4, 4), 1)
    image.putpalette([0, 0, 0, 0, 255, 0] + [0] * 762)
    image.info["transparency"] = 1
    decoded = decode_image(encode(image, transparency=1))
    assert decoded.getpixel((2, 2)) == (255, 255, 255)


def test_la_is_composited_on_white():
    image = Image.new("LA", (2, 2), (0, 0))
    assert decode_image(encode(image)).getpixel((0, 0)) == (255, 255, 255)


def test_exif_orientation_is_applied():
    image = Image.new("RGB", (40, 20), "blue")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    decoded = decode_image(encode(image, "JPEG", exif=exif.tobytes()))
    assert decoded.size == (20, 40)


def test_animated_gif_gives_its_first_frame():
    frames = [Image.new("RGB", (8, 8), color) for color in ("red", "lime", "blue")]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:])
    decoded = decode_image(buffer.getvalue())
    red, green, blue = decoded.getpixel((4, 4))
    assert red > 200 and green < 50 and blue < 50


def test_large_jpeg_is_drafted_to_the_needed_size():
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 255, (2000, 3000, 3), dtype=np.uint8)
    data = encode(Image.fromarray(pixels), "JPEG", quality=85)
    decoded = decode_image(data, min_side=256)
    assert min(decoded.size) >= 256
    assert decoded.size[0] < 3000
    assert decode_image(data).size == (3000, 2000)


def test_upload_formats_are_allow_listed():
    assert "EPS" not in config.IMAGE_FORMATS
    assert set(config.IMAGE_FORMATS) == {"JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF"}


@pytest.mark.parametrize("format", ["PNG", "JPEG", "GIF", "TIFF"])
def test_the_result_is_a_plain_image_detached_from_its_file(format):
    decoded = decode_image(encode(Image.new("RGB", (8, 8), "red"), format))
    assert type(decoded) is Image.Image  # picklable and hashable by st.cache_data
