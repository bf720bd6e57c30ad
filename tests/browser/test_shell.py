"""The portal shell in a real browser, for every demo login on a phone and on a desktop: logging in
through the form, the user's name, exactly the navigation and work queues of their role, the phone's
menu button, the language switch (and that it is remembered on the account), a wrong password,
logging out. Every page is also checked for console errors and CSP violations (see conftest)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from supplychain.models import Role
from supplychain.seed import USERS
from tests.browser.conftest import (
    DESKTOP,
    PHONE,
    VIEWPORTS,
    BrowserProblems,
    DemoAccount,
    OpenPage,
    Viewport,
)

pytestmark = pytest.mark.browser

# Every demo login (at least one per role), named by its e-mail's local part.
DEMO_LOGINS = [local_part for _role, local_part, *_rest in USERS]

Screenshot = Callable[[Page, str, Viewport], Path]


def log_in(page: Page, account: DemoAccount, *, password: str | None = None) -> None:
    """Open the login page and log in by typing into the form and clicking the button."""
    page.goto("/login")
    page.locator("#email").press_sequentially(account.email)
    page.locator("#password").press_sequentially(password if password is not None else account.password)
    page.locator("form[action='/login'] button[type=submit]").click()
    page.wait_for_load_state()


def log_out(page: Page) -> None:
    page.locator("form[action='/logout'] button[type=submit]").click()
    expect(page).to_have_url("/login?bye=1")


def nav_links(page: Page) -> list[str]:
    hrefs: list[str] = page.locator("#main-nav a").evaluate_all(
        "links => links.map(a => a.getAttribute('href'))"
    )
    return hrefs


def assert_no_horizontal_overflow(page: Page) -> None:
    overflow = page.evaluate(
        "() => ({page: document.documentElement.scrollWidth, viewport: window.innerWidth,"
        " wide: [...document.querySelectorAll('body *')]"
        "   .filter(el => el.getBoundingClientRect().right > window.innerWidth + 1)"
        "   .slice(0, 5).map(el => el.tagName.toLowerCase() + (el.className ? '.' + el.className : ''))})"
    )
    assert overflow["page"] <= overflow["viewport"], f"the page scrolls sideways: {overflow}"


def test_every_role_has_a_demo_login_and_every_login_is_tested(demo_accounts: dict[str, DemoAccount]) -> None:
    assert sorted(demo_accounts) == sorted(DEMO_LOGINS)
    assert {account.role for account in demo_accounts.values()} == {str(role) for role in Role}


@pytest.mark.parametrize("viewport", VIEWPORTS, ids=lambda v: v.name)
@pytest.mark.parametrize("demo_account", DEMO_LOGINS, indirect=True)
def test_login_lands_on_the_home_page_of_the_role(
    open_page: OpenPage, demo_account: DemoAccount, viewport: Viewport, screenshot: Screenshot
) -> None:
    page = open_page(viewport)
    log_in(page, demo_account)

    expect(page).to_have_url("/")
    expect(page.get_by_test_id("current-user")).to_contain_text(demo_account.full_name)
    nav = page.locator("#main-nav")
    toggle = page.locator("[data-nav-toggle]")
    if viewport.mobile:
        # Under 760px the navigation folds away behind the menu button.
        expect(nav).to_be_hidden()
        expect(toggle).to_have_attribute("aria-expanded", "false")
        toggle.tap()
        expect(toggle).to_have_attribute("aria-expanded", "true")
    else:
        expect(toggle).to_be_hidden()
    expect(nav).to_be_visible()
    for link in nav.locator("a").all():
        expect(link).to_be_visible()
    assert nav_links(page) == list(demo_account.nav_hrefs)
    expect(page.get_by_test_id("work-queues").locator(":scope > .card")).to_have_count(
        len(demo_account.queue_titles)
    )
    assert_no_horizontal_overflow(page)
    screenshot(page, demo_account.key, viewport)

    if viewport.mobile:  # and the menu button folds it away again
        toggle.tap()
        expect(nav).to_be_hidden()


@pytest.mark.parametrize("demo_account", ["buyer"], indirect=True)
def test_language_choice_switches_the_page_and_is_remembered_on_the_account(
    open_page: OpenPage, demo_account: DemoAccount, screenshot: Screenshot
) -> None:
    page = open_page(DESKTOP)
    log_in(page, demo_account)
    html = page.locator("html")
    expect(html).to_have_attribute("lang", "zh-CN")  # the portal's default
    expect(page.get_by_test_id("locale-en")).to_have_text("English")
    try:
        page.get_by_test_id("locale-en").click()
        expect(page).to_have_url("/")
        expect(html).to_have_attribute("lang", "en")
        expect(page.get_by_test_id("locale-zh_CN")).to_have_text("中文")
        expect(page.get_by_test_id("locale-en")).to_have_count(0)
        expect(page.locator("h1")).to_have_text(f"Hello, {demo_account.full_name}")
        expect(page.locator("#main-nav a")).to_have_text(list(demo_account.nav_labels))
        expect(page.get_by_test_id("work-queues").locator("h2")).to_have_text(list(demo_account.queue_titles))
        screenshot(page, demo_account.key, DESKTOP)

        # Remembered on the account, not only in this browser's cookie: a fresh browser logs in to English.
        log_out(page)
        fresh = open_page(DESKTOP)
        log_in(fresh, demo_account)
        expect(fresh.locator("html")).to_have_attribute("lang", "en")
        expect(fresh.get_by_test_id("locale-zh_CN")).to_be_visible()
    finally:
        # Switch back through the page, so the other tests find the default language again.
        back = open_page(DESKTOP)
        log_in(back, demo_account)
        if back.get_by_test_id("locale-zh_CN").count():
            back.get_by_test_id("locale-zh_CN").click()
        expect(back.locator("html")).to_have_attribute("lang", "zh-CN")
        expect(back.get_by_test_id("locale-en")).to_have_text("English")

    again = open_page(DESKTOP)
    log_in(again, demo_account)
    expect(again.locator("html")).to_have_attribute("lang", "zh-CN")


@pytest.mark.parametrize("viewport", VIEWPORTS, ids=lambda v: v.name)
@pytest.mark.parametrize("demo_account", ["inspector"], indirect=True)
def test_wrong_password_shows_the_error_on_the_login_page(
    open_page: OpenPage,
    demo_account: DemoAccount,
    viewport: Viewport,
    browser_problems: BrowserProblems,
    screenshot: Screenshot,
) -> None:
    # The login page answers 400, which Chromium logs as a failed resource load.
    browser_problems.allow_console_error(r"status of 400 \(Bad Request\)")
    page = open_page(viewport)
    log_in(page, demo_account, password=demo_account.password + "-wrong")

    expect(page).to_have_url("/login")
    expect(page.get_by_test_id("login-error")).to_be_visible()
    expect(page.get_by_test_id("login-error")).not_to_be_empty()
    expect(page.get_by_test_id("current-user")).to_have_count(0)
    expect(page.locator("#email")).to_have_value(demo_account.email)  # kept, so only the password is retyped
    expect(page.locator("#password")).to_have_value("")
    assert_no_horizontal_overflow(page)
    screenshot(page, demo_account.key, viewport)

    # The right password still works afterwards.
    page.locator("#password").press_sequentially(demo_account.password)
    page.locator("form[action='/login'] button[type=submit]").click()
    expect(page).to_have_url("/")


@pytest.mark.parametrize("demo_account", ["store"], indirect=True)
def test_logout_returns_to_the_login_page(open_page: OpenPage, demo_account: DemoAccount) -> None:
    page = open_page(PHONE)
    log_in(page, demo_account)
    expect(page).to_have_url("/")
    log_out(page)
    expect(page.locator("#email")).to_be_visible()
    expect(page.locator(".flash-info")).to_be_visible()  # "You have been logged out."
    expect(page.get_by_test_id("current-user")).to_have_count(0)
    # The session is gone: the home page sends us back to log in.
    page.goto("/")
    expect(page).to_have_url("/login?next=/")


@pytest.mark.parametrize("demo_account", ["approver"], indirect=True)
def test_an_htmx_swap_over_an_element_left_with_an_empty_style_keeps_to_the_csp(
    open_page: OpenPage, demo_account: DemoAccount, browser_problems: BrowserProblems
) -> None:
    """Chromium can leave `style=""` on an input the user typed into; htmx's settle step copies the old
    element's settled attributes onto the swapped-in one, and copying `style` is an inline style that
    our CSP (style-src 'self') blocks. The portal's htmx config settles no style attribute."""
    page = open_page(DESKTOP)
    log_in(page, demo_account)
    page.goto("/approvals")
    results = page.locator("#results")
    expect(results).to_be_visible()
    # What Chromium leaves behind: a style attribute set and cleared through the CSSOM (allowed by CSP).
    results.evaluate("el => { el.style.color = 'red'; el.style.color = ''; }")
    expect(results).to_have_attribute("style", "")

    with page.expect_response(lambda response: "/approvals?" in response.url):
        page.locator("#document_type").select_option(index=1)  # the filter swaps #results (outerHTML)
    expect(page.locator("#results")).not_to_have_attribute("style", "")  # a new element, swapped in
    page.wait_for_timeout(100)  # past htmx's settle delay (20 ms), when the attributes are copied
    assert browser_problems.unexpected() == []
