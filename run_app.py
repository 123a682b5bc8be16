"""Start Torch Playground: `python run_app.py [streamlit options]`.

The same as `streamlit run streamlit_app.py [options]`, except that torch and the Classify
page's default model load in a background thread while the server starts and the browser
fetches the page: `streamlit run` imports nothing of the app until the first visitor's script
runs, so the first visitor waited for every import and the model load after the page opened
(bench/browser.py, cold start).
"""

from __future__ import annotations

import pathlib
import sys
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parent


def warm_up() -> None:
    """Load the default model into the process-wide cache the Classify page reads."""
    started = time.perf_counter()
    from core.models import DEFAULT_MODEL
    from ui.models import inference_worker

    inference_worker(DEFAULT_MODEL)
    seconds = time.perf_counter() - started
    print(f"Torch Playground: {DEFAULT_MODEL} ready, loaded in {seconds:.1f} s", flush=True)


def main() -> None:
    sys.path.insert(0, str(ROOT))
    threading.Thread(target=warm_up, name="warm-up", daemon=True).start()
    from streamlit.web import cli

    sys.argv = ["streamlit", "run", str(ROOT / "streamlit_app.py"), *sys.argv[1:]]
    cli.main()


if __name__ == "__main__":
    main()
