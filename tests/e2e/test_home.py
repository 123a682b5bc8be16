"""The frame in a real browser: the language switch changes the text and the URL keeps it."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.conftest import serve, wait_for_app


def test_language_switch_keeps_the_choice_in_the_url(page, app_url):
    page.goto(app_url)
    wait_for_app(page)
    page.get_by_text("Learn PyTorch by touching it").wait_for()
    page.locator("[data-testid=stSidebar] label").filter(has_text="简体中文").click()
    page.get_by_text("动手学 PyTorch").wait_for()
    page.wait_for_function("() => location.search.includes('lang=zh')")


def test_a_shared_link_opens_in_its_language(page, app_url):
    page.goto(f"{app_url}/?lang=zh")
    wait_for_app(page)
    page.get_by_text("加载数据").first.wait_for()


def test_a_deep_link_to_a_fresh_server_keeps_the_frame(page, tmp_path):
    # The first request this server sees is a page's own URL, not the root.
    with serve(tmp_path) as url:
        page.goto(f"{url}/datasets?lang=zh")
        page.locator("[data-testid=stSidebar]").get_by_text("Language / 语言").wait_for()
        page.locator("[data-testid=stSidebar]").get_by_text("数据变换工作室").wait_for()


def test_a_language_switch_relabels_the_chosen_option(page, app_url):
    page.goto(f"{app_url}/transforms?lang=en")
    wait_for_app(page)
    page.get_by_role("combobox", name="Photo").click()
    page.get_by_role("option", name="Rocket launch").click()
    expect(page.get_by_role("combobox", name="Photo")).to_have_value(
        "Rocket launch", timeout=60_000
    )
    page.locator("[data-testid=stSidebar] label").filter(has_text="简体中文").click()
    expect(page.get_by_role("combobox", name="照片")).to_have_value("火箭发射", timeout=60_000)
    expect(page.get_by_role("radio", name="示例照片")).to_be_checked()
