"""One streaming downloader for every file the app fetches: progress, checksum, atomic write,
and errors that say what to do when the network is not there.

`fetch` serves both the model weights (into torch hub's cache, `download`) and the CIFAR-10
archive (`core.datasets.download_cifar10`). Weights land where
`torch.hub.load_state_dict_from_url` would put them (`torch.hub.get_dir()/checkpoints/<filename>`),
so a file placed there by hand is used too.
"""

from __future__ import annotations

import dataclasses
import hashlib
import http.client
import os
import pathlib
import re
import socket
import ssl
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable

import torch

from core import config
from core.errors import DownloadError, Verbatim

# torch.hub's own rule: `name-<sha256 prefix>.ext` carries the first hex digits of the sha256.
_HASH_IN_NAME = re.compile(r"-([a-f0-9]*)\.")
_HASH_CHUNK_BYTES = 1 << 20  # reading a file already on disk: larger chunks, fewer calls

# Called with (bytes received so far, total bytes or None when the server does not say).
ProgressCallback = Callable[[int, int | None], None]


@dataclasses.dataclass(frozen=True)
class Checksum:
    """What a downloaded file must hash to.

    Attributes:
        algorithm: a `hashlib` name, e.g. "sha256" or "md5".
        expected: the hex digest, or only its first digits when `prefix_ok`.
        prefix_ok: whether `expected` is a prefix (torch hub names carry 8 hex digits of sha256).
    """

    algorithm: str
    expected: str
    prefix_ok: bool = False

    def matches(self, digest: str) -> bool:
        """Whether the hex `digest` of a file is the one expected."""
        expected = self.expected.lower()
        return digest.startswith(expected) if self.prefix_ok else digest == expected

    def shown(self, digest: str) -> str:
        """`digest` cut to as many digits as `expected` has, for a side-by-side message."""
        return digest[: len(self.expected)] if self.prefix_ok else digest


def fetch(
    url: str,
    target: pathlib.Path,
    *,
    checksum: Checksum | None = None,
    progress: ProgressCallback | None = None,
    timeout: float = config.DOWNLOAD_TIMEOUT_S,
) -> pathlib.Path:
    """Stream `url` into `target`, all or nothing.

    The bytes go to a temporary file beside `target`, are checked against `checksum`, and only
    then renamed into place, so an interrupted or corrupt transfer never leaves a file that
    breaks the next try. An existing `target` is replaced only by a good download.

    Args:
        url: an http(s) URL.
        target: where the file goes; its folder is created when missing.
        checksum: what the bytes must hash to; None skips the check.
        progress: called with (0, total) first, then after every chunk with (bytes received,
            total or None when the server does not say).
        timeout: seconds to wait for the server to answer or send more.

    Returns:
        `target`.

    Raises:
        DownloadError: no network (key `download.offline`), a server that cannot be reached
            (`download.unreachable`), a bad HTTP status (`download.http_status`), a transfer cut
            short (`download.interrupted`) or bytes that fail the checksum (`download.checksum`).
            Every one names the URL and `target`, where the file can be placed by hand.
    """
    target = pathlib.Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, part_name = tempfile.mkstemp(
        dir=target.parent, prefix=f".{target.name}.", suffix=".part"
    )
    part = pathlib.Path(part_name)
    try:
        with os.fdopen(handle, "wb") as sink:
            digest = _stream(
                url, sink, target=target, checksum=checksum, progress=progress, timeout=timeout
            )
        if checksum is not None and not checksum.matches(digest):
            raise DownloadError(
                f"The file from {url} does not match its {checksum.algorithm} checksum "
                f"(got {checksum.shown(digest)}, expected {checksum.expected}); nothing was "
                f"saved. Try again, or place a good copy at {target} by hand.",
                key="download.checksum",
                url=Verbatim(url),
                path=Verbatim(target),
                algorithm=checksum.algorithm,
                expected=checksum.expected,
                actual=checksum.shown(digest),
            )
        os.replace(part, target)
    finally:
        part.unlink(missing_ok=True)
    return target


def file_matches(path: pathlib.Path, checksum: Checksum) -> bool:
    """Whether `path` is a file whose bytes hash to `checksum` (a copy that needs no download)."""
    if not pathlib.Path(path).is_file():
        return False
    digest = hashlib.new(checksum.algorithm)
    with open(path, "rb") as source:
        while chunk := source.read(_HASH_CHUNK_BYTES):
            digest.update(chunk)
    return checksum.matches(digest.hexdigest())


# --- Model weights in torch hub's cache ---------------------------------------------------------


def checkpoint_dir() -> pathlib.Path:
    """torch hub's checkpoint folder (follows `TORCH_HOME` and `torch.hub.set_dir`)."""
    return pathlib.Path(torch.hub.get_dir()) / "checkpoints"


def cache_path(url: str) -> pathlib.Path:
    """Where the file at `url` is (or will be) cached."""
    return checkpoint_dir() / filename_of(url)


def filename_of(url: str) -> str:
    """The last path segment of `url`, e.g. `alexnet-owt-7be5be79.pth`."""
    return pathlib.PurePosixPath(urllib.parse.urlparse(url).path).name


def hash_prefix(filename: str) -> str | None:
    """The sha256 prefix torch hub encodes in `filename`, or None when it has none."""
    match = _HASH_IN_NAME.search(filename)
    return match.group(1) if match and match.group(1) else None


def is_cached(url: str) -> bool:
    """Whether the file at `url` is already in the cache."""
    return cache_path(url).is_file()


def download(
    url: str,
    *,
    progress: ProgressCallback | None = None,
    timeout: float = config.DOWNLOAD_TIMEOUT_S,
) -> pathlib.Path:
    """Fetch model weights at `url` into the torch hub cache unless they are already there.

    The sha256 prefix in the file name (torch hub's convention) is checked before the file is
    renamed into place.

    Args:
        url: an http(s) URL whose last segment is the file name.
        progress: called with (bytes received, total or None); see `fetch`.
        timeout: seconds to wait for the server to answer or send more.

    Returns:
        The path of the cached file.

    Raises:
        DownloadError: see `fetch`.
    """
    target = cache_path(url)
    if target.is_file():
        return target
    prefix = hash_prefix(target.name)
    checksum = Checksum("sha256", prefix, prefix_ok=True) if prefix else None
    return fetch(url, target, checksum=checksum, progress=progress, timeout=timeout)


# --- The transfer itself ------------------------------------------------------------------------


def _stream(
    url: str,
    sink,
    *,
    target: pathlib.Path,
    checksum: Checksum | None,
    progress: ProgressCallback | None,
    timeout: float,
) -> str:
    """Write the body of `url` into `sink`; the hex digest of what was written."""
    digest = hashlib.new(checksum.algorithm if checksum else "sha256")
    received = 0
    try:
        with _open(url, timeout=timeout) as response:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            if progress is not None:
                progress(0, total)
            while chunk := response.read(config.DOWNLOAD_CHUNK_BYTES):
                sink.write(chunk)
                digest.update(chunk)
                received += len(chunk)
                if progress is not None:
                    progress(received, total)
    except urllib.error.HTTPError as error:
        raise DownloadError(
            f"{url} answered HTTP {error.code}. Try again later, or place the file at {target}.",
            key="download.http_status",
            url=Verbatim(url),
            status=error.code,
            path=Verbatim(target),
        ) from error
    except urllib.error.URLError as error:
        if isinstance(error.reason, socket.gaierror):  # the name does not resolve: no network
            raise _offline(url, target) from error
        raise _cut_off(url, target, received, error.reason) from error
    # Not OSError as a whole: a full disk is no network problem. IncompleteRead is HTTPException.
    except (TimeoutError, ConnectionError, ssl.SSLError, http.client.HTTPException) as error:
        raise _cut_off(url, target, received, error) from error
    if total is not None and received != total:
        raise _interrupted(url, target, received)
    return digest.hexdigest()


def _open(url: str, *, timeout: float):
    """The HTTP response for `url` (a seam tests replace to simulate the network)."""
    return urllib.request.urlopen(url, timeout=timeout)


def _offline(url: str, target: pathlib.Path) -> DownloadError:
    return DownloadError(
        f"Cannot reach {url}: this computer seems to be offline. Connect and try again, or "
        f"download the file on another computer and place it at {target}.",
        key="download.offline",
        url=Verbatim(url),
        path=Verbatim(target),
    )


def _cut_off(url: str, target: pathlib.Path, received: int, reason: object) -> DownloadError:
    """A connection that failed: before any byte came (unreachable) or part way through."""
    if received:
        return _interrupted(url, target, received)
    name = reason if isinstance(reason, str) else type(reason).__name__
    return DownloadError(
        f"Cannot download {url} ({name}). Check the connection and try again, or place the file "
        f"at {target} by hand.",
        key="download.unreachable",
        url=Verbatim(url),
        reason=name,
        path=Verbatim(target),
    )


def _interrupted(url: str, target: pathlib.Path, received: int) -> DownloadError:
    return DownloadError(
        f"The download of {url} stopped early, after {received:,} bytes; nothing was saved. "
        f"Try again, or place the file at {target} by hand.",
        key="download.interrupted",
        url=Verbatim(url),
        received=received,
        path=Verbatim(target),
    )
