"""This app vs a plain Gradio `gr.Interface` (bench/gradio_peer.py, same model and
preprocessing), served side by side and driven by headless Chromium.

    python bench/browser.py [--rounds 5] [--cold-rounds 1]

For each photo (a 12-megapixel JPEG and coffee.png), in interleaved rounds, a fresh browser
session uploads it to each app: seconds until the top-5 is visible and until the page is done
(Streamlit's running indicator gone; Gradio is done when its label shows). Then cold start:
process launch -> first top-5 in the browser, for each app in turn. Prints medians and the
ratios ours / Gradio (goals: top-5 <= 0.5x, page done <= 1.0x, cold start <= 0.8x).
"""

from __future__ import annotations

import pathlib
import statistics
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

from playwright.sync_api import sync_playwright

from bench import browsing
from bench.common import arguments

APPS = (browsing.OURS, browsing.PEER)


def warm(browser, servers: dict[str, browsing.Server], photos, *, rounds: int) -> None:
    for server in servers.values():  # first request of each server: model load, lazy imports
        browsing.wait_until_up(server)
        context, page = browsing.open_page(browser, server)
        browsing.upload(page, server, next(iter(photos.values())))
        context.close()
    for title, path in photos.items():
        shown: dict[str, list[float]] = {name: [] for name in APPS}
        done: dict[str, list[float]] = {name: [] for name in APPS}
        labels: dict[str, set[str]] = {name: set() for name in APPS}
        for _ in range(rounds):
            for name in APPS:
                context, page = browsing.open_page(browser, servers[name])
                top5, finished, label = browsing.upload(page, servers[name], path)
                context.close()
                shown[name].append(top5)
                done[name].append(finished)
                labels[name].add(label)
        top5 = {name: statistics.median(values) * 1000 for name, values in shown.items()}
        page_done = {name: statistics.median(values) * 1000 for name, values in done.items()}
        print(f"{title}, median of {rounds} interleaved rounds (top-1 shown: {labels}):")
        print(
            f"  upload -> top-5 visible: ours {top5['ours']:6.0f} ms, Gradio "
            f"{top5['gradio']:6.0f} ms -> {top5['ours'] / top5['gradio']:.2f}x (goal <= 0.5x)"
        )
        print(
            f"  upload -> page done:     ours {page_done['ours']:6.0f} ms, Gradio "
            f"{page_done['gradio']:6.0f} ms -> {page_done['ours'] / page_done['gradio']:.2f}x "
            "(goal <= 1.0x)"
        )


def cold(browser, photo: pathlib.Path, *, rounds: int) -> None:
    seconds: dict[str, list[float]] = {name: [] for name in APPS}
    for _ in range(rounds):
        for name in APPS:
            with browsing.serve(name) as server:
                elapsed, _ = browsing.first_answer(browser, server, photo)
                seconds[name].append(elapsed)
    ours, peer = (statistics.median(seconds[name]) for name in APPS)
    print(
        f"cold start, launch -> first top-5 in the browser, median of {rounds}: ours {ours:.1f} s, "
        f"Gradio {peer:.1f} s -> {ours / peer:.2f}x (goal <= 0.8x)"
    )


def main() -> None:
    parser = arguments(__doc__.splitlines()[0], rounds=5)
    parser.add_argument("--cold-rounds", type=int, default=1, help="cold starts per app")
    options = parser.parse_args()
    browsing.stop_cleanly_on_sigterm()
    photos = browsing.photo_files(pathlib.Path(tempfile.gettempdir()))
    with sync_playwright() as playwright:
        browser = browsing.launch_browser(playwright)
        try:
            with browsing.serve(browsing.OURS) as ours, browsing.serve(browsing.PEER) as peer:
                warm(
                    browser,
                    {browsing.OURS: ours, browsing.PEER: peer},
                    photos,
                    rounds=options.rounds,
                )
            if options.cold_rounds:
                cold(browser, photos["coffee.png (600×400)"], rounds=options.cold_rounds)
        finally:
            browser.close()


if __name__ == "__main__":
    main()
