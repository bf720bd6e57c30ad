"""Health: the JSON probe and the page for people, with and without a Temporal server."""

from __future__ import annotations

import asyncio
import re

import pytest
from sqlmodel import Session
from starlette.testclient import TestClient
from temporalio.testing import WorkflowEnvironment

from supplychain.db import get_engine
from supplychain.models import OrgKind, Role, User
from supplychain.settings import settings
from tests.factories import make_organisation, make_user
from tests.fixtures.web import ClientFactory, login


@pytest.fixture
def admin(session: Session) -> User:
    org = make_organisation(session, kind=OrgKind.HQ)
    return make_user(session, organisation=org, roles=[Role.ADMIN], locale="en")


def health_row(html: str, name: str) -> str:
    found = re.search(rf'<tr data-testid="health-{name}">(.*?)</tr>', html, re.S)
    assert found, f"no health row for {name}"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(1))).strip()


def test_healthz_reports_database_ok_and_temporal_down_without_a_server(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"database": "ok", "temporal": "down"}


def test_health_page_requires_login(client: TestClient) -> None:
    response = client.get("/health", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/health"


def test_health_page_shows_both_checks(client: TestClient, admin: User) -> None:
    login(client, admin)
    response = client.get("/health")
    assert response.status_code == 503  # something is down
    database = health_row(response.text, "database")
    assert database.startswith("Database OK")
    assert get_engine().dialect.name in database  # "sqlite" or "postgresql"
    assert health_row(response.text, "temporal").startswith("Temporal Unavailable")


def _health_against(make_client: ClientFactory, user: User) -> tuple[dict[str, str], str]:
    client = make_client()
    login(client, user)
    return client.get("/healthz").json(), client.get("/health").text


async def test_health_shows_temporal_ok_with_a_dev_server(
    dev_server_env: WorkflowEnvironment,
    make_client: ClientFactory,
    monkeypatch: pytest.MonkeyPatch,
    admin: User,
) -> None:
    target = dev_server_env.client.service_client.config.target_host
    monkeypatch.setattr(settings, "TEMPORAL_ADDRESS", target)  # before the app is created
    # The test client blocks; run it off the event loop the session's Temporal fixtures live on.
    probe, page = await asyncio.to_thread(_health_against, make_client, admin)
    assert probe == {"database": "ok", "temporal": "ok"}
    row = health_row(page, "temporal")
    assert row.startswith("Temporal OK")
    assert target in row


@pytest.mark.parametrize(("kind", "role"), [(OrgKind.SUPPLIER, Role.SUPPLIER), (OrgKind.HQ, Role.BUYER)])
def test_health_page_is_refused_to_everyone_but_hq_admins(
    client: TestClient, session: Session, kind: OrgKind, role: Role
) -> None:
    org = make_organisation(session, kind=kind)
    login(client, make_user(session, organisation=org, roles=[role], locale="en"))
    response = client.get("/health")
    assert response.status_code == 403
    assert get_engine().dialect.name not in response.text
    assert "health-database" not in response.text
