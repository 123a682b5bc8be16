"""CIFAR-10 and image folders: real labels and pixels, exact filters and pages, clear errors, and
downloads that leave nothing half-written behind."""

from __future__ import annotations

import contextlib
import hashlib
import http.server
import io
import os
import shutil
import tarfile
import threading
from typing import ClassVar

import numpy as np
import pytest
from PIL import Image

from core import datasets
from core.datasets import (
    CifarImages,
    DatasetCorruptError,
    DatasetDownloadError,
    DatasetMissingError,
    FolderImages,
)
from core.errors import DownloadError
from tests import corpus

GIVEN_INDICES = [0, 1, 2, 3, 999, 4321, 9999]


@pytest.fixture(scope="module")
def npz():
    return corpus.load_cifar_npz()


@pytest.fixture(scope="module")
def cifar_test(cifar10_root):
    return CifarImages(datasets.load_cifar10(cifar10_root, train=False))


# --- CIFAR-10 from disk ------------------------------------------------------------------------


def test_cifar_labels_for_given_indices_are_the_npz_labels(cifar_test, npz):
    names = [str(name) for name in npz["classes"]]
    for index in GIVEN_INDICES:
        assert cifar_test.classes[cifar_test.targets[index]] == names[npz["labels"][index]]
        assert np.array_equal(np.asarray(cifar_test.image(index)), npz["data"][index])


def test_cifar_pixels_are_read_without_copying_the_dataset(cifar_test, npz):
    assert np.shares_memory(cifar_test.source.data, cifar_test.source.data[:1])
    assert np.array_equal(cifar_test.pixels([5, 7]), npz["data"][[5, 7]])


@pytest.mark.parametrize("train", [False, True])
def test_each_class_counts_1000_in_the_laid_out_splits(cifar10_root, train):
    data = CifarImages(datasets.load_cifar10(cifar10_root, train=train))
    counts = datasets.class_counts(data.targets, classes=len(data.classes))
    assert counts.tolist() == [1000] * 10
    assert len(data) == 10_000


def test_cifar_channel_stats_match_the_corpus_readme(cifar_test, npz):
    stats = datasets.dataset_stats(cifar_test)
    assert stats.mean == pytest.approx((0.4941, 0.4851, 0.4505), abs=1e-4)
    expected_std = (npz["data"].reshape(-1, 3) / 255.0).std(axis=0)
    assert stats.std == pytest.approx(tuple(expected_std), abs=1e-4)


@pytest.fixture
def cifar_copy(cifar10_root, tmp_path):
    shutil.copytree(cifar10_root / datasets.CIFAR10_FOLDER, tmp_path / datasets.CIFAR10_FOLDER)
    return tmp_path


def test_missing_folder_is_a_missing_error(tmp_path):
    with pytest.raises(DatasetMissingError) as caught:
        datasets.load_cifar10(tmp_path, train=False)
    assert caught.value.key == "datasets.missing"
    assert "Download" in str(caught.value)


def test_missing_batch_file_names_the_file(cifar_copy):
    (cifar_copy / datasets.CIFAR10_FOLDER / "data_batch_3").unlink()
    with pytest.raises(DatasetMissingError) as caught:
        datasets.load_cifar10(cifar_copy, train=False)
    assert caught.value.key == "datasets.file_missing"
    assert caught.value.params["files"] == "data_batch_3"


@pytest.mark.parametrize("name", ["test_batch", "batches.meta"])
def test_corrupted_batch_file_is_a_corrupt_error(cifar_copy, name):
    path = cifar_copy / datasets.CIFAR10_FOLDER / name
    content = bytearray(path.read_bytes())
    content[len(content) // 2] ^= 0xFF
    path.write_bytes(bytes(content))
    with pytest.raises(DatasetCorruptError) as caught:
        datasets.load_cifar10(cifar_copy, train=False)
    assert caught.value.key == "datasets.corrupt"


# --- Your own images ---------------------------------------------------------------------------


def write_image_folder(root, npz, *, per_class: int) -> list[int]:
    """Write the first `per_class` images of every class as PNGs; return their npz indices in
    ImageFolder's order (class folders sorted, files sorted)."""
    names = [str(name) for name in npz["classes"]]
    order = []
    for target, name in enumerate(names):
        (root / name).mkdir(parents=True)
        for index in np.flatnonzero(npz["labels"] == target)[:per_class]:
            Image.fromarray(npz["data"][index]).save(root / name / f"{index:05d}.png")
            order.append(int(index))
    return order


@pytest.fixture(scope="module")
def folder(tmp_path_factory, npz):
    root = tmp_path_factory.mktemp("folder")
    return root, write_image_folder(root, npz, per_class=20)


def test_image_folder_browses_like_cifar(folder, npz):
    root, order = folder
    data = FolderImages(datasets.load_image_folder(root, roots=[root]))
    assert data.classes == tuple(str(name) for name in npz["classes"])
    assert datasets.class_counts(data.targets, classes=10).tolist() == [20] * 10
    for position in [0, 19, 20, 77, 199]:
        assert data.targets[position] == npz["labels"][order[position]]
        assert np.array_equal(np.asarray(data.image(position)), npz["data"][order[position]])


def test_image_folder_thumbnails_are_squares_of_one_size(folder):
    data = FolderImages(datasets.load_image_folder(folder[0], roots=[folder[0]]))
    pixels = data.pixels([0, 5])
    side = datasets.FOLDER_THUMBNAIL_SIDE
    assert pixels.shape == (2, side, side, 3)


def test_unreadable_files_are_left_out_and_counted(tmp_path):
    (tmp_path / "cats").mkdir()
    Image.new("RGB", (8, 8), (200, 0, 0)).save(tmp_path / "cats" / "good.png")
    (tmp_path / "cats" / "broken.png").write_bytes(b"\x89PNG not really")
    (tmp_path / "cats" / "empty.jpg").write_bytes(b"")
    data = FolderImages(datasets.load_image_folder(tmp_path, roots=[tmp_path]))
    assert len(data) == 1 and sorted(data.unreadable) == ["cats/broken.png", "cats/empty.jpg"]
    assert np.asarray(data.image(0))[0, 0].tolist() == [200, 0, 0]


def test_a_folder_of_only_unreadable_files_says_so(tmp_path):
    (tmp_path / "cats").mkdir()
    (tmp_path / "cats" / "broken.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(DatasetMissingError) as caught:
        datasets.load_image_folder(tmp_path, roots=[tmp_path])
    assert caught.value.key == "folders.none_readable"


def test_a_file_removed_after_loading_is_a_blank_tile_and_a_clear_error(tmp_path):
    (tmp_path / "cats").mkdir()
    Image.new("RGB", (8, 8)).save(tmp_path / "cats" / "gone.png")
    data = FolderImages(datasets.load_image_folder(tmp_path, roots=[tmp_path]))
    (tmp_path / "cats" / "gone.png").unlink()
    assert (data.pixels([0]) == 255).all()
    with pytest.raises(DatasetMissingError):
        data.image(0)


@pytest.mark.parametrize(
    ("make", "key"),
    [
        (lambda path: path / "nowhere", "datasets.folder_missing"),
        (lambda path: path, "datasets.folder_empty"),
    ],
)
def test_image_folder_errors_say_what_to_do(tmp_path, make, key):
    with pytest.raises(DatasetMissingError) as caught:
        datasets.load_image_folder(make(tmp_path), roots=[tmp_path])
    assert caught.value.key == key


# --- Browsing ----------------------------------------------------------------------------------

TARGETS = np.array([0, 1, 2, 1, 0, 1, 2, 2, 1])


@pytest.mark.parametrize(
    ("classes", "expected"),
    [([], list(range(9))), ([1], [1, 3, 5, 8]), ([0, 2], [0, 2, 4, 6, 7]), ([5], [])],
)
def test_select_keeps_the_chosen_classes_in_order(classes, expected):
    assert datasets.select(TARGETS, classes=classes).tolist() == expected


@pytest.mark.parametrize(
    ("page", "size", "expected"),
    [(0, 2, [1, 3]), (1, 2, [5, 8]), (2, 2, []), (0, 25, [1, 3, 5, 8])],
)
def test_page_of_slices_the_selection(page, size, expected):
    indices = datasets.select(TARGETS, classes=[1])
    assert datasets.page_of(indices, page=page, page_size=size).tolist() == expected


@pytest.mark.parametrize(("total", "size", "pages"), [(0, 25, 1), (25, 25, 1), (26, 25, 2)])
def test_page_count(total, size, pages):
    assert datasets.page_count(total, page_size=size) == pages


@pytest.mark.parametrize(("index", "page"), [(1, 0), (5, 1), (8, 1), (2, None)])
def test_page_containing_finds_the_page_of_an_index(index, page):
    indices = datasets.select(TARGETS, classes=[1])
    assert datasets.page_containing(indices, index, page_size=2) == page


def test_sample_is_repeatable_and_stays_in_the_selection():
    indices = datasets.select(TARGETS, classes=[0, 2])
    first = datasets.sample(indices, count=3, seed=7)
    assert first.tolist() == datasets.sample(indices, count=3, seed=7).tolist()
    assert set(first.tolist()) <= set(indices.tolist())
    assert len(set(first.tolist())) == 3
    assert len(datasets.sample(indices, count=100, seed=1)) == len(indices)


def test_cat_filter_pages_through_exactly_the_cats(cifar_test, npz):
    cats = np.flatnonzero(npz["labels"] == 3)
    indices = datasets.select(cifar_test.targets, classes=[3])
    pages = datasets.page_count(len(indices), page_size=150)
    shown = [datasets.page_of(indices, page=page, page_size=150) for page in range(pages)]
    assert np.array_equal(np.concatenate(shown), cats)
    assert pages == 7


def test_channel_stats_on_tiny_pixels():
    pixels = np.zeros((2, 1, 2, 3), dtype=np.uint8)
    pixels[0, 0, 0] = (255, 0, 51)
    stats = datasets.channel_stats(pixels)
    assert stats.mean == pytest.approx((0.25, 0.0, 0.05), abs=1e-4)
    expected_std = (np.sqrt(0.25 * 0.75), 0.0, np.sqrt(0.2**2 * 0.25 * 0.75))
    assert stats.std == pytest.approx(expected_std, abs=1e-4)  # rounded to 4 places


def test_channel_stats_reject_a_wrong_shape():
    with pytest.raises(ValueError, match="shape"):
        datasets.channel_stats(np.zeros((4, 4, 3), dtype=np.uint8))


def test_upscale_repeats_each_pixel():
    pixels = np.array([[1, 2], [3, 4]], dtype=np.uint8)
    assert datasets.upscale(pixels, factor=2).tolist() == [
        [1, 1, 2, 2],
        [1, 1, 2, 2],
        [3, 3, 4, 4],
        [3, 3, 4, 4],
    ]


# --- Downloads ---------------------------------------------------------------------------------


def tar_gz(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


class _Handler(http.server.BaseHTTPRequestHandler):
    routes: ClassVar[dict[str, tuple[bytes, int | None]]] = {}  # path -> (body, declared length)

    def do_GET(self):
        if self.path not in self.routes:
            self.send_error(404)
            return
        body, length = self.routes[self.path]
        self.send_response(200)
        self.send_header("Content-Length", str(length if length is not None else len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def http_server(routes):
    _Handler.routes = routes
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def good_archive(cifar10_root):
    folder = cifar10_root / datasets.CIFAR10_FOLDER
    return tar_gz({f"{folder.name}/{path.name}": path.read_bytes() for path in folder.iterdir()})


def md5(content: bytes) -> str:
    return hashlib.md5(content).hexdigest()


def leftovers(root) -> list[str]:
    return sorted(os.listdir(root)) if root.exists() else []


def test_download_unpacks_loads_and_reports_progress(tmp_path, good_archive):
    seen = []
    with http_server({"/c.tgz": (good_archive, None)}) as url:
        folder = datasets.download_cifar10(
            tmp_path, url=f"{url}/c.tgz", md5=md5(good_archive), progress=lambda *a: seen.append(a)
        )
    assert folder == tmp_path / datasets.CIFAR10_FOLDER
    assert seen[-1] == (len(good_archive), len(good_archive))
    assert len(datasets.load_cifar10(tmp_path, train=False)) == 10_000
    assert leftovers(tmp_path) == [datasets.CIFAR10_FOLDER, "cifar-10-python.tar.gz"]


def test_download_replaces_a_broken_folder(cifar_copy, good_archive):
    (cifar_copy / datasets.CIFAR10_FOLDER / "test_batch").write_bytes(b"broken")
    with http_server({"/c.tgz": (good_archive, None)}) as url:
        datasets.download_cifar10(cifar_copy, url=f"{url}/c.tgz", md5=md5(good_archive))
    assert len(datasets.load_cifar10(cifar_copy, train=False)) == 10_000


@pytest.mark.parametrize(
    ("route", "md5_of", "key"),
    [
        ("short", "body", "download.interrupted"),
        ("garbage", "body", "datasets.archive"),
        ("escape", "body", "datasets.archive"),
        ("empty_tar", "body", "datasets.archive"),
        ("garbage", "other", "download.checksum"),
        ("missing", "body", "download.http_status"),
    ],
)
def test_failed_download_says_why_and_leaves_nothing(tmp_path, good_archive, route, md5_of, key):
    routes = {
        "/short": (good_archive[:1000], len(good_archive)),
        "/garbage": (b"not a tar archive" * 100, None),
        "/escape": (tar_gz({"../escaped": b"x"}), None),
        "/empty_tar": (tar_gz({"readme.txt": b"hello"}), None),
    }
    body = routes.get(f"/{route}", (b"", None))[0]
    root = tmp_path / "data"
    with http_server(routes) as url, pytest.raises(DownloadError) as caught:
        datasets.download_cifar10(
            root, url=f"{url}/{route}", md5=md5(body) if md5_of == "body" else "0" * 32
        )
    assert caught.value.key == key
    # Only the archive's own problems are dataset errors; the transfer's are generic.
    assert isinstance(caught.value, DatasetDownloadError) is key.startswith("datasets.")
    assert leftovers(root) == []
    assert not (tmp_path / "escaped").exists()


def test_an_archive_placed_by_hand_is_unpacked_without_the_network(tmp_path, good_archive):
    (tmp_path / "cifar-10-python.tar.gz").write_bytes(good_archive)
    datasets.download_cifar10(
        tmp_path, url="http://nonexistent.invalid/cifar.tgz", md5=md5(good_archive)
    )
    assert len(datasets.load_cifar10(tmp_path, train=False)) == 10_000


def test_download_from_a_host_that_does_not_resolve_says_offline_and_where_to_put_it(tmp_path):
    with pytest.raises(DownloadError) as caught:
        datasets.download_cifar10(tmp_path, url="http://nonexistent.invalid/cifar.tgz")
    assert caught.value.key == "download.offline"
    assert caught.value.params["path"] == str(tmp_path / "cifar-10-python.tar.gz")
    assert leftovers(tmp_path) == []


def test_download_from_a_closed_port_says_unreachable(tmp_path):
    with http_server({}) as url:
        pass  # the server is gone: its port refuses connections
    with pytest.raises(DownloadError) as caught:
        datasets.download_cifar10(tmp_path, url=f"{url}/c.tgz")
    assert caught.value.key == "download.unreachable"
    assert leftovers(tmp_path) == []
