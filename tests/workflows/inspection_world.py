"""Shared world for PO-driven inspection tests (test_replenishment_inspection, test_inspection_dispositions).

The PO is the two-line order of test_replenishment (100 x A at 10.00, 50 x B at 20.00, 13% VAT),
shipped and counted in full into the warehouse. A SKU whose `inspection_mode` is not "never" is put
into quarantine stock at the receipt and gets one InspectionWorkflow child per lot. Helpers here
drive those children: the inspector's defects, HQ's quality decision (the child ApprovalWorkflow
`approval_workflow_id(<inspection id>, "decision")`), sorting and the supplier's acknowledgement.

Import the fixtures into a test module by name (`inspector`, `quality_approver`, `world`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    import pytest
    from sqlalchemy import Engine, select
    from sqlmodel import Session, col
    from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
    from temporalio.exceptions import ApplicationError
    from temporalio.service import RPCError
    from temporalio.testing import WorkflowEnvironment

    from supplychain.dispositions import debit_note_for, return_for
    from supplychain.inspection import inspection_for_workflow
    from supplychain.models import (
        DebitNote,
        DebitNoteKind,
        Inspection,
        InspectionStage,
        InspectionSwitching,
        Organisation,
        POLineStatus,
        POStatus,
        QualityCertificate,
        ReturnToVendor,
        Role,
        Sku,
        SwitchingSeverity,
        User,
    )
    from supplychain.models.catalog import InspectionMode
    from supplychain.models.quality import CertificateType
    from supplychain.stock import get_balance, ledger_totals
    from tests.factories import make_user, unique_code
    from tests.workflows.test_replenishment import (
        WORKFLOWS,
        Handle,
        World,
        _input,
        _lines,
        _po,
        _receive,
        _ship,
        _start,
        _state,
        _today,
        _until,
        world,
    )
    from tests.workflows.test_replenishment import _confirm as confirm
    from workflows.approval import ApprovalState, ApprovalWorkflow, DecideInput, approval_workflow_id
    from workflows.inspection import (
        AcknowledgeReturnInput,
        AcknowledgeReturnResult,
        InspectionResult,
        InspectionState,
        InspectionWorkflow,
        RecordDefectsInput,
        RecordSortingInput,
        RecordSortingResult,
        inspection_workflow_id,
    )

__all__ = ["world"]  # the fixture, re-exported

REPLAYED = [*WORKFLOWS, InspectionWorkflow]
InspectionHandle = WorkflowHandle[Any, InspectionResult]


@pytest.fixture
def inspector(session: Session, world: World) -> User:
    hq = session.get(Organisation, world.hq_id)
    assert hq is not None
    return make_user(session, organisation=hq, roles=[Role.INSPECTOR], location=world.warehouse)


@pytest.fixture
def quality_approver(session: Session, world: World) -> User:
    hq = session.get(Organisation, world.hq_id)
    assert hq is not None
    return make_user(session, organisation=hq, roles=[Role.QUALITY_APPROVER])


def set_mode(session: Session, sku: Sku, mode: InspectionMode, *, certificates: str | None = None) -> None:
    row = session.get(Sku, sku.id)
    assert row is not None
    row.inspection_mode = mode
    if certificates is not None:
        row.required_certificates = certificates
    session.add(row)
    session.commit()


def upload_certificate(session: Session, world: World, today: date) -> None:
    """The supplier's valid COA for SKU A (a year long from `today`), as an upload stores it."""
    session.add(
        QualityCertificate(
            supplier_id=world.supplier_org_id,
            sku_id=world.sku_a.id,
            certificate_type=CertificateType.COA,
            number=unique_code("COA"),
            issued_on=today,
            expires_on=today.replace(year=today.year + 1),
            original_filename="coa.pdf",
            stored_name=unique_code("stored").lower(),
            content_type="application/pdf",
            size_bytes=1,
            sha256="0" * 64,
            uploaded_by_user_id=world.supplier.id,
        )
    )
    session.commit()


def set_standing(
    session: Session, world: World, severity: SwitchingSeverity, *, rejected_on_tightened: int
) -> None:
    """SKU A of the world's supplier starts at `severity` (ISO 2859-1 switching), inspected always."""
    set_mode(session, world.sku_a, InspectionMode.ALWAYS)
    session.add(
        InspectionSwitching(
            supplier_id=world.supplier_org_id,
            sku_id=world.sku_a.id,
            severity=severity,
            rejected_on_tightened=rejected_on_tightened,
        )
    )
    session.commit()


async def received_and_waiting(
    env: WorkflowEnvironment, task_queue: str, world: World, db: Engine, **kw: Any
) -> tuple[Handle, str]:
    """Start the two-line PO, confirm, ship and count everything; the receipt returns in delivery."""
    today = await _today(env)
    input = _input(world, inspection_answer_late_clicks_for=timedelta(seconds=1), **kw)
    handle = await _start(env.client, task_queue, input)
    await confirm(handle, world, [(1, 100, today + timedelta(days=3)), (2, 50, today + timedelta(days=3))])
    shipment = await _ship(handle, world, today + timedelta(days=2), [(1, 100), (2, 50)])
    # The warehouse user's click returns once the receipt is recorded, before any verdict.
    assert await _receive(handle, world, shipment, [(1, 100), (2, 50)]) is POStatus.IN_DELIVERY
    assert {n: line.status for n, line in _lines(db, input.number).items()} == {
        1: POLineStatus.RECEIVED,
        2: POLineStatus.RECEIVED,
    }
    return handle, shipment


async def inspection(client: Client, handle: Handle, shipment: str, line_no: int) -> InspectionHandle:
    """The line's inspection child, once its plan is recorded."""
    child: InspectionHandle = client.get_workflow_handle(
        inspection_workflow_id(handle.id, shipment, line_no), result_type=InspectionResult
    )

    async def planned() -> bool:
        try:
            state: InspectionState = await child.query(InspectionWorkflow.get_state)
        except RPCError:  # not started yet
            return False
        return state.plan is not None

    await _until(planned, f"the inspection of line {line_no}")
    return child


async def state_of(child: InspectionHandle) -> InspectionState:
    state: InspectionState = await child.query(InspectionWorkflow.get_state)
    return state


async def record_defects(child: InspectionHandle, inspector: User, critical: int = 0, major: int = 0) -> None:
    await child.execute_update(
        InspectionWorkflow.record_defects,
        RecordDefectsInput(actor_user_id=inspector.id, critical=critical, major=major, minor=0, notes="ok"),
    )


async def reject(child: InspectionHandle, inspector: User) -> None:
    """One critical defect: critical AQL 0 rejects the lot."""
    await record_defects(child, inspector, critical=1)


def inspection_row(db: Engine, workflow_id: str) -> Inspection:
    with Session(db) as session:
        row = inspection_for_workflow(session, workflow_id)
        assert row is not None
        return row


async def closed(handle: Handle, db: Engine, number: str) -> None:
    await _until(lambda: _po(db, number).status is POStatus.CLOSED, "the PO to close")
    assert (await _state(handle)).inspections == []


@dataclass(frozen=True)
class Balance:
    on_hand: int
    quarantine: int
    available: int


def balance(db: Engine, world: World, sku: Sku) -> Balance:
    """The warehouse balance of `sku`; the ledger's sums must equal it. The balance is read before
    and after the ledger: a worker's movement committed in between (each statement sees the latest
    commit) would make them differ without anything being wrong, so such a read is taken again."""

    def read(session: Session) -> Balance:
        session.expire_all()
        row = get_balance(session, world.warehouse.id, sku.id)
        return Balance(0, 0, 0) if row is None else Balance(row.on_hand, row.quarantine, row.available)

    with Session(db) as session:
        for _ in range(100):
            found = read(session)
            totals = ledger_totals(session, world.warehouse.id, sku.id)
            if read(session) == found:
                break
        assert (totals.on_hand, totals.quarantine) == (found.on_hand, found.quarantine)
        return found


# --- HQ's decision, sorting, the supplier's acknowledgement --------------------------------------------


async def decision(client: Client, child: InspectionHandle) -> WorkflowHandle[Any, Any]:
    """The rejected lot's decision step, once it is assigned to a quality approver."""
    approval = client.get_workflow_handle(approval_workflow_id(child.id, "decision"))

    async def assigned() -> ApprovalState | None:
        try:
            state: ApprovalState = await approval.query(ApprovalWorkflow.get_state)
        except RPCError:  # the child has not started yet
            return None
        return state if state.assignee_user_id is not None else None

    await _until(assigned, "the quality decision to open")
    return approval


async def decide(
    client: Client,
    child: InspectionHandle,
    approver: User,
    choice: str,
    details: dict[str, str] | None = None,
) -> WorkflowHandle[Any, Any]:
    approval = await decision(client, child)
    await approval.execute_update(
        ApprovalWorkflow.decide,
        DecideInput(
            actor_user_id=approver.id,
            on_behalf_of_user_id=approver.id,
            approve=True,
            choice=choice,
            details=details or {},
        ),
    )
    return approval


async def until_stage(child: InspectionHandle, stage: Any) -> InspectionState:
    async def reached() -> InspectionState | None:
        state = await state_of(child)
        return state if state.stage is stage else None

    result: InspectionState = await _until(reached, f"the inspection to reach {stage}")
    return result


async def until_return(child: InspectionHandle) -> InspectionState:
    """The lot's RTV is open (the stage turns AWAITING_RETURN just before): the supplier may acknowledge."""

    async def opened() -> InspectionState | None:
        state = await state_of(child)
        return state if state.return_number is not None else None

    result: InspectionState = await _until(opened, "the return to vendor to open")
    assert result.stage is InspectionStage.AWAITING_RETURN
    return result


async def sort(child: InspectionHandle, inspector: User, good: int) -> RecordSortingResult:
    result: RecordSortingResult = await child.execute_update(
        InspectionWorkflow.record_sorting, RecordSortingInput(actor_user_id=inspector.id, good_quantity=good)
    )
    return result


async def acknowledge(child: InspectionHandle, supplier: User) -> AcknowledgeReturnResult:
    result: AcknowledgeReturnResult = await child.execute_update(
        InspectionWorkflow.acknowledge_return,
        AcknowledgeReturnInput(actor_user_id=supplier.id, note="taken back"),
    )
    return result


async def refused(update: Any) -> ApplicationError:
    """Run an Update that must be refused by its validator; return the error."""
    with pytest.raises(WorkflowUpdateFailedError) as error:
        await update()
    cause = error.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "UpdateRejected"
    return cause


def rtv_of(db: Engine, workflow_id: str) -> ReturnToVendor | None:
    with Session(db) as session:
        row = inspection_for_workflow(session, workflow_id)
        assert row is not None
        return return_for(session, row)


def debit_note_of(db: Engine, workflow_id: str, kind: DebitNoteKind) -> DebitNote | None:
    with Session(db) as session:
        row = inspection_for_workflow(session, workflow_id)
        assert row is not None
        return debit_note_for(session, row, kind)


def debit_notes(db: Engine, po_number: str) -> list[DebitNote]:
    with Session(db) as session:
        return list(
            session.execute(
                select(DebitNote).where(col(DebitNote.po_number) == po_number).order_by(col(DebitNote.id))
            ).scalars()
        )


def money(value: str) -> Decimal:
    return Decimal(value)
