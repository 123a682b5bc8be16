"""The tensor playground in a real browser: a slice control changes the highlighted cells."""

from __future__ import annotations

from tests.e2e.conftest import wait_for_app

HIGHLIGHTED = """() => {
    const table = document.querySelector("[data-testid='stTable'] table");
    if (!table) return -1;
    return [...table.querySelectorAll("td")].filter(
        (cell) => getComputedStyle(cell).backgroundColor === "rgb(255, 213, 79)"
    ).length;
}"""


def test_slice_control_changes_the_highlighted_cells(page, app_url):
    page.goto(f"{app_url}/tensors")
    wait_for_app(page)
    page.get_by_text("Index and slice").wait_for()
    # The default index [1:, ::2] of a 3×4 tensor selects 2 rows × 2 columns.
    page.wait_for_function(f"() => ({HIGHLIGHTED})() === 4")
    wait_for_app(page)  # a value typed while the script still runs can be redrawn away
    start = page.get_by_role("spinbutton", name="start").first  # dim 0
    start.fill("0")
    start.press("Enter")
    # [0:, ::2] selects every row: 3 × 2 cells, and the expression follows the control.
    page.wait_for_function(f"() => ({HIGHLIGHTED})() === 6")
    page.get_by_text("shape (3, 2)").wait_for()
    assert page.get_by_role("textbox", name="Index expression").input_value() == "[0:, ::2]"
    page.wait_for_function("() => new URLSearchParams(location.search).get('t_i') === '[0:, ::2]'")


def test_a_typed_expression_highlights_its_cells(page, app_url):
    page.goto(f"{app_url}/tensors?t_i=%5Bt%20%3E%209%5D")
    wait_for_app(page)
    page.wait_for_function(f"() => ({HIGHLIGHTED})() === 2")  # 10 and 11
    page.get_by_text("A copy: the result has its own storage").wait_for()
