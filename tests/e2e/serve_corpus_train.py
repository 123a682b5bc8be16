"""Run the app with the test corpus's CIFAR-10 as its data, for the Train page's browser test.

torchvision checks each CIFAR-10 batch's MD5; the corpus layout has its own files, so this
launcher writes them into $TORCH_PLAYGROUND_DATA, makes CIFAR10 expect their checksums in this
process, and runs Streamlit here. Usage: python tests/e2e/serve_corpus_train.py [streamlit args]
"""

from __future__ import annotations

import os
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from streamlit.web import cli  # noqa: E402

from tests import corpus  # noqa: E402


def main() -> None:
    data = pathlib.Path(os.environ["TORCH_PLAYGROUND_DATA"])
    md5s = corpus.write_cifar_batches(data)
    with corpus.cifar_checksums(md5s):
        sys.argv = ["streamlit", "run", str(ROOT / "streamlit_app.py"), *sys.argv[1:]]
        cli.main()


if __name__ == "__main__":
    main()
