"""Downloads without the internet: a local HTTP server on 127.0.0.1 serves checkpoints the
tests make; a host that cannot resolve stands for being offline, a closed port for a server that
cannot be reached."""

from __future__ import annotations

import hashlib
import http.server
import io
import threading
from collections.abc import Iterator

import pytest
import torch

from core import config, downloads
from core.errors import DownloadError


def _checkpoint_bytes(size: int = 50_000) -> bytes:
    """A real (small) state dict, serialized as torch.save writes it."""
    buffer = io.BytesIO()
    torch.save({"weight": torch.arange(size, dtype=torch.float32)}, buffer)
    return buffer.getvalue()


def _hub_name(data: bytes, stem: str = "x") -> str:
    return f"{stem}-{hashlib.sha256(data).hexdigest()[:8]}.pth"


class _Server:
    """Serves `files` (path -> bytes); paths in `cut_short` send half and hang up."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.cut_short: set[str] = set()
        self.requests = 0
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests += 1
                data = server.files.get(self.path)
                if data is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.path in server.cut_short:
                    self.wfile.write(data[: len(data) // 2])
                    self.close_connection = True
                    return
                self.wfile.write(data)

            def log_message(self, *args) -> None:  # keep pytest's output clean
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[_Server]:
    running = _Server()
    yield running
    running.stop()


@pytest.fixture(autouse=True)
def hub_cache(tmp_path, monkeypatch):
    """torch hub's cache in a temporary folder (TORCH_HOME is read on every call)."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    return tmp_path / "torch" / "hub" / "checkpoints"


@pytest.mark.parametrize(
    ("filename", "prefix"),
    [
        ("alexnet-owt-7be5be79.pth", "7be5be79"),
        ("efficientnet_b0_rwightman-7f5810bc.pth", "7f5810bc"),
        ("weights.pth", None),
    ],
)
def test_hash_prefix_follows_torch_hub_naming(filename, prefix):
    assert downloads.hash_prefix(filename) == prefix


def test_cache_path_is_torch_hubs_checkpoint_folder(hub_cache):
    url = "https://download.pytorch.org/models/alexnet-owt-7be5be79.pth"
    assert downloads.cache_path(url) == hub_cache / "alexnet-owt-7be5be79.pth"


def test_download_reports_progress_and_caches_the_file(server, hub_cache):
    data = _checkpoint_bytes()
    name = _hub_name(data)
    server.files[f"/{name}"] = data
    calls: list[tuple[int, int | None]] = []

    path = downloads.download(f"{server.url}/{name}", progress=lambda *call: calls.append(call))

    assert path == hub_cache / name
    assert path.read_bytes() == data
    assert calls[0] == (0, len(data))
    assert calls[-1] == (len(data), len(data))
    received = [done for done, _ in calls]
    assert received == sorted(received) and len(calls) > 2  # several chunks
    assert all(total == len(data) for _, total in calls)
    assert len(data) > config.DOWNLOAD_CHUNK_BYTES
    assert torch.load(path, weights_only=True)["weight"].numel() == 50_000


def test_second_download_is_a_cache_hit_without_the_network(server, hub_cache):
    data = _checkpoint_bytes(1000)
    name = _hub_name(data)
    server.files[f"/{name}"] = data
    url = f"{server.url}/{name}"
    first = downloads.download(url)
    server.stop()  # the network is gone: only the cache can answer now

    assert downloads.is_cached(url)
    assert downloads.download(url) == first
    assert server.requests == 1


def test_wrong_bytes_fail_the_hash_check_and_leave_nothing(server, hub_cache):
    name = _hub_name(b"the bytes the name promises")
    server.files[f"/{name}"] = _checkpoint_bytes(1000)

    with pytest.raises(DownloadError) as caught:
        downloads.download(f"{server.url}/{name}")

    assert caught.value.key == "download.checksum"
    assert list(hub_cache.iterdir()) == []


def test_an_interrupted_transfer_leaves_no_file_and_the_next_try_works(server, hub_cache):
    data = _checkpoint_bytes()
    name = _hub_name(data)
    server.files[f"/{name}"] = data
    server.cut_short.add(f"/{name}")
    url = f"{server.url}/{name}"

    with pytest.raises(DownloadError) as caught:
        downloads.download(url)
    assert caught.value.key == "download.interrupted"
    assert list(hub_cache.iterdir()) == []
    assert not downloads.is_cached(url)

    server.cut_short.clear()
    assert downloads.download(url).read_bytes() == data


def test_a_missing_file_reports_the_http_status(server, hub_cache):
    with pytest.raises(DownloadError) as caught:
        downloads.download(f"{server.url}/gone-12345678.pth")
    assert caught.value.key == "download.http_status"
    assert caught.value.params["status"] == 404
    assert list(hub_cache.iterdir()) == []


def test_offline_names_the_url_and_where_to_place_the_file(hub_cache):
    url = "http://nonexistent.invalid/x-12345678.pth"
    with pytest.raises(DownloadError) as caught:
        downloads.download(url, timeout=5)
    error = caught.value
    assert error.key == "download.offline"
    assert error.params == {"url": url, "path": str(hub_cache / "x-12345678.pth")}
    assert url in str(error) and str(hub_cache) in str(error)
    assert not (hub_cache / "x-12345678.pth").exists()


_MD5 = "c58f30108f718f92721af3b95e74349a"  # CIFAR-10's archive


@pytest.mark.parametrize(
    ("checksum", "digest", "matches"),
    [
        (downloads.Checksum("sha256", "7be5be79", prefix_ok=True), "7be5be79" + "0" * 56, True),
        (downloads.Checksum("sha256", "7BE5BE79", prefix_ok=True), "7be5be79" + "0" * 56, True),
        (downloads.Checksum("sha256", "7be5be79", prefix_ok=True), "7be5be70" + "0" * 56, False),
        (downloads.Checksum("md5", _MD5), _MD5, True),
        (downloads.Checksum("md5", _MD5), _MD5[:8], False),  # a full digest is no prefix
    ],
)
def test_a_checksum_takes_a_prefix_only_when_told(checksum, digest, matches):
    assert checksum.matches(digest) is matches


@pytest.mark.parametrize("algorithm", ["md5", "sha256"])
def test_fetch_checks_a_full_digest_and_writes_the_target(server, tmp_path, algorithm):
    data = b"any bytes at all" * 10_000
    server.files["/data.bin"] = data
    target = tmp_path / "deep" / "data.bin"
    checksum = downloads.Checksum(algorithm, hashlib.new(algorithm, data).hexdigest())

    assert downloads.fetch(f"{server.url}/data.bin", target, checksum=checksum) == target

    assert target.read_bytes() == data
    assert downloads.file_matches(target, checksum)
    assert sorted(path.name for path in target.parent.iterdir()) == ["data.bin"]


def test_a_failed_fetch_keeps_the_file_that_was_there(server, tmp_path):
    target = tmp_path / "data.bin"
    target.write_bytes(b"the old copy")
    server.files["/data.bin"] = b"new bytes"

    with pytest.raises(DownloadError) as caught:
        downloads.fetch(
            f"{server.url}/data.bin", target, checksum=downloads.Checksum("md5", "0" * 32)
        )

    error = caught.value
    assert error.key == "download.checksum"
    assert error.params["actual"] == hashlib.md5(b"new bytes").hexdigest()
    assert error.params["path"] == str(target)
    assert target.read_bytes() == b"the old copy"
    assert [path.name for path in tmp_path.iterdir()] == ["data.bin"]


def test_file_matches_is_false_for_a_missing_or_different_file(tmp_path):
    checksum = downloads.Checksum("md5", hashlib.md5(b"good").hexdigest())
    assert not downloads.file_matches(tmp_path / "absent", checksum)
    (tmp_path / "bad").write_bytes(b"bad")
    assert not downloads.file_matches(tmp_path / "bad", checksum)


def test_a_closed_port_is_unreachable_not_offline(tmp_path):
    stopped = _Server()
    stopped.stop()  # its port now refuses connections
    target = tmp_path / "x.bin"
    with pytest.raises(DownloadError) as caught:
        downloads.fetch(f"{stopped.url}/x.bin", target)
    assert caught.value.key == "download.unreachable"
    assert caught.value.params["reason"] == "ConnectionRefusedError"
    assert list(tmp_path.iterdir()) == []
