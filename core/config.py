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

# Folders a browser user may open (ImageFolder): only inside these roots, realpath-resolved.
# `TORCH_PLAYGROUND_FOLDER_ROOTS` lists them separated by `os.pathsep`; default: the data dir.
FOLDER_ROOTS = tuple(
    pathlib.Path(part).expanduser()
    for part in os.environ.get("TORCH_PLAYGROUND_FOLDER_ROOTS", "").split(os.pathsep)
    if part.strip()
) or (DATA_DIR,)
# The CIFAR-10 data-directory field lets a user point downloads at any path: for a local,
# single-user app only, so it is hidden unless `TORCH_PLAYGROUND_DATA_DIR_FIELD=1`.
DATA_DIR_FIELD = os.environ.get("TORCH_PLAYGROUND_DATA_DIR_FIELD", "").lower() in ("1", "true")
# Folder scans stop with a message at the first bound they reach.
MAX_SCAN_ENTRIES = 50_000  # files and folders looked at
MAX_SCAN_DEPTH = 4  # folder levels below a class folder
MAX_SCAN_SECONDS = 5.0
# An ImageFolder uploaded as a .zip (extracted into a per-session temporary folder).
MAX_ZIP_ENTRIES = 25_000
MAX_ZIP_UNCOMPRESSED_BYTES = 512 * 1024 * 1024  # against zip bombs: the sum of every entry

# Uploads: keep in step with `server.maxUploadSize` in .streamlit/config.toml (a test checks).
UPLOAD_LIMIT_MB = 25
IMAGE_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF")
UPLOAD_EXTENSIONS = ("jpg", "jpeg", "png", "webp", "gif", "bmp", "tif", "tiff")
# Pillow's decompression-bomb limit: larger images are refused with an error, not a warning.
MAX_IMAGE_PIXELS = 64_000_000

# Tensors the playground will allocate.
MAX_TENSOR_ELEMENTS = 1_000_000
MAX_TENSOR_BYTES = 64 * 1024 * 1024
MAX_TENSOR_PIECES = 1_000  # split, chunk, unbind, tensor_split: counted before cutting

# Network.
DOWNLOAD_TIMEOUT_S = 30.0
DOWNLOAD_CHUNK_BYTES = 1 << 16

# Index expressions typed on the Tensors page (checked before anything is evaluated).
MAX_INDEX_CHARS = 500
MAX_INDEX_INTEGER = 10**9  # larger literals are refused before torch sees them
MAX_INDEX_LIST_LENGTH = 1_000
MAX_INDEX_NESTING = 12  # brackets, parentheses and operators inside one another

# Page state in the URL: longer text values from a link are refused (a typed list is the longest).
MAX_URL_TEXT = 20_000
MAX_URL_SHAPE_CHARS = 100  # a tensor shape; MAX_DIMS sizes fit easily
MAX_URL_ARGS_CHARS = 200  # operation arguments (a few integers)
MAX_SEED = 2**53 - 1  # the largest integer a browser's number field holds exactly

LANGUAGES = {"en": "English", "zh": "简体中文"}
DEFAULT_LANGUAGE = "en"

# Transforms studio.
MAX_PIPELINE_STEPS = 32
MAX_DRAWS = 12
DEFAULT_DRAWS = 4
# Largest image (width × height) any step of a pipeline may produce; checked before running.
MAX_PIPELINE_PIXELS = 8_000_000  # eight times the largest source photo
MAX_PIPELINE_JSON_CHARS = 20_000  # a pipeline file or URL value
MAX_PIPELINE_JSON_DEPTH = 8  # nesting of lists and objects (a pipeline needs 4)
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
MAX_CURVE_POINTS = 1500  # per-step points drawn; longer runs are thinned evenly
EXPORT_CHECKED_IMAGES = 200  # test images run through ONNX Runtime and PyTorch after export

# Long work (core/workers.py). Torch threads are process-wide: training runs in its own process
# with this many threads, by default leaving one core for the pages and sharing the rest among
# the concurrent runs (1 thread per run on 2 cores, 7 on 16).
TRAIN_WORKER_THREADS = int(
    os.environ.get(
        "TORCH_PLAYGROUND_TRAIN_THREADS",
        max(1, ((os.cpu_count() or 1) - 1) // MAX_CONCURRENT_RUNS),
    )
)
# Workers run at the lowest scheduling priority (added to their niceness), so that where cores
# are still shared, the pages' work goes first and training takes what is left: at 19 the kernel
# weighs a worker 15 against a page's 1024 (at 10 it was 110, and pages drew 2.4x slower).
TRAIN_WORKER_NICENESS = 19
TRAIN_BUDGET_S = float(os.environ.get("TORCH_PLAYGROUND_TRAIN_BUDGET_S", 15 * 60))  # per run
STOP_GRACE_S = 2.0  # a worker still running this long after Stop is terminated
WORKER_START_S = 5.0  # a spawned worker's start-up (importing torch), added to estimates
TRANSFORMS_BUDGET_S = 10.0  # one Transforms preview: every draw of every step
ERROR_QUOTE_CHARS = 80  # user input quoted in an error message is cut to this length
WORK_THREADS = 4  # threads of the server process for request-time work (ui/work.py)

# Serving (the Serve & scale page): one Ray instance per app process, started on request.
SERVE_HOST = "127.0.0.1"  # loopback only: the learner's own computer calls the server
SERVE_PORT = 8765  # Ray Serve's HTTP proxy; Ray's own default (8000) is often taken
RAY_NUM_CPUS = 2  # the CPUs Ray may schedule on; fits a 2-core laptop
RAY_OBJECT_STORE_BYTES = 150 * 1024 * 1024  # Ray's default takes 30% of RAM; requests are tiny
MAX_LIVE_DEPLOYMENTS = 2  # served models per app process, over all sessions
MAX_REPLICAS = 4
REPLICA_CPUS = 0.25  # each replica's CPU share: MAX_LIVE_DEPLOYMENTS × MAX_REPLICAS × it ≤ CPUs
SERVE_REQUEST_TIMEOUT_S = 30.0
RAY_STOP_GRACE_S = 15.0  # Ray's processes still running this long after shutdown are killed
RAY_START_ATTEMPTS = 3  # Ray allows its raylet 30 s to come up; a loaded machine may need more

# Distributed training (torchrun launched from the Serve & scale page).
DDP_PROCESSES = 2
DDP_LOG_LINES = 2_000  # the newest lines of a run's log kept in memory
