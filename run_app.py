"""Start Torch Playground: `python run_app.py [streamlit options]`.

The same as `streamlit run streamlit_app.py [options]`, except that torch and the Classify
page's default model load in a background thread as soon as the server listens, while the
browser fetches the page. `streamlit run` imports nothing of the app until the first visitor's
script runs, so the first visitor waited for every import and the model load after the page
opened (bench/browser.py, cold start).
"""

from __future__ import annotations

import contextlib
import pathlib
import socket
import sys
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parent


def wait_for_the_server(timeout_s: float = 60) -> None:
    """Return once the server accepts connections: importing torch holds the GIL for seconds,
    and started any earlier it would hold back the server the browser is waiting for."""
    from streamlit import config

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, RuntimeError):
            address = config.get_option("server.address") or "127.0.0.1"
            with socket.create_connection((address, config.get_option("server.port")), 0.2):
                return
        time.sleep(0.05)


def warm_up() -> None:
    """Load the default model into the process-wide cache the Classify page reads."""
    wait_for_the_server()
    started = time.perf_counter()
    from core.models import DEFAULT_MODEL
    from ui.models import inference_worker

    try:
        inference_worker(DEFAULT_MODEL)
    except Exception as error:  # noqa: BLE001 - the page loads it again and shows its message
        print(f"Torch Playground: {DEFAULT_MODEL} not preloaded ({error})", flush=True)
        return
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
