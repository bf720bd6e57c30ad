"""PDF downloads: the purchase order as a PDF, for exactly the organisations that see its page.

Rows are written directly (no workflow behind them), as in tests/web/test_purchase_orders.py, whose
world and purchase-order factory these tests share.
"""

from __future__ import annotations

import re
import threading

import pytest
from sqlmodel import Session

import web.pdfs
from supplychain import pdf_documents
from supplychain.db import get_engine
from supplychain.models import POStatus, Role, User
from supplychain.settings import settings
from tests.factories import make_user
from tests.fixtures.web import ClientFactory
from tests.pdf_tools import assert_cjk_fonts_embedded, pdf_text
from tests.web.test_purchase_orders import World, as_user, make_po
from tests.web.test_purchase_orders import world as world


def pdf_url(number: str) -> str:
    return f"/purchase-orders/{number}/pdf"


def squeezed(text: str) -> str:
    return re.sub(r"[ \t]+", " ", text)


def test_po_pdf_is_served_to_the_store_the_hq_buyer_and_the_supplier_it_was_sent_to(
    make_client: ClientFactory, world: World, session: Session
) -> None:
    po = make_po(session, world)  # sent: store A asked for it, supplier A supplies it
    for user in (world.store_a_user, world.buyer, world.supplier_a_user):
        client = as_user(make_client, user)
        response = client.get(pdf_url(po.number))
        assert response.status_code == 200, (user.email, response.text[:500])
        assert response.headers["content-type"] == "application/pdf"
        assert response.headers["content-disposition"] == f'attachment; filename="{po.number}.pdf"'
        assert response.headers["cache-control"] == "no-store"
        assert response.content.startswith(b"%PDF-")
        text = squeezed(pdf_text(response.content))
        assert po.number in text and "Purchase order" in text  # the world's users read English
        assert "Supplier Alpha" in text and world.hq.name in text and world.sku_a.code in text
        assert "Grand total CN¥120.00 CN¥15.60 CN¥135.60" in text
        assert "Page 1 of 1" in text


def test_po_page_links_to_its_pdf_for_everyone_who_sees_it(
    make_client: ClientFactory, world: World, session: Session
) -> None:
    po = make_po(session, world)
    for user in (world.store_a_user, world.buyer, world.supplier_a_user):
        page = as_user(make_client, user).get(f"/purchase-orders/{po.number}")
        assert page.status_code == 200
        assert f'href="{pdf_url(po.number)}"' in page.text


def test_po_pdf_is_refused_to_other_organisations_exactly_like_the_page(
    make_client: ClientFactory, world: World, session: Session
) -> None:
    po = make_po(session, world)
    for user in (world.supplier_b_user, world.distributor_user, world.store_b_user):
        client = as_user(make_client, user)
        assert client.get(f"/purchase-orders/{po.number}").status_code == 404
        response = client.get(pdf_url(po.number))
        assert response.status_code == 404, user.email
        assert b"%PDF" not in response.content
    # An order that does not exist answers the same.
    buyer = as_user(make_client, world.buyer)
    assert buyer.get(pdf_url("PO-2026-999999")).status_code == 404


def test_po_pdf_is_refused_to_the_supplier_until_the_order_is_sent(
    make_client: ClientFactory, world: World, session: Session
) -> None:
    waiting = make_po(session, world, status=POStatus.PENDING_APPROVAL)
    supplier = as_user(make_client, world.supplier_a_user)
    assert supplier.get(pdf_url(waiting.number)).status_code == 404
    # HQ and the store that asked see it while it waits for approval.
    assert as_user(make_client, world.buyer).get(pdf_url(waiting.number)).status_code == 200
    assert as_user(make_client, world.store_a_user).get(pdf_url(waiting.number)).status_code == 200


def test_po_pdf_in_chinese_for_a_chinese_reader_with_embedded_cjk_font(
    make_client: ClientFactory, world: World, session: Session
) -> None:
    world.supplier_a.name = "杭州青山食品有限公司"
    session.add(world.supplier_a)
    session.commit()
    po = make_po(session, world)
    reader: User = make_user(session, organisation=world.hq, roles=[Role.FINANCE], locale="zh_CN")
    response = as_user(make_client, reader).get(pdf_url(po.number))
    assert response.status_code == 200
    text = squeezed(pdf_text(response.content))
    assert "采购订单" in text and "杭州青山食品有限公司" in text
    assert "合计 ¥120.00 ¥15.60 ¥135.60" in text
    assert "第 1 页，共 1 页" in text
    assert_cjk_fonts_embedded(response.content)


def test_po_pdf_renders_on_the_pdf_thread_with_the_connection_given_back(
    make_client: ClientFactory, world: World, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    pool = get_engine().pool
    seen: list[tuple[str, int]] = []
    real_render = pdf_documents.render_pdf

    def watched(template_name: str, document: object, locale: str) -> bytes:
        seen.append((threading.current_thread().name, pool.checkedout()))  # type: ignore[attr-defined]
        return real_render(template_name, document, locale)

    monkeypatch.setattr(web.pdfs, "render_pdf", watched)
    url = pdf_url(make_po(session, world).number)
    buyer = as_user(make_client, world.buyer)
    session.commit()  # nothing of the test's session is read again: it holds no connection now
    before = pool.checkedout()  # type: ignore[attr-defined]
    response = buyer.get(url)
    assert response.status_code == 200
    [(thread_name, checked_out_while_rendering)] = seen
    assert thread_name.startswith("pdf-render")
    # The request's connection went back to the pool before rendering (the test's own may stay).
    assert checked_out_while_rendering == before


def test_the_pdf_header_names_the_hq_with_the_configured_address_and_tax_id(
    make_client: ClientFactory, world: World, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "COMPANY_ADDRESS", "上海市浦东新区世纪大道100号")
    monkeypatch.setattr(settings, "COMPANY_TAX_ID", "91310000MA1FL0000X")
    po = make_po(session, world)
    response = as_user(make_client, world.buyer).get(pdf_url(po.number))
    header = pdf_text(response.content).split(po.number)[0]  # what comes before the title's number
    assert world.hq.name in header
    assert "上海市浦东新区世纪大道100号" in header and "Tax id: 91310000MA1FL0000X" in header
