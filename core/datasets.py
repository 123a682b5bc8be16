"""Datasets the app browses and trains on, wrapped around torchvision's own classes.

CIFAR-10 (`torchvision.datasets.CIFAR10`) and a folder of class sub-folders
(`torchvision.datasets.ImageFolder`) are browsed through one small adapter, `Browsable`:
its length, classes, `class_to_idx`, a targets array and any image as PIL.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import os
import pathlib
import shutil
import tarfile
import tempfile
import zlib
from collections.abc import Sequence

import numpy as np
from PIL import Image
from torchvision.datasets import CIFAR10, ImageFolder

from core import config, downloads, folders
from core.errors import DownloadError, ImageDecodeError, PlaygroundError
from core.images import decode_image

CIFAR10_FOLDER = CIFAR10.base_folder  # "cifar-10-batches-py"
CIFAR10_URL = CIFAR10.url
CIFAR10_ARCHIVE_BYTES = 170_498_071  # cifar-10-python.tar.gz, about 163 MB
FOLDER_THUMBNAIL_SIDE = 64  # own images are shown (and measured) at this square size
_STATS_CHUNK = 2_000  # images per step when summing pixels: bounded float64 temporaries

_SAVE_OPTIONS = {"PNG": {"compress_level": 1}}  # speed over size for thumbnails


class DatasetError(PlaygroundError):
    """A dataset that is missing, corrupt or cannot be downloaded."""

    key = "dataset"


class DatasetMissingError(DatasetError):
    """The data directory does not hold the dataset (or a file of it)."""

    key = "datasets.missing"


class DatasetCorruptError(DatasetError):
    """A dataset file is there but fails its checksum or cannot be read."""

    key = "datasets.corrupt"


class DatasetDownloadError(DatasetError, DownloadError):
    """A downloaded archive that cannot be unpacked into the dataset.

    The transfer itself fails with `core.errors.DownloadError` (from `core.downloads.fetch`);
    this subclass of it adds the problems only a dataset archive has, so `except DownloadError`
    catches every way a dataset download can fail.
    """

    key = "datasets.archive"


# --- CIFAR-10 on disk --------------------------------------------------------------------------


def cifar10_files() -> list[str]:
    """Names of the files torchvision expects in `cifar-10-batches-py` (both splits and meta)."""
    names = [name for name, _ in CIFAR10.train_list + CIFAR10.test_list]
    return [*names, CIFAR10.meta["filename"]]


def load_cifar10(root: pathlib.Path, *, train: bool) -> CIFAR10:
    """CIFAR-10 from `root/cifar-10-batches-py`, checked by torchvision's MD5s.

    Args:
        root: the data directory that holds (or will hold) `cifar-10-batches-py`.
        train: the 50,000-image training split when True, else the 10,000-image test split.

    Raises:
        DatasetMissingError: the folder or one of its batch files is missing.
        DatasetCorruptError: a batch file fails its checksum or cannot be unpickled.
    """
    root = pathlib.Path(root)
    folder = root / CIFAR10_FOLDER
    if not folder.is_dir():
        raise DatasetMissingError(
            f"CIFAR-10 was not found in {root}. Download it, or point the data directory at a "
            f"folder that holds {CIFAR10_FOLDER}.",
            key="datasets.missing",
            root=str(root),
        )
    missing = [name for name in cifar10_files() if not (folder / name).is_file()]
    if missing:
        raise DatasetMissingError(
            f"{folder} lacks {', '.join(missing)}. Download CIFAR-10 again to restore it.",
            key="datasets.file_missing",
            folder=str(folder),
            files=", ".join(missing),
        )
    try:
        return CIFAR10(str(root), train=train, download=False)
    except (RuntimeError, ValueError, EOFError, OSError, KeyError) as error:
        # torchvision: "Dataset not found or corrupted."; unpickling may fail in other ways.
        raise DatasetCorruptError(
            f"A file in {folder} is corrupted (its checksum does not match). Download CIFAR-10 "
            "again to replace it.",
            key="datasets.corrupt",
            folder=str(folder),
        ) from error


def download_cifar10(
    root: pathlib.Path,
    *,
    url: str = CIFAR10_URL,
    md5: str = CIFAR10.tgz_md5,
    progress: downloads.ProgressCallback | None = None,
    timeout: float = config.DOWNLOAD_TIMEOUT_S,
) -> pathlib.Path:
    """Download and unpack CIFAR-10 into `root/cifar-10-batches-py`, all or nothing.

    The archive comes through `core.downloads.fetch` (streamed into a temporary file, checked
    against its MD5, renamed into place); an archive already there with the right MD5 is used
    without the network. It is unpacked with tarfile's `data` filter into a temporary folder
    beside the target and renamed into place, so a failed try leaves nothing that breaks the
    next one.

    Args:
        root: the data directory; created when missing.
        url: where the archive lives (torchvision's URL by default).
        md5: the archive's expected MD5 (torchvision's `CIFAR10.tgz_md5` by default).
        progress: called with (bytes received, bytes expected or None) after every chunk.
        timeout: seconds to wait for the server to answer or send more.

    Returns:
        The folder `root/cifar-10-batches-py`.

    Raises:
        DownloadError: offline, unreachable, a bad HTTP status, a transfer cut short or a
            checksum mismatch (keys `download.*`, naming the archive path for a copy by hand).
        DatasetDownloadError: a verified archive that cannot be unpacked (`datasets.archive`).
    """
    root = pathlib.Path(root)
    root.mkdir(parents=True, exist_ok=True)
    archive = root / CIFAR10.filename
    checksum = downloads.Checksum("md5", md5)
    if not downloads.file_matches(archive, checksum):  # a good archive is used again
        downloads.fetch(url, archive, checksum=checksum, progress=progress, timeout=timeout)
    try:
        return _unpack(archive, root)
    except DatasetDownloadError:
        archive.unlink(missing_ok=True)  # a verified archive that does not unpack: fetch anew
        raise


def _unpack(archive: pathlib.Path, root: pathlib.Path) -> pathlib.Path:
    """Extract `archive` into a temporary folder in `root`, then rename its
    `cifar-10-batches-py` into place (replacing a broken one)."""
    target = root / CIFAR10_FOLDER
    staging = pathlib.Path(tempfile.mkdtemp(dir=root, prefix=".unpack-"))
    try:
        try:
            with tarfile.open(archive, "r:gz") as tar:
                tar.extractall(staging, filter="data")
        except (tarfile.TarError, EOFError, zlib.error, OSError) as error:
            raise DatasetDownloadError(
                f"The downloaded archive is broken and cannot be unpacked ({type(error).__name__})."
                " Download it again.",
                key="datasets.archive",
                reason=type(error).__name__,
            ) from error
        unpacked = staging / CIFAR10_FOLDER
        if not unpacked.is_dir():
            raise DatasetDownloadError(
                f"The downloaded archive does not contain {CIFAR10_FOLDER}. Download it again.",
                key="datasets.archive",
                reason=f"no {CIFAR10_FOLDER}",
            )
        if target.exists():
            os.replace(target, staging / "previous")  # out of the way; removed with staging
        os.replace(unpacked, target)
        return target
    finally:
        shutil.rmtree(staging, ignore_errors=True)


# --- Your own images ----------------------------------------------------------------------------


def decode_file(path: str) -> Image.Image:
    """ImageFolder's `loader`: a file through the app's safe decoder."""
    return decode_image(pathlib.Path(path).read_bytes())


def _is_image_file(path: str) -> bool:
    return path.lower().endswith(tuple(f".{ext}" for ext in config.UPLOAD_EXTENSIONS))


def load_image_folder(
    root: pathlib.Path,
    *,
    roots: Sequence[pathlib.Path] = config.FOLDER_ROOTS,
    limits: folders.ScanLimits = folders.DEFAULT_SCAN_LIMITS,
) -> folders.BoundedImageFolder:
    """A folder of class sub-folders of images, as torchvision's `ImageFolder`: the one loader
    of the Datasets and Train pages.

    The path must resolve inside one of `roots`; the scan is bounded and follows no link (see
    `core.folders`). Only files with the extensions in `config.UPLOAD_EXTENSIONS` are listed,
    and each is decoded once by `core.images.decode_image`: files it cannot read are dropped
    and named in the result's `unreadable`, so one bad file never fails the folder.

    Raises:
        FolderAccessError: the path lies outside every root.
        FolderScanError: the folder is too large, too deep or too slow to scan.
        DatasetMissingError: not a folder, no class folder with images, or no readable image.
    """
    resolved = folders.resolve_inside(root, roots=roots)
    if not resolved.is_dir():
        raise DatasetMissingError(
            f"{root} is not a folder. Enter a folder that holds one sub-folder per class.",
            key="datasets.folder_missing",
            root=str(root),
        )
    try:
        dataset = folders.BoundedImageFolder(
            resolved, loader=decode_file, is_valid_file=_is_image_file, limits=limits
        )
    except FileNotFoundError as error:  # no class folder, or no images in them
        raise DatasetMissingError(
            f"{root} holds no class sub-folders with images. Put each class's images in a "
            "sub-folder named after the class.",
            key="datasets.folder_empty",
            root=str(root),
        ) from error
    # min_side: large JPEGs decode at a reduced scale, enough to know the file is good.
    dataset.verify(
        lambda path: decode_image(pathlib.Path(path).read_bytes(), min_side=8),
        errors=(ImageDecodeError, OSError),
    )
    if not dataset.samples:
        raise DatasetMissingError(
            f"None of the {len(dataset.unreadable)} images in {root} could be read.",
            key="folders.none_readable",
            count=len(dataset.unreadable),
        )
    return dataset


# --- One adapter for browsing -------------------------------------------------------------------


class Browsable:
    """What the browser needs of a dataset: its size, classes, targets and images.

    Attributes:
        source: the torchvision dataset itself (shown with its repr).
        classes: class names; target i names `classes[i]`.
        class_to_idx: class name to target, as torchvision gives it.
        targets: (N,) int64, the label of every sample.
    """

    source: object
    classes: tuple[str, ...]
    class_to_idx: dict[str, int]
    targets: np.ndarray

    def __len__(self) -> int:
        return len(self.targets)

    def image(self, index: int) -> Image.Image:
        """Sample `index` as an RGB image at its own size."""
        raise NotImplementedError

    def pixels(self, indices: Sequence[int]) -> np.ndarray:
        """Samples `indices` as (K, S, S, 3) uint8, one square size S for every image."""
        raise NotImplementedError


class CifarImages(Browsable):
    """CIFAR-10 as `Browsable`, reading straight from `CIFAR10.data` (no copy)."""

    def __init__(self, dataset: CIFAR10) -> None:
        self.source = dataset
        self.classes = tuple(dataset.classes)
        self.class_to_idx = dict(dataset.class_to_idx)
        self.targets = np.asarray(dataset.targets, dtype=np.int64)
        self.targets.flags.writeable = False  # shared by every session

    def image(self, index: int) -> Image.Image:
        return Image.fromarray(self.source.data[index])

    def pixels(self, indices: Sequence[int]) -> np.ndarray:
        return self.source.data[np.asarray(indices, dtype=np.int64)]


class FolderImages(Browsable):
    """An `ImageFolder` as `Browsable`; images are squared to `FOLDER_THUMBNAIL_SIDE` for grids.

    Attributes:
        unreadable: files of the folder that could not be decoded (left out of it).
    """

    def __init__(self, dataset: ImageFolder) -> None:
        self.source = dataset
        self.unreadable = tuple(getattr(dataset, "unreadable", ()))
        self.classes = tuple(dataset.classes)
        self.class_to_idx = dict(dataset.class_to_idx)
        self.targets = np.asarray(dataset.targets, dtype=np.int64)
        self.targets.flags.writeable = False

    def image(self, index: int) -> Image.Image:
        path, _ = self.source.samples[index]
        try:
            return self.source.loader(path)
        except OSError as error:  # removed since the folder was read (an upload's session ended)
            raise DatasetMissingError(
                f"{path} can no longer be read. Open the folder again.",
                key="folders.file_gone",
            ) from error

    def pixels(self, indices: Sequence[int]) -> np.ndarray:
        side = FOLDER_THUMBNAIL_SIDE
        out = np.full((len(indices), side, side, 3), 255, dtype=np.uint8)
        for row, index in enumerate(indices):
            path, _ = self.source.samples[int(index)]
            with contextlib.suppress(ImageDecodeError, OSError):  # unreadable: a white tile
                # min_side lets large JPEGs decode straight at a reduced scale: much faster.
                out[row] = _square(
                    decode_image(pathlib.Path(path).read_bytes(), min_side=side), side
                )
        return out


def _square(image: Image.Image, side: int) -> np.ndarray:
    """`image` fitted into a white `side`×`side` square, aspect ratio kept."""
    if image.size == (side, side):
        return np.asarray(image)
    scale = side / max(image.size)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    fitted = image.resize(size, Image.Resampling.BILINEAR)
    canvas = Image.new("RGB", (side, side), (255, 255, 255))
    canvas.paste(fitted, ((side - size[0]) // 2, (side - size[1]) // 2))
    return np.asarray(canvas)


# --- Overview numbers ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ChannelStats:
    """Per-channel mean and standard deviation of pixel values scaled to [0, 1] (R, G, B):
    the numbers that go into `transforms.Normalize(mean, std)`."""

    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    images: int  # how many images they were computed over


def channel_stats(pixels: np.ndarray) -> ChannelStats:
    """Mean and std per channel of `pixels`, (N, H, W, 3) uint8, over every pixel.

    Sums in float64 over chunks so memory stays bounded whatever N is.
    """
    if pixels.ndim != 4 or pixels.shape[-1] != 3:
        raise ValueError(f"expected (N, H, W, 3) pixels, got shape {pixels.shape}")
    chunks = (pixels[start : start + _STATS_CHUNK] for start in range(0, len(pixels), _STATS_CHUNK))
    return _stats_of(chunks, images=len(pixels))


def dataset_stats(data: Browsable, *, limit: int = 1_000) -> ChannelStats:
    """Channel statistics of a dataset over every pixel: every CIFAR-10 image, or up to `limit`
    images of a folder at their own size, spread evenly over it (a large folder would take
    minutes to decode in full)."""
    if isinstance(data, CifarImages):
        return channel_stats(data.source.data)
    indices = np.linspace(0, len(data) - 1, num=min(limit, len(data)), dtype=np.int64)
    arrays = (_pixels_or_none(data, int(index)) for index in indices)  # one image at a time
    return _stats_of((array for array in arrays if array is not None), images=len(indices))


def _pixels_or_none(data: Browsable, index: int) -> np.ndarray | None:
    """Sample `index` as (H, W, 3) uint8, or None when it can no longer be read."""
    try:
        return np.asarray(data.image(int(index)))
    except PlaygroundError:  # removed since the folder was read
        return None


def _stats_of(arrays, *, images: int) -> ChannelStats:
    """Per-channel mean and std over every pixel of `arrays`, each (..., 3) uint8."""
    total = np.zeros(3)
    squares = np.zeros(3)
    count = 0
    for array in arrays:
        values = array.reshape(-1, 3).astype(np.float64) / 255.0
        total += values.sum(axis=0)
        squares += np.square(values).sum(axis=0)
        count += len(values)
    mean = total / max(count, 1)
    std = np.sqrt(np.maximum(squares / max(count, 1) - np.square(mean), 0.0))
    return ChannelStats(
        mean=tuple(round(float(value), 4) for value in mean),
        std=tuple(round(float(value), 4) for value in std),
        images=images,
    )


def class_counts(targets: np.ndarray, *, classes: int) -> np.ndarray:
    """Images per class: (classes,) int64 from (N,) targets."""
    return np.bincount(targets, minlength=classes)


# --- Browsing -----------------------------------------------------------------------------------


def select(targets: np.ndarray, *, classes: Sequence[int] = ()) -> np.ndarray:
    """Indices of the samples whose target is one of `classes` (all samples when empty), in
    dataset order: (K,) int64."""
    if not classes:
        return np.arange(len(targets), dtype=np.int64)
    return np.flatnonzero(np.isin(targets, np.asarray(classes, dtype=np.int64)))


def page_count(total: int, *, page_size: int) -> int:
    """How many pages of `page_size` hold `total` items (at least one)."""
    if page_size < 1:
        raise ValueError(f"page_size must be positive, got {page_size}")
    return max(1, -(-total // page_size))


def page_of(indices: np.ndarray, *, page: int, page_size: int) -> np.ndarray:
    """The `page`-th (0-based) slice of `page_size` items of `indices`; empty past the end."""
    if page < 0:
        raise ValueError(f"page must be 0 or more, got {page}")
    return indices[page * page_size : (page + 1) * page_size]


def sample(indices: np.ndarray, *, count: int, seed: int) -> np.ndarray:
    """`count` of `indices` drawn at random without replacement; the same for the same seed."""
    generator = np.random.default_rng(seed)
    return generator.choice(indices, size=min(count, len(indices)), replace=False)


def page_containing(indices: np.ndarray, index: int, *, page_size: int) -> int | None:
    """The 0-based page of `indices` that shows dataset index `index`; None when filtered out."""
    position = np.searchsorted(indices, index)
    if position < len(indices) and indices[position] == index:
        return int(position) // page_size
    return None


def encode_image(pixels: np.ndarray, *, format: str = "PNG") -> bytes:
    """A (H, W, 3) or (H, W) uint8 array as image file bytes (`format` as Pillow names it).

    BMP is uncompressed: ten times faster to write than PNG, and small enough for 32×32 tiles.
    """
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=format, **_SAVE_OPTIONS.get(format, {}))
    return buffer.getvalue()


def upscale(pixels: np.ndarray, *, factor: int) -> np.ndarray:
    """Nearest-neighbour upscaling of (H, W, ...) pixels by an integer `factor`: crisp pixels."""
    return pixels.repeat(factor, axis=0).repeat(factor, axis=1)
