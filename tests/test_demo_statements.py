"""Demo statements (`portal dev` runs them after the demo orders): made through the real
StatementWorkflow on a dev server with the production worker, one per demo supplier, each where a
role finds it: matched with its payment on finance's payments page (and the supplier's), a disputed
line on the buyer's disputes page, an invoice mismatch in finance's approval queue and on the match
exceptions page. A second run, as `portal dev` runs the step, changes nothing and exits cleanly.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import Session, col
from temporalio.testing import WorkflowEnvironment

from supplychain import invoices
from supplychain.demo_orders import seed_demo_orders
from supplychain.demo_statements import DEMO_DISPUTE_REASON, DEMO_STATEMENTS, seed_demo_statements
from supplychain.invoices import INVOICE_MATCH
from supplychain.models import (
    ApprovalRequest,
    DocumentEvent,
    Organisation,
    Statement,
    StatementDispute,
)
from supplychain.models.approvals import ApprovalStatus
from supplychain.models.settlement import (
    InvoiceMatch,
    Payment,
    PaymentStatus,
    StatementStatus,
    SupplierInvoice,
)
from supplychain.seed import EMAIL_DOMAIN, DemoDataRefused, seed_demo
from supplychain.settings import settings
from tests.fixtures.numbers import fresh_document_numbers
from tests.fixtures.temporal import running_worker
from tests.fixtures.web import ClientFactory, login

DEMO_PASSWORDS = {
    "finance": "demo-finance-2026",
    "buyer": "demo-buyer-2026",
    "supplier": "demo-supplier-2026",
}


def _fresh_document_numbers(session: Session) -> None:
    """The dev server outlives every wipe of the database; workflow ids come from PO, shipment and
    statement numbers (the settlement's from the statement's): start from a block of this test."""
    fresh_document_numbers(session, ("PO", "SHP", "ST"))


def _statements(db: Engine) -> dict[str, Statement]:
    """The statements by their supplier's code."""
    with Session(db) as session:
        return {
            code: statement
            for statement, code in session.execute(
                select(Statement, Organisation.code).join(
                    Organisation, col(Organisation.id) == col(Statement.supplier_id)
                )
            ).all()
        }


def _snapshot(db: Engine) -> tuple[object, ...]:
    """Everything a run could add or move."""
    with Session(db) as session:

        def count(model: type) -> int:
            return int(session.execute(select(func.count()).select_from(model)).scalar_one())

        return (
            sorted(
                (s.number, s.status, s.total_amount) for s in session.execute(select(Statement)).scalars()
            ),
            sorted((p.number, p.status) for p in session.execute(select(Payment)).scalars()),
            count(SupplierInvoice),
            count(StatementDispute),
            count(ApprovalRequest),
            count(DocumentEvent),
        )


def _page(make_client: ClientFactory, login_name: str, path: str) -> str:
    client = make_client()
    login(client, f"{login_name}@{EMAIL_DOMAIN}", DEMO_PASSWORDS[login_name])
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return str(response.text)


async def test_demo_statements_leave_work_for_finance_the_buyer_and_the_supplier_and_are_made_once(
    db: Engine,
    dev_server_env: WorkflowEnvironment,
    task_queue: str,
    tmp_path: Path,
    make_client: ClientFactory,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    from cli import _create_demo_statements

    monkeypatch.setattr(settings, "UPLOAD_DIR", tmp_path / "uploads")
    with Session(db) as session:
        seed_demo(session)
        _fresh_document_numbers(session)
    client = dev_server_env.client

    async with running_worker(client, task_queue):
        await seed_demo_orders(client, task_queue)
        created = await seed_demo_statements(client, task_queue)
        assert len(created) == len(DEMO_STATEMENTS) == 3

        statements = _statements(db)
        assert sorted(s.number for s in statements.values()) == sorted(created)
        assert {code: s.status for code, s in statements.items()} == {
            "SUP-HZLY": StatementStatus.MATCHED,
            "SUP-GDYH": StatementStatus.DISPUTED,
            "SUP-SHFH": StatementStatus.MATCH_EXCEPTION,
        }
        matched, disputed, mismatched = (statements[c] for c in ("SUP-HZLY", "SUP-GDYH", "SUP-SHFH"))
        with Session(db) as session:
            # Each billed what its demo order received, over the month up to that day.
            for statement in statements.values():
                assert statement.total_amount > 0
                assert statement.period_start == statement.period_end.replace(day=1)
            # (a) matched: its invoice stored as an upload is, its payment scheduled for finance.
            invoice = session.execute(
                select(SupplierInvoice).where(col(SupplierInvoice.statement_id) == matched.id)
            ).scalar_one()
            assert invoice.match is InvoiceMatch.MATCHED and invoice.total_amount == matched.total_amount
            stored = invoices.stored_path(invoice.stored_name)
            assert stored.read_bytes().startswith(b"%PDF-") and stored.stat().st_size == invoice.size_bytes
            payment = session.execute(
                select(Payment).where(col(Payment.statement_id) == matched.id)
            ).scalar_one()
            assert payment.status in (PaymentStatus.SCHEDULED, PaymentStatus.AWAITING_APPROVAL)
            assert payment.amount == matched.total_amount
            # (b) one line disputed by the supplier, waiting for the buyer.
            [dispute] = session.execute(
                select(StatementDispute).where(col(StatementDispute.statement_id) == disputed.id)
            ).scalars()
            assert dispute.resolution is None and dispute.reason == DEMO_DISPUTE_REASON
            # (c) the invoice beyond tolerance: a mismatch waiting for finance's decision.
            bad = session.execute(
                select(SupplierInvoice).where(col(SupplierInvoice.statement_id) == mismatched.id)
            ).scalar_one()
            assert bad.match is InvoiceMatch.MISMATCH and bad.total_amount > mismatched.total_amount
            approval = session.execute(
                select(ApprovalRequest).where(
                    col(ApprovalRequest.document_type) == INVOICE_MATCH,
                    col(ApprovalRequest.document_id) == mismatched.number,
                )
            ).scalar_one()
            assert approval.status is ApprovalStatus.PENDING

        # Where each role finds its work. (Finance's payments page lists a scheduled payment only
        # once it is due within the week, so it is not asserted here: T+7 moved past a weekend is
        # further away than that.)
        assert mismatched.number in _page(make_client, "finance", "/match-exceptions")
        assert mismatched.number in _page(make_client, "finance", "/approvals")
        assert disputed.number in _page(make_client, "buyer", "/statement-disputes")
        assert payment.number in _page(make_client, "supplier", "/payments")

        # Again, as `portal dev` runs it (its own process): nothing new, nothing moved, no warning.
        before = _snapshot(db)
        monkeypatch.setenv("TEMPORAL_ADDRESS", client.service_client.config.target_host)
        monkeypatch.setenv("TEMPORAL_TASK_QUEUE", task_queue)
        capfd.readouterr()
        assert await asyncio.to_thread(_create_demo_statements)
        out, err = capfd.readouterr()
        assert "Demo statements are in place already." in out, out
        assert "Warning" not in err and "Fatal Python error" not in err, err
        assert _snapshot(db) == before


async def test_production_creates_no_demo_statements(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "ENVIRONMENT", "production")
    with pytest.raises(DemoDataRefused):
        await seed_demo_statements(None, "no-queue")  # refused before any use
