"""Pages load what they render in a fixed number of SQL statements (issue 10, item 2).

Each page is requested twice as the user who works on it: over a few rows and over many. The
statements a request runs are counted on the engine: the count stays under the page's budget and
does not grow with the rows (no N+1). The shell of every page (the logged-in user with organisation
and roles, the bell count) costs two of them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Engine, event
from sqlmodel import Session
from starlette.testclient import TestClient

from supplychain.models import POStatus
from tests.fixtures.web import ClientFactory, login
from tests.web.test_purchase_orders import World, make_po
from tests.web.test_purchase_orders import world as world

SHELL = 2  # the session with user, organisation and roles; the bell count


@contextmanager
def counted(engine: Engine) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


@dataclass(frozen=True)
class PageCase:
    url: str
    user: Callable[[World], Any]
    # Statements, the shell's two included: what the page costs today. A change that needs more
    # raises it here on purpose; one that makes a page cost more per row fails the first assert.
    budget: int


CASES = {
    "buyer's purchase orders": PageCase("/purchase-orders", lambda w: w.buyer, 9),
    "supplier's purchase orders": PageCase(
        "/supplier/purchase-orders?status=all", lambda w: w.supplier_a_user, 7
    ),
    "store's orders": PageCase("/replenishment?status=all", lambda w: w.store_a_user, 7),
    # HQ's home: + 2 for the settlement figures (days to payment; due soon and overdue in one).
    "home": PageCase("/", lambda w: w.buyer, 6),
    "notifications": PageCase("/notifications", lambda w: w.buyer, 3),
    "stock": PageCase("/stock", lambda w: w.buyer, 5),
    "price lists": PageCase("/price-lists", lambda w: w.buyer, 6),
    "expected receipts": PageCase("/warehouse/receipts", lambda w: w.warehouse_user, 5),
}


def _statements(engine: Engine, client: TestClient, url: str) -> list[str]:
    client.get(url)  # warm: caches, the session's last_seen_at touch
    with counted(engine) as statements:
        response = client.get(url)
    assert response.status_code == 200, response.text[:500]
    return statements


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_a_page_costs_a_fixed_number_of_statements_however_many_rows(
    make_client: ClientFactory, world: World, session: Session, db: Engine, case: PageCase
) -> None:
    client = make_client()
    login(client, case.user(world))
    make_po(session, world, status=POStatus.SENT)
    few = _statements(db, client, case.url)
    for status in (POStatus.SENT, POStatus.CONFIRMED, POStatus.IN_DELIVERY) * 6:
        make_po(session, world, status=status)
    many = _statements(db, client, case.url)
    assert len(many) == len(few), f"{case.url}: {len(few)} statements over one order, {len(many)} over 19"
    shell = [
        st for st in many if "FROM web_session" in st or ("count(*)" in st and "FROM notification" in st)
    ]
    assert len(shell) == SHELL, f"the shell ran {len(shell)} statements:\n" + "\n".join(shell)
    assert len(many) <= case.budget, f"{case.url}: {len(many)} statements:\n" + "\n".join(many)


def test_the_purchase_order_page_costs_a_fixed_number_of_statements(
    make_client: ClientFactory, world: World, session: Session, db: Engine
) -> None:
    client = make_client()
    login(client, world.buyer)
    po = make_po(session, world)
    statements = _statements(db, client, f"/purchase-orders/{po.number}")
    assert len(statements) <= 12, f"{len(statements)} statements:\n" + "\n".join(statements)
