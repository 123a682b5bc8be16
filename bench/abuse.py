"""Issue 15's hostile requests against one real server: CPU seconds and RSS growth per attempt.

Starts `streamlit run` on a free loopback port (its folder root a temporary folder holding a
symbolic-link loop, a FIFO and a folder with bad images), drives it with headless Chromium
(URL parameters, typed widgets, zip uploads) and reads the server's own CPU time and RSS from
/proc after each attempt. Every attempt must stay within BUDGET_CPU_S and BUDGET_RSS_MB; the
ratio column compares each attempt's CPU with a plain load of the same page (the baseline,
measured first in the same run). Then 100 mixed requests: RSS must plateau (the growth over the
last 50 stays under PLATEAU_MB).

    python bench/abuse.py                  # Linux (reads /proc), needs chromium and playwright
    python bench/abuse.py --plateau-only   # only the 100 mixed requests
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import pathlib
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
import zipfile

from PIL import Image

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
from bench.common import free_port, streamlit_command

ROOT = pathlib.Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
BUDGET_CPU_S = 5.0
BUDGET_RSS_MB = 500.0
PLATEAU_MB = 100.0
MIXED_REQUESTS = 100
ATTEMPT_TIMEOUT_MS = 90_000
PLATEAU_ONLY = "--plateau-only" in sys.argv  # skip the single attempts, run the 100 requests
TICKS = os.sysconf("SC_CLK_TCK")


# --- the server and its process figures --------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def rss_mb(pid: int) -> float:
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class PeakRss:
    """Samples the server's RSS every 50 ms while an attempt runs."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self._stop = pid, rss_mb(pid), threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.05):
            with contextlib.suppress(OSError):
                self.peak = max(self.peak, rss_mb(self.pid))

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@contextlib.contextmanager
def server(folder_root: pathlib.Path, log: pathlib.Path):
    port = free_port()
    env = {**os.environ, "TORCH_PLAYGROUND_FOLDER_ROOTS": str(folder_root)}
    command = streamlit_command(port)
    with open(log, "w") as output:
        process = subprocess.Popen(
            command, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT, env=env
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            with contextlib.suppress(OSError):
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).status == 200:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"streamlit did not start; see {log}")
            time.sleep(0.5)
        yield process.pid, url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- what the attempts send -----------------------------------------------------------------------


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (200, 20, 20)).save(buffer, format="PNG")
    return buffer.getvalue()


def zip_bytes(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def lying_zip() -> bytes:
    """A small zip whose central directory claims 4 GB: a zip bomb as the checks see it."""
    data = bytearray(zip_bytes({"pets/cat/1.png": png_bytes()}))
    struct.pack_into("<I", data, data.find(b"PK\x01\x02") + 24, 0xFFFF_FFF0)
    return bytes(data)


def real_bomb() -> bytes:
    """600 MB of zeros in about 600 KB: over the 512 MB unpacked limit."""
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive,
        archive.open("pets/cat/zeros.png", "w", force_zip64=True) as entry,
    ):
        block = bytes(1 << 20)
        for _ in range(600):
            entry.write(block)
    return buffer.getvalue()


def make_root(base: pathlib.Path) -> pathlib.Path:
    """The server's only folder root: a symlink loop, a FIFO and a folder with bad images."""
    root = base / "root"
    (root / "loop" / "cat").mkdir(parents=True)
    (root / "loop" / "cat" / "again").symlink_to(root / "loop")
    (root / "loop" / "cat" / "up").symlink_to("/")
    (root / "fifo" / "cat").mkdir(parents=True)
    os.mkfifo(root / "fifo" / "cat" / "pipe.png")
    (root / "fifo" / "cat" / "1.png").write_bytes(png_bytes())
    (root / "bad" / "cat").mkdir(parents=True)
    (root / "bad" / "cat" / "1.png").write_bytes(png_bytes())
    (root / "bad" / "cat" / "empty.png").write_bytes(b"")
    (root / "bad" / "cat" / "corrupt.jpg").write_bytes(b"\xff\xd8\xff truncated")
    return root


def pipeline(steps: list[dict]) -> str:
    return json.dumps(steps, separators=(",", ":"))


ROTATE = {"name": "RandomRotation", "params": {"degrees": [45, 45], "expand": True}}
TRANSFORMS_LINKS = {
    "RandomRotation expand ×10": pipeline([ROTATE] * 10),
    "RandomRotation expand ×11": pipeline([ROTATE] * 11),
    "Resize interpolation=[]": pipeline([{"name": "Resize", "params": {"interpolation": []}}]),
    "Resize interpolation={}": pipeline([{"name": "Resize", "params": {"interpolation": {}}}]),
    "JSON 5,000 deep": "[" * 5000 + "]" * 5000,
}
TENSORS_LINKS = {
    "tensor_split 3×4 into 1,000,000": {
        "t_v": "split",
        "t_s": "3, 4",
        "t_op": "tensor_split",
        "t_args": "1000000",
    },
    "split 1,000,000 elements by 1": {
        "t_v": "split",
        "t_s": "1000000",
        "t_op": "split",
        "t_args": "1",
    },
    "broadcast 1000×1 with 1000": {"t_v": "broadcast", "t_s": "1000, 1", "t_u_s": "1000"},
}
FOLDERS_TYPED = {
    "folder /": "/",
    "folder ../../": "../../",
    "folder /proc/self": "/proc/self",
    "folder /usr/share/icons": "/usr/share/icons",
    "folder with a symlink loop": "loop",
    "folder with a FIFO": "fifo",
    "folder with bad images": "bad",
}


# --- driving the browser -----------------------------------------------------------------------


def settled(page) -> None:
    """Wait until Streamlit has drawn the page and its script run has finished."""
    page.wait_for_selector("[data-testid='stMain'] h1", timeout=ATTEMPT_TIMEOUT_MS)
    page.wait_for_timeout(300)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')",
        timeout=ATTEMPT_TIMEOUT_MS,
    )


def open_link(page, url: str, path: str, params: dict[str, str]) -> None:
    page.goto(f"{url}/{path}?{urllib.parse.urlencode({'lang': 'en', **params})}")
    settled(page)


def folder_source(page, url: str) -> None:
    open_link(page, url, "datasets", {})
    page.locator(".st-key-datasets_source button", has_text="Your own images").click()
    settled(page)


def type_folder(page, url: str, typed: str) -> None:
    folder_source(page, url)
    field = page.locator(".st-key-datasets_folder input")
    field.fill(typed)
    field.press("Enter")
    settled(page)


def upload(page, url: str, data: bytes) -> None:
    folder_source(page, url)
    page.locator(".st-key-datasets_zip input[type=file]").set_input_files(
        {"name": "pets.zip", "mimeType": "application/zip", "buffer": data}
    )
    page.wait_for_timeout(500)
    settled(page)


SETTLED = ", ".join(
    [
        "[data-testid='stAlertContentError']",
        "[data-testid='stAlertContentWarning']",
        "[data-testid='stException']",
        ".dataset-grid",
        "[data-testid='stCode']",  # a page that ran to its end (tensors, transforms)
    ]
)


def outcome(page) -> str:
    """What the page said, once it shows an error, a warning, a traceback or a grid."""
    page.wait_for_selector(SETTLED, state="attached", timeout=ATTEMPT_TIMEOUT_MS)
    settled(page)
    texts = page.locator("[data-testid='stAlertContentError']").all_inner_texts()
    if page.locator("[data-testid='stException']").count():
        return "TRACEBACK"
    warnings = page.locator("[data-testid='stAlertContentWarning']").all_inner_texts()
    shown = (texts or warnings or ["(page drawn, no message)"])[0].replace("\n", " ")
    return shown[:70]


def measure(pid: int, page, action) -> tuple[float, float, str]:
    from playwright.sync_api import Error as PlaywrightError

    before_cpu, before_rss = cpu_seconds(pid), rss_mb(pid)
    with PeakRss(pid) as peak:
        try:
            action()
            said = outcome(page)
        except PlaywrightError as error:  # a timeout is a finding: report it, keep going
            said = f"FAILED: {type(error).__name__}"
    return cpu_seconds(pid) - before_cpu, peak.peak - before_rss, said


def mixed_requests(page, url: str, pid: int) -> list[float]:
    """MIXED_REQUESTS requests in one session: typed folders (one rerun each), and every tenth a
    hostile transforms or tensors link; the server's RSS after every ten."""
    typed = list(FOLDERS_TYPED.values())
    links = [("transforms", {"tf_pipeline": text}) for text in TRANSFORMS_LINKS.values()]
    links += [("tensors", params) for params in TENSORS_LINKS.values()]
    folder_source(page, url)
    samples = []
    for index in range(MIXED_REQUESTS):
        if index % 10 == 9:
            path, params = links[(index // 10) % len(links)]
            open_link(page, url, path, params)
            folder_source(page, url)
        else:
            field = page.locator(".st-key-datasets_folder input")
            field.fill(typed[index % len(typed)])
            field.press("Enter")
            page.wait_for_timeout(300)
            outcome(page)
        if index % 10 == 9:
            samples.append(rss_mb(pid))
            print(f"  after {index + 1} mixed requests: RSS {samples[-1]:.0f} MB")
    return samples


def main() -> int:
    from playwright.sync_api import sync_playwright

    sys.stdout.reconfigure(line_buffering=True)  # progress shows as it comes, even in a log
    results = []
    with tempfile.TemporaryDirectory() as base_text:
        base = pathlib.Path(base_text)
        root = make_root(base)
        bomb = real_bomb()
        attempts = [
            *(
                (name, lambda t=typed: type_folder(page, url, t))
                for name, typed in FOLDERS_TYPED.items()
            ),
            (
                "zip with ../ names",
                lambda: upload(page, url, zip_bytes({"../../evil.png": png_bytes()})),
            ),
            ("zip claiming 4 GB", lambda: upload(page, url, lying_zip())),
            ("zip of 600 MB zeros", lambda: upload(page, url, bomb)),
            *(
                (name, lambda j=text: open_link(page, url, "transforms", {"tf_pipeline": j}))
                for name, text in TRANSFORMS_LINKS.items()
            ),
            *(
                (name, lambda p=params: open_link(page, url, "tensors", p))
                for name, params in TENSORS_LINKS.items()
            ),
        ]
        with server(root, base / "server.log") as (pid, url), sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
            )
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            for path in ("datasets", "transforms", "tensors"):  # warm-up: imports, caches
                open_link(page, url, path, {})
            baselines = {
                path: measure(pid, page, lambda p=path: open_link(page, url, p, {}))[0]
                for path in ("datasets", "transforms", "tensors")
            }
            print(
                f"server pid {pid}, RSS after warm-up {rss_mb(pid):.0f} MB; baseline CPU "
                + ", ".join(f"{path} {cpu:.2f} s" for path, cpu in baselines.items())
            )
            print(f"budget per attempt: {BUDGET_CPU_S:g} s CPU, +{BUDGET_RSS_MB:g} MB RSS\n")
            print(f"{'attempt':36} {'CPU s':>6} {'×base':>6} {'+RSS MB':>8}  ok  message")
            for name, action in [] if PLATEAU_ONLY else attempts:
                cpu, rss, said = measure(pid, page, action)
                base_cpu = baselines[
                    "datasets"
                    if "zip" in name or "folder" in name
                    else "tensors"
                    if name in TENSORS_LINKS
                    else "transforms"
                ]
                ok = (
                    cpu <= BUDGET_CPU_S
                    and rss <= BUDGET_RSS_MB
                    and not said.startswith(("TRACEBACK", "FAILED"))
                )
                results.append(ok)
                ratio = cpu / base_cpu if base_cpu > 0 else float("nan")
                verdict = "yes" if ok else "NO "
                print(f"{name:36} {cpu:6.2f} {ratio:6.1f} {rss:8.0f}  {verdict} {said}")
            temp = pathlib.Path(tempfile.gettempdir())
            evil = [*temp.glob("evil.png"), *temp.glob("torch-playground-session-*/evil.png")]
            print(f"\nfiles written outside the session folder by the ../ zip: {len(evil)}")
            results.append(not evil)

            samples = mixed_requests(page, url, pid)
            browser.close()
        growth = samples[-1] - samples[len(samples) // 2 - 1]
        print(
            f"RSS every 10 of {MIXED_REQUESTS} mixed requests (MB): "
            + " ".join(f"{value:.0f}" for value in samples)
        )
        print(
            f"growth over the last {MIXED_REQUESTS // 2}: {growth:+.0f} MB "
            f"(plateau if under {PLATEAU_MB:g} MB)"
        )
        results.append(growth < PLATEAU_MB)
    print("\nall within budget" if all(results) else "\nSOME ATTEMPTS OVER BUDGET")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
