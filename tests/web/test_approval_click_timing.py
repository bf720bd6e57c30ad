"""An approve clicked the moment the approval appears, against a real dev server and the portal's worker.

The queue row is written by an activity; the step used to learn its assignee only when the
workflow saw that activity finish, and a click in between was refused ("not assigned to you")
while the plain POST still answered 303 (issue 10). Here every run starts an approval step and
clicks approve as soon as its row is there (polling the database) or as soon as the queue lists it
(polling the page), one at a time and several in flight at once: each click must decide the step,
and the answer, the row and the workflow's state must all say so.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session
from starlette.testclient import TestClient
from temporalio.client import Client, WorkflowHandle

from supplychain.approvals import request_by_workflow
from supplychain.models import ApprovalRequest, ApprovalStatus
from supplychain.temporal import connect
from tests.fixtures.portal import WorkerThread
from tests.fixtures.web import ClientFactory, csrf
from tests.web.test_approvals import People, approver_client, flashes, make_people
from workflows.approval import ApprovalInput, ApprovalResult, ApprovalWorkflow, approval_workflow_id

ONE_AT_A_TIME = 6
IN_FLIGHT = 8
ROUNDS_IN_FLIGHT = 4
POLL = 0.002  # seconds between two looks: the click follows the row within milliseconds
APPEAR_TIMEOUT = 30.0


@pytest.fixture
def people(session: Session) -> People:
    return make_people(session)


@pytest.fixture
async def temporal(portal_worker: WorkerThread) -> Client:
    return await connect(portal_worker.address)


async def _start(temporal: Client, portal_worker: WorkerThread, people: People) -> tuple[str, str]:
    """Start an approval step for people.mid (20,000 CNY, within mid's limit); no waiting."""
    number = f"PO-GAP-{uuid.uuid4().hex[:8].upper()}"
    workflow_id = approval_workflow_id(f"po-{number.lower()}")
    await temporal.start_workflow(
        ApprovalWorkflow.run,
        ApprovalInput(
            document_type="purchase_order",
            document_id=number,
            document_link=f"/purchase-orders/{number}",
            summary=f"Supplier S, {number}",
            amount=Decimal("20000"),
            requester_user_id=people.requester.id,
        ),
        id=workflow_id,
        task_queue=portal_worker.task_queue,
    )
    return workflow_id, number


def _row_id_once_written(db: Engine, workflow_id: str) -> int:
    deadline = time.monotonic() + APPEAR_TIMEOUT
    with Session(db) as session:
        while True:
            row = request_by_workflow(session, workflow_id)
            if row is not None and row.id is not None:
                return row.id
            session.rollback()  # the next look sees the latest commit
            assert time.monotonic() < deadline, f"{workflow_id}: the approval request row never appeared"
            time.sleep(POLL)


def _row_id_once_listed(client: TestClient, number: str) -> int:
    """The row's id as soon as the approver's queue lists it with an approve button."""
    pattern = re.compile(
        r'<tr id="approval-(\d+)"[^>]*>(?:(?!</tr>).)*?>' + re.escape(number) + r"</a>(?:(?!</tr>).)*?"
        r'data-testid="approve"',
        re.S,
    )
    deadline = time.monotonic() + APPEAR_TIMEOUT
    while True:
        page = client.get("/approvals", headers={"HX-Request": "true"})
        assert page.status_code == 200
        found = pattern.search(page.text)
        if found:
            return int(found.group(1))
        assert time.monotonic() < deadline, f"{number} was never listed in the queue"
        time.sleep(POLL)


def _approve(client: TestClient, token: str, approval_id: int, *, htmx: bool) -> httpx.Response:
    url = f"/approvals/{approval_id}/decide"
    if htmx:
        response: httpx.Response = client.post(
            url, data={"decision": "approve"}, headers={"HX-Request": "true", "X-CSRF-Token": token}
        )
    else:
        response = client.post(url, data={"decision": "approve", "csrf_token": token}, follow_redirects=False)
    return response


def _click_as_soon_as_it_appears(
    client: TestClient, token: str, db: Engine, workflow_id: str, number: str, *, htmx: bool, watch_page: bool
) -> tuple[int, httpx.Response]:
    approval_id = _row_id_once_listed(client, number) if watch_page else _row_id_once_written(db, workflow_id)
    return approval_id, _approve(client, token, approval_id, htmx=htmx)


async def _assert_decided(
    temporal: Client,
    db: Engine,
    client: TestClient,
    token: str,
    people: People,
    workflow_id: str,
    number: str,
    approval_id: int,
    response: httpx.Response,
    *,
    htmx: bool,
) -> None:
    what = f"{number} ({'htmx' if htmx else 'plain POST'})"
    assert 'data-testid="row-error"' not in response.text, f"{what} refused: {response.text}"
    if htmx:
        assert response.status_code == 200, what
        assert response.text.lstrip().startswith(f'<tr id="approval-{approval_id}"'), what
        assert 'data-testid="decision">Approved' in response.text, what
        assert f"{number} approved." in response.text, what
    else:
        assert response.status_code == 303 and response.headers["location"] == "/approvals", (
            what,
            response.status_code,
            response.text[:2000],
        )
        assert flashes(client.get("/approvals")) == [f"{number} approved."], what
    with Session(db) as session:
        row = session.get(ApprovalRequest, approval_id)
        assert row is not None and row.workflow_id == workflow_id
        assert row.status is ApprovalStatus.APPROVED, what
        assert row.decided_by_user_id == people.mid.id, what
    handle: WorkflowHandle[Any, ApprovalResult] = temporal.get_workflow_handle_for(
        ApprovalWorkflow.run, workflow_id
    )
    state = await handle.query(ApprovalWorkflow.get_state)
    assert state.status is ApprovalStatus.APPROVED and state.decided_by_user_id == people.mid.id, what
    assert (await handle.result()).approved, what

    # Clicked again: refused, and answered as a refusal (never a success status or message).
    again = _approve(client, token, approval_id, htmx=htmx)
    already = "This approval has already been decided."
    if htmx:
        assert again.status_code == 409 and f'data-testid="row-error">{already}' in again.text, what
        assert 'data-testid="row-notice"' not in again.text, what
    else:
        assert again.status_code == 400 and f'data-testid="refused">{number}: {already}' in again.text, what
        assert flashes(again) == [], what


@pytest.mark.timeout(600)
async def test_approve_clicked_the_moment_the_approval_appears_decides_it(
    portal_client: ClientFactory,
    portal_worker: WorkerThread,
    temporal: Client,
    db: Engine,
    people: People,
) -> None:
    # One at a time: the row polled in the database, or the queue page watched as a person would.
    client = approver_client(portal_client, people.mid)
    token = csrf(client)
    for run in range(ONE_AT_A_TIME):
        htmx, watch_page = run % 2 == 0, run % 4 >= 2
        workflow_id, number = await _start(temporal, portal_worker, people)
        approval_id, response = await asyncio.to_thread(
            _click_as_soon_as_it_appears,
            client,
            token,
            db,
            workflow_id,
            number,
            htmx=htmx,
            watch_page=watch_page,
        )
        await _assert_decided(
            temporal, db, client, token, people, workflow_id, number, approval_id, response, htmx=htmx
        )

    # Several in flight at once, each in its own browser.
    browsers = [approver_client(portal_client, people.mid) for _ in range(IN_FLIGHT)]
    tokens = [csrf(browser) for browser in browsers]
    for _ in range(ROUNDS_IN_FLIGHT):
        started = [await _start(temporal, portal_worker, people) for _ in range(IN_FLIGHT)]
        clicks = await asyncio.gather(
            *(
                asyncio.to_thread(
                    _click_as_soon_as_it_appears,
                    browsers[i],
                    tokens[i],
                    db,
                    workflow_id,
                    number,
                    htmx=i % 2 == 0,
                    watch_page=False,
                )
                for i, (workflow_id, number) in enumerate(started)
            )
        )
        for i, ((workflow_id, number), (approval_id, response)) in enumerate(
            zip(started, clicks, strict=True)
        ):
            await _assert_decided(
                temporal,
                db,
                browsers[i],
                tokens[i],
                people,
                workflow_id,
                number,
                approval_id,
                response,
                htmx=i % 2 == 0,
            )
