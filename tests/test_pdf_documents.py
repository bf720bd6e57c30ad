"""The PDF documents (supplychain/pdf_documents.py): what a reader finds in them, in both locales,
and that their Chinese text is drawn with an embedded CJK font (not as empty boxes)."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from supplychain.pdf_documents import (
    PURCHASE_ORDER_TEMPLATE,
    REMITTANCE_TEMPLATE,
    STATEMENT_TEMPLATE,
    EarlyPaymentDiscount,
    PaidStatement,
    Party,
    PurchaseOrderDocument,
    PurchaseOrderLineView,
    RemittanceDocument,
    StatementDocument,
    StatementLine,
    VatTotal,
    render_html,
    render_pdf,
    totals_by_vat_rate,
)
from tests.pdf_tools import assert_cjk_fonts_embedded, embedded_fonts, page_count, page_text, pdf_text

HQ = Party(name="华联超市总部", address="上海市浦东新区世纪大道100号", tax_id="91310000MA1FL0000X")
SUPPLIER = Party(name="杭州青山食品有限公司", address="杭州市西湖区文三路1号")
CAPITALS = "人民币壹佰零柒元零伍分"  # given by the caller: the PDF shows it as it is


def statement_line(n: int, *, rate: str = "0.13", amount: str = "30.00", tax: str = "3.90") -> StatementLine:
    return StatementLine(
        date=date(2026, 11, 1 + n % 28),
        source_number=f"SHP-2026-{n:06d}",
        sku_code=f"SKU{n:05d}",
        description="农夫山泉饮用天然水 550ml",
        description_en="Spring water 550ml",
        quantity=24,
        unit_price=Decimal("1.2500"),
        vat_rate=Decimal(rate),
        amount=Decimal(amount),
        tax=Decimal(tax),
    )


def statement(lines: tuple[StatementLine, ...]) -> StatementDocument:
    totals = totals_by_vat_rate((line.vat_rate, line.amount, line.tax) for line in lines)
    net = sum((t.net for t in totals), Decimal("0.00"))
    tax = sum((t.tax for t in totals), Decimal("0.00"))
    return StatementDocument(
        number="ST-2026-000007",
        period_start=date(2026, 11, 1),
        period_end=date(2026, 11, 30),
        issue_date=date(2026, 12, 1),
        company=HQ,
        supplier=SUPPLIER,
        buyer=Party(name=HQ.name),
        lines=lines,
        vat_totals=totals,
        net_total=net,
        tax_total=tax,
        grand_total=net + tax,
        amount_in_capitals=CAPITALS,
    )


# 30.00 + 3.90 at 13 %, 60.00 + 5.40 at 9 %, a return of -10.00 - 1.30 at 13 %: 107.05 in all.
SMALL_STATEMENT = statement(
    (
        statement_line(1),
        statement_line(2, rate="0.09", amount="60.00", tax="5.40"),
        statement_line(3, amount="-10.00", tax="-1.30"),
    )
)

REMITTANCE = RemittanceDocument(
    number="PAY-2026-000003",
    paid_date=date(2026, 12, 8),
    company=HQ,
    supplier=SUPPLIER,
    bank_reference="CMB20261208000123",
    statements=(PaidStatement("ST-2026-000007", date(2026, 11, 1), date(2026, 11, 30), Decimal("108.13")),),
    vat_totals=(
        VatTotal(Decimal("0.13"), Decimal("20.00"), Decimal("2.60")),
        VatTotal(Decimal("0.09"), Decimal("78.47"), Decimal("7.06")),
    ),
    gross_amount=Decimal("108.13"),
    discount=EarlyPaymentDiscount(rate=Decimal("0.01"), amount=Decimal("1.08"), due_date=date(2026, 12, 15)),
    paid_amount=Decimal("107.05"),
    amount_in_capitals=CAPITALS,
    payee_bank="招商银行杭州分行 6225 **** **** 0001",
)

PURCHASE_ORDER = PurchaseOrderDocument(
    number="PO-2026-000042",
    order_date=date(2026, 12, 2),
    sent_date=date(2026, 12, 2),
    company=HQ,
    supplier=SUPPLIER,
    requester="华联超市总部 · 徐汇店",
    ship_to=Party(name="华东区域仓", address="上海市嘉定区物流园1号"),
    status_label="Waiting for supplier confirmation",
    lines=(
        PurchaseOrderLineView(
            line_no=1,
            sku_code="SKU00001",
            description="农夫山泉饮用天然水 550ml",
            description_en="Spring water 550ml",
            quantity_ordered=120,
            unit_price=Decimal("1.2500"),
            vat_rate=Decimal("0.13"),
            amount=Decimal("150.00"),
            tax=Decimal("19.50"),
        ),
    ),
    vat_totals=(VatTotal(Decimal("0.13"), Decimal("150.00"), Decimal("19.50")),),
    net_total=Decimal("150.00"),
    tax_total=Decimal("19.50"),
    grand_total=Decimal("169.50"),
)

DOCUMENTS = {
    "statement": (STATEMENT_TEMPLATE, SMALL_STATEMENT),
    "remittance": (REMITTANCE_TEMPLATE, REMITTANCE),
    "purchase_order": (PURCHASE_ORDER_TEMPLATE, PURCHASE_ORDER),
}


def squeezed(text: str) -> str:
    """The text with runs of spaces made one (a -layout table row spreads its cells out)."""
    return re.sub(r"[ \t]+", " ", text)


def row(text: str, first_cell: str) -> str:
    """The line of `text` that starts with `first_cell` (a table row, label first)."""
    found = [line.strip() for line in text.splitlines() if line.strip().startswith(first_cell)]
    assert found, f"no line starts with {first_cell!r} in:\n{text}"
    return squeezed(found[0])


def test_statement_in_chinese_shows_supplier_lines_totals_per_rate_and_amount_in_capitals() -> None:
    text = pdf_text(render_pdf(STATEMENT_TEMPLATE, SMALL_STATEMENT, "zh_CN"))
    assert "供应商对账单" in text
    assert "ST-2026-000007" in text
    assert "杭州青山食品有限公司" in text and "杭州市西湖区文三路1号" in text
    assert "华联超市总部" in text and "91310000MA1FL0000X" in text
    assert "2026年11月1日 – 2026年11月30日" in text
    assert "SHP-2026-000003" in text and "农夫山泉饮用天然水 550ml" in text
    assert "-¥10.00" in text  # the return, negative
    assert "13% ¥20.00 ¥2.60 ¥22.60" in row(text, "13%")
    assert "9% ¥60.00 ¥5.40 ¥65.40" in row(text, "9%")
    assert row(text, "合计") == "合计 ¥80.00 ¥8.00 ¥88.00"
    assert f"大写金额: {CAPITALS}" in squeezed(text)
    assert "第 1 页，共 1 页" in text


def test_statement_in_english_keeps_chinese_names_and_formats_money_and_dates_for_english() -> None:
    text = pdf_text(render_pdf(STATEMENT_TEMPLATE, SMALL_STATEMENT, "en"))
    assert "Supplier statement" in text
    assert "杭州青山食品有限公司" in text  # Chinese names stay Chinese in an English PDF
    assert "Spring water 550ml" in text  # the SKU's English name where it has one
    assert "Nov 1, 2026 – Nov 30, 2026" in text
    assert row(text, "Grand total") == "Grand total CN¥80.00 CN¥8.00 CN¥88.00"
    assert f"Amount in Chinese capitals (大写金额): {CAPITALS}" in squeezed(text)
    assert "Page 1 of 1" in text


@pytest.mark.parametrize(
    ("locale", "due", "discount", "paid"),
    [
        ("zh_CN", "应付金额 ¥108.13", "提前付款折扣 1%", "实付金额 ¥107.05"),
        ("en", "Amount due CN¥108.13", "Early-payment discount 1%", "Amount paid CN¥107.05"),
    ],
)
def test_remittance_advice_shows_statements_paid_discount_amount_paid_and_capitals(
    locale: str, due: str, discount: str, paid: str
) -> None:
    text = pdf_text(render_pdf(REMITTANCE_TEMPLATE, REMITTANCE, locale))
    assert "PAY-2026-000003" in text and "CMB20261208000123" in text
    assert "杭州青山食品有限公司" in text and "ST-2026-000007" in text
    label = due.rsplit(" ", 1)[0]
    assert row(text, label) == due
    assert row(text, discount).endswith("-¥1.08" if locale == "zh_CN" else "-CN¥1.08")
    assert row(text, paid.rsplit(" ", 1)[0]) == paid
    assert CAPITALS in text
    assert "招商银行杭州分行" in text


def test_purchase_order_pdf_shows_supplier_ship_to_lines_and_totals() -> None:
    zh = pdf_text(render_pdf(PURCHASE_ORDER_TEMPLATE, PURCHASE_ORDER, "zh_CN"))
    assert "采购订单" in zh and "PO-2026-000042" in zh
    assert "杭州青山食品有限公司" in zh and "华东区域仓" in zh and "上海市嘉定区物流园1号" in zh
    assert "待供应商确认" in zh  # the status label, translated
    assert row(zh, "合计") == "合计 ¥150.00 ¥19.50 ¥169.50"
    en = pdf_text(render_pdf(PURCHASE_ORDER_TEMPLATE, PURCHASE_ORDER, "en"))
    assert "Waiting for supplier confirmation" in en and "Spring water 550ml" in en
    assert row(en, "Grand total") == "Grand total CN¥150.00 CN¥19.50 CN¥169.50"


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
@pytest.mark.parametrize("kind", sorted(DOCUMENTS))
def test_every_pdf_draws_its_text_with_embedded_noto_sans_cjk_sc(kind: str, locale: str) -> None:
    template, document = DOCUMENTS[kind]
    assert_cjk_fonts_embedded(render_pdf(template, document, locale))


def test_the_font_check_catches_a_pdf_without_the_cjk_font() -> None:
    from weasyprint import HTML

    latin_only = HTML(string='<p lang="en" style="font-family: DejaVu Sans">杭州 Hangzhou</p>').write_pdf()
    assert any(not font.name.startswith("Noto") for font in embedded_fonts(latin_only))
    with pytest.raises(AssertionError):
        assert_cjk_fonts_embedded(latin_only)


def test_a_500_line_statement_runs_over_pages_with_header_and_page_numbers_on_each() -> None:
    document = statement(tuple(statement_line(n) for n in range(1, 501)))
    pdf = render_pdf(STATEMENT_TEMPLATE, document, "zh_CN")
    pages = page_count(pdf)
    assert pages > 5
    first, second, last = page_text(pdf, 1), page_text(pdf, 2), page_text(pdf, pages)
    assert f"第 1 页，共 {pages} 页" in first
    assert f"第 2 页，共 {pages} 页" in second
    assert f"第 {pages} 页，共 {pages} 页" in last
    # Later pages carry the company and document in the margin and the column headings again.
    assert "华联超市总部" in second and "ST-2026-000007" in second and "来源单据" in second
    assert "SHP-2026-000500" in last and "SHP-2026-000500" not in first
    assert row(last, "合计") == "合计 ¥15,000.00 ¥1,950.00 ¥16,950.00"
    assert CAPITALS in last


def test_names_from_the_database_are_escaped_not_read_as_html() -> None:
    odd = Party(name='Fresh & Co <b class="x">')
    html = render_html(STATEMENT_TEMPLATE, replace(SMALL_STATEMENT, supplier=odd), "en")
    assert "Fresh &amp; Co &lt;b class=&#34;x&#34;&gt;" in html
    assert '<b class="x">' not in html


def test_totals_by_vat_rate_add_the_lines_rounded_tax_per_rate_highest_rate_first() -> None:
    totals = totals_by_vat_rate(
        [
            (Decimal("0.09"), Decimal("10.00"), Decimal("0.90")),
            (Decimal("0.13"), Decimal("0.05"), Decimal("0.01")),  # 0.0065 rounded up per line
            (Decimal("0.1300"), Decimal("0.05"), Decimal("0.01")),
        ]
    )
    assert totals == (
        VatTotal(Decimal("0.13"), Decimal("0.10"), Decimal("0.02")),
        VatTotal(Decimal("0.09"), Decimal("10.00"), Decimal("0.90")),
    )
