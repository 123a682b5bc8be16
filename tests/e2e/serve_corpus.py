"""Run the app with torchvision's CIFAR-10 checksums swapped for those of the corpus layout.

The browser tests' server is a separate process, so the fixture's in-process patch does not
reach it. Usage: TORCH_PLAYGROUND_TEST_MD5S=md5s.json python tests/e2e/serve_corpus.py [streamlit
options]; the JSON maps each file of `cifar-10-batches-py` to its MD5. For tests only.
"""

from __future__ import annotations

import json
import os
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT))

from streamlit.web import cli  # noqa: E402

from tests import corpus  # noqa: E402

MD5S_VARIABLE = "TORCH_PLAYGROUND_TEST_MD5S"


def main() -> None:
    md5s = json.loads(pathlib.Path(os.environ[MD5S_VARIABLE]).read_text())
    with corpus.cifar_checksums(md5s):
        sys.argv = ["streamlit", "run", str(ROOT / "streamlit_app.py"), *sys.argv[1:]]
        cli.main()


if __name__ == "__main__":
    main()
