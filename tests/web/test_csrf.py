"""CSRF protection on every state-changing request: a form field for plain forms, a header for htmx."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlmodel import Session
from starlette.testclient import TestClient

from supplychain.models import OrgKind, Role, User, WebSession
from tests.factories import make_organisation, make_user
from tests.fixtures.web import ClientFactory, csrf, form_post, login

EXPIRED_FORM = "Your form expired. Please reload the page and try again."


@pytest.fixture
def user(session: Session) -> User:
    org = make_organisation(session, kind=OrgKind.HQ)
    return make_user(session, organisation=org, roles=[Role.BUYER], locale="en")


@pytest.fixture
def logged_in(client: TestClient, user: User) -> TestClient:
    login(client, user)
    return client


def locale_of(session: Session, user: User) -> str:
    session.expire_all()
    row = session.get(User, user.id)
    assert row is not None
    return row.locale


def session_count(session: Session) -> int:
    session.expire_all()
    return int(session.execute(select(func.count()).select_from(WebSession)).scalar_one())


def test_post_without_token_is_refused_and_changes_nothing(
    logged_in: TestClient, session: Session, user: User
) -> None:
    response = logged_in.post("/locale", data={"locale": "zh_CN"}, follow_redirects=False)
    assert response.status_code == 403
    assert "scp_lang" not in response.cookies
    assert locale_of(session, user) == "en"


def test_logout_without_token_is_refused_and_the_session_lives_on(
    logged_in: TestClient, session: Session
) -> None:
    assert logged_in.post("/logout", follow_redirects=False).status_code == 403
    assert session_count(session) == 1
    assert logged_in.get("/", follow_redirects=False).status_code == 200


def test_password_change_without_token_is_refused_and_the_password_stays(
    logged_in: TestClient, make_client: ClientFactory, user: User
) -> None:
    response = logged_in.post(
        "/account/password",
        data={
            "current_password": "correct horse battery",
            "new_password": "another long phrase",
            "confirm_password": "another long phrase",
        },
        follow_redirects=False,
    )
    assert response.status_code == 403
    login(make_client(), user, "correct horse battery")


def test_login_without_token_is_refused(client: TestClient, session: Session, user: User) -> None:
    client.get("/login")
    response = client.post(
        "/login", data={"email": user.email, "password": "correct horse battery"}, follow_redirects=False
    )
    assert response.status_code == 403
    assert session_count(session) == 0


def test_post_with_a_wrong_token_is_refused(logged_in: TestClient, session: Session, user: User) -> None:
    token = csrf(logged_in)
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    response = logged_in.post(
        "/locale", data={"locale": "zh_CN", "csrf_token": forged}, follow_redirects=False
    )
    assert response.status_code == 403
    response = logged_in.post(
        "/locale", data={"locale": "zh_CN"}, headers={"X-CSRF-Token": forged}, follow_redirects=False
    )
    assert response.status_code == 403
    assert locale_of(session, user) == "en"


def test_post_with_the_form_field_is_accepted(logged_in: TestClient, session: Session, user: User) -> None:
    response = form_post(logged_in, "/locale", {"locale": "zh_CN"})
    assert response.status_code == 303
    assert locale_of(session, user) == "zh_CN"


def test_htmx_post_with_the_header_is_accepted(logged_in: TestClient, session: Session, user: User) -> None:
    response = logged_in.post(
        "/locale",
        data={"locale": "zh_CN"},
        headers={"X-CSRF-Token": csrf(logged_in), "HX-Request": "true"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert locale_of(session, user) == "zh_CN"


def test_page_carries_the_token_for_htmx_in_hx_headers(logged_in: TestClient) -> None:
    token = csrf(logged_in)
    assert f'hx-headers=\'{{"X-CSRF-Token": "{token}"}}\'' in logged_in.get("/").text


def test_token_of_one_session_does_not_work_for_another(
    make_client: ClientFactory, session: Session, user: User
) -> None:
    mine, theirs = make_client(), make_client()
    login(mine, user)
    login(theirs, user)
    their_token = csrf(theirs)
    assert csrf(mine) != their_token
    response = mine.post(
        "/locale", data={"locale": "zh_CN", "csrf_token": their_token}, follow_redirects=False
    )
    assert response.status_code == 403
    assert locale_of(session, user) == "en"


def test_token_from_before_login_stops_working_after_login(client: TestClient, user: User) -> None:
    anonymous_token = csrf(client)
    login(client, user)
    response = client.post(
        "/locale", data={"locale": "zh_CN", "csrf_token": anonymous_token}, follow_redirects=False
    )
    assert response.status_code == 403


def test_refused_post_shows_the_styled_error_page_with_a_clear_message(logged_in: TestClient) -> None:
    response = logged_in.post("/logout", follow_redirects=False)
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/html")
    assert 'data-testid="error-status">403<' in response.text
    assert EXPIRED_FORM in response.text
    assert '<link rel="stylesheet" href="/static/app.css">' in response.text


def test_refused_json_request_gets_a_json_error(logged_in: TestClient) -> None:
    response = logged_in.post("/logout", headers={"Accept": "application/json"}, follow_redirects=False)
    assert response.status_code == 403
    assert response.json() == {
        "error": EXPIRED_FORM,
        "status": 403,
        "request_id": response.headers["x-request-id"],
    }


# -- the origin: another site is refused even with a valid token (issue 11, item 8) ----------------------

CROSS_ORIGIN = "This request came from another site and was refused."


def post_locale(client: TestClient, headers: dict[str, str]) -> httpx.Response:
    response: httpx.Response = client.post(
        "/locale",
        data={"locale": "zh_CN", "csrf_token": csrf(client)},
        headers=headers,
        follow_redirects=False,
    )
    return response


@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},  # a sibling subdomain is another origin
        {"Origin": "https://evil.example"},
        {"Origin": "http://testserver.evil.example"},
        {"Origin": "null"},  # sandboxed frames and some redirects
        {"Origin": "http://testserver", "Sec-Fetch-Site": "cross-site"},
    ],
)
def test_post_from_another_origin_is_refused_even_with_a_valid_token(
    logged_in: TestClient, session: Session, user: User, headers: dict[str, str]
) -> None:
    response = post_locale(logged_in, headers)
    assert response.status_code == 403
    assert CROSS_ORIGIN in response.text
    assert locale_of(session, user) == "en"


def test_login_from_another_origin_is_refused(client: TestClient, user: User) -> None:
    data = {"email": user.email, "password": "correct horse battery", "csrf_token": csrf(client)}
    response = client.post(
        "/login", data=data, headers={"Origin": "https://evil.example"}, follow_redirects=False
    )
    assert response.status_code == 403
    assert not client.cookies.get("scp_session")


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"},
        {"Sec-Fetch-Site": "none"},  # typed or bookmarked by the user
        {"Origin": "http://TESTSERVER"},
        # Behind a proxy that rewrites Host, the address the browser used arrives as X-Forwarded-Host.
        {"Origin": "https://portal.example", "Host": "127.0.0.1:8000", "X-Forwarded-Host": "portal.example"},
    ],
)
def test_post_from_the_portals_own_origin_is_accepted(
    logged_in: TestClient, session: Session, user: User, headers: dict[str, str]
) -> None:
    assert post_locale(logged_in, headers).status_code == 303
    assert locale_of(session, user) == "zh_CN"


def test_cross_origin_refusal_is_a_security_event(
    logged_in: TestClient, user: User, security_events: list[dict[str, Any]]
) -> None:
    post_locale(logged_in, {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"})
    [event] = [e for e in security_events if e["event"] == "cross_origin_refused"]
    assert event["outcome"] == "refused" and event["user_id"] == user.id
    assert event["origin"] == "https://evil.example" and event["fetch_site"] == "cross-site"
