"""Search-as-you-type filter forms in a real browser (desktop, 1366 px): /stock, /price-lists,
/certificates and /admin/skus.

Each form asks for its results itself (htmx on the form: `input` from its search box, debounced;
`change` from its select or checkbox; `submit`) and swaps #results in place. It must listen only to
its own fields: the trigger used to say `from:input`, i.e. every input on the page, so typing into
any other field of the page reloaded the results. To show that, every page gets an extra input
outside the form, added before htmx starts (an init script), as another form or widget would be.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from playwright.sync_api import Page, Request, expect

from tests.browser.conftest import DESKTOP, DemoAccount, OpenPage

pytestmark = pytest.mark.browser

# A debounced request (300 ms) has long gone out by then.
QUIET_MS = 1500

# Adds <input id="outside-filter"> at the end of <body> before htmx processes the page (the init
# script's DOMContentLoaded listener runs before htmx's own).
OUTSIDE_INPUT = """
document.addEventListener("DOMContentLoaded", () => {
  const input = document.createElement("input");
  input.id = "outside-filter";
  input.type = "text";
  input.setAttribute("aria-label", "Not part of the filter form");
  document.body.append(input);
});
"""

# (page, demo login that sees it)
FILTER_PAGES = [
    ("/stock", "buyer"),
    ("/price-lists", "buyer"),
    ("/certificates", "buyer"),
    ("/admin/skus", "admin"),
]


def log_in(page: Page, account: DemoAccount) -> None:
    page.goto("/login")
    page.locator("#email").press_sequentially(account.email)
    page.locator("#password").press_sequentially(account.password)
    page.locator("form[action='/login'] button[type=submit]").click()
    expect(page.get_by_test_id("current-user")).to_contain_text(account.full_name)


def open_filter_page(open_page: OpenPage, accounts: dict[str, DemoAccount], path: str, login: str) -> Page:
    page = open_page(DESKTOP)
    page.context.add_init_script(OUTSIDE_INPUT)
    log_in(page, accounts[login])
    page.goto(path)
    expect(page.locator("#results")).to_be_attached()
    expect(page.locator("#outside-filter")).to_be_visible()
    return page


@contextmanager
def results_requests(page: Page, path: str) -> Iterator[list[str]]:
    """The URLs of the htmx GETs of `path` the page sends meanwhile."""
    seen: list[str] = []

    def on_request(request: Request) -> None:
        bare = request.url.split("?", 1)[0]
        if request.method == "GET" and bare.endswith(path) and request.headers.get("hx-request"):
            seen.append(request.url)

    page.on("request", on_request)
    try:
        yield seen
    finally:
        page.remove_listener("request", on_request)


def mark_results(page: Page) -> None:
    """Remember the current #results element: a swap replaces it."""
    page.evaluate("() => { window.__oldResults = document.getElementById('results'); }")


def results_were_swapped(page: Page) -> bool:
    swapped: bool = page.evaluate(
        "() => document.getElementById('results') !== null"
        " && document.getElementById('results') !== window.__oldResults"
    )
    return swapped


def type_in_search(page: Page, path: str, text: str) -> None:
    """Type `text` into the form's search box and wait for the filtered results to be swapped in."""
    mark_results(page)
    with page.expect_response(lambda r: r.url.split("?", 1)[0].endswith(path) and "q=" in r.url) as answer:
        page.locator("form.filters #q").press_sequentially(text)
    assert answer.value.ok and answer.value.request.headers.get("hx-request") == "true"
    expect(page.locator("form.filters #q")).to_have_value(text)
    page.wait_for_function("() => document.getElementById('results') !== window.__oldResults")


def test_typing_in_the_stock_search_shows_only_the_matching_sku(
    open_page: OpenPage, demo_accounts: dict[str, DemoAccount]
) -> None:
    page = open_filter_page(open_page, demo_accounts, "/stock", "buyer")
    sku_cells = page.locator("#results tr[id^='stock-'] td:nth-child(2)")
    before = set(sku_cells.all_inner_texts())
    assert len(before) > 1 and "DAI-003" in before, before  # the demo stock: many SKUs, this one too

    type_in_search(page, "/stock", "DAI-003")

    assert results_were_swapped(page)
    expect(sku_cells.first).to_have_text("DAI-003")
    assert set(sku_cells.all_inner_texts()) == {"DAI-003"}
    expect(page).to_have_url("/stock")  # swapped in place, not loaded again

    # Leaving the search box (its `change`) asks nothing more: a second swap could take a click
    # on the results away from under the pointer.
    with results_requests(page, "/stock") as requests:
        page.keyboard.press("Tab")
        page.wait_for_timeout(QUIET_MS)
    assert requests == [], f"leaving the search box reloaded the results: {requests}"

    # Picking a location filters at once, the search kept.
    location_cells = page.locator("#results tr[id^='stock-'] td:nth-child(1)")
    select = page.locator("form.filters #location")
    option = select.locator("option:not([value=''])").first
    location_id, location_name = option.get_attribute("value"), option.inner_text()
    mark_results(page)
    with page.expect_response(lambda r: f"location={location_id}" in r.url) as answer:
        select.select_option(location_id)
    assert answer.value.ok and "q=DAI-003" in answer.value.url
    page.wait_for_function("() => document.getElementById('results') !== window.__oldResults")
    assert set(location_cells.all_inner_texts()) == {location_name}
    assert set(sku_cells.all_inner_texts()) == {"DAI-003"}


@pytest.mark.parametrize(("path", "login"), FILTER_PAGES, ids=[p for p, _ in FILTER_PAGES])
def test_an_input_outside_the_filter_form_does_not_reload_the_results(
    open_page: OpenPage, demo_accounts: dict[str, DemoAccount], path: str, login: str
) -> None:
    page = open_filter_page(open_page, demo_accounts, path, login)
    mark_results(page)
    with results_requests(page, path) as requests:
        page.locator("#outside-filter").press_sequentially("not a search")
        page.wait_for_timeout(QUIET_MS)
    assert requests == [], f"typing outside the filter form asked for {path}'s results: {requests}"
    assert not results_were_swapped(page)

    # The form's own search box still filters as you type.
    type_in_search(page, path, "zz-no-such-thing")
    assert results_were_swapped(page)


def test_the_expiring_checkbox_filters_the_certificates_each_time_it_is_ticked(
    open_page: OpenPage, demo_accounts: dict[str, DemoAccount]
) -> None:
    page = open_filter_page(open_page, demo_accounts, "/certificates", "buyer")
    box = page.locator("form.filters input[name=expiring]")
    with results_requests(page, "/certificates") as requests:
        for ticked in (True, False, True):
            mark_results(page)
            with page.expect_response(lambda r: r.url.split("?", 1)[0].endswith("/certificates")) as answer:
                box.set_checked(ticked)
            assert ("expiring=1" in answer.value.url) is ticked, answer.value.url
            page.wait_for_function("() => document.getElementById('results') !== window.__oldResults")
        page.wait_for_timeout(QUIET_MS)
    assert len(requests) == 3, requests  # one request per click, none twice
