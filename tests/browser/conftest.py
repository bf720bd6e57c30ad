"""Browser tests: Debian's Chromium, driven by Playwright, against the real app on a live server.

- The run's database (tests.fixtures.database) is wiped once and filled with `seed_demo`, one login
  per role; `demo_accounts` also records what each login should see (name, navigation, work queues),
  computed with the app's own `navigation_for` / `queues_for`.
- `live_server`: uvicorn serving `web.app:app` in a background thread on a free 127.0.0.1 port, up
  until the last test of this package. The thread shares the process's settings and database engine.
- `portal_live_server`: the same, but a fresh app wired to the session's Temporal dev server and the
  production worker (`tests.fixtures.portal`), for tests that click through a whole process.
- `open_page(viewport)`: a page in a new browser context (one browser per run, a context per page);
  console errors, uncaught page errors and CSP violations on any page fail the test at teardown.
  `open_portal_page(viewport)` opens one on `portal_live_server`.
- Screenshots go to test-artifacts/screenshots/ (git-ignored).

The browser is `/usr/bin/chromium` (`apt-get install -y chromium`): Playwright's own download is
blocked here, so `playwright install` is never used. A missing Chromium fails the run; it never skips.
"""

from __future__ import annotations

import re
import socket
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page
from sqlalchemy import Engine, select
from sqlmodel import Session

from tests.fixtures.database import wipe_database
from tests.fixtures.numbers import fresh_document_numbers
from tests.fixtures.portal import WorkerThread

CHROMIUM = Path("/usr/bin/chromium")
# We run as root in a closed network: no sandbox, no GPU, no background calls home.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS_DIR = Path(__file__).resolve().parents[2] / "test-artifacts"
SCREENSHOT_DIR = ARTIFACTS_DIR / "screenshots"
SERVER_START_SECONDS = 30.0


@dataclass(frozen=True)
class Viewport:
    name: str
    width: int
    height: int
    mobile: bool

    def context_args(self) -> dict[str, Any]:
        args: dict[str, Any] = {"viewport": {"width": self.width, "height": self.height}}
        if self.mobile:
            args |= {"is_mobile": True, "has_touch": True, "device_scale_factor": 2}
        return args


PHONE = Viewport("phone", 390, 844, mobile=True)
DESKTOP = Viewport("desktop", 1366, 768, mobile=False)
VIEWPORTS = (PHONE, DESKTOP)


@dataclass(frozen=True)
class DemoAccount:
    """One seeded demo login and what the portal should show it."""

    key: str  # the e-mail's local part: "store" and "distributor" both have the store role
    role: str
    email: str
    password: str
    full_name: str
    organisation: str
    nav_hrefs: tuple[str, ...]
    nav_labels: tuple[str, ...]  # English (the msgids)
    queue_titles: tuple[str, ...]  # English


# --- Browser ---------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"Browser tests need Debian's Chromium at {CHROMIUM}: run `apt-get install -y chromium`. "
            "(`playwright install` cannot download here.)",
            pytrace=False,
        )
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM), "args": CHROMIUM_ARGS}


# --- Demo data and the live server -------------------------------------------------------------------


def login_key(email: str) -> str:
    """A demo login's name in test ids and screenshots: its e-mail's local part ("distributor")."""
    return email.split("@", 1)[0]


def seed_demo_accounts(engine: Engine) -> dict[str, DemoAccount]:
    from supplychain.models import User
    from supplychain.principal import principal_for
    from supplychain.seed import seed_demo
    from web.navigation import navigation_for
    from web.routes.home import queues_for

    wipe_database(engine)
    accounts: dict[str, DemoAccount] = {}
    with Session(engine) as session:
        logins = seed_demo(session)
        session.commit()
        for login in logins:
            user = session.execute(select(User).filter_by(email=login.email)).scalar_one()
            principal = principal_for(session, user)
            key = login_key(login.email)
            assert key not in accounts, f"seed_demo returned {login.email} twice"
            nav = navigation_for(principal)
            accounts[key] = DemoAccount(
                key=key,
                role=str(login.role),
                email=login.email,
                password=login.password,
                full_name=principal.full_name,
                organisation=login.organisation,
                nav_hrefs=tuple(item.href for item in nav),
                nav_labels=tuple(item.label for item in nav),
                queue_titles=tuple(queue.title for queue in queues_for(principal)),
            )
    return accounts


@pytest.fixture(scope="package")
def demo_accounts(engine: Engine) -> dict[str, DemoAccount]:
    """The seeded demo logins by `login_key`. Tests elsewhere that use `db` wipe the database again, so the
    data (and the server below) live for this package only."""
    return seed_demo_accounts(engine)


@pytest.fixture
def demo_account(request: pytest.FixtureRequest, demo_accounts: dict[str, DemoAccount]) -> DemoAccount:
    """The demo login named by the test's (indirect) parameter, e.g. "buyer"."""
    key: str = request.param
    if key not in demo_accounts:
        pytest.fail(f"seed_demo has no login {key!r} (it has: {', '.join(demo_accounts)})")
    return demo_accounts[key]


def _wait_until_healthy(url: str, thread: threading.Thread) -> None:
    deadline = time.monotonic() + SERVER_START_SECONDS
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if not thread.is_alive():
            raise RuntimeError("the live server thread exited while starting (see the log above)")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=10) as response:  # noqa: S310 - our own server
                if response.status == 200:
                    return
        except OSError as exc:  # refused while starting, or 503 (HTTPError) while the db is down
            last_error = exc
        time.sleep(0.05)
    raise RuntimeError(
        f"the live server did not answer {url}/healthz within {SERVER_START_SECONDS}s: {last_error}"
    )


@pytest.fixture(scope="package")
def live_server(demo_accounts: dict[str, DemoAccount]) -> Iterator[str]:
    """Base URL of the portal served by uvicorn in a background thread, over the seeded database."""
    from web.app import app

    with _serve(app) as url:
        yield url


@pytest.fixture
def portal_live_server(
    demo_accounts: dict[str, DemoAccount],
    engine: Engine,
    portal_worker: WorkerThread,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[str]:
    """Like `live_server`, but a new app instance that starts workflows on the portal worker's task
    queue of the session's dev server: its lifespan connects after the settings are patched. Document
    numbers start from a fresh block (see `fresh_document_numbers`)."""
    from supplychain.settings import settings
    from web.app import create_app

    monkeypatch.setattr(settings, "TEMPORAL_ADDRESS", portal_worker.address)
    monkeypatch.setattr(settings, "TEMPORAL_TASK_QUEUE", portal_worker.task_queue)
    fresh_document_numbers(engine)
    with _serve(create_app()) as url:
        yield url


@contextmanager
def _serve(app: Any) -> Iterator[str]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))  # the server listens on this very socket: no race for the port
    port = sock.getsockname()[1]
    # uvicorn installs signal handlers only on the main thread, so Ctrl-C still reaches pytest.
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="live-server", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_healthy(url, thread)
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()
        assert not thread.is_alive(), "the live server did not stop within 15 s"


@pytest.fixture(autouse=True)
def _fresh_login_rate_limit() -> None:
    """All browser logins come from 127.0.0.1: start each test under the per-client limit."""
    from web.ratelimit import limiter

    limiter.reset()


# --- Pages -----------------------------------------------------------------------------------------

# Forwards `securitypolicyviolation` events (which Chromium also logs as console errors) to the test.
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (event) => {
  // The element an inline style or script was blocked on says which template (or script) to fix.
  const target = event.target && event.target.outerHTML ? event.target.outerHTML.slice(0, 200) : "";
  window.__reportCspViolation(`${event.violatedDirective} blocked ${event.blockedURI || "inline"}`
    + ` at ${event.sourceFile || document.location.href}:${event.lineNumber}`
    + (target ? ` on ${target}` : "") + ` (page ${document.location.href})`);
});
"""


@dataclass
class BrowserProblems:
    """Console errors, uncaught exceptions and CSP violations seen on any page of a test."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    csp_violations: list[str] = field(default_factory=list)
    allowed: list[re.Pattern[str]] = field(default_factory=list)

    def allow_console_error(self, pattern: str) -> None:
        """Expect a console error matching `pattern` (e.g. a page answered 400 on purpose)."""
        self.allowed.append(re.compile(pattern))

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            location = message.location.get("url", "")
            self.console_errors.append(f"{message.text} ({location})")

    def on_csp_violation(self, report: str) -> None:
        self.csp_violations.append(report)

    def unexpected(self) -> list[str]:
        console = [e for e in self.console_errors if not any(p.search(e) for p in self.allowed)]
        return (
            [f"console error: {e}" for e in console]
            + [f"uncaught error: {e}" for e in self.page_errors]
            + [f"CSP violation: {e}" for e in self.csp_violations]
        )


@pytest.fixture
def browser_problems() -> BrowserProblems:
    return BrowserProblems()


OpenPage = Callable[[Viewport], Page]


@pytest.fixture
def open_page(browser: Browser, live_server: str, browser_problems: BrowserProblems) -> Iterator[OpenPage]:
    """`open_page(viewport)`: a page in a brand-new context (no cookies), watched for problems."""
    with _page_opener(browser, live_server, browser_problems) as open_:
        yield open_


@pytest.fixture
def open_portal_page(
    portal_worker: WorkerThread, browser: Browser, portal_live_server: str, browser_problems: BrowserProblems
) -> Iterator[OpenPage]:
    """`open_page`, on the server wired to Temporal and the worker (`portal_live_server`).

    `portal_worker` comes before `browser` on purpose: its dev server is an async fixture, which
    pytest-asyncio can no longer set up once Playwright's sync API runs its loop in this thread."""
    with _page_opener(browser, portal_live_server, browser_problems) as open_:
        yield open_


@contextmanager
def _page_opener(browser: Browser, base_url: str, browser_problems: BrowserProblems) -> Iterator[OpenPage]:
    contexts: list[BrowserContext] = []

    def open_(viewport: Viewport) -> Page:
        context = browser.new_context(base_url=base_url, **viewport.context_args())
        contexts.append(context)
        context.set_default_timeout(10_000)
        context.expose_function("__reportCspViolation", browser_problems.on_csp_violation)
        context.add_init_script(CSP_LISTENER)
        page = context.new_page()
        page.on("console", browser_problems.on_console)
        page.on("pageerror", lambda error: browser_problems.page_errors.append(str(error)))
        return page

    yield open_
    for context in contexts:
        context.close()
    problems = browser_problems.unexpected()
    if problems:
        pytest.fail("The pages reported problems:\n  " + "\n  ".join(problems), pytrace=False)


@pytest.fixture
def screenshot(request: pytest.FixtureRequest) -> Callable[[Page, str, Viewport], Path]:
    """`screenshot(page, role, viewport)` saves test-artifacts/screenshots/<test>-<role>-<width>.png."""
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)

    def take(page: Page, role: str, viewport: Viewport) -> Path:
        path = SCREENSHOT_DIR / f"{request.node.originalname}-{role}-{viewport.width}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


def hold_available_stock(engine: Engine, location_code: str, sku_ids: list[int]) -> None:
    """Reserve what `location_code` has available of these SKUs ("held for other orders"): a store's
    request is served from its regional warehouse's available stock first (DESIGN 4.2), so a story
    about buying needs none available there. On hand stays as it is."""
    from supplychain.models import Location, MovementType
    from supplychain.rules.stock import StockDelta
    from supplychain.stock import get_balance, post_movement

    with Session(engine) as session:
        location_id = session.execute(select(Location.id).filter_by(code=location_code)).scalar_one()
        for sku_id in sku_ids:
            balance = get_balance(session, location_id, sku_id)
            if balance is not None and balance.available > 0:
                post_movement(
                    session,
                    idempotency_key=f"browser-held:{location_id}:{sku_id}:{time.time_ns()}",
                    location_id=location_id,
                    sku_id=sku_id,
                    movement_type=MovementType.RESERVE,
                    delta=StockDelta(reserved=balance.available),
                    source_document_type="opening",
                    source_document_id="held",
                )
        session.commit()
