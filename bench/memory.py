"""Memory of one app process with CIFAR-10 browsed (training and test split) and a training run
started, driven through the real pages with AppTest, in a fresh interpreter.

Baseline, measured in the same process: the resident memory once the app has drawn its home
page. Reported: what browsing and training add on top, as a ratio to the raw pixel bytes of the
two splits (1.0x would be each image held exactly once), and whether the Train page's images
share the Datasets page's cached arrays (one cache, one layout) or copy them.

The corpus's training split holds 10,000 images, not 50,000: on the real dataset the second
copy this measures would be 150 MB for the training split alone.

Run: python bench/memory.py
"""

from __future__ import annotations

import logging
import pathlib
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from streamlit.testing.v1 import AppTest  # noqa: E402

from tests import corpus  # noqa: E402

MIB = 2**20
RUN_WAIT_S = 120


def rss_bytes() -> int:
    """This process's resident set size (Linux: /proc/self/status)."""
    for line in pathlib.Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def main() -> None:
    logging.getLogger("streamlit").setLevel(logging.ERROR)
    from ui import training as runs
    from ui.datasets import cifar10

    with tempfile.TemporaryDirectory() as folder:
        md5s = corpus.write_cifar_batches(pathlib.Path(folder))
        with corpus.cifar_checksums(md5s):
            at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=300)
            at.query_params["lang"] = "en"
            at.run()
            at.session_state["data_dir"] = folder
            baseline = rss_bytes()

            at.switch_page("pages/datasets.py").run()
            for split in ("train", "test"):
                at.segmented_control(key="datasets_split").set_value(split).run()
            browsed = rss_bytes()

            at.switch_page("pages/train.py").run()
            at.number_input(key="train_subset").set_value(500).run()
            at.number_input(key="train_epochs").set_value(1).run()
            at.button(key="train_start").click().run()
            deadline = time.monotonic() + RUN_WAIT_S
            while at.session_state[runs.RUN_KEY].active and time.monotonic() < deadline:
                time.sleep(0.5)
                at.run()
            trained = rss_bytes()
            assert not at.exception, [str(error.value) for error in at.exception]

            raw = sum(cifar10(folder, train).data.nbytes for train in (True, False))
            dataset = cifar10(folder, True).data
            images = runs.cifar_images(folder, True).images
            shared = images.untyped_storage().data_ptr() == dataset.ctypes.data

    print(f"baseline (home page drawn):            {baseline / MIB:8.1f} MiB")
    print(f"raw pixels, train + test splits:       {raw / MIB:8.1f} MiB")
    print(f"+ Datasets page, both splits browsed:  {(browsed - baseline) / MIB:8.1f} MiB")
    print(f"+ Train page, a run started:           {(trained - browsed) / MIB:8.1f} MiB")
    print(f"growth over baseline / raw pixels:     {(trained - baseline) / raw:8.2f}x")
    print(f"Train page's images share the Datasets cache: {shared}")


if __name__ == "__main__":
    main()
