"""Folders a browser user may open, and ImageFolder zips they upload, safe on a shared server.

A path typed on a page is resolved (`os.path.realpath`) and must lie inside one of the
configured roots (`config.FOLDER_ROOTS`, plus the session's own upload folder). Scans never
follow symbolic links, skip special files (FIFOs, devices, sockets) and stop with a message at
the first bound they reach: entries looked at, depth, seconds. Uploaded zips are checked
before anything is written (size, entry count, declared total, names) and while writing (the
bytes really inflated), into a fresh folder that is removed when anything is refused.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import shutil
import stat
import tempfile
import time
import zipfile
from collections.abc import Callable, Sequence
from typing import IO, Any

from torchvision.datasets import ImageFolder

from core import config
from core.errors import PlaygroundError

_COPY_CHUNK = 1 << 16


class FolderAccessError(PlaygroundError):
    """A path outside the folders this server lets a browser user open."""

    key = "folders.outside"


class FolderScanError(PlaygroundError):
    """A folder too large, too deep or too slow to scan within the server's bounds."""

    key = "folders.scan_limit"


class ZipRefusedError(PlaygroundError):
    """An uploaded zip that is not a safe ImageFolder archive."""

    key = "folders.zip_refused"


@dataclasses.dataclass(frozen=True)
class ScanLimits:
    """The bounds of one folder scan (defaults from `core.config`)."""

    entries: int = config.MAX_SCAN_ENTRIES
    depth: int = config.MAX_SCAN_DEPTH
    seconds: float = config.MAX_SCAN_SECONDS
    images: int = config.MAX_FOLDER_IMAGES


@dataclasses.dataclass(frozen=True)
class ZipLimits:
    """The bounds of one uploaded zip (defaults from `core.config`)."""

    bytes: int = config.UPLOAD_LIMIT_MB * 1024 * 1024
    entries: int = config.MAX_ZIP_ENTRIES
    uncompressed: int = config.MAX_ZIP_UNCOMPRESSED_BYTES


DEFAULT_SCAN_LIMITS = ScanLimits()
DEFAULT_ZIP_LIMITS = ZipLimits()


# --- Roots --------------------------------------------------------------------------------------


def resolve_inside(
    path: str | os.PathLike[str],
    *,
    roots: Sequence[pathlib.Path],
    unnamed: Sequence[pathlib.Path] = (),
) -> pathlib.Path:
    """`path` with every symbolic link and `..` resolved, when it lies inside one of `roots`
    or `unnamed` (roots that messages do not name, e.g. a session's temporary folder).

    A relative path is taken relative to the first root.

    Raises:
        FolderAccessError: the resolved path is outside every root (or there is none).
    """
    text = os.fspath(path).strip()
    real_roots = [pathlib.Path(os.path.realpath(root)) for root in (*roots, *unnamed)]
    named = ", ".join(str(root) for root in roots) or "—"
    if not real_roots or "\x00" in text:
        raise FolderAccessError(
            f"Only folders inside {named} can be opened here.", key="folders.outside", roots=named
        )
    candidate = pathlib.Path(text)
    if not candidate.is_absolute():
        candidate = pathlib.Path((*roots, *unnamed)[0]) / candidate
    real = pathlib.Path(os.path.realpath(candidate))
    if any(real == root or real.is_relative_to(root) for root in real_roots):
        return real
    raise FolderAccessError(
        f"{text} is outside the folders this server opens. Only folders inside {named} can be "
        "opened here; upload your own as a .zip instead.",
        key="folders.outside",
        roots=named,
    )


# --- Bounded ImageFolder ----------------------------------------------------------------------


class _Scan:
    """Counts entries and time against `ScanLimits`; raises FolderScanError past a bound."""

    def __init__(self, root: pathlib.Path, limits: ScanLimits) -> None:
        self.root = root
        self.limits = limits
        self.entries = 0
        self.deadline = time.monotonic() + limits.seconds

    def entries_of(self, folder: str) -> list[os.DirEntry[str]]:
        try:
            with os.scandir(folder) as listing:
                entries = []
                for entry in listing:
                    self.entries += 1
                    if self.entries > self.limits.entries:
                        raise FolderScanError(
                            f"{self.root} is too large to scan here (limit: "
                            f"{self.limits.entries:g} per scan). Use a smaller folder.",
                            key="folders.too_many_entries",
                            root=self.root.name,
                            limit=f"{self.limits.entries:g}",
                        )
                    if time.monotonic() > self.deadline:
                        raise FolderScanError(
                            f"{self.root} is too large to scan here (limit: "
                            f"{self.limits.seconds:g} per scan). Use a smaller folder.",
                            key="folders.too_slow",
                            root=self.root.name,
                            limit=f"{self.limits.seconds:g}",
                        )
                    entries.append(entry)
        except OSError:  # unreadable (permissions, vanished): nothing to list
            return []
        return sorted(entries, key=lambda entry: entry.name)


def _is_real_folder(entry: os.DirEntry[str]) -> bool:
    """A directory that is not a symbolic link (links are never followed: no way out, no loop)."""
    return not entry.is_symlink() and entry.is_dir(follow_symlinks=False)


def _is_regular_file(entry: os.DirEntry[str]) -> bool:
    """A plain file: no link, FIFO, device or socket (reading those can hang or leak)."""
    try:
        return not entry.is_symlink() and stat.S_ISREG(entry.stat(follow_symlinks=False).st_mode)
    except OSError:
        return False


class BoundedImageFolder(ImageFolder):
    """torchvision's `ImageFolder` whose scan is bounded (`ScanLimits`), follows no symbolic
    link and lists regular files only. `unreadable` names the files `verify` dropped."""

    def __init__(
        self,
        root: pathlib.Path,
        *,
        loader: Callable[[str], Any],
        is_valid_file: Callable[[str], bool],
        limits: ScanLimits = DEFAULT_SCAN_LIMITS,
    ) -> None:
        self._scan = _Scan(pathlib.Path(root), limits)
        self.unreadable: tuple[str, ...] = ()
        super().__init__(str(root), loader=loader, is_valid_file=is_valid_file)

    def __repr__(self) -> str:  # printed on the Datasets page as torchvision prints it
        return super().__repr__().replace(type(self).__name__, "ImageFolder", 1)

    def find_classes(self, directory: str | pathlib.Path) -> tuple[list[str], dict[str, int]]:
        classes = [
            entry.name
            for entry in self._scan.entries_of(os.fspath(directory))
            if _is_real_folder(entry) and not entry.name.startswith(".")
        ]
        if not classes:
            raise FileNotFoundError(f"Couldn't find any class folder in {directory}.")
        return classes, {name: index for index, name in enumerate(classes)}

    def make_dataset(  # type: ignore[override]
        self,
        directory: str | pathlib.Path,
        class_to_idx: dict[str, int],
        extensions: tuple[str, ...] | None = None,
        is_valid_file: Callable[[str], bool] | None = None,
        allow_empty: bool = False,
    ) -> list[tuple[str, int]]:
        valid = is_valid_file or (lambda path: True)
        limits = self._scan.limits
        samples: list[tuple[str, int]] = []
        for name, target in class_to_idx.items():
            pending = [(os.path.join(directory, name), 0)]
            while pending:
                folder, depth = pending.pop()
                for entry in self._scan.entries_of(folder):
                    if _is_real_folder(entry):
                        if depth + 1 > limits.depth:
                            raise FolderScanError(
                                f"{entry.path} lies more than {limits.depth} folders below its "
                                "class folder. Flatten the folder.",
                                key="folders.too_deep",
                                limit=limits.depth,
                            )
                        pending.append((entry.path, depth + 1))
                    elif _is_regular_file(entry) and valid(entry.path):
                        samples.append((entry.path, target))
                        if len(samples) > limits.images:
                            raise FolderScanError(
                                f"The folder holds more than {limits.images:,} images. Use a "
                                "smaller folder.",
                                key="folders.too_many_images",
                                limit=f"{limits.images:,}",
                            )
        if not samples and not allow_empty:
            raise FileNotFoundError(f"Found no valid file in the class folders of {directory}.")
        return sorted(samples)

    def verify(self, read: Callable[[str], object], *, errors: tuple[type[Exception], ...]) -> None:
        """Read every sample once with `read`; drop those that raise one of `errors` and name
        them (relative to the root) in `unreadable`."""
        kept: list[tuple[str, int]] = []
        dropped: list[str] = []
        for path, target in self.samples:
            try:
                read(path)
            except errors:
                dropped.append(os.path.relpath(path, self.root))
                continue
            kept.append((path, target))
        self.samples = self.imgs = kept
        self.targets = [target for _, target in kept]
        self.unreadable = tuple(dropped)


# --- Uploaded zips --------------------------------------------------------------------------------


def _safe_name(name: str) -> bool:
    """A relative POSIX name with no `..`, no drive, no backslash and no NUL."""
    if not name or name.startswith(("/", "\\")) or "\\" in name or "\x00" in name:
        return False
    if len(name) > 1 and name[1] == ":":  # C:foo
        return False
    return ".." not in pathlib.PurePosixPath(name).parts


def _is_link(info: zipfile.ZipInfo) -> bool:
    return stat.S_ISLNK(info.external_attr >> 16)


def extract_zip(
    upload: IO[bytes],
    *,
    into: pathlib.Path,
    keep: Callable[[str], bool],
    limits: ZipLimits = DEFAULT_ZIP_LIMITS,
) -> pathlib.Path:
    """Extract the files of an uploaded zip that `keep` accepts into a new folder in `into`.

    Every name is checked before anything is written; the bytes really inflated are counted
    while writing. On any refusal the new folder is removed, so nothing is left behind.

    Args:
        upload: the zip, a seekable binary file.
        into: an existing folder (the session's upload folder).
        keep: which names to extract (e.g. image extensions); others are skipped.
        limits: size, entry-count and uncompressed-total bounds.

    Returns:
        The extracted ImageFolder root: the new folder, or its only top-level folder.

    Raises:
        ZipRefusedError: too large, not a zip, too many entries, too much data, or an
            absolute, `..` or link entry.
    """
    size = upload.seek(0, os.SEEK_END)
    upload.seek(0)
    if size > limits.bytes:
        raise ZipRefusedError(
            f"The zip is {size:,} bytes; the limit is {limits.bytes:,}.",
            key="folders.zip_too_large",
            limit=f"{limits.bytes // (1024 * 1024)} MB",
        )
    try:
        archive = zipfile.ZipFile(upload)
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise ZipRefusedError(
            f"This is not a zip file ({error}).", key="folders.zip_bad"
        ) from error
    with archive:
        infos = archive.infolist()
        if len(infos) > limits.entries:
            raise ZipRefusedError(
                f"The zip holds {len(infos):,} entries; the limit is {limits.entries:,}.",
                key="folders.zip_too_many",
                count=f"{len(infos):,}",
                limit=f"{limits.entries:,}",
            )
        for info in infos:
            if not _safe_name(info.filename) or _is_link(info):
                raise ZipRefusedError(
                    f"The zip holds an unsafe entry ({info.filename!r}): absolute paths, `..` "
                    "and links are refused.",
                    key="folders.zip_unsafe",
                    name=info.filename[:100],
                )
        declared = sum(info.file_size for info in infos)
        if declared > limits.uncompressed:
            raise ZipRefusedError(
                _inflated_message(limits), key="folders.zip_bomb", limit=_mb(limits)
            )
        target = pathlib.Path(tempfile.mkdtemp(dir=into, prefix="zip-"))
        try:
            _write_entries(archive, infos, target=target, keep=keep, limits=limits)
        except BaseException:
            shutil.rmtree(target, ignore_errors=True)
            raise
    children = [child for child in target.iterdir() if not child.name.startswith(("_", "."))]
    if len(children) == 1 and children[0].is_dir():
        return children[0]  # pets.zip holding pets/cat/..., pets/dog/...
    return target


def _write_entries(
    archive: zipfile.ZipFile,
    infos: list[zipfile.ZipInfo],
    *,
    target: pathlib.Path,
    keep: Callable[[str], bool],
    limits: ZipLimits,
) -> None:
    written = 0
    for info in infos:
        if info.is_dir() or not keep(info.filename) or info.filename.startswith("__MACOSX/"):
            continue
        path = target / info.filename
        if not path.resolve().is_relative_to(target.resolve()):  # belt and braces
            raise ZipRefusedError(
                "The zip holds an unsafe entry.", key="folders.zip_unsafe", name=""
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with archive.open(info) as source, open(path, "xb") as sink:
                while chunk := source.read(_COPY_CHUNK):
                    written += len(chunk)
                    if written > limits.uncompressed:  # a lying header
                        message = _inflated_message(limits)
                        raise ZipRefusedError(message, key="folders.zip_bomb", limit=_mb(limits))
                    sink.write(chunk)
        except (zipfile.BadZipFile, OSError, EOFError, RuntimeError) as error:
            # corrupt data, a bad CRC, an encrypted entry, a duplicate name
            raise ZipRefusedError(
                f"The zip cannot be read ({error}).", key="folders.zip_bad"
            ) from error


def _mb(limits: ZipLimits) -> str:
    return f"{limits.uncompressed // (1024 * 1024)} MB"


def _inflated_message(limits: ZipLimits) -> str:
    return f"The zip would unpack to more than {_mb(limits)}; the limit is {_mb(limits)}."
