"""Chinese text is Chinese: an entry may equal its English one only when it is a name."""

from __future__ import annotations

import re

from ui.i18n import catalog

# Names and code that read the same in both languages.
SAME_IN_BOTH = {
    "app.title",
    "home.torch_version",
    "home.torchvision_version",
    "classify.download_progress",
    "classify.unknown",
    "datasets.source_cifar10",
    "transforms.source_cifar10",
    "train.source_cifar10",
    "train.optimizer_adam",
    "train.wrong_caption",
    "train.download_torchscript",
    "train.download_onnx",
    "tensors.meta_stride",
    "tensors.meta_offset",
    "tensors.meta_contiguous",
    "tensors.meta_numel",
    "tensors.none",
    "why.onnx",
    "serve.curl_tab",
    "serve.ddp_model_name",
    "deploy.format_torchscript",
    "deploy.format_onnx",
    "deploy.format_hub",
}


def test_chinese_entries_without_chinese_are_names_only():
    english, chinese = catalog("en"), catalog("zh")
    # "arange + reshape" and "One-cycle" were shown untranslated: any entry with an English
    # word and no Chinese character must be a known name.
    untranslated = [
        key
        for key, text in chinese.items()
        if re.search(r"[A-Za-z]{3,}", text)
        and not re.search(r"[\u4e00-\u9fff]", text)
        and key not in SAME_IN_BOTH
        and text == english[key]
    ]
    assert not untranslated, untranslated


def test_the_reported_entries_are_translated():
    chinese = catalog("zh")
    for key in ("tensors.factory_arange", "train.schedule_onecycle", "tensors.factory_linspace"):
        assert re.search(r"[\u4e00-\u9fff]", chinese[key]), key
