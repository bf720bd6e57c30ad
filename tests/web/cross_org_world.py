"""A populated supply chain for the cross-organisation replay test: every kind of document a user
can open by id, for HQ, two distributors and the suppliers, made the way the portal makes them.

`build_world(engine, temporal, task_queue)`: the demo seed (HQ, two distributors, three suppliers,
one login per role; `lighter_seed` makes it cheaper) plus a login for the second distributor, then
purchase orders through the real ReplenishmentWorkflow, started as the catalogue page starts them
and driven, all at once, by the Updates the pages call as the users who would click:

- HQ store: SUP-HZLY, waiting for approval; SUP-GDYH children's sunscreen (inspected on receipt),
  received in five lots, each inspected on its own: two rejected and returned to the vendor (one
  acknowledged by the supplier, so it has a debit note), one rejected and waiting for HQ quality's
  decision, one rejected and being sorted, one waiting for inspection with a photo.
- DIST-SZ: sent (SUP-HZLY), confirmed (SUP-GDYH), shipped with its ASN in transit (SUP-SHFH), and
  received (SUP-HZLY infant formula: batch tracked, accepted, then held for its missing certificate).
- DIST-DG: closed (SUP-SHFH), sent (SUP-GDYH), waiting for approval (SUP-HZLY), and confirmed
  (SUP-HZLY infant formula: its ASN form has batch rows).

Besides: a certificate from SUP-HZLY and one from SUP-GDYH, an approver's delegation, an inactive
SKU, a supplier+SKU whose inspection is discontinued, and what the processes notify (orders to
approve, sent, shipped, received, lots to decide). Statements and payments (see `_statements` and
`_settlements`), and a price adjustment each for two suppliers. Price lists, stock, users,
organisations, locations and SKUs come from the seed; each store login's store has one sale
(entered as `/stock/sales` enters it), so the stock pages link each stocked balance's ledger.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine, select
from sqlmodel import Session, col
from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDReusePolicy
from temporalio.service import RPCError

from supplychain import (
    approvals,
    certificates,
    inspection_photos,
    invoices,
    price_adjustments,
    sales,
    security,
    seed,
    statements,
)
from supplychain.models import (
    ApprovalRequest,
    ApprovalStatus,
    CertificateType,
    Inspection,
    InspectionStage,
    InspectionSwitching,
    Location,
    Organisation,
    OrgKind,
    POStatus,
    PurchaseOrder,
    Role,
    Sku,
    StockBalance,
    SwitchingSeverity,
    TransferOrigin,
    TransferStatus,
    User,
    UserRole,
)
from supplychain.models.settlement import (
    InvoiceMatch,
    Payment,
    PaymentStatus,
    SettlementTerms,
    Statement,
    StatementStatus,
    WorkingDayOverride,
)
from supplychain.numbering import reserve_number
from supplychain.payments import BankStatus
from supplychain.principal import principal_for
from supplychain.replenishment import (
    business_today,
    orderable_items,
    regional_warehouse_for,
    replenishment_input,
    with_batch_tracking,
)
from supplychain.rules.decisions import RETURN_TO_VENDOR, SORTING
from supplychain.rules.ordering import split_by_supplier
from supplychain.rules.statement import ConfirmStatementInput, Period
from supplychain.rules.statement_invoice import SubmitInvoiceInput
from supplychain.seed import EMAIL_DOMAIN, seed_demo
from supplychain.settings import settings
from supplychain.settlement import payment_number
from tests.factories import make_user
from tests.fixtures.numbers import fresh_document_numbers, next_number_block
from tests.test_certificates import PDF
from tests.test_inspection_photos import PNG_PHOTO
from workflows.approval import ApprovalState, ApprovalWorkflow, DecideInput
from workflows.common import BUSINESS_TIMEZONE
from workflows.inspection import (
    AcknowledgeReturnInput,
    InspectionState,
    InspectionWorkflow,
    RecordDefectsInput,
)
from workflows.payment_run import PaymentRunInput, PaymentRunWorkflow, payment_run_workflow_id
from workflows.replenishment import (
    BatchInput,
    ConfirmLinesInput,
    CreateShipmentInput,
    LineConfirmation,
    PurchaseOrderState,
    ReceiptLineInput,
    RecordReceiptInput,
    ReplenishmentWorkflow,
    ShipmentLineInput,
    WaitRecordedInput,
    po_workflow_id,
)
from workflows.settlement import (
    BankResultInput,
    RequestEarlyPaymentInput,
    SettlementInput,
    SettlementState,
    SettlementWorkflow,
    settlement_workflow_id,
)
from workflows.statement import DisputeLineInput, StatementInput, StatementState, StatementWorkflow
from workflows.transfer import (
    DispatchTransferInput,
    TransferInput,
    TransferLineInput,
    TransferState,
    TransferWorkflow,
    transfer_workflow_id,
)

T = TypeVar("T")
STEP_TIMEOUT_S = 30.0
POLL_S = 0.05
SECOND_DISTRIBUTOR_EMAIL = f"distributor2@{EMAIL_DOMAIN}"
# Its own password: make_user caches one hash per password for the session, and this one is made
# with lighter_seed's weak parameters, which no other test should be handed.
SECOND_DISTRIBUTOR_PASSWORD = "demo-distributor2-2026"
INSPECTED_LOTS = 5  # of the sunscreen order: see _inspect
LOT_SIZE = 12


@dataclass(frozen=True)
class Login:
    """One crawling user: who, in which organisation, with which role."""

    label: str  # "hq:buyer", "supplier:SUP-GDYH", "distributor:DIST-DG"
    email: str
    password: str
    user_id: int
    organisation_id: int
    organisation_code: str
    org_kind: OrgKind
    roles: frozenset[Role]
    location_id: int | None

    @property
    def party(self) -> str:
        """The organisation as the replay rule sees it (see the test's docstring): an HQ user holding
        only the store role is its store, any other HQ user is HQ."""
        if self.org_kind is OrgKind.HQ and self.roles <= {Role.STORE}:
            return f"{self.organisation_code}:store:{self.location_id}"
        return self.organisation_code


@dataclass
class World:
    logins: list[Login]
    orders: dict[str, str]  # what the order is for ("dist-sz:sent") -> PO number
    statements: list[str] = field(default_factory=list)  # statement workflow ids
    settlements: list[str] = field(default_factory=list)  # SettlementWorkflow ids
    transfers: list[str] = field(default_factory=list)  # TransferWorkflow ids


# --- users -----------------------------------------------------------------------------------------


def lighter_seed(monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo seed, cheaper: argon2 with test-weight parameters (the seed hashes, and the logins
    verify, thirteen passwords: ~0.4 s each at production weight), and opening stock for every
    eighth SKU only (~400 postings otherwise; stock has no page by id, its lists need a few rows)."""
    monkeypatch.setattr(security, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    opening = seed._opening_quantity
    monkeypatch.setattr(
        seed, "_opening_quantity", lambda kind, loc, sku: opening(kind, loc, sku) if sku % 8 == 0 else 0
    )


def _seed(engine: Engine) -> list[Login]:
    with Session(engine) as session:
        demo = seed_demo(session)
        passwords = {d.email: d.password for d in demo}
        dg = session.execute(select(Organisation).filter_by(code="DIST-DG")).scalar_one()
        dg_store = session.execute(select(Location).filter_by(code="DS-DG01")).scalar_one()
        make_user(
            session,
            organisation=dg,
            roles=[Role.STORE],
            location=dg_store,
            email=SECOND_DISTRIBUTOR_EMAIL,
            password=SECOND_DISTRIBUTOR_PASSWORD,
            full_name="东莞店长",
        )
        passwords[SECOND_DISTRIBUTOR_EMAIL] = SECOND_DISTRIBUTOR_PASSWORD
        # One login per organisation and role: the demo's second approver (director) only delegates.
        users = session.execute(
            select(User, Organisation)
            .join(Organisation, col(User.organisation_id) == col(Organisation.id))
            .where(col(User.email).in_(list(passwords)), col(User.email) != f"director@{EMAIL_DOMAIN}")
            .order_by(col(User.id))
        ).all()
        logins = []
        for user, org in users:
            roles = frozenset(
                session.execute(select(col(UserRole.role)).where(col(UserRole.user_id) == user.id)).scalars()
            )
            label = (
                f"hq:{'+'.join(sorted(roles))}" if org.kind is OrgKind.HQ else f"{org.kind.value}:{org.code}"
            )
            assert user.id is not None and org.id is not None
            logins.append(
                Login(
                    label=label,
                    email=user.email,
                    password=passwords[user.email],
                    user_id=user.id,
                    organisation_id=org.id,
                    organisation_code=org.code,
                    org_kind=org.kind,
                    roles=roles,
                    location_id=user.location_id,
                )
            )
        return logins


def _fresh_document_numbers(engine: Engine) -> None:
    """PO workflow ids come from PO numbers and the dev server outlives every database wipe: number
    from a block no other test of the run picks (see tests/browser/conftest.py)."""
    fresh_document_numbers(engine, ("PO", "SHP", "TR"))


def _user_id(engine: Engine, email: str) -> int:
    with Session(engine) as session:
        user_id = session.execute(select(col(User.id)).filter_by(email=email)).scalar_one()
        return int(user_id)


def _supplier_user(engine: Engine, po_number: str) -> int:
    with Session(engine) as session:
        po = session.execute(select(PurchaseOrder).filter_by(number=po_number)).scalar_one()
        user_id = (
            session.execute(
                select(col(User.id))
                .join(UserRole, col(UserRole.user_id) == col(User.id))
                .where(col(User.organisation_id) == po.supplier_id, col(UserRole.role) == Role.SUPPLIER)
                .order_by(col(User.id))
            )
            .scalars()
            .first()
        )
        assert user_id is not None
        return int(user_id)


# --- orders ----------------------------------------------------------------------------------------


async def _until(fetch: Callable[[], Awaitable[T]], done: Callable[[T], bool], what: str) -> T:
    deadline = time.monotonic() + STEP_TIMEOUT_S
    while True:
        value = await fetch()
        if done(value):
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(POLL_S)


async def _order(
    engine: Engine, temporal: Client, task_queue: str, email: str, items: list[tuple[str, int]]
) -> str:
    """Start one purchase order as the catalogue page does for `email`'s request (one supplier)."""
    with Session(engine) as session:
        user = session.execute(select(User).filter_by(email=email)).scalar_one()
        principal = principal_for(session, user)
        offers = {item.sku.code: item.offer for item in orderable_items(session, principal).values()}
        plan = split_by_supplier([(offers[code], quantity) for code, quantity in items])
        assert len(plan) == 1, f"{items} is not for one supplier"
        ship_to = regional_warehouse_for(session, principal)
        assert ship_to is not None
        number = reserve_number(session, "PO", datetime.now(BUSINESS_TIMEZONE).year)
        input = with_batch_tracking(session, replenishment_input(number, plan[0], principal, ship_to))
    handle = await temporal.start_workflow(
        ReplenishmentWorkflow.run,
        input,
        id=po_workflow_id(number),
        task_queue=task_queue,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
    )
    await handle.execute_update(ReplenishmentWorkflow.wait_recorded, WaitRecordedInput())
    return number


async def _pending_approval(engine: Engine, number: str, *, assignee: int | None = None) -> ApprovalRequest:
    async def pending() -> ApprovalRequest | None:
        with Session(engine) as session:
            return session.execute(
                select(ApprovalRequest).where(
                    col(ApprovalRequest.document_id) == number,
                    col(ApprovalRequest.status) == ApprovalStatus.PENDING,
                )
            ).scalar_one_or_none()

    row = await _until(pending, lambda r: r is not None, f"the approval step of {number}")
    assert row is not None and assignee in (None, row.assignee_user_id), f"{number} went to the wrong person"
    return row


async def _decide(temporal: Client, row: ApprovalRequest, **decision: object) -> None:
    """Decide as the assignee, once the step's workflow holds the assignment its row shows."""
    handle = temporal.get_workflow_handle(row.workflow_id)

    async def assignee() -> int | None:
        state: ApprovalState = await handle.query(ApprovalWorkflow.get_state)
        return state.assignee_user_id

    await _until(assignee, lambda a: a == row.assignee_user_id, f"{row.workflow_id} to be assigned")
    who = row.assignee_user_id
    await handle.execute_update(
        ApprovalWorkflow.decide, DecideInput(actor_user_id=who, on_behalf_of_user_id=who, **decision)
    )


async def _approve(engine: Engine, temporal: Client, number: str) -> None:
    await _decide(temporal, await _pending_approval(engine, number), approve=True)


async def _confirm(
    engine: Engine, handle: WorkflowHandle[Any, Any], number: str, state: PurchaseOrderState
) -> None:
    promised = business_today() + timedelta(days=7)
    await handle.execute_update(
        ReplenishmentWorkflow.confirm_lines,
        ConfirmLinesInput(
            actor_user_id=_supplier_user(engine, number),
            lines=[LineConfirmation(line.line_no, line.quantity_ordered, promised) for line in state.lines],
        ),
    )


def _tracked(engine: Engine, sku_ids: set[int]) -> set[int]:
    with Session(engine) as session:
        return set(
            session.execute(
                select(col(Sku.id)).where(col(Sku.id).in_(sku_ids), col(Sku.batch_tracked))
            ).scalars()
        )


def _batch(number: str, line_no: int, quantity: int) -> BatchInput:
    """The one batch a batch-tracked line ships (and is received) in."""
    return BatchInput(f"B{number[-6:]}-{line_no}", business_today() + timedelta(days=365), quantity)


async def _ship(
    engine: Engine, handle: WorkflowHandle[Any, Any], number: str, state: PurchaseOrderState
) -> None:
    with Session(engine) as session:
        shipment = reserve_number(session, "SHP", datetime.now(BUSINESS_TIMEZONE).year)
    tracked = _tracked(engine, {line.sku_id for line in state.lines})
    lines = []
    for line in state.lines:
        quantity = (line.quantity_confirmed or 0) - line.quantity_shipped
        batches = [_batch(number, line.line_no, quantity)] if line.sku_id in tracked else []
        lines.append(ShipmentLineInput(line.line_no, quantity, batches))
    await handle.execute_update(
        ReplenishmentWorkflow.create_shipment,
        CreateShipmentInput(
            actor_user_id=_supplier_user(engine, number),
            shipment_number=shipment,
            carrier="顺丰速运",
            tracking_number=f"SF{shipment[-6:]}",
            eta=business_today() + timedelta(days=2),
            lines=lines,
        ),
    )


async def _receive(
    engine: Engine, handle: WorkflowHandle[Any, Any], state: PurchaseOrderState, *, lots: int
) -> None:
    """The warehouse counts what was shipped: a batch-tracked line in its batch, any other line in
    `lots` lots (tranches of LOT_SIZE and the rest), each inspected on its own if the SKU is."""
    warehouse = _user_id(engine, f"warehouse@{EMAIL_DOMAIN}")
    tracked = _tracked(engine, {line.sku_id for line in state.lines})
    sku_of = {line.line_no: line.sku_id for line in state.lines}
    for shipment in state.shipments:
        lines = []
        for line_no, quantity in sorted(shipment.lines.items()):
            rest = quantity - LOT_SIZE * (lots - 1)
            assert rest > 0, "order more to receive it in that many lots"
            if sku_of[line_no] in tracked:
                split = [_batch(state.number, line_no, quantity)]
            elif lots > 1:
                split = [*[BatchInput(quantity=LOT_SIZE)] * (lots - 1), BatchInput(quantity=rest)]
            else:
                split = []
            lines.append(ReceiptLineInput(line_no, quantity, split))
        await handle.execute_update(
            ReplenishmentWorkflow.record_receipt,
            RecordReceiptInput(actor_user_id=warehouse, shipment_number=shipment.number, lines=lines),
        )


def _left(status: POStatus) -> Callable[[PurchaseOrderState], bool]:
    return lambda state: state.status is not status


# How far each order goes: the steps taken, in order, by the users each page would act as.
STEPS: dict[str, tuple[str, ...]] = {
    "pending": (),
    "sent": ("approve",),
    "confirmed": ("approve", "confirm"),
    "shipped": ("approve", "confirm", "ship"),
    "received": ("approve", "confirm", "ship", "receive"),  # its lots are still being inspected
    "closed": ("approve", "confirm", "ship", "receive", "close"),
}


async def _drive(engine: Engine, temporal: Client, number: str, until: str, *, lots: int) -> None:
    handle = temporal.get_workflow_handle(po_workflow_id(number))

    async def state() -> PurchaseOrderState:
        result: PurchaseOrderState = await handle.query(ReplenishmentWorkflow.get_state)
        return result

    if not STEPS[until]:  # waiting for approval: until the approver has it in their queue
        await _pending_approval(engine, number)
    for step in STEPS[until]:
        before = await state()
        if step == "approve":
            await _approve(engine, temporal, number)
        elif step == "confirm":
            await _confirm(engine, handle, number, before)
        elif step == "ship":
            await _ship(engine, handle, number, before)
        elif step == "receive":
            await _receive(engine, handle, before, lots=lots)
            continue
        else:
            await _until(state, lambda s: s.status is POStatus.CLOSED, f"{number} to close")
            continue
        await _until(state, _left(before.status), f"{number} to leave {before.status}")


# label: (requester e-mail local part, items of one supplier, how far it goes, lots per line)
ORDERS: dict[str, tuple[str, list[tuple[str, int]], str, int]] = {
    "hq-store:pending": ("store", [("SNK-003", 24)], "pending", 1),
    "hq-store:inspected": ("store", [("PER-006", 60)], "received", INSPECTED_LOTS),
    "dist-sz:sent": ("distributor", [("BEV-001", 120)], "sent", 1),
    "dist-sz:confirmed": ("distributor", [("HOU-001", 40)], "confirmed", 1),
    "dist-sz:shipped": ("distributor", [("GRO-002", 40)], "shipped", 1),
    "dist-sz:received": ("distributor", [("DAI-004", 24)], "received", 1),
    "dist-dg:closed": ("distributor2", [("CON-001", 40)], "closed", 1),
    "dist-dg:sent": ("distributor2", [("PER-001", 40)], "sent", 1),
    "dist-dg:pending": ("distributor2", [("BEV-002", 120)], "pending", 1),
    "dist-dg:confirmed": ("distributor2", [("DAI-004", 24)], "confirmed", 1),
}


async def _make_order(engine: Engine, temporal: Client, task_queue: str, label: str) -> tuple[str, str]:
    local_part, items, until, lots = ORDERS[label]
    number = await _order(engine, temporal, task_queue, f"{local_part}@{EMAIL_DOMAIN}", items)
    await _drive(engine, temporal, number, until, lots=lots)
    return label, number


# --- quality ---------------------------------------------------------------------------------------


def _certificate(engine: Engine, supplier_code: str, sku_code: str, number: str) -> None:
    with Session(engine) as session:
        supplier = session.execute(select(Organisation).filter_by(code=supplier_code)).scalar_one()
        sku = session.execute(select(Sku).filter_by(code=sku_code)).scalar_one()
        uploader = (
            session.execute(
                select(col(User.id)).where(col(User.organisation_id) == supplier.id).order_by(col(User.id))
            )
            .scalars()
            .first()
        )
        assert supplier.id is not None and uploader is not None
        received = certificates.receive_upload(
            io.BytesIO(PDF),
            directory=certificates.certificate_dir(),
            max_bytes=settings.CERTIFICATE_MAX_BYTES,
        )
        certificates.add_certificate(
            session,
            received=received,
            supplier_id=supplier.id,
            sku_id=sku.id,
            shipment_id=None,
            certificate_type=CertificateType.COA,
            number=number,
            issued_on=business_today() - timedelta(days=30),
            expires_on=business_today() + timedelta(days=300),
            original_filename=f"{number}.pdf",
            uploaded_by_user_id=uploader,
        )


async def _lots(engine: Engine, po_number: str, count: int) -> list[Inspection]:
    async def rows() -> list[Inspection]:
        with Session(engine) as session:
            return list(
                session.execute(
                    select(Inspection)
                    .where(col(Inspection.po_number) == po_number)
                    .order_by(col(Inspection.lot_no))
                ).scalars()
            )

    return await _until(rows, lambda r: len(r) == count, f"{count} lots of {po_number}")


async def _stage(engine: Engine, lot: Inspection, stage: InspectionStage) -> None:
    async def now() -> InspectionStage:
        with Session(engine) as session:
            row = session.get(Inspection, lot.id)
            assert row is not None
            return row.stage

    await _until(now, lambda s: s is stage, f"{lot.number} to reach {stage}")


async def _record(engine: Engine, temporal: Client, lot: Inspection, *, reject: bool) -> None:
    """The inspector's counts: at the rejection number of critical defects, or none at all."""
    inspector = _user_id(engine, f"inspector@{EMAIL_DOMAIN}")
    handle = temporal.get_workflow_handle(lot.workflow_id)

    async def planned() -> bool:  # the row is written before the workflow holds its plan
        state: InspectionState = await handle.query(InspectionWorkflow.get_state)
        return state.plan is not None

    await _until(planned, bool, f"the plan of {lot.number}")
    critical = lot.critical_reject if reject else 0
    await handle.execute_update(
        InspectionWorkflow.record_defects,
        RecordDefectsInput(actor_user_id=inspector, critical=critical, major=0, minor=0, notes="seen"),
    )
    await _stage(engine, lot, InspectionStage.AWAITING_DECISION if reject else InspectionStage.ON_HOLD)


async def _sort(engine: Engine, temporal: Client, lot: Inspection) -> None:
    quality = _user_id(engine, f"quality@{EMAIL_DOMAIN}")
    await _decide(
        temporal, await _pending_approval(engine, lot.number, assignee=quality), approve=True, choice=SORTING
    )
    await _stage(engine, lot, InspectionStage.SORTING)


async def _return_to_vendor(engine: Engine, temporal: Client, lot: Inspection, *, acknowledge: bool) -> None:
    quality = _user_id(engine, f"quality@{EMAIL_DOMAIN}")

    row = await _pending_approval(engine, lot.number, assignee=quality)
    await _decide(temporal, row, approve=True, choice=RETURN_TO_VENDOR)
    await _stage(engine, lot, InspectionStage.AWAITING_RETURN)

    handle = temporal.get_workflow_handle(lot.workflow_id)

    async def return_number() -> str | None:
        state: InspectionState = await handle.query(InspectionWorkflow.get_state)
        return state.return_number

    await _until(return_number, bool, f"the return of {lot.number}")
    if acknowledge:
        supplier = _supplier_user(engine, lot.po_number)
        await handle.execute_update(
            InspectionWorkflow.acknowledge_return,
            AcknowledgeReturnInput(actor_user_id=supplier, note="collected"),
        )
        await _stage(engine, lot, InspectionStage.DONE)


def _photo(engine: Engine, lot: Inspection) -> None:
    assert lot.id is not None
    with Session(engine) as session:
        inspection_photos.add_photo(
            session,
            received=inspection_photos.receive_photo(io.BytesIO(PNG_PHOTO)),
            inspection_id=lot.id,
            original_filename="crack.png",
            caption="cracked cap",
            uploaded_by_user_id=_user_id(engine, f"inspector@{EMAIL_DOMAIN}"),
        )


async def _inspect(engine: Engine, temporal: Client, po_number: str) -> None:
    """The sunscreen lots: two returned (one acknowledged), one to decide, one sorted, one to inspect."""
    acknowledged, returned, to_decide, sorting, to_inspect = await _lots(engine, po_number, INSPECTED_LOTS)
    rejected = (acknowledged, returned, to_decide, sorting)
    await asyncio.gather(*(_record(engine, temporal, lot, reject=True) for lot in rejected))
    await asyncio.gather(
        _return_to_vendor(engine, temporal, acknowledged, acknowledge=True),
        _return_to_vendor(engine, temporal, returned, acknowledge=False),
        _sort(engine, temporal, sorting),
    )
    _photo(engine, to_inspect)


async def _hold(engine: Engine, temporal: Client, po_number: str) -> None:
    """The infant formula lot: accepted, then held for its missing certificate of analysis."""
    (lot,) = await _lots(engine, po_number, 1)
    await _record(engine, temporal, lot, reject=False)


def _delegate(engine: Engine) -> None:
    with Session(engine) as session:
        approvals.create_delegation(
            session,
            approver_user_id=_user_id(engine, f"approver@{EMAIL_DOMAIN}"),
            delegate_user_id=_user_id(engine, f"director@{EMAIL_DOMAIN}"),
            start_date=business_today(),
            end_date=business_today() + timedelta(days=7),
        )
        session.commit()


def _master_data(engine: Engine) -> None:
    """What only an admin or years of inspections make: an inactive SKU (the admin lists offer to
    reactivate it) and a supplier+SKU whose inspection is discontinued (HQ may resume it). The
    standing is written as the inspection activities leave it after five lots rejected on tightened
    inspection: making those lots would double the world's time."""
    with Session(engine) as session:
        sku = session.execute(select(Sku).filter_by(code="HOU-008")).scalar_one()
        sku.is_active = False
        supplier = session.execute(select(Organisation).filter_by(code="SUP-SHFH")).scalar_one()
        flour = session.execute(select(Sku).filter_by(code="GRO-005")).scalar_one()
        assert supplier.id is not None and flour.id is not None
        session.add_all(
            [
                sku,
                InspectionSwitching(
                    supplier_id=supplier.id,
                    sku_id=flour.id,
                    severity=SwitchingSeverity.DISCONTINUED,
                    rejected_on_tightened=5,
                    lots_inspected=9,
                ),
            ]
        )
        session.commit()


# --- payments --------------------------------------------------------------------------------------


async def _settlements(engine: Engine, temporal: Client, task_queue: str) -> list[str]:
    """Payments through the real SettlementWorkflow, on statements made as rows (the statement process
    starts them in the portal): SUP-HZLY has one waiting for its due date with an early payment
    request (finance's decide form) and one the bank refused (finance's retry and cancel forms, and a
    payment run with its instruction file); SUP-GDYH one waiting for its due date (its early payment
    form, and finance's approval of it, above the limit). Numbers from a block no other test of the
    run picks: the dev server outlives the database."""
    today = business_today()
    base = next_number_block()
    plan = [
        ("SUP-HZLY", today, "early"),
        ("SUP-GDYH", today, "waiting"),
        ("SUP-HZLY", today - timedelta(days=30), "failed"),
    ]
    inputs: list[tuple[SettlementInput, int, str]] = []
    with Session(engine) as session:
        for code in ("SUP-HZLY", "SUP-GDYH"):
            org = session.execute(select(Organisation).filter_by(code=code)).scalar_one()
            assert org.id is not None
            session.add(SettlementTerms(supplier_id=org.id, early_payment_rate_per_day=Decimal("0.000500")))
        # An admin's entry in the working-day override table (its remove form is a target too).
        session.add(
            WorkingDayOverride(day=today.replace(year=today.year + 1, month=1, day=4), is_working_day=False)
        )
        session.commit()
        for n, (code, matched_on, what) in enumerate(plan, start=1):
            org = session.execute(select(Organisation).filter_by(code=code)).scalar_one()
            supplier_user = _org_supplier_user(session, org)
            number = f"ST-{today.year}-{base + n:06d}"
            statement = Statement(
                number=number,
                workflow_id=f"statement-{number.lower()}",
                supplier_id=org.id,
                period_start=matched_on - timedelta(days=40 + n),
                period_end=matched_on - timedelta(days=10),
                status=StatementStatus.MATCHED,
                net_amount=Decimal("8000.00"),
                tax_amount=Decimal("1040.00"),
                total_amount=Decimal("9040.00"),
                confirmed_by_user_id=supplier_user,
                matched_on=matched_on,
            )
            session.add(statement)
            session.commit()
            assert statement.id is not None and org.id is not None
            start = SettlementInput(
                statement_id=statement.id,
                statement_number=number,
                supplier_id=org.id,
                amount=statement.total_amount,
                matched_on=matched_on,
                # SUP-GDYH's is above the limit: finance's approval queue lists it.
                approval_limit=Decimal("1000.00") if what == "waiting" else Decimal("1000000.00"),
            )
            inputs.append((start, supplier_user, what))
    handles = []
    for start, supplier_user, what in inputs:
        handle = await temporal.start_workflow(
            SettlementWorkflow.run,
            start,
            id=settlement_workflow_id(start.statement_number),
            task_queue=task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
        handles.append(handle)
        state = await _payment_state(handle, lambda s: s.scheduled, "scheduled")
        if what == "waiting":
            await _pending_approval(engine, payment_number(start.statement_number))
        if what == "early":
            await handle.execute_update(
                SettlementWorkflow.request_early_payment,
                RequestEarlyPaymentInput(actor_user_id=supplier_user, pay_on=today + timedelta(days=1)),
            )
        elif what == "failed":
            state = await _payment_state(handle, lambda s: s.ready, "ready")
            run = f"PR-{today.year}-{base:06d}"
            await temporal.execute_workflow(
                PaymentRunWorkflow.run,
                PaymentRunInput(run_number=run, value_date=today),
                id=payment_run_workflow_id(run),
                task_queue=task_queue,
            )
            await handle.execute_update(
                SettlementWorkflow.record_bank_result,
                BankResultInput(state.bank_idempotency_key, BankStatus.FAILED, reason="account frozen"),
            )
    return [handle.id for handle in handles]


async def _payment_state(
    handle: WorkflowHandle[Any, Any], done: Callable[[SettlementState], bool], what: str
) -> SettlementState:
    async def state() -> SettlementState:
        result: SettlementState = await handle.query(SettlementWorkflow.get_state)
        return result

    return await _until(state, done, f"the payment to be {what}")


def _org_supplier_user(session: Session, org: Organisation) -> int:
    user_id = (
        session.execute(
            select(col(User.id))
            .join(UserRole, col(UserRole.user_id) == col(User.id))
            .where(col(User.organisation_id) == org.id, col(UserRole.role) == Role.SUPPLIER)
            .order_by(col(User.id))
        )
        .scalars()
        .first()
    )
    assert user_id is not None
    return int(user_id)


async def build_world(engine: Engine, temporal: Client, task_queue: str) -> World:
    logins = _seed(engine)
    _fresh_document_numbers(engine)
    _master_data(engine)
    # SUP-HZLY's certificate is not the infant formula's, so that lot is held once accepted.
    _certificate(engine, "SUP-HZLY", "BEV-001", "COA-HZLY-2026-01")
    _certificate(engine, "SUP-GDYH", "PER-006", "COA-GDYH-2026-01")
    _delegate(engine)
    made = await asyncio.gather(*(_make_order(engine, temporal, task_queue, label) for label in ORDERS))
    orders = dict(made)
    await asyncio.gather(
        _inspect(engine, temporal, orders["hq-store:inspected"]),
        _hold(engine, temporal, orders["dist-sz:received"]),
    )
    statement_ids = await _statements(engine, temporal, task_queue)
    settlements = await _settlements(engine, temporal, task_queue)
    _sales(engine, logins)
    _planning(engine)
    transfer_ids = await _transfers(engine, temporal, task_queue)
    return World(
        logins=logins,
        orders=orders,
        statements=statement_ids,
        settlements=settlements,
        transfers=transfer_ids,
    )


# --- transfers -------------------------------------------------------------------------------------


async def _transfers(engine: Engine, temporal: Client, task_queue: str) -> list[str]:
    """Two transfers from the East regional warehouse: one to HQ's demo store waiting for dispatch
    (the warehouse's dispatch form, the store's cancel form), one to DIST-SZ's store on its way (the
    distributor's receive form); DIST-DG and the suppliers see neither."""
    with Session(engine) as session:
        locations: dict[str, int] = {
            loc.code: loc.id
            for loc in session.execute(
                select(Location).where(col(Location.code).in_(["RW-HZ", "ST-SH01", "DS-SZ01"]))
            ).scalars()
        }
        sku_id = session.execute(select(col(Sku.id)).filter_by(code="BEV-001")).scalar_one()
        numbers = [reserve_number(session, "TR", datetime.now(BUSINESS_TIMEZONE).year) for _ in range(2)]
    plan = [  # the store asked for the first (its cancel form); HQ's planner made the second
        (numbers[0], "ST-SH01", f"store@{EMAIL_DOMAIN}", TransferOrigin.REQUESTED, False),
        (numbers[1], "DS-SZ01", f"buyer@{EMAIL_DOMAIN}", TransferOrigin.PLANNER, True),
    ]
    ids = []
    for number, destination, requester, origin, dispatch in plan:
        handle = await temporal.start_workflow(
            TransferWorkflow.run,
            TransferInput(
                number=number,
                origin=origin,
                source_location_id=locations["RW-HZ"],
                destination_location_id=locations[destination],
                requested_by_user_id=_user_id(engine, requester),
                needs_approval=False,
                lines=[TransferLineInput(1, sku_id, 2)],
            ),
            id=transfer_workflow_id(number),
            task_queue=task_queue,
        )
        ids.append(handle.id)

        async def state(handle: WorkflowHandle[Any, Any] = handle) -> TransferState:
            result: TransferState = await handle.query(TransferWorkflow.get_state)
            return result

        await _until(state, lambda s: s.status is TransferStatus.RESERVED, f"{number} to be reserved")
        if dispatch:
            await handle.execute_update(
                TransferWorkflow.dispatch_transfer,
                DispatchTransferInput(
                    actor_user_id=_user_id(engine, f"warehouse@{EMAIL_DOMAIN}"),
                    carrier="SF Express",
                    expected_arrival=business_today() + timedelta(days=2),
                ),
            )
    return ids


# --- sales -----------------------------------------------------------------------------------------


def _sales(engine: Engine, logins: list[Login]) -> None:
    """A sale at each store a store login works at (where anything is available), entered as the
    sales page enters it: the stores' ledgers then show one, and their sales pages list it."""
    with Session(engine) as session:
        for who in logins:
            if Role.STORE not in who.roles or who.location_id is None:
                continue
            user = session.get(User, who.user_id)
            assert user is not None
            principal = principal_for(session, user)
            found = session.execute(
                select(StockBalance, Sku, Location)
                .join(Sku, col(Sku.id) == col(StockBalance.sku_id))
                .join(Location, col(Location.id) == col(StockBalance.location_id))
                .where(
                    col(StockBalance.location_id) == who.location_id,
                    col(StockBalance.on_hand) - col(StockBalance.reserved) - col(StockBalance.quarantine) > 0,
                )
                .order_by(col(Sku.code))
            ).first()
            if found is None:
                continue
            _balance, sku, location = found
            sales.post_sale(
                session,
                principal,
                sales.SaleLine(location, sku, business_today(), 1, note="world"),
                idempotency_key=f"world:sale:{who.user_id}",
                source_document_id="form:world",
                now=datetime.now(BUSINESS_TIMEZONE),
            )
        session.commit()


# --- planning ---------------------------------------------------------------------------------------


def _planning(engine: Engine) -> None:
    """A reorder review's proposal (an HQ store's order of one SKU from its supplier) and a transfer
    planner's line: their pages and forms are HQ's, and every other party is refused them."""
    from supplychain.models import (
        Location,
        LocationKind,
        PlanningKind,
        PlanningRun,
        PriceListEntry,
        ProposalStatus,
        ReplenishmentProposal,
        ReplenishmentProposalLine,
        TransferProposalKind,
        TransferProposalLine,
    )

    today = datetime.now(BUSINESS_TIMEZONE).date()
    with Session(engine) as session:
        hq_locations = list(
            session.execute(
                select(Location)
                .join(Organisation, col(Organisation.id) == col(Location.organisation_id))
                .where(col(Organisation.kind) == OrgKind.HQ)
                .order_by(col(Location.id))
            ).scalars()
        )
        store = next(loc for loc in hq_locations if loc.kind is LocationKind.STORE)
        warehouse = next(loc for loc in hq_locations if loc.kind is not LocationKind.STORE)
        entry = session.execute(select(PriceListEntry).order_by(col(PriceListEntry.id))).scalars().first()
        assert entry is not None and store.id is not None and warehouse.id is not None
        review = PlanningRun(
            kind=PlanningKind.REORDER_REVIEW, workflow_id="cross-org-review", business_date=today
        )
        plan = PlanningRun(kind=PlanningKind.TRANSFER_PLAN, workflow_id="cross-org-plan", business_date=today)
        session.add_all([review, plan])
        session.flush()
        assert review.id is not None and plan.id is not None
        proposal = ReplenishmentProposal(
            planning_run_id=review.id,
            supplier_id=entry.supplier_id,
            location_id=store.id,
            status=ProposalStatus.PROPOSED,
        )
        session.add(proposal)
        session.flush()
        assert proposal.id is not None
        session.add(
            ReplenishmentProposalLine(
                proposal_id=proposal.id,
                sku_id=entry.sku_id,
                quantity=12,
                needed=10,
                on_hand=1,
                inventory_position=1,
                reorder_point=4,
                order_up_to=11,
                unit_price=entry.unit_price,
                reason="reorder.at_or_below_reorder_point",
            )
        )
        session.add(
            TransferProposalLine(
                planning_run_id=plan.id,
                kind=TransferProposalKind.SHORTAGE,
                sku_id=entry.sku_id,
                source_location_id=warehouse.id,
                destination_location_id=store.id,
                quantity=5,
                unit_cost=Decimal("0.5000"),
                line_cost=Decimal("2.50"),
                reason="transfer.covers_shortage_below_reorder_point",
                status=ProposalStatus.PROPOSED,
            )
        )
        session.commit()


# --- statements ------------------------------------------------------------------------------------


async def _statements(engine: Engine, temporal: Client, task_queue: str) -> list[str]:
    """A statement for every supplier with goods settled in stock (everything up to today); the
    first one with line 1 disputed, so the buyer's resolve form is on a page and the others' confirm
    form."""
    today = datetime.now(BUSINESS_TIMEZONE).date()
    period = Period(today - timedelta(days=400), today)
    with Session(engine) as session:
        supplier_ids = [
            org_id
            for org_id in session.execute(
                select(col(Organisation.id))
                .where(col(Organisation.kind) == OrgKind.SUPPLIER)
                .order_by(col(Organisation.id))
            ).scalars()
            if statements.pending_source_lines(session, org_id, period.end)
        ]
    handles = [
        await temporal.start_workflow(
            StatementWorkflow.run,
            StatementInput(supplier_id=supplier_id, period_start=period.start, period_end=period.end),
            id=statements.statement_workflow_id(supplier_id, period),
            task_queue=task_queue,
        )
        for supplier_id in supplier_ids
    ]
    assert len(handles) >= 2, "the world needs two suppliers with a statement"
    for handle in handles:
        await _until(lambda h=handle: _recorded(h), bool, f"statement {handle.id} collected")  # type: ignore[misc]
    supplier_user = _first_user(engine, supplier_ids[0])
    await handles[0].execute_update(
        StatementWorkflow.dispute_line,
        DisputeLineInput(
            actor_user_id=supplier_user, line_no=1, reason="short", supplier_net_amount=Decimal("1.00")
        ),
    )
    await _invoiced(handles[1], _first_user(engine, supplier_ids[1]))
    _statement_rows(engine, supplier_ids[0], period)
    _price_adjustments(engine, supplier_ids[:2])
    return [handle.id for handle in handles]


def _price_adjustments(engine: Engine, supplier_ids: list[int]) -> None:
    """A rebate for each of two suppliers, entered by an HQ buyer after the statements were made
    (so each waits for its supplier's next statement): its page and timeline are each supplier's own."""
    with Session(engine) as session:
        buyer_id = (
            session.execute(
                select(col(User.id))
                .join(UserRole, col(UserRole.user_id) == col(User.id))
                .join(Organisation, col(Organisation.id) == col(User.organisation_id))
                .where(col(UserRole.role) == Role.BUYER, col(Organisation.kind) == OrgKind.HQ)
                .order_by(col(User.id))
            )
            .scalars()
            .first()
        )
        assert buyer_id is not None, "the world needs an HQ buyer"
        for supplier_id in supplier_ids:
            price_adjustments.create_price_adjustment(
                session,
                price_adjustments.AdjustmentEntry(
                    supplier_id=str(supplier_id),
                    po_number="",
                    reason="Volume rebate",
                    vat_rate="13",
                    net_amount="-10.00",
                ),
                user_id=buyer_id,
            )


async def _invoiced(handle: WorkflowHandle[Any, Any], supplier_user: int) -> None:
    """Confirmed, with an invoice 100.00 over (waiting for finance): its file is on the statement page."""
    await handle.execute_update(StatementWorkflow.confirm, ConfirmStatementInput(supplier_user))
    state: StatementState = await handle.query(StatementWorkflow.get_state)
    net = sum((line.net_amount for line in state.lines), Decimal("0.00")) + Decimal("100.00")
    received = invoices.receive_invoice_file(io.BytesIO(PDF), max_bytes=settings.CERTIFICATE_MAX_BYTES)
    result = await handle.execute_update(
        StatementWorkflow.submit_invoice,
        SubmitInvoiceInput(
            actor_user_id=supplier_user,
            invoice_number=f"INV-CROSS-{random.randrange(10**6)}",
            invoice_date=datetime.now(BUSINESS_TIMEZONE).date(),
            net_amount=net,
            tax_amount=Decimal("0.00"),
            total_amount=net,
            stored_name=received.commit(),
            content_type=received.content_type,
            size_bytes=received.size,
        ),
    )
    assert result.match is InvoiceMatch.MISMATCH


def _statement_rows(engine: Engine, supplier_id: int, period: Period) -> None:
    """Statements as rows, for the forms and links only their states show: one waiting for the
    supplier's confirmation (its confirm form), one confirmed and waiting for its invoice (the upload
    form), and one paid (its payment's remittance advice PDF)."""
    year = period.end.year
    base = next_number_block()
    states = [StatementStatus.AWAITING_CONFIRMATION, StatementStatus.CONFIRMED, StatementStatus.PAID]
    with Session(engine) as session:
        for n, status in enumerate(states, start=1):
            number = f"ST-{year}-{base + n:06d}"
            end = period.start - timedelta(days=100 * n)
            statement = Statement(
                number=number,
                workflow_id=f"statement-crawl-{number.lower()}",
                supplier_id=supplier_id,
                period_start=end - timedelta(days=30),
                period_end=end,
                status=status,
                net_amount=Decimal("100.00"),
                tax_amount=Decimal("13.00"),
                total_amount=Decimal("113.00"),
                matched_on=end + timedelta(days=5) if status is StatementStatus.PAID else None,
            )
            session.add(statement)
            session.flush()
            if status is StatementStatus.PAID:
                assert statement.id is not None and statement.matched_on is not None
                session.add(
                    Payment(
                        number=payment_number(number),
                        workflow_id=f"settlement-crawl-{number.lower()}",
                        statement_id=statement.id,
                        supplier_id=supplier_id,
                        amount=statement.total_amount,
                        payable_amount=statement.total_amount,
                        matched_on=statement.matched_on,
                        due_date=statement.matched_on + timedelta(days=7),
                        status=PaymentStatus.PAID,
                        idempotency_key=f"settlement-crawl-{number.lower()}:pay:1",
                        paid_on=statement.matched_on + timedelta(days=7),
                        bank_reference="CRAWL-1",
                    )
                )
        session.commit()


async def _recorded(handle: WorkflowHandle[Any, Any]) -> bool:
    state: StatementState = await handle.query(StatementWorkflow.get_state)
    return state.recorded


def _first_user(engine: Engine, organisation_id: int) -> int:
    with Session(engine) as session:
        user_id: int | None = (
            session.execute(
                select(col(User.id))
                .where(col(User.organisation_id) == organisation_id)
                .order_by(col(User.id))
            )
            .scalars()
            .first()
        )
        assert user_id is not None
        return user_id


async def end_world(temporal: Client, world: World) -> None:
    """Terminate the world's processes (their approval and inspection children go with them): the
    dev server outlives the test, and a timer waking later must not act on another test's rows."""
    for number in world.orders.values():
        with contextlib.suppress(RPCError):  # finished already
            await temporal.get_workflow_handle(po_workflow_id(number)).terminate("test over")
    for workflow_id in [*world.statements, *world.settlements, *world.transfers]:
        with contextlib.suppress(RPCError):
            await temporal.get_workflow_handle(workflow_id).terminate("test over")
