"""The approval queue and delegations through HTTP, against a real dev server and the portal's worker.

Each test starts `ApprovalWorkflow`s on the app's task queue (as a document process would), waits
for their rows, then clicks through the pages as approvers.
"""

from __future__ import annotations

import asyncio
import html
import json
import re
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlmodel import Session, col
from starlette.testclient import TestClient
from temporalio.client import Client

from supplychain.approvals import request_by_workflow
from supplychain.models import (
    ApprovalDelegation,
    ApprovalRequest,
    ApprovalStatus,
    Organisation,
    OrgKind,
    Role,
    User,
    UserRole,
)
from supplychain.rules.decisions import REJECTED_LOT_CHOICES
from supplychain.temporal import connect
from tests.factories import make_organisation, make_user
from tests.fixtures.portal import WorkerThread
from tests.fixtures.web import ClientFactory, at_once, csrf, form_post, login
from workflows.approval import ApprovalInput, ApprovalWorkflow, approval_workflow_id
from workflows.common import business_date


@dataclass
class People:
    requester: User
    low: User  # limit 10,000
    mid: User  # limit 50,000: the approver most tests log in as
    high: User  # limit 500,000
    buyer: User  # no approver role


@pytest.fixture
def people(session: Session) -> People:
    return make_people(session)


def make_people(session: Session) -> People:
    hq = make_organisation(session, kind=OrgKind.HQ)

    def approver(limit: str) -> User:
        return make_user(
            session, organisation=hq, roles=[Role.APPROVER], approval_limit=Decimal(limit), locale="en"
        )

    return People(
        requester=make_user(
            session, organisation=hq, roles=[Role.BUYER], locale="en", full_name="Rita Requester"
        ),
        low=approver("10000"),
        mid=approver("50000"),
        high=approver("500000"),
        buyer=make_user(session, organisation=hq, roles=[Role.BUYER], locale="en"),
    )


@pytest.fixture
async def temporal(portal_worker: WorkerThread) -> Client:
    return await connect(portal_worker.address)


async def open_approval(
    temporal: Client, portal_worker: WorkerThread, session: Session, people: People, amount: str
) -> ApprovalRequest:
    """Start an approval step the way a document process does; return its queue row once written."""
    number = f"PO-WEB-{uuid.uuid4().hex[:8].upper()}"
    workflow_id = approval_workflow_id(f"po-{number.lower()}")
    await temporal.start_workflow(
        ApprovalWorkflow.run,
        ApprovalInput(
            document_type="purchase_order",
            document_id=number,
            document_link=f"/purchase-orders/{number}",
            summary=f"Supplier S, {number}",
            amount=Decimal(amount),
            requester_user_id=people.requester.id,
        ),
        id=workflow_id,
        task_queue=portal_worker.task_queue,
    )
    deadline = time.monotonic() + 20
    while True:
        session.expire_all()
        row = request_by_workflow(session, workflow_id)
        if row is not None:
            session.commit()
            return row
        assert time.monotonic() < deadline, "the approval request row never appeared"
        await asyncio.sleep(0.05)


def status_of(session: Session, row: ApprovalRequest) -> ApprovalStatus:
    session.expire_all()
    fresh = session.get(ApprovalRequest, row.id)
    assert fresh is not None
    return fresh.status


def htmx_post(client: TestClient, url: str, data: dict[str, Any]) -> httpx.Response:
    token = csrf(client)
    response: httpx.Response = client.post(
        url, data=data, headers={"HX-Request": "true", "X-CSRF-Token": token}
    )
    return response


def flashes(response: httpx.Response) -> list[str]:
    return [
        html.unescape(m)
        for m in re.findall(r'class="flash flash-\w+" role="status">(.*?)</div>', response.text)
    ]


def approver_client(portal_client: ClientFactory, user: User) -> TestClient:
    client = portal_client()
    login(client, user)
    return client


def delegate(session: Session, approver: User, delegate: User) -> None:
    today = business_date(datetime.now(tz=UTC))
    session.add(
        ApprovalDelegation(
            approver_user_id=approver.id, delegate_user_id=delegate.id, start_date=today, end_date=today
        )
    )
    session.commit()


async def test_queue_lists_only_what_the_user_may_decide(
    portal_client: ClientFactory,
    portal_worker: WorkerThread,
    temporal: Client,
    session: Session,
    people: People,
) -> None:
    mine = await open_approval(temporal, portal_worker, session, people, "20000")  # -> mid
    delegated = await open_approval(temporal, portal_worker, session, people, "5000")  # -> low
    others = await open_approval(temporal, portal_worker, session, people, "200000")  # -> high
    delegate(session, people.low, people.mid)
    client = approver_client(portal_client, people.mid)

    page = client.get("/approvals")
    assert page.status_code == 200
    assert f'id="approval-{mine.id}"' in page.text
    assert f'id="approval-{delegated.id}"' in page.text
    assert f'id="approval-{others.id}"' not in page.text
    assert page.text.index(f'id="approval-{mine.id}"') < page.text.index(f'id="approval-{delegated.id}"')
    assert "Rita Requester" in page.text and "On time" in page.text
    assert f"for {people.low.full_name}" in page.text

    only_delegated = client.get("/approvals", params={"delegated": "1"}, headers={"HX-Request": "true"})
    assert only_delegated.text.lstrip().startswith('<div id="results">')  # the fragment alone
    assert f'id="approval-{delegated.id}"' in only_delegated.text
    assert f'id="approval-{mine.id}"' not in only_delegated.text

    by_amount = client.get("/approvals", params={"min_amount": "10000", "max_amount": "30000"})
    assert f'id="approval-{mine.id}"' in by_amount.text
    assert f'id="approval-{delegated.id}"' not in by_amount.text
    bad_amount = client.get("/approvals", params={"min_amount": "lots"})
    assert 'data-testid="error-min_amount"' in bad_amount.text
    # Amounts are whole fen: a finer bound, or one beyond any amount, is a typo, not a server error.
    too_fine = client.get("/approvals", params={"min_amount": "10000.005"})
    assert too_fine.status_code == 200 and "Use at most 2 decimal places." in too_fine.text
    too_large = client.get("/approvals", params={"max_amount": "1" + "0" * 19})
    assert too_large.status_code == 200 and 'data-testid="error-max_amount"' in too_large.text

    home = client.get("/")
    assert re.search(r'href="/approvals" data-testid="queue-count">2 ', home.text)


async def test_inline_approve_returns_the_swapped_row(
    portal_client: ClientFactory,
    portal_worker: WorkerThread,
    temporal: Client,
    session: Session,
    people: People,
) -> None:
    row = await open_approval(temporal, portal_worker, session, people, "20000")
    client = approver_client(portal_client, people.mid)
    response = htmx_post(client, f"/approvals/{row.id}/decide", {"decision": "approve"})
    assert response.status_code == 200
    assert response.text.lstrip().startswith(f'<tr id="approval-{row.id}"')
    assert 'data-testid="decision">Approved' in response.text
    assert "<html" not in response.text
    assert status_of(session, row) is ApprovalStatus.APPROVED


async def test_plain_post_approve_redirects_with_a_flash(
    portal_client: ClientFactory,
    portal_worker: WorkerThread,
    temporal: Client,
    session: Session,
    people: People,
) -> None:
    row = await open_approval(temporal, portal_worker, session, people, "20000")
    client = approver_client(portal_client, people.mid)
    response = form_post(
        client, f"/approvals/{row.id}/decide", {"decision": "approve", f"comment-{row.id}": "ok"}
    )
    assert response.status_code == 303 and response.headers["location"] == "/approvals"
    assert f"{row.document_id} approved." in flashes(client.get("/approvals"))
    assert status_of(session, row) is ApprovalStatus.APPROVED
    history = client.get("/approvals", params={"tab": "history"})
    assert f'id="approval-{row.id}"' in history.text and "ok" in history.text


async def test_reject_without_a_comment_is_refused_with_a_message(
    portal_client: ClientFactory,
    portal_worker: WorkerThread,
    temporal: Client,
    session: Session,
    people: People,
) -> None:
    row = await open_approval(temporal, portal_worker, session, people, "20000")
    client = approver_client(portal_client, people.mid)
    response = htmx_post(
        client, f"/approvals/{row.id}/decide", {"decision": "reject", f"comment-{row.id}": " "}
    )
    assert response.status_code == 409  # a refusal, never a success status (htmx still swaps it in)
    assert 'data-testid="row-error">Please give a reason for the rejection.' in response.text
    assert 'data-testid="approve"' in response.text  # still decidable
    assert status_of(session, row) is ApprovalStatus.PENDING

    response = htmx_post(
        client, f"/approvals/{row.id}/decide", {"decision": "reject", f"comment-{row.id}": "Too expensive"}
    )
    assert 'data-testid="decision">Rejected' in response.text
    assert status_of(session, row) is ApprovalStatus.REJECTED


async def test_second_decision_shows_the_message_and_changes_nothing(
    portal_client: ClientFactory,
    portal_worker: WorkerThread,
    temporal: Client,
    session: Session,
    people: People,
) -> None:
    row = await open_approval(temporal, portal_worker, session, people, "20000")
    first = approver_client(portal_client, people.mid)
    second = approver_client(portal_client, people.mid)  # the same approver in another browser
    assert htmx_post(first, f"/approvals/{row.id}/decide", {"decision": "approve"}).status_code == 200

    again = htmx_post(
        second, f"/approvals/{row.id}/decide", {"decision": "reject", f"comment-{row.id}": "no"}
    )
    assert again.status_code == 409
    assert 'data-testid="row-error">This approval has already been decided.' in again.text
    # A refused plain POST answers as a refusal: the queue with the reason, 400; no redirect, no flash.
    plain = form_post(second, f"/approvals/{row.id}/decide", {"decision": "reject", "comment": "no"})
    assert plain.status_code == 400
    assert f'data-testid="refused">{row.document_id}: This approval has already been decided.' in plain.text
    assert flashes(plain) == [] and flashes(second.get("/approvals")) == []
    session.expire_all()
    fresh = session.get(ApprovalRequest, row.id)
    assert fresh.status is ApprovalStatus.APPROVED and fresh.comment == ""


async def test_the_same_decision_form_sent_twice_decides_once_and_both_answer_as_the_first(
    portal_client: ClientFactory,
    portal_worker: WorkerThread,
    temporal: Client,
    session: Session,
    people: People,
) -> None:
    """Issue 11, item 4: the row's buttons carry its one-time id; two tabs sending it at once, and a
    retry later, all get the first answer (approved), never "already decided"."""
    row = await open_approval(temporal, portal_worker, session, people, "20000")
    tabs = [approver_client(portal_client, people.mid) for _ in range(2)]
    url = f"/approvals/{row.id}/decide"
    vals = re.search(rf"hx-post=\"{url}\" hx-vals='([^']*)'", tabs[0].get("/approvals").text)
    assert vals is not None
    data = json.loads(html.unescape(vals.group(1)))
    assert data["decision"] == "approve" and re.fullmatch(r"[0-9a-f]{32}", data["form_id"])
    answers = at_once(*(lambda tab=tab: htmx_post(tab, url, data) for tab in tabs))
    answers.append(htmx_post(tabs[1], url, data))
    for answer in answers:
        assert answer.status_code == 200, answer.text
        assert f'data-testid="row-notice">{row.document_id} approved.' in answer.text
        assert "row-error" not in answer.text
    assert status_of(session, row) is ApprovalStatus.APPROVED


async def test_two_browsers_clicking_at_once_exactly_one_wins(
    portal_client: ClientFactory,
    portal_worker: WorkerThread,
    temporal: Client,
    session: Session,
    people: People,
) -> None:
    row = await open_approval(temporal, portal_worker, session, people, "20000")
    delegate(session, people.mid, people.low)
    clients = [approver_client(portal_client, people.mid), approver_client(portal_client, people.low)]
    tokens = [csrf(c) for c in clients]

    def click(i: int) -> httpx.Response:
        data = {"decision": "approve"} if i == 0 else {"decision": "reject", "comment": "delegate says no"}
        response: httpx.Response = clients[i].post(
            f"/approvals/{row.id}/decide",
            data=data,
            headers={"HX-Request": "true", "X-CSRF-Token": tokens[i]},
        )
        return response

    responses = await asyncio.gather(*(asyncio.to_thread(click, i) for i in (0, 1)))
    errors = [r for r in responses if 'data-testid="row-error"' in r.text]
    assert len(errors) == 1, [r.text for r in responses]
    assert sorted(r.status_code for r in responses) == [200, 409]
    assert "This approval has already been decided." in errors[0].text
    session.expire_all()
    fresh = session.get(ApprovalRequest, row.id)
    assert fresh.status in (ApprovalStatus.APPROVED, ApprovalStatus.REJECTED)
    if fresh.status is ApprovalStatus.REJECTED:
        assert (fresh.decided_by_user_id, fresh.on_behalf_of_user_id) == (people.low.id, people.mid.id)


async def test_bulk_approve_reports_each_row(
    portal_client: ClientFactory,
    portal_worker: WorkerThread,
    temporal: Client,
    session: Session,
    people: People,
) -> None:
    first = await open_approval(temporal, portal_worker, session, people, "20000")
    second = await open_approval(temporal, portal_worker, session, people, "30000")
    others = await open_approval(temporal, portal_worker, session, people, "200000")  # high's
    client = approver_client(portal_client, people.mid)
    response = form_post(
        client, "/approvals/bulk-approve", {"ids": [str(first.id), str(second.id), str(others.id)]}
    )
    assert response.status_code == 303
    messages = flashes(client.get("/approvals"))
    assert f"{first.document_id} approved." in messages
    assert f"{second.document_id} approved." in messages
    assert f"Approval {others.id} was not found." in messages
    assert status_of(session, first) is ApprovalStatus.APPROVED
    assert status_of(session, second) is ApprovalStatus.APPROVED
    assert status_of(session, others) is ApprovalStatus.PENDING

    again = form_post(client, "/approvals/bulk-approve", {"ids": [str(first.id)]})
    assert again.status_code == 303
    assert flashes(client.get("/approvals")) == [
        f"{first.document_id} was not approved: This approval has already been decided."
    ]


async def test_non_approver_gets_403_and_another_approvers_item_404(
    portal_client: ClientFactory,
    portal_worker: WorkerThread,
    temporal: Client,
    session: Session,
    people: People,
) -> None:
    row = await open_approval(temporal, portal_worker, session, people, "20000")  # mid's
    buyer = approver_client(portal_client, people.buyer)
    assert buyer.get("/approvals").status_code == 403
    assert form_post(buyer, f"/approvals/{row.id}/decide", {"decision": "approve"}).status_code == 403
    assert buyer.get("/approvals/delegations").status_code == 403

    high = approver_client(portal_client, people.high)
    assert form_post(high, f"/approvals/{row.id}/decide", {"decision": "approve"}).status_code == 404
    assert form_post(high, "/approvals/999999/decide", {"decision": "approve"}).status_code == 404
    assert f'id="approval-{row.id}"' not in high.get("/approvals").text
    assert status_of(session, row) is ApprovalStatus.PENDING


def test_delegation_create_validate_and_end(
    portal_client: ClientFactory, session: Session, people: People, portal_worker: WorkerThread
) -> None:
    client = approver_client(portal_client, people.mid)
    today = business_date(datetime.now(tz=UTC))

    def errors(response: httpx.Response) -> dict[str, str]:
        return {
            name: html.unescape(text)
            for name, text in re.findall(r'data-testid="error-(\w+)">(.*?)</p>', response.text)
        }

    past = form_post(
        client,
        "/approvals/delegations",
        {
            "delegate_user_id": str(people.high.id),
            "start_date": (today - timedelta(days=1)).isoformat(),
            "end_date": today.isoformat(),
        },
    )
    assert past.status_code == 400
    assert errors(past) == {"start_date": "The date cannot be in the past."}

    backwards = form_post(
        client,
        "/approvals/delegations",
        {
            "delegate_user_id": str(people.high.id),
            "start_date": (today + timedelta(days=3)).isoformat(),
            "end_date": (today + timedelta(days=1)).isoformat(),
        },
    )
    assert errors(backwards) == {"end_date": "The end date cannot be before the start date."}

    for bad_delegate in (people.mid.id, people.buyer.id, "x"):
        response = form_post(
            client,
            "/approvals/delegations",
            {"delegate_user_id": str(bad_delegate), "start_date": today.isoformat(), "end_date": "nope"},
        )
        assert errors(response) == {
            "delegate_user_id": "Choose another active approver.",
            "end_date": "Enter a date.",
        }
    assert session.execute(select(ApprovalDelegation)).first() is None

    created = form_post(
        client,
        "/approvals/delegations",
        {
            "delegate_user_id": str(people.high.id),
            "start_date": today.isoformat(),
            "end_date": (today + timedelta(days=2)).isoformat(),
        },
    )
    assert created.status_code == 303
    page = client.get("/approvals/delegations")
    assert f"{people.high.full_name} may decide for you" in flashes(page)[0]
    delegation = session.execute(select(ApprovalDelegation)).scalar_one()
    assert (delegation.approver_user_id, delegation.delegate_user_id) == (people.mid.id, people.high.id)

    # The delegate cannot end it (not theirs); the approver can.
    high = approver_client(portal_client, people.high)
    assert form_post(high, f"/approvals/delegations/{delegation.id}/end").status_code == 404
    assert form_post(client, f"/approvals/delegations/{delegation.id}/end").status_code == 303
    session.expire_all()
    assert (
        session.execute(
            select(col(ApprovalDelegation.is_active)).where(col(ApprovalDelegation.id) == delegation.id)
        ).scalar_one()
        is False
    )


def test_queue_paginates_oldest_first_and_keeps_its_filters(
    client: TestClient, session: Session, people: People
) -> None:
    start = datetime(2026, 11, 1, tzinfo=UTC)
    for n in range(30):
        session.add(
            ApprovalRequest(
                workflow_id=f"po-2026-{n:06d}:approval",
                document_type="purchase_order",
                document_id=f"PO-2026-{n:06d}",
                document_link=f"/purchase-orders/PO-2026-{n:06d}",
                amount=Decimal("20000.00"),
                requester_user_id=people.requester.id,
                assignee_user_id=people.mid.id,
                created_at=start + timedelta(hours=n),
                assigned_at=start + timedelta(hours=n),
            )
        )
    session.commit()
    login(client, people.mid)
    first = client.get("/approvals?document_type=purchase_order").text
    assert "PO-2026-000000" in first and "PO-2026-000024" in first and "PO-2026-000025" not in first
    assert 'href="/approvals?page=2&amp;tab=pending&amp;document_type=purchase_order"' in first
    second = client.get("/approvals?page=2&tab=pending&document_type=purchase_order").text
    assert "PO-2026-000025" in second and "PO-2026-000029" in second and "PO-2026-000024" not in second


# -- steps with choices (a rejected lot: concession, sorting or return to vendor) -------------------


@pytest.fixture
def quality_approver(session: Session, people: People) -> User:
    hq = session.get(Organisation, people.mid.organisation_id)
    assert hq is not None
    return make_user(
        session, organisation=hq, roles=[Role.QUALITY_APPROVER], locale="en", full_name="Quinn Quality"
    )


async def open_lot_decision(
    temporal: Client, portal_worker: WorkerThread, session: Session, people: People
) -> ApprovalRequest:
    """Start the decision on a rejected lot the way the inspection process does; return its row."""
    number = f"INS-WEB-{uuid.uuid4().hex[:8].upper()}"
    workflow_id = approval_workflow_id(f"inspection-{number.lower()}", "disposition")
    await temporal.start_workflow(
        ApprovalWorkflow.run,
        ApprovalInput(
            document_type="inspection",
            document_id=number,
            document_link=f"/inspections/{number}",
            summary=f"Supplier S, {number}: rejected",
            amount=Decimal("1200"),
            requester_user_id=people.requester.id,
            approver_role=Role.QUALITY_APPROVER.value,
            choices=list(REJECTED_LOT_CHOICES),
        ),
        id=workflow_id,
        task_queue=portal_worker.task_queue,
    )
    deadline = time.monotonic() + 20
    while True:
        session.expire_all()
        row = request_by_workflow(session, workflow_id)
        if row is not None:
            session.commit()
            return row
        assert time.monotonic() < deadline, "the approval request row never appeared"
        await asyncio.sleep(0.05)


def lot_decision_row(session: Session, people: People, assignee: User, number: str) -> ApprovalRequest:
    """A decision row alone, without a workflow behind it: any call to the workflow would fail."""
    now = datetime.now(tz=UTC)
    row = ApprovalRequest(
        workflow_id=f"inspection-{number.lower()}:disposition",
        document_type="inspection",
        document_id=number,
        document_link=f"/inspections/{number}",
        amount=Decimal("1200.00"),
        requester_user_id=people.requester.id,
        assignee_user_id=assignee.id,
        created_at=now,
        assigned_at=now,
        choices=",".join(REJECTED_LOT_CHOICES),
    )
    session.add(row)
    session.commit()
    return row


def po_row(session: Session, people: People, assignee: User, number: str) -> ApprovalRequest:
    now = datetime.now(tz=UTC)
    row = ApprovalRequest(
        workflow_id=f"po-{number.lower()}:approval",
        document_type="purchase_order",
        document_id=number,
        document_link=f"/purchase-orders/{number}",
        amount=Decimal("20000.00"),
        requester_user_id=people.requester.id,
        assignee_user_id=assignee.id,
        created_at=now,
        assigned_at=now,
    )
    session.add(row)
    session.commit()
    return row


def row_html(page: str, row: ApprovalRequest) -> str:
    match = re.search(rf'<tr id="approval-{row.id}".*?</tr>', page, re.DOTALL)
    assert match is not None, f"row {row.id} is not on the page"
    return match.group(0)


def fresh(session: Session, row: ApprovalRequest) -> ApprovalRequest:
    session.expire_all()
    found = session.get(ApprovalRequest, row.id)
    assert found is not None
    return found


def test_choice_row_shows_the_options_and_a_purchase_order_still_approve_and_reject(
    client: TestClient, session: Session, people: People, quality_approver: User
) -> None:
    # One user holding both roles sees both kinds of step in one queue.
    session.add(UserRole(user_id=quality_approver.id, role=Role.APPROVER))
    session.commit()
    lot = lot_decision_row(session, people, quality_approver, "INS-2026-000001")
    po = po_row(session, people, quality_approver, "PO-2026-000001")
    login(client, quality_approver)
    page = client.get("/approvals").text

    choice = row_html(page, lot)
    for value in REJECTED_LOT_CHOICES:
        assert f'type="radio" name="choice-{lot.id}" value="{value}"' in choice
    assert "Concession (accept with a price deduction)" in choice
    assert "Sorting (every unit inspected, the good ones accepted)" in choice
    assert "Return to vendor" in choice
    assert f'name="deduction-{lot.id}"' in choice and 'data-testid="decide"' in choice
    assert f'hx-target="#approval-{lot.id}" hx-swap="outerHTML"' in choice
    assert 'data-testid="approve"' not in choice and 'data-testid="reject"' not in choice
    assert 'name="ids"' not in choice  # never part of a bulk approval
    assert 'data-testid="bulk-note"' in page

    plain = row_html(page, po)
    assert 'data-testid="approve"' in plain and 'data-testid="reject"' in plain
    assert 'type="radio"' not in plain and f'name="ids" value="{po.id}"' in plain

    inspections_only = client.get("/approvals", params={"document_type": "inspection"}).text
    assert f'id="approval-{lot.id}"' in inspections_only
    assert f'id="approval-{po.id}"' not in inspections_only
    orders_only = client.get("/approvals", params={"document_type": "purchase_order"}).text
    assert f'id="approval-{po.id}"' in orders_only and f'id="approval-{lot.id}"' not in orders_only


def test_quality_approver_reaches_the_queue_and_delegations(
    client: TestClient, session: Session, people: People, quality_approver: User
) -> None:
    lot = lot_decision_row(session, people, quality_approver, "INS-2026-000002")
    login(client, quality_approver)
    home = client.get("/")
    assert 'href="/approvals"' in home.text  # the navigation entry
    page = client.get("/approvals")
    assert page.status_code == 200 and f'id="approval-{lot.id}"' in page.text
    assert 'href="/approvals/delegations"' in page.text
    assert client.get("/approvals/delegations").status_code == 200


async def test_concession_without_a_valid_deduction_is_refused_before_the_workflow_is_asked(
    portal_client: ClientFactory, session: Session, people: People, quality_approver: User
) -> None:
    # No workflow runs behind this row: had the route asked it, the answer would be another message.
    lot = lot_decision_row(session, people, quality_approver, "INS-2026-000003")
    client = approver_client(portal_client, quality_approver)

    missing = form_post(
        client, f"/approvals/{lot.id}/decide", {"decision": "choose", f"choice-{lot.id}": "concession"}
    )
    assert missing.status_code == 400
    assert (
        'data-testid="refused">INS-2026-000003: A concession needs a price deduction in percent.'
        in missing.text
    )
    assert 'data-testid="row-error">A concession needs a price deduction in percent.' in row_html(
        missing.text, lot
    )

    for bad in ("lots", "0", "100", "-5", "12.345", "NaN"):
        response = form_post(
            client,
            f"/approvals/{lot.id}/decide",
            {"decision": "choose", f"choice-{lot.id}": "concession", f"deduction-{lot.id}": bad},
        )
        assert response.status_code == 400, bad
        assert "The price deduction must be a number above 0 and below 100 (percent)." in response.text

    inline = htmx_post(
        client,
        f"/approvals/{lot.id}/decide",
        {"decision": "choose", f"choice-{lot.id}": "concession", f"deduction-{lot.id}": "abc"},
    )
    assert inline.status_code == 409
    assert inline.text.lstrip().startswith(f'<tr id="approval-{lot.id}"')
    assert 'data-testid="row-error">The price deduction must be a number above 0' in inline.text
    assert 'value="concession" form="approval-form" checked' in inline.text  # the choice is kept
    assert 'value="abc"' in inline.text

    row = fresh(session, lot)
    assert row.status is ApprovalStatus.PENDING and row.choice == "" and row.choice_details == ""


async def test_sorting_decides_the_step_inline(
    portal_client: ClientFactory,
    portal_worker: WorkerThread,
    temporal: Client,
    session: Session,
    people: People,
    quality_approver: User,
) -> None:
    lot = await open_lot_decision(temporal, portal_worker, session, people)
    assert lot.assignee_user_id == quality_approver.id and lot.choices
    client = approver_client(portal_client, quality_approver)
    response = htmx_post(
        client,
        f"/approvals/{lot.id}/decide",
        {"decision": "choose", f"choice-{lot.id}": "sorting", f"deduction-{lot.id}": "ignored"},
    )
    assert response.status_code == 200
    assert response.text.lstrip().startswith(f'<tr id="approval-{lot.id}"')
    assert 'data-testid="decision">Sorting (every unit inspected, the good ones accepted)' in response.text
    assert f"{lot.document_id} decided: Sorting" in response.text
    row = fresh(session, lot)
    assert row.status is ApprovalStatus.APPROVED
    assert (row.choice, row.choice_details, row.decided_by_user_id) == ("sorting", "", quality_approver.id)


async def test_concession_with_a_deduction_decides_and_the_history_shows_it(
    portal_client: ClientFactory,
    portal_worker: WorkerThread,
    temporal: Client,
    session: Session,
    people: People,
    quality_approver: User,
) -> None:
    lot = await open_lot_decision(temporal, portal_worker, session, people)
    client = approver_client(portal_client, quality_approver)
    response = form_post(
        client,
        f"/approvals/{lot.id}/decide",
        {
            "decision": "choose",
            f"choice-{lot.id}": "concession",
            f"deduction-{lot.id}": " 7.5 % ",
            f"comment-{lot.id}": "usable for the outlet stores",
        },
    )
    assert response.status_code == 303 and response.headers["location"] == "/approvals"
    assert f"{lot.document_id} decided: Concession (accept with a price deduction)." in flashes(
        client.get("/approvals")
    )
    row = fresh(session, lot)
    assert (row.status, row.choice) == (ApprovalStatus.APPROVED, "concession")
    assert json.loads(row.choice_details) == {"deduction_percent": "7.5"}
    assert row.comment == "usable for the outlet stores"

    history = client.get("/approvals", params={"tab": "history", "document_type": "inspection"}).text
    decided = row_html(history, lot)
    assert 'data-testid="decision">Concession (accept with a price deduction)' in decided
    assert 'data-testid="choice-detail">Price deduction: 7.5%' in decided


async def test_the_workflows_refusal_of_a_missing_choice_or_a_rejection_is_shown(
    portal_client: ClientFactory,
    portal_worker: WorkerThread,
    temporal: Client,
    session: Session,
    people: People,
    quality_approver: User,
) -> None:
    lot = await open_lot_decision(temporal, portal_worker, session, people)
    client = approver_client(portal_client, quality_approver)

    no_choice = htmx_post(client, f"/approvals/{lot.id}/decide", {"decision": "choose"})
    assert no_choice.status_code == 409
    assert 'data-testid="row-error">Please choose one of the options.' in no_choice.text
    assert 'data-testid="choices"' in no_choice.text  # still decidable

    unknown = htmx_post(
        client, f"/approvals/{lot.id}/decide", {"decision": "choose", f"choice-{lot.id}": "scrap"}
    )
    assert 'data-testid="row-error">This option is not offered for this decision.' in unknown.text

    rejected = htmx_post(
        client, f"/approvals/{lot.id}/decide", {"decision": "reject", f"comment-{lot.id}": "no"}
    )
    assert (
        'data-testid="row-error">This decision is made by choosing one of its options, not by rejecting it.'
        in rejected.text
    )
    assert fresh(session, lot).status is ApprovalStatus.PENDING


async def test_bulk_approve_skips_steps_with_choices(
    portal_client: ClientFactory,
    portal_worker: WorkerThread,
    temporal: Client,
    session: Session,
    people: People,
    quality_approver: User,
) -> None:
    lot = await open_lot_decision(temporal, portal_worker, session, people)
    client = approver_client(portal_client, quality_approver)
    response = form_post(client, "/approvals/bulk-approve", {"ids": [str(lot.id)]})
    assert response.status_code == 303
    assert f"{lot.document_id} needs a choice of its own: decide it in its row." in flashes(
        client.get("/approvals")
    )
    row = fresh(session, lot)
    assert row.status is ApprovalStatus.PENDING and row.choice == ""


def test_decide_with_choose_on_a_plain_approval_is_a_bad_request(
    portal_client: ClientFactory, session: Session, people: People
) -> None:
    po = po_row(session, people, people.mid, "PO-2026-000002")
    client = approver_client(portal_client, people.mid)
    response = form_post(client, f"/approvals/{po.id}/decide", {"decision": "choose", "choice": "sorting"})
    assert response.status_code == 400
    assert fresh(session, po).status is ApprovalStatus.PENDING


# -- delegation per deciding role (approver, quality approver) --------------------------------------


def delegation_errors(response: httpx.Response) -> dict[str, str]:
    return {
        name: html.unescape(text)
        for name, text in re.findall(r'data-testid="error-(\w+)">(.*?)</p>', response.text)
    }


def delegate_options(page: str) -> set[int]:
    select_html = re.search(r'<select id="delegate_user_id".*?</select>', page, re.DOTALL)
    assert select_html is not None, "no delegate field on the page"
    return {int(value) for value in re.findall(r'<option value="(\d+)"', select_html.group(0))}


@pytest.fixture
def quality_colleague(session: Session, people: People, quality_approver: User) -> User:
    """A second quality approver of the same HQ (created after `quality_approver`: later in the chain)."""
    hq = session.get(Organisation, people.mid.organisation_id)
    assert hq is not None
    return make_user(
        session, organisation=hq, roles=[Role.QUALITY_APPROVER], locale="en", full_name="Cora Colleague"
    )


async def test_quality_approver_delegates_to_a_colleague_who_then_decides_the_lot(
    portal_client: ClientFactory,
    portal_worker: WorkerThread,
    temporal: Client,
    session: Session,
    people: People,
    quality_approver: User,
    quality_colleague: User,
) -> None:
    lot = await open_lot_decision(temporal, portal_worker, session, people)
    assert lot.assignee_user_id == quality_approver.id
    away = approver_client(portal_client, quality_approver)
    assert 'href="/approvals/delegations"' in away.get("/approvals").text
    page = away.get("/approvals/delegations")
    assert page.status_code == 200
    # Only colleagues who decide what a quality approver decides: no plain approver, not themselves.
    assert delegate_options(page.text) == {quality_colleague.id}

    today = business_date(datetime.now(tz=UTC))
    created = form_post(
        away,
        "/approvals/delegations",
        {
            "delegate_user_id": str(quality_colleague.id),
            "start_date": today.isoformat(),
            "end_date": (today + timedelta(days=2)).isoformat(),
        },
    )
    assert created.status_code == 303
    delegation = session.execute(select(ApprovalDelegation)).scalar_one()
    assert (delegation.approver_user_id, delegation.delegate_user_id) == (
        quality_approver.id,
        quality_colleague.id,
    )

    colleague = approver_client(portal_client, quality_colleague)
    queue = colleague.get("/approvals").text
    assert f"for {quality_approver.full_name}" in row_html(queue, lot)
    assert quality_approver.full_name in colleague.get("/approvals/delegations").text
    response = htmx_post(
        colleague, f"/approvals/{lot.id}/decide", {"decision": "choose", f"choice-{lot.id}": "sorting"}
    )
    assert 'data-testid="decision">Sorting' in response.text
    row = fresh(session, lot)
    assert (row.status, row.choice) == (ApprovalStatus.APPROVED, "sorting")
    assert (row.decided_by_user_id, row.on_behalf_of_user_id) == (quality_colleague.id, quality_approver.id)


def test_a_plain_approver_cannot_be_a_quality_approvers_delegate(
    portal_client: ClientFactory, session: Session, people: People, quality_approver: User
) -> None:
    other_hq = make_organisation(session, kind=OrgKind.HQ)
    elsewhere = make_user(session, organisation=other_hq, roles=[Role.QUALITY_APPROVER], locale="en")
    inactive = make_user(
        session,
        organisation=session.get(Organisation, people.mid.organisation_id),
        roles=[Role.QUALITY_APPROVER],
        locale="en",
        is_active=False,
    )
    client = approver_client(portal_client, quality_approver)
    today = business_date(datetime.now(tz=UTC)).isoformat()
    for bad_delegate in (people.mid.id, people.buyer.id, elsewhere.id, inactive.id, quality_approver.id):
        response = form_post(
            client,
            "/approvals/delegations",
            {"delegate_user_id": str(bad_delegate), "start_date": today, "end_date": today},
        )
        assert response.status_code == 400, bad_delegate
        assert delegation_errors(response) == {
            "delegate_user_id": "Choose another active colleague who holds one of your approval roles."
        }
    assert session.execute(select(ApprovalDelegation)).first() is None

    # And the other way round: an approver keeps their message and cannot pick a quality approver.
    mid = approver_client(portal_client, people.mid)
    assert quality_approver.id not in delegate_options(mid.get("/approvals/delegations").text)
    response = form_post(
        mid,
        "/approvals/delegations",
        {"delegate_user_id": str(quality_approver.id), "start_date": today, "end_date": today},
    )
    assert response.status_code == 400
    assert delegation_errors(response) == {"delegate_user_id": "Choose another active approver."}
    assert session.execute(select(ApprovalDelegation)).first() is None


def test_a_delegation_covers_only_the_decisions_of_a_role_the_delegate_holds(
    portal_client: ClientFactory,
    session: Session,
    people: People,
    quality_approver: User,
    quality_colleague: User,
) -> None:
    # A user deciding both kinds of step may pick a colleague holding either of their roles.
    both = make_user(
        session,
        organisation=session.get(Organisation, people.mid.organisation_id),
        roles=[Role.APPROVER, Role.QUALITY_APPROVER],
        approval_limit=Decimal("50000"),
        locale="en",
        full_name="Bo Both",
    )
    lot = lot_decision_row(session, people, both, "INS-2026-000010")
    po = po_row(session, people, both, "PO-2026-000010")
    client = approver_client(portal_client, both)
    page = client.get("/approvals/delegations").text
    options = delegate_options(page)
    assert {people.mid.id, quality_approver.id, quality_colleague.id} <= options
    assert people.buyer.id not in options and both.id not in options
    assert f">{quality_colleague.full_name} (Quality approver)</option>" in page
    today = business_date(datetime.now(tz=UTC)).isoformat()
    for colleague in (people.mid, quality_colleague):
        created = form_post(
            client,
            "/approvals/delegations",
            {"delegate_user_id": str(colleague.id), "start_date": today, "end_date": today},
        )
        assert created.status_code == 303
    covers = re.findall(r'data-testid="covers">(.*?)</td>', client.get("/approvals/delegations").text)
    assert sorted(covers) == ["Approver", "Quality approver"]

    # The plain approver gets the purchase order, never the quality decision.
    approver = approver_client(portal_client, people.mid)
    queue = approver.get("/approvals").text
    assert f'id="approval-{po.id}"' in queue
    assert f'id="approval-{lot.id}"' not in queue
    assert re.search(r'href="/approvals" data-testid="queue-count">1 ', approver.get("/").text)
    decide_lot = {"decision": "choose", f"choice-{lot.id}": "sorting"}
    assert form_post(approver, f"/approvals/{lot.id}/decide", decide_lot).status_code == 404

    # The quality colleague gets the quality decision, never the purchase order.
    quality = approver_client(portal_client, quality_colleague)
    queue = quality.get("/approvals").text
    assert f'id="approval-{lot.id}"' in queue
    assert f'id="approval-{po.id}"' not in queue
    assert form_post(quality, f"/approvals/{po.id}/decide", {"decision": "approve"}).status_code == 404
    assert fresh(session, lot).status is ApprovalStatus.PENDING
    assert fresh(session, po).status is ApprovalStatus.PENDING


def test_a_plain_approvers_delegation_row_never_reaches_a_quality_decision(
    portal_client: ClientFactory, session: Session, people: People, quality_approver: User
) -> None:
    # A delegation to a plain approver, however it came about (written before roles were checked).
    delegate(session, quality_approver, people.mid)
    lot = lot_decision_row(session, people, quality_approver, "INS-2026-000011")
    approver = approver_client(portal_client, people.mid)
    assert f'id="approval-{lot.id}"' not in approver.get("/approvals").text
    decide_lot = {"decision": "choose", f"choice-{lot.id}": "sorting"}
    assert form_post(approver, f"/approvals/{lot.id}/decide", decide_lot).status_code == 404
    assert fresh(session, lot).status is ApprovalStatus.PENDING


def test_users_without_a_deciding_role_still_get_403_on_delegations(
    portal_client: ClientFactory, session: Session, people: People, quality_approver: User
) -> None:
    delegate(session, quality_approver, people.mid)
    delegation = session.execute(select(ApprovalDelegation)).scalar_one()
    buyer = approver_client(portal_client, people.buyer)
    today = business_date(datetime.now(tz=UTC)).isoformat()
    assert buyer.get("/approvals/delegations").status_code == 403
    create = {"delegate_user_id": str(people.mid.id), "start_date": today, "end_date": today}
    assert form_post(buyer, "/approvals/delegations", create).status_code == 403
    assert form_post(buyer, f"/approvals/delegations/{delegation.id}/end").status_code == 403
    assert len(session.execute(select(ApprovalDelegation)).all()) == 1
