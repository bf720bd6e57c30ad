"""`python -m bench.pdfs`: a 500-line supplier statement as a PDF against its floor.

The floor is a bare WeasyPrint table of the same 500 rows and 11 cells, same font, no template, no
stylesheet, no page margins: what WeasyPrint itself costs for that much text. The portal's PDF adds
the Jinja2 template, the localised formatting, the A4 stylesheet with its page header and numbers,
and the totals. Each is rendered --runs times after one warm-up; the median is reported. Figures
depend on the machine: they are printed to paste into the README, never asserted.

    python -m bench.pdfs [--lines 500] [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from functools import partial

from supplychain.pdf_documents import (
    STATEMENT_TEMPLATE,
    Party,
    StatementDocument,
    StatementLine,
    render_pdf,
    totals_by_vat_rate,
)


def sample_statement(lines: int) -> StatementDocument:
    rows = tuple(
        StatementLine(
            date=date(2026, 11, 1) + timedelta(days=n % 30),
            source_number=f"SHP-2026-{n:06d}",
            sku_code=f"SKU{n:05d}",
            description="农夫山泉饮用天然水 550ml",
            description_en="Spring water 550ml",
            quantity=24,
            unit_price=Decimal("1.2500"),
            vat_rate=Decimal("0.13") if n % 3 else Decimal("0.09"),
            amount=Decimal("30.00"),
            tax=Decimal("3.90") if n % 3 else Decimal("2.70"),
        )
        for n in range(1, lines + 1)
    )
    totals = totals_by_vat_rate((r.vat_rate, r.amount, r.tax) for r in rows)
    net = sum((t.net for t in totals), Decimal("0.00"))
    tax = sum((t.tax for t in totals), Decimal("0.00"))
    return StatementDocument(
        number="ST-2026-000001",
        period_start=date(2026, 11, 1),
        period_end=date(2026, 11, 30),
        issue_date=date(2026, 12, 1),
        company=Party("华联超市总部", "上海市浦东新区世纪大道100号"),
        supplier=Party("杭州青山食品有限公司", "杭州市西湖区文三路1号"),
        buyer=Party("华联超市总部"),
        lines=rows,
        vat_totals=totals,
        net_total=net,
        tax_total=tax,
        grand_total=net + tax,
        amount_in_capitals="人民币（示例）",
    )


def bare_table(document: StatementDocument) -> bytes:
    from weasyprint import HTML

    cells = "".join(
        f"<tr><td>{n}</td><td>{r.date}</td><td>{r.source_number}</td><td>{r.sku_code}</td>"
        f"<td>{r.description}</td><td>{r.quantity}</td><td>{r.unit_price}</td><td>{r.vat_rate}</td>"
        f"<td>{r.amount}</td><td>{r.tax}</td><td>{r.total}</td></tr>"
        for n, r in enumerate(document.lines, 1)
    )
    body = f"<table>{cells}</table>"
    html = f'<html lang="zh-CN"><body style="font-family: \'Noto Sans CJK SC\'">{body}</body></html>'
    pdf: bytes = HTML(string=html).write_pdf()
    return pdf


def median_seconds(render: Callable[[], bytes], runs: int) -> float:
    render()  # warm-up: fonts, templates and the stylesheet are loaded once per process
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        render()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=500)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    document = sample_statement(args.lines)
    floor = median_seconds(partial(bare_table, document), args.runs)
    results = []
    for locale in ("zh_CN", "en"):
        seconds = median_seconds(partial(render_pdf, STATEMENT_TEMPLATE, document, locale), args.runs)
        results.append((f"statement PDF, {args.lines} lines, {locale}", seconds))
    out = sys.stdout
    out.write("| Line | Portal | Floor (bare WeasyPrint table) | Ratio |\n|---|---|---|---|\n")
    for name, seconds in results:
        out.write(f"| {name} | {seconds:.2f} s | {floor:.2f} s | {seconds / floor:.1f}x |\n")


if __name__ == "__main__":
    main()
