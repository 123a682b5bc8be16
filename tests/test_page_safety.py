"""Issue 15's hostile inputs, each driven through AppTest as a browser user would send it (URL
parameters, widgets, uploads): a clear message every time, never an exception element, and no
server path outside the configured roots listed or shown."""

from __future__ import annotations

import gc
import io
import json
import pathlib
import struct
import zipfile

import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from core import config
from tests.test_app import APP, TIMEOUT_S, run_page
from tests.test_page_tensors import open_with_link as open_tensors_with_link
from ui import state


def png_bytes(color=(200, 20, 20)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), color).save(buffer, format="PNG")
    return buffer.getvalue()


def zip_bytes(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def errors_of(at: AppTest) -> list[str]:
    assert not at.exception, [str(error.value) for error in at.exception]
    return [error.value for error in at.error]


@pytest.fixture
def roots(tmp_path, monkeypatch):
    """The server's only folder root (root/) and a folder beside it that must stay unreachable."""
    root, outside = tmp_path / "root", tmp_path / "outside"
    for folder, color in [(root / "pets" / "cat", (200, 20, 20)), (outside / "secret", (1, 2, 3))]:
        folder.mkdir(parents=True)
        (folder / "1.png").write_bytes(png_bytes(color))
    monkeypatch.setattr(config, "FOLDER_ROOTS", (root,))
    return root, outside


def datasets_folder_page() -> AppTest:
    at = run_page("datasets")
    at.segmented_control(key="datasets_source").set_value("folder").run()
    return at


def grid_shown(at: AppTest) -> bool:
    """Whether the Datasets grid (a clickable component holding the tiles' HTML) is drawn."""
    bodies = [json.loads(grid.proto.json) for grid in at.get("bidi_component")]
    return any('class="dataset-grid"' in body for body in bodies)


# --- The filesystem: only the roots -------------------------------------------------------------


@pytest.mark.parametrize("typed", ["/", "../../", "/proc/self", "/usr/share/icons", "OUTSIDE"])
def test_datasets_page_opens_no_folder_outside_the_roots(roots, typed):
    _, outside = roots
    typed = str(outside) if typed == "OUTSIDE" else typed
    at = datasets_folder_page()
    at.text_input(key="datasets_folder").set_value(typed).run()
    errors = errors_of(at)
    assert any("outside the folders this server opens" in error for error in errors)
    assert not any("torch-playground-session" in error for error in errors)  # not named
    assert not grid_shown(at)


def test_a_symlink_out_of_the_root_is_not_followed(roots):
    root, outside = roots
    (root / "escape").symlink_to(outside)
    at = datasets_folder_page()
    at.text_input(key="datasets_folder").set_value("escape").run()
    assert errors_of(at) and not grid_shown(at)


def test_a_folder_inside_the_root_browses_and_bad_files_are_counted(roots):
    root, _ = roots
    (root / "pets" / "cat" / "empty.png").write_bytes(b"")
    (root / "pets" / "cat" / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    (root / "pets" / "dog").mkdir()
    (root / "pets" / "dog" / "2.png").write_bytes(png_bytes((20, 20, 200)))
    at = datasets_folder_page()
    at.text_input(key="datasets_folder").set_value("pets").run()
    assert errors_of(at) == []
    assert any("2 files could not be read" in warning.value for warning in at.warning)
    assert grid_shown(at)


def test_train_page_opens_no_folder_outside_the_roots_and_counts_bad_files(roots):
    root, outside = roots
    (root / "pets" / "cat" / "empty.png").write_bytes(b"")
    (root / "pets" / "dog").mkdir()
    for index in range(4):
        (root / "pets" / "dog" / f"{index}.png").write_bytes(png_bytes((20, 20, 200)))
        (root / "pets" / "cat" / f"{index}b.png").write_bytes(png_bytes())
    at = run_page("train")
    at.radio(key="train_source").set_value("folder").run()
    at.text_input(key="train_folder").set_value(str(outside)).run()
    assert any("outside the folders" in error for error in errors_of(at))
    at.text_input(key="train_folder").set_value("pets").run()
    assert errors_of(at) == []
    assert any("1 files could not be read" in warning.value for warning in at.warning)


def test_the_data_directory_field_is_hidden_by_default():
    assert not config.DATA_DIR_FIELD
    at = run_page("datasets")
    assert not any(field.key == "datasets_data_dir" for field in at.text_input)


# --- Uploaded zips ------------------------------------------------------------------------------


def upload_zip(at: AppTest, data: bytes) -> AppTest:
    at.file_uploader(key="datasets_zip").set_value(("pets.zip", data, "application/zip"))
    return at.run()


def test_an_uploaded_zip_is_browsed_from_the_sessions_temporary_folder(roots):
    at = datasets_folder_page()
    upload_zip(at, zip_bytes({"pets/cat/1.png": png_bytes(), "pets/dog/2.png": png_bytes()}))
    assert errors_of(at) == []
    assert grid_shown(at)
    assert {metric.label: metric.value for metric in at.metric}["len(dataset)"] == "2"


def test_the_sessions_upload_folder_is_removed_with_the_session(roots):
    at = datasets_folder_page()
    upload_zip(at, zip_bytes({"pets/cat/1.png": png_bytes(), "pets/dog/2.png": png_bytes()}))
    folder = pathlib.Path(at.session_state[state.UPLOADS].folder.name)
    assert any(folder.rglob("*.png"))
    del at
    gc.collect()
    assert not folder.exists()


def test_a_zip_with_dotdot_names_is_refused_and_writes_nothing_outside(roots, tmp_path):
    before = sorted(tmp_path.rglob("*"))
    at = datasets_folder_page()
    upload_zip(at, zip_bytes({"pets/cat/1.png": png_bytes(), "../../evil.png": png_bytes()}))
    assert any("unsafe entry" in error for error in errors_of(at))
    assert sorted(tmp_path.rglob("*")) == before
    assert not list(tmp_path.parent.glob("evil.png"))
    assert not grid_shown(at)


def test_a_zip_bomb_is_refused(roots):
    data = bytearray(zip_bytes({"pets/cat/1.png": png_bytes()}))
    central = data.find(b"PK\x01\x02")  # claim 4 GB uncompressed in the central directory
    struct.pack_into("<I", data, central + 24, 0xFFFF_FFF0)
    at = datasets_folder_page()
    upload_zip(at, bytes(data))
    assert any("would unpack to more than" in error for error in errors_of(at))


def test_a_file_that_is_not_a_zip_is_refused(roots):
    at = datasets_folder_page()
    upload_zip(at, b"PK\x03\x04 not a zip at all")
    assert any("not a zip file" in error for error in errors_of(at))


# --- Transforms pipeline from the URL -----------------------------------------------------------


def open_transforms_with(pipeline: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    at.query_params["lang"] = "en"
    at.query_params["tf_pipeline"] = pipeline
    at.run()
    at.switch_page("pages/transforms.py")
    return at.run()


@pytest.mark.parametrize("value", [[], {}])
def test_unhashable_interpolation_is_a_clear_message(value):
    pipeline = json.dumps([{"name": "Resize", "params": {"interpolation": value}}])
    at = open_transforms_with(pipeline)
    assert any("interpolation must be one of" in error for error in errors_of(at))


def test_json_nested_5000_deep_is_a_clear_message():
    at = open_transforms_with("[" * 5000 + "]" * 5000)
    assert any("nested more than" in error for error in errors_of(at))


def test_rotation_with_expand_ten_times_is_refused_before_running():
    step = {"name": "RandomRotation", "params": {"degrees": [45, 45], "expand": True}}
    at = open_transforms_with(json.dumps([step] * 10))
    assert any("could make a" in error and "pixels" in error for error in errors_of(at))


# --- Tensors: pieces counted before cutting -----------------------------------------------------


@pytest.mark.parametrize(
    "link",
    [
        {"t_v": "split", "t_s": "3, 4", "t_op": "tensor_split", "t_args": "1000000"},
        {"t_v": "split", "t_s": "1000000", "t_op": "split", "t_args": "1"},
    ],
)
def test_a_cut_into_a_million_pieces_is_refused(link):
    at = open_tensors_with_link(**link)
    assert any("1,000,000 pieces; the limit is" in error for error in errors_of(at))


def test_broadcasting_past_the_element_limit_is_refused():
    at = open_tensors_with_link(t_v="broadcast", t_s="2000, 1", t_u_s="1000")
    assert any("limit is 1,000,000" in error for error in errors_of(at))
