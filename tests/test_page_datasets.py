"""The Datasets page on the real CIFAR-10 test split: overview, filters, paging, detail, own
folders, and every failure shown as a clear message (never a traceback)."""

from __future__ import annotations

import re
import shutil

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core import datasets
from tests import corpus
from tests.test_app import APP, TIMEOUT_S
from tests.test_core_datasets import http_server, write_image_folder


@pytest.fixture(scope="module")
def npz():
    return corpus.load_cifar_npz()


@pytest.fixture(scope="module")
def names(npz):
    return [str(name) for name in npz["classes"]]


def open_page(data_dir, *, lang: str = "en") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    at.session_state["data_dir"] = str(data_dir)
    at.query_params["lang"] = lang
    at.run()
    at.switch_page("pages/datasets.py")
    at.run()
    assert not at.exception, [str(error.value) for error in at.exception]
    return at


def grid(at: AppTest) -> tuple[list[int], list[str]]:
    """The indices and labels the grid shows, in order."""
    body = at.html[0].proto.body
    indices = [int(index) for index in re.findall(r'data-index="(\d+)"', body)]
    labels = re.findall(r'<span class="label">([^<]*)</span>', body)
    return indices, labels


def test_overview_shows_what_torchvision_prints(cifar10_root):
    at = open_page(cifar10_root)
    dataset = datasets.load_cifar10(cifar10_root, train=False)
    assert at.code[0].value == repr(dataset)
    metrics = {metric.label: metric.value for metric in at.metric}
    assert metrics["len(dataset)"] == "10,000"
    assert "`(10000, 32, 32, 3)`" in " ".join(markdown.value for markdown in at.markdown)
    table = at.dataframe[0].value
    assert table["class_to_idx"].tolist() == list(range(10))
    assert table.iloc[:, 2].tolist() == [1000] * 10
    assert f"`{dataset.targets[:10]}`" in " ".join(markdown.value for markdown in at.markdown)


def test_first_page_shows_the_npz_labels(cifar10_root, npz, names):
    at = open_page(cifar10_root)
    indices, labels = grid(at)
    assert indices == list(range(100))
    assert labels == [names[label] for label in npz["labels"][:100]]


def test_filter_to_cats_pages_through_exactly_the_cats(cifar10_root, npz, names):
    at = open_page(cifar10_root)
    at.multiselect(key="datasets_classes").set_value([3]).run()
    at.select_slider(key="datasets_page_size").set_value(25).run()
    at.number_input(key="datasets_page").set_value(3).run()
    cats = np.flatnonzero(npz["labels"] == 3)
    indices, labels = grid(at)
    assert indices == cats[50:75].tolist()
    assert set(labels) == {"cat"}
    assert "cat (1,000)" in at.multiselect(key="datasets_classes").options


def test_two_classes_and_the_last_page(cifar10_root, npz):
    at = open_page(cifar10_root)
    at.multiselect(key="datasets_classes").set_value([0, 9]).run()
    at.select_slider(key="datasets_page_size").set_value(150).run()
    at.number_input(key="datasets_page").set_value(14).run()
    chosen = np.flatnonzero(np.isin(npz["labels"], [0, 9]))
    assert grid(at)[0] == chosen[13 * 150 :].tolist()
    assert len(grid(at)[0]) == 50


def test_random_sample_is_the_seeded_choice(cifar10_root, npz, names):
    at = open_page(cifar10_root)
    at.segmented_control(key="datasets_order").set_value("random").run()
    at.number_input(key="datasets_seed").set_value(7).run()
    indices, labels = grid(at)
    expected = datasets.sample(np.arange(10_000), count=100, seed=7)
    assert indices == expected.tolist()
    assert labels == [names[label] for label in npz["labels"][expected]]


def test_detail_shows_the_sample_its_label_and_channels(cifar10_root, npz, names):
    at = open_page(cifar10_root)
    at.number_input(key="datasets_index").set_value(4321).run()
    label = names[npz["labels"][4321]]
    metrics = {metric.label: metric.value for metric in at.metric}
    assert metrics["Index"] == "4321"
    assert metrics["Label"] == label
    assert metrics[f"class_to_idx[{label!r}]"] == str(npz["labels"][4321])
    assert len(at.image) == 4  # the enlarged sample and its three channels
    stats = at.dataframe[2].value
    pixels = npz["data"][4321].reshape(-1, 3) / 255.0
    assert stats["mean"].tolist() == pytest.approx(pixels.mean(axis=0).tolist(), abs=1e-3)


def test_jump_to_an_index_opens_the_page_that_holds_it(cifar10_root, npz):
    at = open_page(cifar10_root)
    at.multiselect(key="datasets_classes").set_value([3]).run()
    at.select_slider(key="datasets_page_size").set_value(25).run()
    cat = int(np.flatnonzero(npz["labels"] == 3)[60])
    at.number_input(key="datasets_index").set_value(cat).run()
    assert at.number_input(key="datasets_page").value == 3
    assert cat in grid(at)[0]


def test_train_split_browses_its_five_batches(cifar10_root, npz, names):
    at = open_page(cifar10_root)
    at.segmented_control(key="datasets_split").set_value("train").run()
    at.number_input(key="datasets_page").set_value(21).run()
    indices, labels = grid(at)
    assert indices == list(range(2000, 2100))
    assert labels == [names[label] for label in npz["labels"][2000:2100]]


def test_an_image_folder_browses_the_same(cifar10_root, tmp_path, npz, names):
    order = write_image_folder(tmp_path, npz, per_class=20)
    at = open_page(cifar10_root)
    at.segmented_control(key="datasets_source").set_value("folder").run()
    assert at.info  # asks for a folder first
    at.text_input(key="datasets_folder").set_value(str(tmp_path)).run()
    assert not at.exception
    indices, labels = grid(at)
    assert indices == list(range(100))
    assert labels == [names[npz["labels"][order[position]]] for position in indices]
    at.multiselect(key="datasets_classes").set_value([3]).run()
    assert grid(at) == (list(range(60, 80)), ["cat"] * 20)
    metrics = {metric.label: metric.value for metric in at.metric}
    assert metrics["len(dataset)"] == "200"


@pytest.fixture
def broken_root(cifar10_root, tmp_path):
    shutil.copytree(cifar10_root / datasets.CIFAR10_FOLDER, tmp_path / datasets.CIFAR10_FOLDER)
    return tmp_path


def test_missing_batch_file_is_a_clear_message(broken_root):
    (broken_root / datasets.CIFAR10_FOLDER / "data_batch_2").unlink()
    at = open_page(broken_root)
    assert "data_batch_2" in at.error[0].value
    assert at.button(key="datasets_download")


def test_corrupted_batch_file_is_a_clear_message(broken_root):
    (broken_root / datasets.CIFAR10_FOLDER / "test_batch").write_bytes(b"\x80\x02 truncated")
    at = open_page(broken_root, lang="zh")
    assert "已损坏" in at.error[0].value


def test_missing_dataset_offers_the_download(tmp_path):
    at = open_page(tmp_path / "empty")
    assert not at.error
    assert "CIFAR-10" in at.info[0].value
    assert "163 MB" in at.button(key="datasets_download").label


@pytest.mark.parametrize(
    ("lang", "expected"), [("en", "seems to be offline"), ("zh", "似乎没有联网")]
)
def test_download_from_an_unresolvable_host_says_offline(tmp_path, monkeypatch, lang, expected):
    monkeypatch.setattr(datasets, "CIFAR10_URL", "http://nonexistent.invalid/cifar.tar.gz")
    at = open_page(tmp_path, lang=lang)
    at.button(key="datasets_download").click().run()
    assert not at.exception
    assert expected in at.error[0].value
    assert list(tmp_path.iterdir()) == []


def test_download_of_a_short_archive_says_it_stopped_early(tmp_path, monkeypatch):
    with http_server({"/c.tgz": (b"\x1f\x8b" + b"0" * 100, 10_000)}) as url:
        monkeypatch.setattr(datasets, "CIFAR10_URL", f"{url}/c.tgz")
        at = open_page(tmp_path)
        at.button(key="datasets_download").click().run()
    assert not at.exception
    assert "stopped early" in at.error[0].value
    assert list(tmp_path.iterdir()) == []


def test_a_folder_that_is_not_there_is_a_clear_message(cifar10_root, tmp_path):
    at = open_page(cifar10_root)
    at.segmented_control(key="datasets_source").set_value("folder").run()
    at.text_input(key="datasets_folder").set_value(str(tmp_path / "nowhere")).run()
    assert not at.exception
    assert "is not a folder" in at.error[0].value


def test_download_button_fetches_unpacks_and_shows_the_dataset(cifar10_root, tmp_path, monkeypatch):
    from torchvision.datasets import CIFAR10

    from tests.test_core_datasets import md5, tar_gz

    folder = cifar10_root / datasets.CIFAR10_FOLDER
    archive = tar_gz({f"{folder.name}/{path.name}": path.read_bytes() for path in folder.iterdir()})
    monkeypatch.setattr(CIFAR10, "tgz_md5", md5(archive))
    with http_server({"/c.tgz": (archive, None)}) as url:
        monkeypatch.setattr(datasets, "CIFAR10_URL", f"{url}/c.tgz")
        at = open_page(tmp_path)
        at.button(key="datasets_download").click().run()
    assert not at.exception
    assert not at.error
    assert (tmp_path / datasets.CIFAR10_FOLDER / "test_batch").is_file()
    assert {metric.label: metric.value for metric in at.metric}["len(dataset)"] == "10,000"


def test_data_directory_field_switches_the_dataset(cifar10_root, tmp_path):
    at = open_page(cifar10_root)
    at.text_input(key="datasets_data_dir").set_value(str(tmp_path)).run()
    assert at.session_state["data_dir"] == str(tmp_path)
    assert str(tmp_path) in at.info[0].value
    at.text_input(key="datasets_data_dir").set_value(str(cifar10_root)).run()
    assert len(grid(at)[0]) == 100
