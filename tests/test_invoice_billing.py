"""How an invoice should bill a statement's goods lines: at the PO price, or where a resolved dispute
changed a line, at its agreed amount (supplychain.invoices, and the upload form's prefill)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from supplychain.invoices import agreed_amount, billing_price, expected_lines
from supplychain.models.settlement import StatementLine, StatementLineSource
from supplychain.rules.invoice_match import ExpectedLine
from web.statement_invoices import invoice_form_lines

D = Decimal


def line(
    line_no: int, quantity: int, price: str, original_net: str, net: str, tax: str, total: str
) -> StatementLine:
    return StatementLine(
        id=line_no,
        statement_id=1,
        line_no=line_no,
        source_type=StatementLineSource.RECEIPT,
        source_id=line_no,
        source_document="PO-2026-000001",
        occurred_on=date(2026, 11, 3),
        quantity=quantity,
        unit_price=D(price),
        tax_rate=D("0.13"),
        original_net_amount=D(original_net),
        net_amount=D(net),
        tax_amount=D(tax),
        total_amount=D(total),
    )


def test_prices_excluding_tax_bill_the_agreed_net_amount() -> None:
    agreed = line(1, 3, "10.0000", "30.00", "33.00", "4.29", "37.29")
    unchanged = line(2, 4, "10.0000", "40.00", "40.00", "5.20", "45.20")
    assert expected_lines([agreed, unchanged], prices_include_tax=False) == [
        ExpectedLine(1, 3, D("10.0000"), agreed_amount=D("33.00")),
        ExpectedLine(2, 4, D("10.0000")),
    ]
    assert billing_price(agreed, prices_include_tax=False) == D("11")
    assert billing_price(unchanged, prices_include_tax=False) == D("10.0000")
    prefilled = invoice_form_lines([agreed, unchanged], {}, prices_include_tax=False)
    assert [(form.quantity, form.unit_price) for form in prefilled] == [("3", "11.00"), ("4", "10.00")]


def test_prices_including_tax_bill_the_agreed_total_at_a_price_that_rounds_back_to_it() -> None:
    # 7 at 10.00 including 13 %: 70.00 in all, 61.95 net; the dispute agreed 65.00 net, 73.45 in all.
    agreed = line(1, 7, "10.0000", "61.95", "65.00", "8.45", "73.45")
    assert agreed_amount(agreed, prices_include_tax=True) == D("73.45")
    price = billing_price(agreed, prices_include_tax=True)
    assert price == D("10.49285714")
    assert (price * 7).quantize(D("0.01")) == D("73.45")


def test_a_typed_price_is_kept_over_the_prefill() -> None:
    agreed = line(1, 3, "10.0000", "30.00", "33.00", "4.29", "37.29")
    typed = invoice_form_lines([agreed], {"line_unit_price_1": "10.50"}, prices_include_tax=False)
    assert typed[0].unit_price == "10.50"
