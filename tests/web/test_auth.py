"""Login, logout, throttling and server-side sessions (DESIGN 7: sessions that logout and
deactivation end at once, login throttling)."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, func, select, update
from sqlmodel import Session, col
from starlette.testclient import TestClient

from supplychain.login_throttle import throttle_state
from supplychain.models import LoginAttempt, Organisation, OrgKind, Role, User, WebSession
from supplychain.models.base import utcnow
from supplychain.security import token_digest
from supplychain.settings import settings
from tests.factories import make_organisation, make_user
from tests.fixtures.web import ClientFactory, csrf, form_post, login, unique_client_ip

SESSION_COOKIE = "scp_session"
WRONG = "wrong password!"


@pytest.fixture
def org(session: Session) -> Organisation:
    return make_organisation(session, kind=OrgKind.HQ)


@pytest.fixture
def user(session: Session, org: Organisation) -> User:
    return make_user(session, organisation=org, roles=[Role.BUYER], locale="en")


@pytest.fixture
def english(client: TestClient) -> TestClient:
    """Anonymous pages in English, so messages can be compared whatever catalog is installed."""
    client.cookies.set("scp_lang", "en")
    return client


def post_login(client: TestClient, email: str, password: str, next: str | None = None) -> httpx.Response:
    data = {"email": email, "password": password, "csrf_token": csrf(client)}
    if next is not None:
        data["next"] = next
    response: httpx.Response = client.post("/login", data=data, follow_redirects=False)
    return response


def login_error(html: str) -> str:
    found = re.search(r'data-testid="login-error">([^<]*)<', html)
    assert found, "no login error shown"
    return found.group(1).strip()


def session_rows(session: Session) -> int:
    session.expire_all()
    return int(session.execute(select(func.count()).select_from(WebSession)).scalar_one())


def is_logged_in(client: TestClient) -> bool:
    response = client.get("/", follow_redirects=False)
    if response.status_code == 303:
        assert response.headers["location"].startswith("/login")
        return False
    assert response.status_code == 200
    return True


def set_cookie_header(response: httpx.Response, name: str) -> str:
    headers = [h for h in response.headers.get_list("set-cookie") if h.startswith(name + "=")]
    assert headers, f"no Set-Cookie for {name}"
    return str(headers[-1])


# -- logging in -------------------------------------------------------------------------------------


def test_good_login_redirects_home_with_opaque_httponly_lax_cookie(
    client: TestClient, session: Session, user: User
) -> None:
    response = login(client, user)
    assert response.headers["location"] == "/"
    header = set_cookie_header(response, SESSION_COOKIE)
    assert "httponly" in header.lower()
    assert "samesite=lax" in header.lower()
    token = client.cookies[SESSION_COOKIE]
    assert token != str(user.id) and str(user.id) not in token.split(".")
    assert len(token) >= 32
    # The database holds the digest of the token, never the token itself.
    ids = list(session.execute(select(col(WebSession.id))).scalars())
    assert ids == [token_digest(token)]
    assert token not in ids
    assert is_logged_in(client)


def test_bad_password_gives_clear_message_and_no_session(
    english: TestClient, session: Session, user: User
) -> None:
    response = post_login(english, user.email, WRONG)
    assert response.status_code == 400
    assert "Wrong e-mail or password" in login_error(response.text)
    assert SESSION_COOKIE not in response.cookies
    assert session_rows(session) == 0
    assert not is_logged_in(english)


def test_unknown_email_gives_the_same_message_as_a_wrong_password(english: TestClient, user: User) -> None:
    wrong_password = login_error(post_login(english, user.email, WRONG).text)
    unknown = post_login(english, "nobody@example.test", WRONG)
    assert unknown.status_code == 400
    assert login_error(unknown.text) == wrong_password


def test_inactive_user_cannot_log_in(english: TestClient, session: Session, org: Organisation) -> None:
    inactive = make_user(session, organisation=org, roles=[Role.BUYER], is_active=False)
    response = post_login(english, inactive.email, "correct horse battery")
    assert response.status_code == 400
    assert "Wrong e-mail or password" in login_error(response.text)
    assert session_rows(session) == 0


@pytest.mark.parametrize("email", ["admin@demo.example", "distributor2@demo.example"])
def test_a_demo_account_is_refused_in_production_even_with_its_password_and_logged(
    english: TestClient,
    session: Session,
    org: Organisation,
    monkeypatch: pytest.MonkeyPatch,
    security_events: list[dict[str, object]],
    caplog: pytest.LogCaptureFixture,
    email: str,
) -> None:
    make_user(session, organisation=org, roles=[Role.ADMIN], email=email)
    monkeypatch.setattr(settings, "ENVIRONMENT", "production")

    response = post_login(english, email.upper(), "correct horse battery")

    assert response.status_code == 403
    assert "Demo accounts are disabled on this installation." in login_error(response.text)
    assert SESSION_COOKIE not in response.cookies
    assert session_rows(session) == 0
    refused = [e for e in security_events if e["event"] == "login"]
    assert len(refused) == 1 and refused[0]["outcome"] == "refused"
    assert refused[0]["email"] == email and refused[0]["reason"] == "demo account in production"
    assert f"Refused a login to the demo account {email}" in caplog.text


def test_a_demo_account_logs_in_outside_production(
    english: TestClient, session: Session, org: Organisation
) -> None:
    make_user(session, organisation=org, roles=[Role.ADMIN], email="admin@demo.example")
    assert settings.ENVIRONMENT == "test"
    assert post_login(english, "admin@demo.example", "correct horse battery").status_code == 303


def test_a_real_account_logs_in_in_production(
    english: TestClient, user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "ENVIRONMENT", "production")
    assert post_login(english, user.email, "correct horse battery").status_code == 303


# -- throttling: growing delays, never a lock ---------------------------------------------------------

RIGHT = "correct horse battery"


def add_failures(session: Session, email: str, ip: str, count: int, *, ago: timedelta = timedelta(0)) -> None:
    """`count` failed attempts as if made just now (or `ago`): faster than posting them one by one
    through their delays."""
    at = utcnow() - ago
    session.add_all(
        LoginAttempt(email=email, client_ip=ip, succeeded=False, attempted_at=at - timedelta(milliseconds=i))
        for i in range(count)
    )
    session.commit()


def wait_message(response: httpx.Response) -> str:
    assert response.status_code == 429, response.status_code
    return login_error(response.text)


def test_failures_past_the_free_ones_make_the_next_attempt_wait_even_with_the_right_password(
    make_client: ClientFactory, session: Session, user: User
) -> None:
    ip = unique_client_ip()
    attacker = make_client(ip=ip)
    attacker.cookies.set("scp_lang", "en")
    for _ in range(settings.LOGIN_MAX_FAILURES_PER_ACCOUNT - 1):
        assert post_login(attacker, user.email, WRONG).status_code == 400
    last = post_login(attacker, user.email, WRONG)
    assert "Too many failed logins. Try again in 1 second." in login_error(last.text)
    add_failures(session, user.email, ip, 3)  # 8 failures: the next attempt waits 2^3 s
    response = post_login(attacker, user.email, RIGHT)
    assert re.search(r"Try again in [78] seconds", wait_message(response))
    assert 1 <= int(response.headers["retry-after"]) <= 8
    assert session_rows(session) == 0


def test_the_last_free_failure_says_how_many_are_left(english: TestClient, user: User) -> None:
    for _ in range(settings.LOGIN_MAX_FAILURES_PER_ACCOUNT - 2):
        post_login(english, user.email, WRONG)
    assert "1 attempt left" in login_error(post_login(english, user.email, WRONG).text)


def test_delays_double_with_each_failure_up_to_the_longest_delay(session: Session, user: User) -> None:
    ip = unique_client_ip()
    free = settings.LOGIN_MAX_FAILURES_PER_ACCOUNT
    waits = []
    for failures in range(free, free + 15):
        session.execute(delete(LoginAttempt))
        add_failures(session, user.email, ip, failures)
        state = throttle_state(session, email=user.email, client_ip=ip)
        waits.append(state.seconds_left)
    longest = settings.LOGIN_MAX_DELAY_MINUTES * 60
    assert waits[:6] == [1, 2, 4, 8, 16, 32]
    assert waits[-1] == longest and max(waits) == longest


def test_an_attacker_failing_50_times_does_not_keep_the_owner_out_at_her_usual_address(
    make_client: ClientFactory, session: Session, user: User
) -> None:
    home_ip, attacker_ip = unique_client_ip(), unique_client_ip()
    home = make_client(ip=home_ip)
    login(home, user)  # her usual address
    home.post("/logout", data={"csrf_token": csrf(home)})
    add_failures(session, user.email, attacker_ip, 50)
    attacker = make_client(ip=attacker_ip)
    attacker.cookies.set("scp_lang", "en")
    assert f"Try again in {settings.LOGIN_MAX_DELAY_MINUTES} minutes" in wait_message(
        post_login(attacker, user.email, RIGHT)
    )
    login(home, user)  # at once, with her password


def test_the_owner_at_a_new_address_waits_a_minute_at_most_while_her_account_is_attacked(
    make_client: ClientFactory, session: Session, user: User
) -> None:
    add_failures(session, user.email, unique_client_ip(), 50)
    new_device = make_client()
    new_device.cookies.set("scp_lang", "en")
    response = post_login(new_device, user.email, RIGHT)
    assert "Try again in 1 minute" in wait_message(response)
    session.execute(update(LoginAttempt).values(attempted_at=utcnow() - timedelta(seconds=61)))
    session.commit()
    login(new_device, user)


def test_guesses_spread_over_many_addresses_slow_the_account_down(
    make_client: ClientFactory, session: Session, user: User
) -> None:
    for _ in range(2 * settings.LOGIN_MAX_FAILURES_PER_ACCOUNT):
        add_failures(session, user.email, unique_client_ip(), 1)
    assert post_login(make_client(), user.email, RIGHT).status_code == 429


def test_an_address_spraying_many_accounts_is_delayed_for_every_account_not_known_there(
    make_client: ClientFactory, session: Session, org: Organisation, user: User
) -> None:
    ip = unique_client_ip()
    regular = make_user(session, organisation=org, roles=[Role.BUYER])
    shared = make_client(ip=ip)
    login(shared, regular)
    shared.post("/logout", data={"csrf_token": csrf(shared)})
    for i in range(settings.LOGIN_MAX_FAILURES_PER_CLIENT):
        add_failures(session, f"guess{i}@example.test", ip, 1)
    assert post_login(shared, user.email, RIGHT).status_code == 429
    login(shared, regular)  # has logged in from this address before
    login(make_client(), user)  # the account itself is fine elsewhere


def test_a_delay_ends_when_its_time_has_passed(
    make_client: ClientFactory, session: Session, user: User
) -> None:
    ip = unique_client_ip()
    add_failures(session, user.email, ip, 9, ago=timedelta(seconds=17))  # the 9th failure waits 16 s
    login(make_client(ip=ip), user)


def test_a_success_clears_the_failures_from_that_address(english: TestClient, user: User) -> None:
    for _ in range(settings.LOGIN_MAX_FAILURES_PER_ACCOUNT - 1):
        post_login(english, user.email, WRONG)
    login(english, user)
    english.post("/logout", data={"csrf_token": csrf(english)})
    response = post_login(english, user.email, WRONG)
    left = settings.LOGIN_MAX_FAILURES_PER_ACCOUNT - 1
    assert f"{left} attempts left" in login_error(response.text)


def test_failures_older_than_a_day_are_forgotten(
    make_client: ClientFactory, session: Session, user: User
) -> None:
    ip = unique_client_ip()
    add_failures(session, user.email, ip, 50, ago=timedelta(hours=24, seconds=1))
    login(make_client(ip=ip), user)


def test_the_login_rate_limit_setting_is_honoured(
    english: TestClient, monkeypatch: pytest.MonkeyPatch, user: User
) -> None:
    monkeypatch.setattr(settings, "LOGIN_RATE_LIMIT", "3/minute")
    for _ in range(3):
        assert post_login(english, f"nobody{_}@example.test", WRONG).status_code == 400
    response = post_login(english, user.email, RIGHT)
    assert response.status_code == 429
    assert 'data-testid="login-error"' not in response.text  # the limiter's page, not the login form
    assert "Too many attempts" in response.text


# -- the session ---------------------------------------------------------------------------------------


def test_session_id_planted_before_login_is_replaced(
    client: TestClient, session: Session, user: User
) -> None:
    planted = "planted-by-an-attacker-0123456789abcdef"
    client.cookies.set(SESSION_COOKIE, planted, domain="testserver.local")
    login(client, user)
    token = client.cookies[SESSION_COOKIE]
    assert token != planted
    session.expire_all()
    assert session.get(WebSession, token_digest(planted)) is None


def test_logging_in_again_rotates_the_session_id(
    client: TestClient, make_client: ClientFactory, user: User
) -> None:
    login(client, user)
    first = client.cookies[SESSION_COOKIE]
    client.post(
        "/login",
        data={"email": user.email, "password": "correct horse battery", "csrf_token": csrf(client)},
        follow_redirects=False,
    )
    assert client.cookies[SESSION_COOKIE] != first
    replay = make_client()
    replay.cookies.set(SESSION_COOKIE, first, domain="testserver.local")
    assert not is_logged_in(replay)


def test_logout_deletes_the_server_session_and_the_old_cookie_no_longer_works(
    client: TestClient, make_client: ClientFactory, session: Session, user: User
) -> None:
    login(client, user)
    token = client.cookies[SESSION_COOKIE]
    response = form_post(client, "/logout")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?bye=1"
    assert session_rows(session) == 0
    assert not is_logged_in(client)
    replay = make_client()
    replay.cookies.set(SESSION_COOKIE, token, domain="testserver.local")
    assert not is_logged_in(replay)


def test_password_change_ends_other_sessions_but_keeps_this_one(
    make_client: ClientFactory, session: Session, user: User
) -> None:
    here, elsewhere = make_client(), make_client()
    login(here, user)
    login(elsewhere, user)
    response = form_post(
        here,
        "/account/password",
        {
            "current_password": "correct horse battery",
            "new_password": "a new long passphrase",
            "confirm_password": "a new long passphrase",
        },
    )
    assert response.status_code == 303
    assert is_logged_in(here)
    assert not is_logged_in(elsewhere)
    assert session_rows(session) == 1
    login(make_client(), user, "a new long passphrase")


def test_password_change_with_wrong_current_password_changes_nothing(
    make_client: ClientFactory, session: Session, user: User
) -> None:
    here, elsewhere = make_client(), make_client()
    login(here, user)
    login(elsewhere, user)
    response = form_post(
        here,
        "/account/password",
        {
            "current_password": WRONG,
            "new_password": "a new long passphrase",
            "confirm_password": "a new long passphrase",
        },
    )
    assert response.status_code == 400
    assert "The current password is not correct." in response.text
    assert is_logged_in(elsewhere)
    login(make_client(), user)


@pytest.mark.parametrize(
    ("new_password", "reason"),
    [
        ("eleven char", "Too short: use at least 12 characters."),
        ("Qwerty123456", "Too common: it is on a list of common and breached passwords."),
        ("EMAIL", "It is the same as the e-mail address."),
        ("ORGANISATION", "It is the same as the organisation's name."),
    ],
)
def test_password_change_refuses_a_weak_new_password_and_says_why(
    make_client: ClientFactory, session: Session, org: Organisation, new_password: str, reason: str
) -> None:
    user = make_user(session, organisation=org, roles=[Role.BUYER], locale="en")
    new_password = {"EMAIL": f" {user.email.upper()} ", "ORGANISATION": org.name.upper()}.get(
        new_password, new_password
    )
    here, elsewhere = make_client(), make_client()
    login(here, user)
    login(elsewhere, user)
    response = form_post(
        here,
        "/account/password",
        {
            "current_password": "correct horse battery",
            "new_password": new_password,
            "confirm_password": new_password,
        },
    )
    assert response.status_code == 400
    assert reason in response.text.replace("&#39;", "'")
    assert is_logged_in(elsewhere)  # nothing changed
    login(make_client(), user)


def test_deactivating_a_user_ends_their_session_on_the_next_request(
    client: TestClient, session: Session, user: User
) -> None:
    login(client, user)
    assert is_logged_in(client)
    session.execute(update(User).where(col(User.id) == user.id).values(is_active=False))
    session.commit()
    assert not is_logged_in(client)
    assert session_rows(session) == 0


def _age_session(session: Session, client: TestClient, **values: object) -> None:
    digest = token_digest(client.cookies[SESSION_COOKIE])
    session.execute(update(WebSession).where(col(WebSession.id) == digest).values(**values))
    session.commit()


def test_session_survives_a_pause_shorter_than_the_idle_timeout(
    client: TestClient, session: Session, user: User
) -> None:
    login(client, user)
    _age_session(
        session, client, last_seen_at=utcnow() - timedelta(minutes=settings.SESSION_IDLE_MINUTES - 1)
    )
    assert is_logged_in(client)


def test_idle_timeout_ends_the_session(client: TestClient, session: Session, user: User) -> None:
    login(client, user)
    _age_session(
        session, client, last_seen_at=utcnow() - timedelta(minutes=settings.SESSION_IDLE_MINUTES, seconds=1)
    )
    assert not is_logged_in(client)
    assert session_rows(session) == 0


def test_absolute_timeout_ends_an_active_session(client: TestClient, session: Session, user: User) -> None:
    login(client, user)
    row = session.get(WebSession, token_digest(client.cookies[SESSION_COOKIE]))
    assert row is not None
    assert row.expires_at - row.created_at == timedelta(hours=settings.SESSION_ABSOLUTE_HOURS)
    _age_session(session, client, last_seen_at=utcnow(), expires_at=utcnow() - timedelta(seconds=1))
    assert not is_logged_in(client)
    assert session_rows(session) == 0


# -- cookies and redirects --------------------------------------------------------------------------------


def cookie_attributes(header: str) -> list[str]:
    return [p.strip().lower() for p in header.split(";")]


def test_session_cookie_over_https_is_host_prefixed_and_secure(
    make_client: ClientFactory, monkeypatch: pytest.MonkeyPatch, user: User
) -> None:
    monkeypatch.setattr(settings, "COOKIE_SECURE", None)
    browser = make_client(base_url="https://testserver")
    response = login(browser, user)
    attributes = cookie_attributes(set_cookie_header(response, "__Host-" + SESSION_COOKIE))
    assert "secure" in attributes and "path=/" in attributes
    assert not any(a.startswith("domain=") for a in attributes)
    assert not browser.cookies.get(SESSION_COOKIE)
    assert is_logged_in(browser)


def test_the_anonymous_csrf_seed_over_https_is_host_prefixed_and_a_planted_plain_one_is_ignored(
    make_client: ClientFactory, monkeypatch: pytest.MonkeyPatch, user: User
) -> None:
    """Before login the CSRF token is bound to an anonymous seed cookie. Over HTTPS it is
    `__Host-scp_anon`, so a sibling subdomain cannot plant a seed whose token it knows; a plain
    `scp_anon` is not a seed there, and the login deletes the prefixed one."""
    monkeypatch.setattr(settings, "COOKIE_SECURE", None)
    browser = make_client(base_url="https://testserver")
    page = browser.get("/login")
    attributes = cookie_attributes(set_cookie_header(page, "__Host-scp_anon"))
    assert "secure" in attributes and "path=/" in attributes and "httponly" in attributes
    assert not any(a.startswith("domain=") for a in attributes)
    assert not browser.cookies.get("scp_anon")

    planted = make_client(base_url="https://testserver")
    planted.cookies.set("scp_anon", "seed-the-attacker-knows")
    assert set_cookie_header(planted.get("/login"), "__Host-scp_anon")  # a seed of its own, not the plant

    response = login(browser, user)
    deleted = cookie_attributes(set_cookie_header(response, "__Host-scp_anon"))
    assert "max-age=0" in deleted and "secure" in deleted
    assert is_logged_in(browser)


def test_a_plain_session_cookie_is_ignored_over_https(
    make_client: ClientFactory, monkeypatch: pytest.MonkeyPatch, user: User
) -> None:
    """A cookie without the prefix may have been planted by a sibling subdomain: not a session."""
    monkeypatch.setattr(settings, "COOKIE_SECURE", None)
    plain = make_client()
    login(plain, user)
    browser = make_client(base_url="https://testserver")
    browser.cookies.set(SESSION_COOKIE, plain.cookies[SESSION_COOKIE])
    assert not is_logged_in(browser)


def test_logout_over_https_deletes_the_host_prefixed_cookie(
    make_client: ClientFactory, monkeypatch: pytest.MonkeyPatch, session: Session, user: User
) -> None:
    monkeypatch.setattr(settings, "COOKIE_SECURE", None)
    browser = make_client(base_url="https://testserver")
    login(browser, user)
    response = browser.post("/logout", data={"csrf_token": csrf(browser)}, follow_redirects=False)
    deletion = cookie_attributes(set_cookie_header(response, "__Host-" + SESSION_COOKIE))
    assert "secure" in deletion and "max-age=0" in deletion
    assert session_rows(session) == 0


def test_session_cookie_over_http_keeps_its_plain_name_and_is_not_secure(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, user: User
) -> None:
    monkeypatch.setattr(settings, "COOKIE_SECURE", None)
    response = login(client, user)
    assert "secure" not in cookie_attributes(set_cookie_header(response, SESSION_COOKIE))


@pytest.mark.parametrize(
    "target", ["//evil.example", "https://evil.example", "/\\evil.example", "http:/evil"]
)
def test_login_next_refuses_open_redirects(client: TestClient, user: User, target: str) -> None:
    response = post_login(client, user.email, "correct horse battery", next=target)
    assert response.status_code == 303
    assert response.headers["location"] == "/"


def test_login_next_keeps_a_local_path(client: TestClient, user: User) -> None:
    response = login(client, user, next="/stock?q=abc")
    assert response.headers["location"] == "/stock?q=abc"


@pytest.mark.parametrize("target", ["//evil.example", "https://evil.example"])
def test_login_page_of_a_logged_in_user_refuses_open_redirects(
    client: TestClient, user: User, target: str
) -> None:
    login(client, user)
    response = client.get("/login", params={"next": target}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/"


def test_protected_page_redirects_to_login_and_back(client: TestClient, user: User) -> None:
    response = client.get("/stock", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/stock"
    login(client, user, next="/stock")
    assert client.get("/stock").status_code == 200


def test_passwords_are_hashed_with_argon2id_at_rfc_9106_weight_in_production() -> None:
    """The suite hashes at test weight (tests/fixtures/passwords.py); the product never does."""
    from argon2 import Type
    from argon2.profiles import RFC_9106_LOW_MEMORY

    from supplychain import security

    assert security.PASSWORD_HASH_PARAMETERS == RFC_9106_LOW_MEMORY
    assert security.PASSWORD_HASH_PARAMETERS.type is Type.ID
    assert security.PASSWORD_HASH_PARAMETERS.memory_cost >= 65536  # KiB


# -- the security log (issue 11, item 5) -------------------------------------------------------------------

Events = list[dict[str, Any]]


def events_named(events: Events, *names: str) -> list[dict[str, Any]]:
    return [e for e in events if e["event"] in names]


def no_secret_in(events: Events, *secrets: str) -> None:
    text = json.dumps(events, ensure_ascii=False)
    for secret in secrets:
        assert secret not in text


def test_a_successful_login_and_logout_are_logged_with_who_and_from_where(
    client: TestClient, user: User, security_events: Events
) -> None:
    login(client, user)
    client.post("/logout", data={"csrf_token": csrf(client)})
    login_event, logout_event = events_named(security_events, "login", "logout")
    assert login_event["outcome"] == "success" and login_event["user_id"] == user.id
    assert login_event["email"] == user.email and login_event["organisation_id"] == user.organisation_id
    assert login_event["client_ip"].startswith("10.") and len(login_event["request_id"]) == 32
    assert logout_event["outcome"] == "success" and logout_event["user_id"] == user.id
    no_secret_in(security_events, RIGHT, str(client.cookies.get(SESSION_COOKIE)))


def test_failed_logins_are_logged_with_the_reason_the_visitor_is_not_told(
    english: TestClient, session: Session, org: Organisation, user: User, security_events: Events
) -> None:
    inactive = make_user(session, organisation=org, roles=[Role.BUYER], is_active=False)
    post_login(english, "nobody@example.test", WRONG)
    post_login(english, user.email, WRONG)
    post_login(english, inactive.email, RIGHT)
    logged = [(e["outcome"], e["reason"], e["user_id"]) for e in events_named(security_events, "login")]
    assert logged == [
        ("failure", "unknown_account", None),
        ("failure", "wrong_password", user.id),
        ("refused", "inactive", inactive.id),
    ]
    no_secret_in(security_events, WRONG, RIGHT)


def test_the_failure_that_starts_a_delay_logs_a_lockout_and_a_too_early_attempt_a_refusal(
    english: TestClient, user: User, security_events: Events
) -> None:
    for _ in range(settings.LOGIN_MAX_FAILURES_PER_ACCOUNT):
        post_login(english, user.email, WRONG)
    post_login(english, user.email, RIGHT)
    [lockout] = events_named(security_events, "lockout")
    assert lockout["user_id"] == user.id and lockout["retry_after_seconds"] == 1
    refused = events_named(security_events, "login")[-1]
    assert (refused["outcome"], refused["reason"]) == ("refused", "throttled")


def test_password_changes_are_logged_success_and_failure(
    client: TestClient, user: User, security_events: Events
) -> None:
    login(client, user)
    new = "another long password"
    form_post(
        client, "/account/password", {"current_password": WRONG, "new_password": new, "confirm_password": new}
    )
    form_post(
        client, "/account/password", {"current_password": RIGHT, "new_password": new, "confirm_password": new}
    )
    failure, success = events_named(security_events, "password_change")
    assert (failure["outcome"], failure["reason"]) == ("failure", "current_password")
    assert success["outcome"] == "success" and success["user_id"] == user.id
    no_secret_in(security_events, WRONG, RIGHT, new)
