"""Browser tests: `streamlit run` on a free port, driven by headless Chromium via Playwright."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pathlib
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator

import pytest

from tests.corpus import ROOT
from tests.e2e.serve_corpus import MD5S_VARIABLE

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-sync",
    "--disable-background-networking",
    "--disable-component-update",
]
STARTUP_TIMEOUT_S = 120


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/e2e/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.e2e)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def serve(
    log_dir: pathlib.Path, *, entry: list[str] | None = None, env: dict[str, str] | None = None
) -> Iterator[str]:
    """Start the app (or `entry`, a command that ends with streamlit's arguments) and yield its
    URL once its health check answers; stop it afterwards."""
    port = _free_port()
    command = entry or [sys.executable, "-m", "streamlit", "run", "streamlit_app.py"]
    command = [
        *command,
        "--server.headless=true",
        f"--server.port={port}",
        "--server.address=127.0.0.1",
        "--browser.gatherUsageStats=false",
    ]
    log_path = log_dir / f"streamlit-{port}.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            with contextlib.suppress(OSError):
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).status == 200:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"streamlit did not start:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="session")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serve(tmp_path_factory.mktemp("server")) as url:
        yield url


@pytest.fixture(scope="session")
def corpus_app_url(tmp_path_factory, cifar10_root) -> Iterator[str]:
    """The app served with the corpus's CIFAR-10 as its data. The server is another process, so
    the launcher makes torchvision expect the corpus files' checksums there too."""
    folder = cifar10_root / "cifar-10-batches-py"
    md5s = {path.name: hashlib.md5(path.read_bytes()).hexdigest() for path in folder.iterdir()}
    md5s_path = tmp_path_factory.mktemp("md5s") / "md5s.json"
    md5s_path.write_text(json.dumps(md5s))
    env = {"TORCH_PLAYGROUND_DATA": str(cifar10_root), MD5S_VARIABLE: str(md5s_path)}
    entry = [sys.executable, str(ROOT / "tests" / "e2e" / "serve_corpus.py")]
    with serve(tmp_path_factory.mktemp("corpus-server"), entry=entry, env=env) as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    if not shutil.which(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
        pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    yield page
    context.close()


def wait_for_app(page) -> None:
    """Wait until Streamlit has drawn the page and finished running the script."""
    page.wait_for_selector("[data-testid='stMain'] h1", timeout=120_000)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=120_000
    )
