"""The Classify page in a real browser: upload the coffee photo, read the answer, switch to 中文."""

from __future__ import annotations

from tests.corpus import SAMPLES
from tests.e2e.conftest import wait_for_app


def test_upload_a_photo_and_read_the_answer_in_both_languages(page, app_url):
    # Open the app's root first: Streamlit 1.67 serves a fresh server's first deep link from
    # pages/ directly, before streamlit_app.py has registered st.navigation.
    page.goto(app_url)
    wait_for_app(page)
    page.goto(f"{app_url}/classify")
    wait_for_app(page)
    main = page.locator("[data-testid=stMain]")
    main.locator("label").filter(has_text="Upload").first.click()
    page.locator("[data-testid=stFileUploader] input[type=file]").set_input_files(
        str(SAMPLES / "coffee.png")
    )
    main.get_by_text("espresso").first.wait_for(timeout=120_000)
    main.get_by_text("It looks like").wait_for()

    page.locator("[data-testid=stSidebar] label").filter(has_text="简体中文").click()
    main.get_by_text("看起来是").wait_for(timeout=120_000)
    main.get_by_text("网络如何看你的照片").wait_for()
    page.wait_for_function("() => location.search.includes('lang=zh')")
