"""PDF documents for finance and purchasing: supplier statement (对账单), remittance advice (付款通知书)
and purchase order (采购订单), rendered by WeasyPrint from `templates/pdf/`.

Each document is a frozen dataclass of plain values (a "document view") that a route or an activity
fills from its rows; this module knows no table. The view holds values, not text: amounts are
Decimal, dates are dates, labels are message ids, so one view renders in either locale
(`render_pdf(..., locale)` translates and formats). Chinese text must render with a CJK font that
WeasyPrint embeds: every PDF uses "Noto Sans CJK SC" with lang="zh-CN" (Debian `fonts-noto-cjk`),
also in English, since supplier names and addresses are Chinese whatever the reader's language.
Without the font WeasyPrint draws empty boxes and raises nothing (tests check the embedded fonts).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache
from threading import Lock
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from supplychain import i18n
from supplychain.rules.money import MONEY_PLACES, PRICE_PLACES, has_places
from supplychain.settings import PROJECT_ROOT

PDF_TEMPLATES = PROJECT_ROOT / "templates" / "pdf"
STATEMENT_TEMPLATE = "statement.html"
REMITTANCE_TEMPLATE = "remittance.html"
PURCHASE_ORDER_TEMPLATE = "purchase_order.html"
# One PDF at a time per process: the cached font configuration and stylesheet are shared, and
# WeasyPrint does not promise they may be used by two threads at once (its layout holds the GIL
# anyway, so two at once would not finish sooner).
_render_lock = Lock()
ZERO = Decimal("0.00")


# --- the document views ------------------------------------------------------------------------


@dataclass(frozen=True)
class Party:
    """An organisation as a document names it. Address and tax id are shown when known."""

    name: str
    address: str = ""
    tax_id: str = ""  # 统一社会信用代码 / 纳税人识别号
    contact: str = ""  # a person, a telephone number


@dataclass(frozen=True)
class VatTotal:
    """The lines of one VAT rate added up (a Chinese VAT invoice lists them per rate)."""

    rate: Decimal  # 0.13 for 13 %
    net: Decimal
    tax: Decimal

    @property
    def total(self) -> Decimal:
        return self.net + self.tax


@dataclass(frozen=True)
class StatementLine:
    """One source line of a statement: a receipt, a return, a debit note or a price adjustment.

    Returns and deductions carry negative quantities or amounts.
    """

    date: date
    source_number: str  # the source document: SHP-2026-000012, RTV-…, DN-…
    sku_code: str
    description: str  # the SKU's Chinese name (or what the source line says)
    quantity: Decimal | int
    unit_price: Decimal
    vat_rate: Decimal
    amount: Decimal  # net
    tax: Decimal
    description_en: str = ""  # shown in English PDFs when given

    @property
    def total(self) -> Decimal:
        return self.amount + self.tax


@dataclass(frozen=True)
class StatementDocument:
    number: str
    period_start: date
    period_end: date
    issue_date: date
    company: Party  # the issuing company, in the page header (the retailer's HQ)
    supplier: Party
    buyer: Party
    lines: tuple[StatementLine, ...]
    vat_totals: tuple[VatTotal, ...]
    net_total: Decimal
    tax_total: Decimal
    grand_total: Decimal
    amount_in_capitals: str  # 大写金额 of grand_total, given by the caller
    currency: str = i18n.CURRENCY
    note: str = ""


@dataclass(frozen=True)
class PaidStatement:
    """A statement a payment settles (or settles in part)."""

    number: str
    period_start: date
    period_end: date
    amount: Decimal  # what of it this payment settles, before any discount


@dataclass(frozen=True)
class EarlyPaymentDiscount:
    """The discount the supplier accepted for being paid before the due date."""

    rate: Decimal  # 0.01 for 1 %
    amount: Decimal  # deducted: a positive number
    due_date: date | None = None  # when the payment would otherwise have been due


@dataclass(frozen=True)
class RemittanceDocument:
    number: str  # the payment number
    paid_date: date
    company: Party  # the payer (HQ), in the page header
    supplier: Party  # the payee
    bank_reference: str
    statements: tuple[PaidStatement, ...]
    vat_totals: tuple[VatTotal, ...]
    gross_amount: Decimal  # the statements' amounts added up
    paid_amount: Decimal  # gross_amount less the discount: what was transferred
    amount_in_capitals: str  # 大写金额 of paid_amount, given by the caller
    discount: EarlyPaymentDiscount | None = None
    payee_bank: str = ""  # bank and account as the transfer went out, if the caller shows it
    currency: str = i18n.CURRENCY
    note: str = ""


@dataclass(frozen=True)
class PurchaseOrderLineView:
    line_no: int
    sku_code: str
    description: str
    quantity_ordered: int
    unit_price: Decimal
    vat_rate: Decimal
    amount: Decimal  # net
    tax: Decimal
    quantity_confirmed: int | None = None
    promised_date: date | None = None
    description_en: str = ""
    status_label: str = ""  # a message id; shown only when the line is not open

    @property
    def total(self) -> Decimal:
        return self.amount + self.tax


@dataclass(frozen=True)
class PurchaseOrderDocument:
    number: str
    order_date: date
    company: Party  # the buyer (HQ), in the page header
    supplier: Party
    requester: str  # organisation and store that asked for the goods
    ship_to: Party  # the delivery location: name and address
    status_label: str  # a message id (web.purchasing.PO_STATUS_LABELS)
    lines: tuple[PurchaseOrderLineView, ...]
    vat_totals: tuple[VatTotal, ...]
    net_total: Decimal
    tax_total: Decimal
    grand_total: Decimal
    sent_date: date | None = None
    amount_in_capitals: str = ""  # optional on a purchase order
    currency: str = i18n.CURRENCY
    note: str = ""


def totals_by_vat_rate(lines: Iterable[tuple[Decimal, Decimal, Decimal]]) -> tuple[VatTotal, ...]:
    """(rate, net, tax) of each line, added up per rate, highest rate first. The lines' own rounded
    tax is summed (never the tax of the sum), so the totals equal the lines'."""
    net: dict[Decimal, Decimal] = {}
    tax: dict[Decimal, Decimal] = {}
    for rate, line_net, line_tax in lines:
        key = rate.normalize()
        net[key] = net.get(key, ZERO) + line_net
        tax[key] = tax.get(key, ZERO) + line_tax
    return tuple(VatTotal(rate=rate, net=net[rate], tax=tax[rate]) for rate in sorted(net, reverse=True))


# --- rendering ---------------------------------------------------------------------------------


def _css_string(text: str) -> str:
    """`text` as a CSS string literal (for `content:` in the page margins)."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")
    return f'"{escaped}"'


def page_number_css() -> Markup:
    """The `content` value of the page-number margin box, "Page 1 of 3" in the current locale."""
    text = i18n.translate(i18n.lazy("Page %(page)s of %(pages)s"))
    marker_page, marker_pages = "\x00page\x00", "\x00pages\x00"
    literal = _css_string(text % {"page": marker_page, "pages": marker_pages})
    literal = literal.replace(marker_page, '" counter(page) "').replace(marker_pages, '" counter(pages) "')
    return Markup(literal)  # noqa: S704 (our catalogue, quoted as CSS above; never HTML)


def format_price(value: Decimal) -> str:
    """A unit price with 2 decimals, or 4 when it has more (prices are kept to 4 places)."""
    places = MONEY_PLACES if has_places(value, MONEY_PLACES) else PRICE_PLACES
    return i18n.format_decimal(value, places=places)


def item_description(line: StatementLine | PurchaseOrderLineView) -> str:
    if i18n.get_locale() != "zh_CN" and line.description_en:
        return line.description_en
    return line.description


@cache
def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(PDF_TEMPLATES)),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        auto_reload=False,  # the templates are fixed while the process runs
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=i18n.translate, ngettext=i18n.translate_plural, newstyle=True
    )
    helpers: dict[str, Callable[..., Any]] = {
        "format_money": i18n.format_money,
        "format_decimal": i18n.format_decimal,
        "format_percent": i18n.format_percent,
        "format_date": i18n.format_date,
        "get_locale": i18n.get_locale,
        "page_number_css": page_number_css,
        "item_description": item_description,
        "format_price": format_price,
    }
    env.globals.update(helpers)
    return env


@cache
def _font_config() -> Any:
    from weasyprint.text.fonts import FontConfiguration

    return FontConfiguration()


@cache
def _stylesheet() -> Any:
    """The shared A4 stylesheet, parsed once (with the fonts it names) and reused by every PDF."""
    from weasyprint import CSS

    return CSS(filename=str(PDF_TEMPLATES / "document.css"), font_config=_font_config())


def render_html(template_name: str, document: object, locale: str) -> str:
    """The HTML a PDF is made from (tests and template work read it)."""
    with i18n.use_locale(locale):
        return _environment().get_template(template_name).render(doc=document, locale=i18n.get_locale())


def render_pdf(template_name: str, document: object, locale: str) -> bytes:
    """`document` rendered with `templates/pdf/<template_name>` as an A4 PDF in `locale`.

    CPU work of a second or more for long documents: call it from a worker thread (a sync route, an
    activity), never on the event loop.
    """
    from weasyprint import HTML

    html = render_html(template_name, document, locale)
    with _render_lock:
        pdf: bytes = HTML(string=html, base_url=str(PDF_TEMPLATES)).write_pdf(
            stylesheets=[_stylesheet()], font_config=_font_config()
        )
    return pdf
