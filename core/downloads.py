"""Model weights into torch hub's cache: progress, hash check, atomic write, offline errors.

Files land where `torch.hub.load_state_dict_from_url` would put them
(`torch.hub.get_dir()/checkpoints/<filename>`), so a file placed there by hand is used too.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pathlib
import re
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable

import torch

from core import config
from core.errors import DownloadError

# torch.hub's own rule: `name-<sha256 prefix>.ext` carries the first hex digits of the sha256.
_HASH_IN_NAME = re.compile(r"-([a-f0-9]*)\.")

# Called with (bytes received so far, total bytes or None when the server does not say).
ProgressCallback = Callable[[int, int | None], None]


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
    """Fetch `url` into the torch hub cache unless it is already there.

    The bytes go to a temporary file beside the target, are checked against the sha256 prefix
    in the file name, and only then renamed into place, so an interrupted or corrupt transfer
    never leaves a file that breaks the next try.

    Args:
        url: an http(s) URL whose last segment is the file name.
        progress: called after every chunk with (bytes received, total or None).
        timeout: seconds to wait for the server to answer or send more.

    Returns:
        The path of the cached file.

    Raises:
        DownloadError: no network (key `classify.offline`), a bad HTTP status, a transfer cut
            short, or a hash that does not match.
    """
    target = cache_path(url)
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    expected = hash_prefix(target.name)
    handle, temporary = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=".part", dir=target.parent
    )
    try:
        with os.fdopen(handle, "wb") as sink:
            digest = _fetch(url, sink, target=target, progress=progress, timeout=timeout)
        if expected is not None and not digest.startswith(expected):
            raise DownloadError(
                f"The file from {url} is corrupt (sha256 {digest[:12]}…, expected {expected}…). "
                f"Try again, or place a good copy at {target} by hand.",
                key="classify.hash_mismatch",
                url=url,
                expected=expected,
                actual=digest[: len(expected)],
                path=str(target),
            )
        os.replace(temporary, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
    return target


def _fetch(
    url: str,
    sink,
    *,
    target: pathlib.Path,
    progress: ProgressCallback | None,
    timeout: float,
) -> str:
    """Stream `url` into `sink`; the hex sha256 of what was written."""
    digest = hashlib.sha256()
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
            key="classify.http_status",
            url=url,
            status=error.code,
            path=str(target),
        ) from error
    except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
        if received:
            raise _interrupted(url, target, received) from error
        raise _offline(url, target) from error
    except OSError as error:  # e.g. http.client.IncompleteRead while streaming
        raise _interrupted(url, target, received) from error
    if total is not None and received != total:
        raise _interrupted(url, target, received)
    return digest.hexdigest()


def _open(url: str, *, timeout: float):
    """The HTTP response for `url` (a seam tests replace to simulate the network)."""
    return urllib.request.urlopen(url, timeout=timeout)


def _offline(url: str, target: pathlib.Path) -> DownloadError:
    return DownloadError(
        f"Cannot reach {url}: this computer seems to be offline. Download the file elsewhere "
        f"and place it at {target}, or use the built-in EfficientNet-Lite0 model.",
        key="classify.offline",
        url=url,
        path=str(target),
    )


def _interrupted(url: str, target: pathlib.Path, received: int) -> DownloadError:
    return DownloadError(
        f"The download of {url} stopped after {received:,} bytes. Try again, or place the file "
        f"at {target} by hand.",
        key="classify.interrupted",
        url=url,
        received=received,
        path=str(target),
    )
