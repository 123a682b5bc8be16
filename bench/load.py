"""Many learners at once: N concurrent Chromium sessions on the Classify page of one server.

    python bench/load.py [--sessions 20] [--sequential 60] [--browsers-niced]

The sessions open the page a few at a time, then each uploads a different photo (the bundled
samples and the corpus's photos, mirrored and not) at the same moment. Prints errors, top-1
agreement with the sequential result (this process classifies each photo alone first), seconds
until the top-5 is shown and until the page is done (p50/p95/max). To tell the server's share
from the browsers' (the tabs draw on this machine's cores too): the time inside predict() the
page reports, when the server's message with the top-5 reached the browser, and the CPU seconds
of the server against the whole machine; --browsers-niced runs the tabs at the lowest CPU
priority. Then the server's RSS before and after, and `--sequential` sessions one after
another with the server's RSS every 10 (memory must plateau).
Goals: 0 errors, every top-1 equal, top-5 shown p95 <= 3 s.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import pathlib
import re
import statistics
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

from PIL import Image, ImageOps
from playwright.async_api import async_playwright

from bench import browsing
from core import models, samples
from core.images import decode_image

CORPUS = browsing.ROOT.parent / "shared" / "test-corpus" / "pillow-images"
RUNNING = "[data-testid=stStatusWidget]"  # Streamlit's running indicator
OPENING_AT_ONCE = 4  # pages loading the Streamlit bundle at the same time
TOP_K_MARK = b'class="top-k"'  # in the server's message that draws the top-5 bars
CORPUS_PHOTOS = ("hopper.jpg", "flower.jpg", "flower2.jpg", "hopper.png", "flower.webp")


def photo_set(folder: pathlib.Path, count: int) -> list[pathlib.Path]:
    """`count` different photo files: each source as is and mirrored, as JPEG."""
    sources = [samples.sample_path(name) for name in samples.SAMPLES]
    sources += [CORPUS / name for name in CORPUS_PHOTOS if (CORPUS / name).exists()]
    files = []
    for number in range(count):
        source = sources[number % len(sources)]
        image = Image.open(source).convert("RGB")
        if (number // len(sources)) % 2:
            image = ImageOps.mirror(image)
        path = folder / f"load-{number:02d}-{source.stem}.jpg"
        image.save(path, quality=92)
        files.append(path)
    return files


def sequential_top1(files: list[pathlib.Path]) -> list[str]:
    model = models.load(models.DEFAULT_MODEL)
    side = model.record.preprocessing.resize_size
    return [
        models.predict(decode_image(path.read_bytes(), min_side=side), model=model)
        .predictions[0]
        .label
        for path in files
    ]


async def session(
    browser,
    url: str,
    path: pathlib.Path,
    ready: list[bool],
    start_line: asyncio.Event,
    opening: asyncio.Semaphore,
) -> dict:
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    page = await context.new_page()
    page.set_default_timeout(browsing.TIMEOUT_MS)
    main = page.locator("[data-testid=stMain]")
    uploader = page.locator("[data-testid=stFileUploader] input[type=file]")
    try:
        async with opening:  # learners arrive over time; they upload at the same moment
            await page.goto(f"{url}/classify", wait_until="commit")
            await main.locator("h1").first.wait_for()  # the first run drew the page
            await page.wait_for_function(f"() => !document.querySelector('{RUNNING}')")
            await main.locator("label").filter(has_text="Upload").first.click()
            await uploader.wait_for(state="attached")
        # When the server's message holding the top-5 reaches the browser's network stack:
        # the server's answer time, apart from how long this machine takes to draw 20 tabs.
        delivered: list[float] = []
        cdp = await context.new_cdp_session(page)
        await cdp.send("Network.enable")

        def on_frame(event: dict) -> None:
            payload = event["response"]["payloadData"]
            if not delivered and TOP_K_MARK in base64.b64decode(payload + "==", validate=False):
                delivered.append(time.perf_counter())

        cdp.on("Network.webSocketFrameReceived", on_frame)
        ready.append(True)
        await start_line.wait()
        start = time.perf_counter()
        await uploader.set_input_files(str(path))
        verdict = main.locator("h3").filter(has_text="It looks like").first
        await verdict.wait_for(state="visible")
        shown = time.perf_counter() - start
        await page.wait_for_function(f"() => !document.querySelector('{RUNNING}')")
        done = time.perf_counter() - start
        label = (await verdict.inner_text()).removeprefix("It looks like").split("(")[0]
        timing = await main.get_by_text("Inference took").first.inner_text()
        inference_ms = float(re.search(r"took (\d+) ms", timing).group(1))
        failed = await page.locator("[data-testid=stException]").count()
        return {
            "delivered": delivered[0] - start if delivered else float("nan"),
            "shown": shown,
            "done": done,
            "inference": inference_ms / 1000,
            "label": label.strip(" :."),
            "error": failed > 0,
        }
    except Exception as error:  # noqa: BLE001 - a failed session is counted, not fatal
        return {"error": True, "reason": repr(error)[:200]}
    finally:
        await context.close()


async def wave(
    browser, url: str, files: list[pathlib.Path], *, server_pid: int, usage: dict | None = None
) -> list[dict]:
    """One session per file; all upload at the same moment, once every page is drawn.
    `usage` receives the CPU seconds the server and the machine used from then until the
    last session was done."""
    usage = {} if usage is None else usage
    ready: list[bool] = []
    start_line = asyncio.Event()
    opening = asyncio.Semaphore(OPENING_AT_ONCE)
    tasks = [
        asyncio.create_task(session(browser, url, path, ready, start_line, opening))
        for path in files
    ]
    deadline = time.monotonic() + 600
    while len(ready) + sum(task.done() for task in tasks) < len(tasks):
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(0.05)
    before = cpu_seconds(server_pid)
    start_line.set()
    results = await asyncio.gather(*tasks)
    after = cpu_seconds(server_pid)
    usage.update(server=after[0] - before[0], machine=after[1] - before[1])
    return results


def cpu_seconds(pid: int) -> tuple[float, float]:
    """CPU seconds used so far by process `pid`, and by the whole machine (from /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    process = (int(fields[11]) + int(fields[12])) / ticks  # utime + stime
    cpu = pathlib.Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    busy = sum(int(value) for value in cpu) - int(cpu[3]) - int(cpu[4])  # minus idle, iowait
    return process, busy / ticks


def quantiles(values: list[float]) -> str:
    values = sorted(values)
    p95 = values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]
    return f"p50 {statistics.median(values):.2f} s, p95 {p95:.2f} s, max {values[-1]:.2f} s"


async def run(options) -> None:
    folder = pathlib.Path(tempfile.mkdtemp(prefix="bench-load-"))
    files = photo_set(folder, options.sessions)
    expected = sequential_top1(files)
    async with async_playwright() as playwright:
        chromium = browsing.niced_chromium(folder) if options.browsers_niced else browsing.CHROMIUM
        browser = await playwright.chromium.launch(
            executable_path=chromium, args=browsing.CHROMIUM_ARGS
        )
        print(
            "browsers at the lowest priority (nice 19): the server's threads go first"
            if options.browsers_niced
            else "browsers at normal priority, competing with the server for the CPU"
        )
        with browsing.serve(browsing.OURS) as server:
            browsing.wait_until_up(server)
            pid = server.process.pid
            await wave(browser, server.url, files[:1], server_pid=pid)  # warm: model, runtime
            before = browsing.rss_mb(server)
            usage: dict[str, float] = {}
            results = await wave(browser, server.url, files, server_pid=pid, usage=usage)
            after = browsing.rss_mb(server)
            errors = [result for result in results if result["error"]]
            good = [result for result in results if not result["error"]]
            agree = sum(
                result.get("label") == label
                for result, label in zip(results, expected, strict=True)
            )
            print(f"{options.sessions} concurrent sessions on one server:")
            print(f"  errors: {len(errors)} {[e.get('reason') for e in errors][:3]}")
            print(f"  top-1 equal to the sequential result: {agree}/{len(results)}")
            if good:
                print(f"  in predict():  {quantiles([r['inference'] for r in good])} (page)")
                print(f"  top-5 sent:    {quantiles([r['delivered'] for r in good])} (server)")
                print(f"  top-5 shown:   {quantiles([r['shown'] for r in good])} (goal p95 <= 3 s)")
                print(f"  page complete: {quantiles([r['done'] for r in good])}")
            print(f"  server RSS: {before:.0f} MB before, {after:.0f} MB after")
            print(
                f"  CPU from the uploads to the last page done: server {usage['server']:.1f} s, "
                f"whole machine {usage['machine']:.1f} s (the rest: the {options.sessions} "
                "browser tabs, which real learners run on their own machines)"
            )
            if options.sequential:
                print(f"{options.sequential} sequential sessions, server RSS every 10:")
                readings = []
                for number in range(options.sequential):
                    await wave(browser, server.url, [files[number % len(files)]], server_pid=pid)
                    if (number + 1) % 10 == 0:
                        readings.append(browsing.rss_mb(server))
                        print(f"  after {number + 1:3d}: {readings[-1]:.0f} MB")
                if len(readings) >= 2:
                    growth = (readings[-1] - readings[0]) / (10 * (len(readings) - 1))
                    print(f"  growth after the first 10: {growth:.2f} MB per session")
        await browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--sequential", type=int, default=60)
    parser.add_argument(
        "--browsers-niced",
        action="store_true",
        help="run the browser tabs at the lowest CPU priority, so the server's threads go first",
    )
    browsing.stop_cleanly_on_sigterm()
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
