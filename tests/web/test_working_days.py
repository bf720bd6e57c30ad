"""The working-day override table's admin page: admins only, bad input refused, a saved day used."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import Session, select
from starlette.testclient import TestClient

from supplychain.models import OrgKind, Role, User
from supplychain.models.settlement import WorkingDayOverride
from supplychain.settlement import Terms, compute_due_date
from tests.factories import make_organisation, make_user
from tests.fixtures.web import ClientFactory, form_post, login


@pytest.fixture
def admin(session: Session) -> User:
    return make_user(
        session, organisation=make_organisation(session, kind=OrgKind.HQ), roles=[Role.ADMIN], locale="en"
    )


def _days(session: Session) -> dict[date, bool]:
    session.expire_all()
    return {row.day: row.is_working_day for row in session.execute(select(WorkingDayOverride)).scalars()}


def test_an_admin_enters_a_make_up_workday_and_due_dates_use_it(
    client: TestClient, admin: User, session: Session
) -> None:
    login(client, admin)
    assert client.get("/settlement/working-days").status_code == 200
    saved = form_post(
        client, "/settlement/working-days", {"day": "2027-01-04", "kind": "off", "note": "State Council"}
    )
    assert saved.status_code == 303
    assert _days(session) == {date(2027, 1, 4): False}
    due, _years = compute_due_date(
        session, matched_on=date(2026, 12, 28), terms=Terms(7, "calendar_days", 0), official_years=[2027]
    )
    assert (due.date, due.provisional) == (date(2027, 1, 5), False)
    # Changing it, then removing it.
    form_post(client, "/settlement/working-days", {"day": "2027-01-04", "kind": "working"})
    assert _days(session) == {date(2027, 1, 4): True}
    assert "2027" in client.get("/settlement/working-days").text
    remove = "/settlement/working-days/remove"
    assert form_post(client, remove, {"day": "2027-01-04"}).status_code == 303
    assert _days(session) == {}
    assert form_post(client, remove, {"day": "2027-01-04"}).status_code == 404
    assert form_post(client, remove, {"day": "not-a-day"}).status_code == 404


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"day": "next monday", "kind": "off"}, "Enter a date as YYYY-MM-DD"),
        ({"day": "1999-01-01", "kind": "off"}, "Enter a day from"),
        ({"day": "2027-01-04", "kind": "maybe"}, "Choose whether the day is a working day or a day off."),
        ({"day": "2027-01-04", "kind": "off", "note": "x" * 201}, "The note is too long"),
    ],
)
def test_bad_input_is_refused_with_a_message_and_nothing_is_saved(
    client: TestClient, admin: User, session: Session, data: dict[str, str], message: str
) -> None:
    login(client, admin)
    response = form_post(client, "/settlement/working-days", data)
    assert response.status_code == 400 and message in response.text
    assert _days(session) == {}


@pytest.mark.parametrize("role", [Role.FINANCE, Role.BUYER])
def test_only_admins_may_open_or_change_it(make_client: ClientFactory, session: Session, role: Role) -> None:
    other = make_client()
    login(other, make_user(session, organisation=make_organisation(session, kind=OrgKind.HQ), roles=[role]))
    assert other.get("/settlement/working-days").status_code == 403
    assert (
        form_post(other, "/settlement/working-days", {"day": "2027-01-04", "kind": "off"}).status_code == 403
    )
    assert _days(session) == {}
