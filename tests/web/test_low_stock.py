"""Low stock on the stock page: a row whose available stock is at or below its reorder point (from the
location's sales and the preferred offer's lead time, supplychain/planning.py) is marked with the
reorder point; one above it, or an SKU that does not sell there, is not."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from supplychain.models import LocationKind, MovementType, OrgKind, Role
from supplychain.replenishment import business_today
from supplychain.rules.dates import BUSINESS_TIMEZONE
from supplychain.rules.reorder_point import ReorderPolicy, reorder_point
from supplychain.rules.stock import StockDelta
from supplychain.settings import settings
from supplychain.stock import post_movement
from tests.factories import make_location, make_organisation, make_price, make_region, make_sku, make_user
from tests.fixtures.web import ClientFactory, login


def _post(
    session: Session, key: str, location_id: int, sku_id: int, kind: MovementType, qty: int, at: datetime
) -> None:
    post_movement(
        session,
        idempotency_key=key,
        location_id=location_id,
        sku_id=sku_id,
        movement_type=kind,
        delta=StockDelta(on_hand=qty),
        source_document_type="sale" if kind is MovementType.ISSUE else "opening",
        source_document_id="test",
        occurred_at=at,
    )


def test_a_row_at_or_below_its_reorder_point_is_marked_low_with_the_point(
    db: Engine, make_client: ClientFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "PLANNING_HISTORY_DAYS", 14)
    # The last 14 days: 5 sold on each of the 13 before today, none yet today; lead time 7 days.
    expected = reorder_point(
        [5] * 13 + [0],
        ReorderPolicy(
            lead_time_days=7,
            review_period_days=settings.PLANNING_REVIEW_DAYS,
            service_level=settings.PLANNING_SERVICE_LEVEL,
        ),
    ).reorder_point
    assert expected == 39  # mean 65/14, sample sd 1.34: 7 x 4.64 + 1.645 x 1.34 x sqrt(7), rounded up
    today = business_today()
    with Session(db, expire_on_commit=False) as session:
        hq = make_organisation(session, kind=OrgKind.HQ)
        supplier = make_organisation(session, kind=OrgKind.SUPPLIER)
        store = make_location(session, organisation=hq, kind=LocationKind.STORE, region=make_region(session))
        selling, plenty, still = make_sku(session), make_sku(session), make_sku(session)
        for sku in (selling, plenty, still):
            make_price(session, supplier=supplier, sku=sku, lead_time_days=7)
        buyer = make_user(session, organisation=hq, roles=[Role.BUYER], locale="en").email
        codes = {sku.id: sku.code for sku in (selling, plenty, still)}
        assert store.id is not None
        start = datetime.combine(today - timedelta(days=20), time(9), tzinfo=BUSINESS_TIMEZONE)
        for sku, opening in ((selling, 65 + expected - 1), (plenty, 500), (still, 5)):
            assert sku.id is not None
            _post(
                session,
                f"open:{sku.id}",
                store.id,
                sku.id,
                MovementType.OPENING,
                opening,
                start.astimezone(UTC),
            )
        for day in range(1, 14):
            at = datetime.combine(today - timedelta(days=day), time(12), tzinfo=BUSINESS_TIMEZONE)
            for sku in (selling, plenty):
                assert sku.id is not None
                _post(session, f"sale:{sku.id}:{day}", store.id, sku.id, MovementType.ISSUE, -5, at)
        session.commit()
        store_id = store.id
    client = make_client()
    login(client, buyer)
    page = client.get("/stock", params={"location": str(store_id)}).text
    rows = _rows(page)
    selling_code, plenty_code, still_code = codes.values()
    assert 'class="low"' in rows[selling_code]  # one below the reorder point left
    assert f"reorder point {expected}" in rows[selling_code]
    assert 'class="low"' not in rows[plenty_code]  # 435 left
    assert 'class="low"' not in rows[still_code]  # does not sell here: no reorder point


def _rows(page: str) -> dict[str, str]:
    import re

    rows = re.findall(r"<tr id=\"stock-\d+\".*?</tr>", page, re.S)
    return {re.findall(r"<td>([^<]+)</td>", row)[1]: row for row in rows}
