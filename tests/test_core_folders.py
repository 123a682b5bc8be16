"""Folders a browser user may open: only inside the roots, bounded scans, safe zips."""

from __future__ import annotations

import io
import os
import zipfile

import pytest
from PIL import Image

from core import datasets, folders


def png_bytes(color=(10, 200, 10)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), color).save(buffer, format="PNG")
    return buffer.getvalue()


def make_zip(entries: dict[str, bytes], *, compression=zipfile.ZIP_DEFLATED) -> io.BytesIO:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    buffer.seek(0)
    return buffer


def is_image(name: str) -> bool:
    return name.endswith(".png")


@pytest.fixture
def layout(tmp_path):
    """root/ (the only root) holding pets/cat/1.png; outside/ beside it holding a secret image."""
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "pets" / "cat").mkdir(parents=True)
    (root / "pets" / "cat" / "1.png").write_bytes(png_bytes())
    (outside / "secret").mkdir(parents=True)
    (outside / "secret" / "2.png").write_bytes(png_bytes())
    return root, outside


# --- Roots ------------------------------------------------------------------------------------


def test_a_relative_name_resolves_inside_the_first_root(layout):
    root, _ = layout
    assert folders.resolve_inside("pets", roots=[root]) == (root / "pets").resolve()


@pytest.mark.parametrize(
    "typed",
    ["/", "/proc/self", "/etc", "..", "../outside", "pets/../../outside", "pets\x00"],
)
def test_paths_outside_the_roots_are_refused(layout, typed):
    root, _ = layout
    with pytest.raises(folders.FolderAccessError) as caught:
        folders.resolve_inside(typed, roots=[root])
    assert caught.value.key == "folders.outside"


def test_an_absolute_path_outside_is_refused_and_not_listed(layout):
    root, outside = layout
    with pytest.raises(folders.FolderAccessError):
        datasets.load_image_folder(outside, roots=[root])


def test_a_symlink_out_of_the_root_is_refused(layout):
    root, outside = layout
    (root / "escape").symlink_to(outside)
    with pytest.raises(folders.FolderAccessError):
        folders.resolve_inside("escape", roots=[root])


def test_links_inside_a_folder_are_not_followed(layout):
    root, outside = layout
    pets = root / "pets"
    (pets / "secret").symlink_to(outside / "secret")  # a class folder that is a link
    (pets / "cat" / "linked.png").symlink_to(outside / "secret" / "2.png")
    (pets / "cat" / "loop").symlink_to(pets)  # a loop
    data = datasets.load_image_folder(pets, roots=[root])
    assert data.classes == ["cat"]
    assert [os.path.basename(path) for path, _ in data.samples] == ["1.png"]


def test_fifos_are_skipped_not_read(layout):
    root, _ = layout
    os.mkfifo(root / "pets" / "cat" / "pipe.png")
    data = datasets.load_image_folder(root / "pets", roots=[root])
    assert len(data) == 1 and data.unreadable == ()


# --- Bounded scans ----------------------------------------------------------------------------


def test_a_scan_past_its_entry_bound_stops_with_a_message(layout):
    root, _ = layout
    for index in range(30):
        (root / "pets" / "cat" / f"{index}.png").write_bytes(b"")
    with pytest.raises(folders.FolderScanError) as caught:
        datasets.load_image_folder(
            root / "pets", roots=[root], limits=folders.ScanLimits(entries=20)
        )
    assert caught.value.key == "folders.too_many_entries"


def test_a_scan_too_deep_stops_with_a_message(layout):
    root, _ = layout
    deep = root / "pets" / "cat" / "a" / "b" / "c"
    deep.mkdir(parents=True)
    (deep / "x.png").write_bytes(png_bytes())
    with pytest.raises(folders.FolderScanError) as caught:
        datasets.load_image_folder(root / "pets", roots=[root], limits=folders.ScanLimits(depth=2))
    assert caught.value.key == "folders.too_deep"


def test_a_scan_past_its_time_stops_with_a_message(layout):
    root, _ = layout
    with pytest.raises(folders.FolderScanError) as caught:
        datasets.load_image_folder(
            root / "pets", roots=[root], limits=folders.ScanLimits(seconds=-1.0)
        )
    assert caught.value.key == "folders.too_slow"


def test_a_folder_over_the_image_limit_stops_with_a_message(layout):
    root, _ = layout
    for index in range(5):
        (root / "pets" / "cat" / f"{index}x.png").write_bytes(png_bytes())
    with pytest.raises(folders.FolderScanError) as caught:
        datasets.load_image_folder(root / "pets", roots=[root], limits=folders.ScanLimits(images=3))
    assert caught.value.key == "folders.too_many_images"


# --- Uploaded zips ----------------------------------------------------------------------------


def test_a_zip_of_a_folder_extracts_its_images_only(tmp_path):
    upload = make_zip(
        {"pets/cat/1.png": png_bytes(), "pets/dog/2.png": png_bytes(), "pets/notes.txt": b"hi"}
    )
    root = folders.extract_zip(upload, into=tmp_path, keep=is_image)
    assert root.name == "pets" and root.is_relative_to(tmp_path)
    data = datasets.load_image_folder(root, roots=[tmp_path])
    assert data.classes == ["cat", "dog"] and len(data) == 2
    assert not (root / "notes.txt").exists()


@pytest.mark.parametrize(
    "name", ["../evil.png", "pets/../../evil.png", "/tmp/evil.png", "C:/evil.png", "a\\..\\b.png"]
)
def test_a_zip_with_unsafe_names_is_refused_and_writes_nothing(tmp_path, name):
    into = tmp_path / "session"
    into.mkdir()
    upload = make_zip({"pets/cat/1.png": png_bytes(), name: png_bytes()})
    with pytest.raises(folders.ZipRefusedError) as caught:
        folders.extract_zip(upload, into=into, keep=is_image)
    assert caught.value.key == "folders.zip_unsafe"
    assert sorted(path.name for path in tmp_path.rglob("*")) == ["session"]


def test_a_zip_bomb_is_refused_and_leaves_nothing(tmp_path):
    into = tmp_path / "session"
    into.mkdir()
    upload = make_zip({"pets/cat/zeros.png": bytes(2_000_000)})
    assert len(upload.getvalue()) < 20_000  # 2 MB of zeros squeezed into a few KB
    with pytest.raises(folders.ZipRefusedError) as caught:
        folders.extract_zip(
            upload, into=into, keep=is_image, limits=folders.ZipLimits(uncompressed=1_000_000)
        )
    assert caught.value.key == "folders.zip_bomb"
    assert list(tmp_path.rglob("*")) == [into]


@pytest.mark.parametrize(
    ("limits", "key"),
    [
        (folders.ZipLimits(bytes=100), "folders.zip_too_large"),
        (folders.ZipLimits(entries=1), "folders.zip_too_many"),
    ],
)
def test_zips_past_their_bounds_are_refused(tmp_path, limits, key):
    upload = make_zip({"pets/cat/1.png": png_bytes(), "pets/cat/2.png": png_bytes()})
    with pytest.raises(folders.ZipRefusedError) as caught:
        folders.extract_zip(upload, into=tmp_path, keep=is_image, limits=limits)
    assert caught.value.key == key
    assert list(tmp_path.iterdir()) == []


def test_not_a_zip_is_refused(tmp_path):
    with pytest.raises(folders.ZipRefusedError) as caught:
        folders.extract_zip(io.BytesIO(b"PK but not really"), into=tmp_path, keep=is_image)
    assert caught.value.key == "folders.zip_bad"


def test_unnamed_roots_are_allowed_but_not_named(layout, tmp_path):
    root, outside = layout
    assert folders.resolve_inside(outside, roots=[root], unnamed=[outside]) == outside.resolve()
    with pytest.raises(folders.FolderAccessError) as caught:
        folders.resolve_inside("/etc", roots=[root], unnamed=[outside])
    assert str(outside) not in str(caught.value) and str(root) in str(caught.value)


def test_the_folder_prints_as_torchvisions_image_folder(layout):
    root, _ = layout
    assert repr(datasets.load_image_folder(root / "pets", roots=[root])).startswith(
        "Dataset ImageFolder"
    )
