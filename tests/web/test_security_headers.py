"""Security headers on every kind of response, and pages that need no inline script or style
(DESIGN 7: CSP without inline scripts, frame-ancestors 'none', nosniff, Referrer-Policy)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import Session
from starlette.testclient import TestClient

from supplychain.models import LocationKind, OrgKind, Role, User
from supplychain.notifications import notify
from tests.factories import make_location, make_organisation, make_price, make_sku, make_user
from tests.fixtures.web import ClientFactory, csrf, login
from web.app import create_app


@pytest.fixture
def admin(session: Session) -> User:
    org = make_organisation(session, kind=OrgKind.HQ)
    return make_user(session, organisation=org, roles=[Role.ADMIN, Role.BUYER], locale="en")


def assert_security_headers(response: httpx.Response) -> None:
    csp = response.headers.get("content-security-policy", "")
    directives = {d.strip().split(" ", 1)[0]: d.strip() for d in csp.split(";") if d.strip()}
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp, csp
    assert directives.get("frame-ancestors") == "frame-ancestors 'none'", csp
    assert directives.get("script-src") == "script-src 'self'", csp
    assert "default-src" in directives, csp
    assert response.headers.get("x-content-type-options") == "nosniff"
    assert response.headers.get("referrer-policy") in {
        "same-origin",
        "strict-origin-when-cross-origin",
        "no-referrer",
    }


def test_html_page_has_security_headers(client: TestClient) -> None:
    response = client.get("/login")
    assert response.headers["content-type"].startswith("text/html")
    assert_security_headers(response)


def test_https_answers_carry_hsts_for_the_domain_and_its_subdomains(make_client: ClientFactory) -> None:
    response = make_client(base_url="https://testserver").get("/login")
    assert response.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"


def test_plain_http_answers_carry_no_hsts(client: TestClient) -> None:
    assert "strict-transport-security" not in client.get("/login").headers


def test_logged_in_page_has_security_headers(client: TestClient, admin: User) -> None:
    login(client, admin)
    assert_security_headers(client.get("/"))


@pytest.mark.parametrize(
    ("path", "status"),
    [("/no-such-page", 404), ("/price-lists/not-a-number", 404), ("/price-lists?page=abc", 400)],
)
def test_error_pages_have_security_headers(client: TestClient, admin: User, path: str, status: int) -> None:
    login(client, admin)
    response = client.get(path)
    assert response.status_code == status
    assert_security_headers(response)


def assert_quotable_error(response: httpx.Response) -> None:
    """An error answer: security headers, never cached, and the request id in the header and on the
    page (or in the JSON), the same id, so a user can quote it and support can find the log line."""
    assert_security_headers(response)
    assert response.headers.get("cache-control") == "no-store"
    quoted = response.headers.get("x-request-id", "")
    assert len(quoted) >= 8
    if response.headers["content-type"].startswith("application/json"):
        assert response.json()["request_id"] == quoted
    else:
        assert quoted in response.text


def boom_app() -> FastAPI:
    app: FastAPI = create_app()

    @app.get("/test-only/boom")
    def boom() -> None:
        raise RuntimeError("boom")

    return app


@pytest.mark.parametrize("accept", ["text/html", "application/json"])
def test_500_answer_carries_security_headers_no_store_and_a_quotable_request_id(
    make_client: ClientFactory, accept: str
) -> None:
    client = make_client(app=boom_app(), raise_server_exceptions=False)
    response = client.get("/test-only/boom", headers={"Accept": accept})
    assert response.status_code == 500
    assert_quotable_error(response)


@pytest.mark.parametrize(
    ("path", "accept", "status"),
    [
        ("/no-such-page", "text/html", 404),
        ("/api/no-such-thing", "application/json", 404),
        ("/admin/users", "text/html", 403),
    ],
)
def test_error_answers_carry_no_store_and_a_quotable_request_id(
    client: TestClient, session: Session, path: str, accept: str, status: int
) -> None:
    org = make_organisation(session, kind=OrgKind.HQ)
    login(client, make_user(session, organisation=org, roles=[Role.BUYER]))
    response = client.get(path, headers={"Accept": accept})
    assert response.status_code == status
    assert_quotable_error(response)


def test_413_refusal_carries_no_store_and_a_quotable_request_id(client: TestClient) -> None:
    from supplychain.settings import settings

    response = client.post("/locale", content=b"x" * (settings.MAX_REQUEST_BYTES + 1))
    assert response.status_code == 413
    assert_quotable_error(response)


def test_csrf_refusal_has_security_headers(client: TestClient) -> None:
    response = client.post("/locale", data={"locale": "en"})
    assert response.status_code == 403
    assert_security_headers(response)


@pytest.mark.parametrize("path", ["/static/app.css", "/static/app.js", "/static/vendor/htmx.min.js"])
def test_static_files_have_security_headers(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert_security_headers(response)


def test_json_probe_has_security_headers(client: TestClient) -> None:
    assert_security_headers(client.get("/healthz"))


def test_redirect_has_security_headers(client: TestClient) -> None:
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 303
    assert_security_headers(response)


# -- no inline script or style anywhere in the shell ------------------------------------------------------


class InlineCodeFinder(HTMLParser):
    """Collects everything a CSP without 'unsafe-inline' would block."""

    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        if tag == "script":
            self._in_script = True
            if not names.get("src"):
                self.problems.append("inline <script>")
        if tag == "style":
            self.problems.append("<style> element")
        if "style" in names:
            self.problems.append(f"style= on <{tag}>")
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"{name}= handler on <{tag}>")
            if name in {"href", "src", "action"} and (value or "").strip().lower().startswith("javascript:"):
                self.problems.append(f"javascript: URL on <{tag}>")
            if name.startswith(("hx-on", "data-hx-on")):
                self.problems.append(f"{name} (evaluated code) on <{tag}>")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.problems.append("code inside a <script src>")


def inline_code(html: str) -> list[str]:
    finder = InlineCodeFinder()
    finder.feed(html)
    finder.close()
    return finder.problems


def test_finder_catches_inline_code() -> None:
    assert set(inline_code('<script>alert(1)</script><p style="x" onclick="y"></p>')) == {
        "inline <script>",
        "code inside a <script src>",
        "style= on <p>",
        "onclick= handler on <p>",
    }
    assert inline_code('<script src="/static/app.js" defer></script><p class="x"></p>') == []


def test_shell_pages_have_no_inline_script_or_style(
    client: TestClient, session: Session, admin: User
) -> None:
    anonymous = {path: client.get(path) for path in ["/login", "/login?bye=1", "/no-such-page"]}
    failed_login = client.post(
        "/login", data={"email": "x@example.test", "password": "nope!", "csrf_token": csrf(client)}
    )
    assert failed_login.status_code == 400

    hq = make_organisation(session, kind=OrgKind.HQ)
    make_location(session, organisation=hq, kind=LocationKind.STORE)
    price = make_price(
        session, supplier=make_organisation(session, kind=OrgKind.SUPPLIER), sku=make_sku(session)
    )
    assert admin.id is not None
    notify(
        session,
        user_ids=[admin.id],
        message="Test notice",
        idempotency_key="security-headers-1",
        link="/stock",
    )
    session.commit()
    login(client, admin)
    pages = {
        path: client.get(path)
        for path in [
            "/",
            "/notifications",
            "/stock",
            "/price-lists",
            f"/price-lists/{price.id}",
            "/account/password",
            "/health",
            "/price-lists/987654",
            "/price-lists/not-a-number",
        ]
    }
    pages["htmx price search"] = client.get(
        "/price-lists", params={"q": "SKU"}, headers={"HX-Request": "true"}
    )
    pages["htmx stock search"] = client.get("/stock", params={"q": "SKU"}, headers={"HX-Request": "true"})
    pages["csrf refusal"] = client.post("/locale", data={"locale": "en"})
    pages["failed login"] = failed_login
    for name, response in {**anonymous, **pages}.items():
        assert response.status_code != 500, name
        assert "text/html" in response.headers["content-type"], name
        assert inline_code(response.text) == [], name


JINJA_COMMENT = re.compile(r"\{#.*?#\}", re.DOTALL)


def test_no_template_carries_inline_script_or_style() -> None:
    """Every template, including pages only some tests render (an inspection with photos): a
    `style=` or `on…=` attribute would be blocked by the CSP on the page."""
    root = Path(__file__).parents[2] / "templates"
    # templates/pdf/ is read by WeasyPrint into PDFs (supplychain/pdf_documents.py), never sent to a
    # browser as a page, so no CSP applies to it; its <style> is how WeasyPrint takes page CSS.
    templates = sorted(path for path in root.rglob("*.html") if root / "pdf" not in path.parents)
    assert len(templates) > 20
    problems = {
        str(path.relative_to(path.parents[1])): found
        for path in templates
        if (found := inline_code(JINJA_COMMENT.sub("", path.read_text(encoding="utf-8"))))
    }
    assert problems == {}
