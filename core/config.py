"""Every default and limit of the app, in one place."""

from __future__ import annotations

import os
import pathlib

PROJECT_ROOT = pathlib.Path(__file__).resolve().parent.parent
ASSETS_DIR = PROJECT_ROOT / "assets"
SAMPLES_DIR = ASSETS_DIR / "samples"
LOCALES_DIR = PROJECT_ROOT / "locales"

# Where datasets live; overridable with an environment variable (and in the sidebar).
DATA_DIR = pathlib.Path(
    os.environ.get("TORCH_PLAYGROUND_DATA", pathlib.Path.home() / ".cache" / "torch-playground")
).expanduser()

# Uploads: keep in step with `server.maxUploadSize` in .streamlit/config.toml (a test checks).
UPLOAD_LIMIT_MB = 25
IMAGE_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF")
UPLOAD_EXTENSIONS = ("jpg", "jpeg", "png", "webp", "gif", "bmp", "tif", "tiff")
# Pillow's decompression-bomb limit: larger images are refused with an error, not a warning.
MAX_IMAGE_PIXELS = 64_000_000

# Tensors the playground will allocate.
MAX_TENSOR_ELEMENTS = 1_000_000
MAX_TENSOR_BYTES = 64 * 1024 * 1024

# Network.
DOWNLOAD_TIMEOUT_S = 30.0
DOWNLOAD_CHUNK_BYTES = 1 << 16

LANGUAGES = {"en": "English", "zh": "简体中文"}
DEFAULT_LANGUAGE = "en"

# Transforms studio.
MAX_PIPELINE_STEPS = 32
MAX_DRAWS = 12
DEFAULT_DRAWS = 4
MAX_SOURCE_SIDE = 1024  # larger photos are shrunk before the pipeline sees them
# The studio draws on a copy this large unless the learner asks for full resolution: a rerun of
# a photometric pipeline on 1024 px took 2.8 s, on this copy it stays under 200 ms.
TRANSFORMS_WORKING_SIDE = 384
TRANSFORMS_DISPLAY_SIDE = 320  # draws are sent to the browser at most this large
TRANSFORMS_STEP_PREVIEW_SIDE = 160  # the step-by-step strip of one draw

# Training (the Train page).
MAX_CONCURRENT_RUNS = 2  # training threads per server process; more wait for a free slot
MAX_EPOCHS = 100
MAX_BATCH_SIZE = 1024
MAX_FOLDER_IMAGES = 20_000  # an ImageFolder is held in memory as 32×32 uint8
