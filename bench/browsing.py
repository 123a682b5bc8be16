"""Serving this app and the Gradio peer, and driving them in headless Chromium (for
bench/browser.py and bench/load.py)."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import os
import pathlib
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator

from PIL import Image

from bench.common import free_port, streamlit_command

ROOT = pathlib.Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"]
TIMEOUT_MS = 180_000
OURS, PEER = "ours", "gradio"


def stop_cleanly_on_sigterm() -> None:
    """Turn SIGTERM (e.g. from `timeout`) into SystemExit, so that servers are stopped."""
    signal.signal(signal.SIGTERM, lambda number, frame: sys.exit(128 + number))


@dataclasses.dataclass
class Server:
    name: str  # OURS or PEER
    url: str
    process: subprocess.Popen
    launched: float  # time.perf_counter() at launch


def command(name: str, port: int) -> list[str]:
    if name == OURS:
        return streamlit_command(port)
    return [sys.executable, "bench/gradio_peer.py", f"--port={port}"]


@contextlib.contextmanager
def serve(name: str) -> Iterator[Server]:
    """Launch this app or the peer on a free port; stop it (its whole process group) after."""
    port = free_port()
    log_path = pathlib.Path(tempfile.gettempdir()) / f"bench-{name}-{port}.log"
    launched = time.perf_counter()
    with open(log_path, "w") as log:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen(
            command(name, port),
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=os.environ | {"GRADIO_ANALYTICS_ENABLED": "False"},
            start_new_session=True,
        )
    try:
        yield Server(name, f"http://127.0.0.1:{port}", process, launched)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def wait_until_up(server: Server, *, timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            urllib.request.urlopen(server.url, timeout=2)
            return
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.name} exited with {server.process.returncode}")
        time.sleep(0.1)
    raise TimeoutError(f"{server.name} did not answer within {timeout_s} s")


def rss_mb(server: Server) -> float:
    """Resident memory of the server process (MB), from /proc."""
    for line in pathlib.Path(f"/proc/{server.process.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def photo_files(folder: pathlib.Path) -> dict[str, pathlib.Path]:
    """The bench photos: coffee.png as shipped and a 12-megapixel JPEG made from it."""
    coffee = ROOT / "assets" / "samples" / "coffee.png"
    large = folder / "coffee-12mp.jpg"
    if not large.exists():
        buffer = io.BytesIO()
        Image.open(coffee).convert("RGB").resize((4000, 3000), Image.Resampling.BICUBIC).save(
            buffer, format="JPEG", quality=90
        )
        large.write_bytes(buffer.getvalue())
    return {"12-MP JPEG": large, "coffee.png (600×400)": coffee}


def launch_browser(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def niced_chromium(folder: pathlib.Path) -> str:
    """A Chromium launcher at the lowest CPU priority (every tab process inherits it).

    Learners' browsers run on their own machines; here they share the server's two cores, and
    twenty tabs drawing at once take over 90% of the CPU (bench/load.py prints the split).
    Niced, they still draw every page, but the server's threads go first, as on a real host."""
    launcher = folder / "chromium-niced"
    launcher.write_text(f'#!/bin/sh\nexec nice -n 19 {CHROMIUM} "$@"\n')
    launcher.chmod(0o755)
    return str(launcher)


def open_page(browser, server: Server):
    """A fresh browser session on the app's upload screen, ready for a file."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    if server.name == OURS:
        page.goto(f"{server.url}/classify")
        main = page.locator("[data-testid=stMain]")
        main.locator("label").filter(has_text="Upload").first.click()
        page.locator("[data-testid=stFileUploader] input[type=file]").wait_for(state="attached")
    else:
        page.goto(server.url)
        page.locator("input[type=file]").first.wait_for(state="attached")
    return context, page


def upload(page, server: Server, path: pathlib.Path) -> tuple[float, float, str]:
    """Upload `path`; return seconds until the top-5 is visible and until the page is done,
    and the top-1 label shown."""
    start = time.perf_counter()
    if server.name == OURS:
        page.locator("[data-testid=stFileUploader] input[type=file]").set_input_files(str(path))
        verdict = page.locator("[data-testid=stMain] h3").filter(has_text="It looks like")
        page.locator("[data-testid=stMain] .st-key-classify_top_k .top-k").wait_for(state="visible")
        verdict.first.wait_for(state="visible")
        shown = time.perf_counter() - start
        page.wait_for_function(
            "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')",
            timeout=TIMEOUT_MS,
        )
        done = time.perf_counter() - start
        text = verdict.first.inner_text()
        label = text.removeprefix("It looks like").split("(")[0].strip(" :.")
    else:
        page.locator("input[type=file]").first.set_input_files(str(path))
        page.get_by_role("button", name="Submit").click()
        output = page.locator("[data-testid=label-output-value]")
        output.wait_for(state="visible")
        shown = done = time.perf_counter() - start
        label = output.inner_text().strip()
    return shown, done, label


def first_answer(browser, server: Server, path: pathlib.Path) -> tuple[float, str]:
    """Cold start: seconds from the server's launch to the first top-5 in the browser."""
    wait_until_up(server)
    context, page = open_page(browser, server)
    try:
        upload(page, server, path)
        return time.perf_counter() - server.launched, server.name
    finally:
        context.close()
