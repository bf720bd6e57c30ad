"""What happens to an inspected lot after its verdict, through a real PO on the time-skipping server.

The PO is the two-line order of test_replenishment; only line 1 (100 x A at 10.00 net, 13% VAT) is
inspected (SKU A "always", B "never"), so its lot of 100 is put into quarantine at the receipt
(level II: code F, sample 20; critical AQL 0: one critical defect rejects). Each test follows the
lot to the end of its inspection and the PO's closing, checks stock (the ledger's sums equal the
balance), returns and debit notes, and replays both histories.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from sqlalchemy import Engine
    from sqlmodel import Session
    from temporalio.testing import WorkflowEnvironment

    from supplychain import i18n, inspection_standing
    from supplychain.approvals import ACTION_REJECTED
    from supplychain.inspection import NO_QUALITY_APPROVER
    from supplychain.models import (
        DebitNoteKind,
        Disposition,
        InspectionSeverity,
        InspectionStage,
        InspectionSwitching,
        InspectionVerdict,
        POStatus,
        ReturnStatus,
        SwitchingSeverity,
        User,
    )
    from supplychain.models.catalog import InspectionMode
    from supplychain.rules.inspection_checks import GOOD_OUT_OF_RANGE, NO_RETURN_WAITING, NOT_SORTING
    from supplychain.rules.money import round_money
    from tests.fixtures.temporal import assert_replays, running_worker
    from tests.workflows.inspection_world import (
        REPLAYED,
        Balance,
        InspectionHandle,
        acknowledge,
        balance,
        closed,
        debit_note_of,
        debit_notes,
        decide,
        decision,
        inspection,
        inspection_row,
        inspector,  # noqa: F401  (the fixture)
        quality_approver,  # noqa: F401  (the fixture)
        received_and_waiting,
        record_defects,
        refused,
        reject,
        rtv_of,
        set_mode,
        set_standing,
        sort,
        state_of,
        until_return,
        until_stage,
        upload_certificate,
        world,  # noqa: F401  (the fixture)
    )
    from tests.workflows.test_replenishment import (
        Handle,
        World,
        _events,
        _messages,
        _po,
        _state,
        _today,
        _until,
    )
    from web.timeline import note_label
    from workflows.approval import ApprovalWorkflow
    from workflows.inspection import (
        ACCEPTANCE_DISCONTINUED_SUPPLIER,
        CERTIFICATES_HOLD,
        INSPECTION_DISCONTINUED,
        InspectionResult,
        InspectionWorkflow,
        RecordDefectsInput,
    )

LOT = 100
UNIT_PRICE = Decimal("10.00")
TAX_RATE = Decimal("0.13")


async def _lot_of_line_1(
    env: WorkflowEnvironment, task_queue: str, world: World, db: Engine
) -> tuple[Handle, str, InspectionHandle]:
    """The PO received in full; line 1's lot in quarantine with its inspection planned."""
    handle, shipment = await received_and_waiting(env, task_queue, world, db)
    child = await inspection(env.client, handle, shipment, 1)
    return handle, (await _state(handle)).number, child


def _held(before: Balance) -> Balance:
    return Balance(before.on_hand + LOT, before.quarantine + LOT, before.available)


def _released(before: Balance, quantity: int, *, left: int = 0) -> Balance:
    """`quantity` released into available stock; `left` still in quarantine."""
    return Balance(before.on_hand + quantity + left, before.quarantine + left, before.available + quantity)


async def _end(
    client: Any, handle: Handle, child: InspectionHandle, db: Engine, number: str, expected: InspectionResult
) -> None:
    await closed(handle, db, number)
    assert await child.result() == expected
    assert (await handle.result()).status is POStatus.CLOSED
    await assert_replays(client, handle.id, REPLAYED)
    await assert_replays(client, child.id, REPLAYED)


def _finished(db: Engine, number: str) -> list[tuple[str, int, int]]:
    return [
        (e.after["verdict"], e.after["quantity_accepted"], e.after["quantity_rejected"])
        for e in _events(db, number, "inspection_finished")
    ]


# --- accepted ----------------------------------------------------------------------------------------


async def test_an_accepted_lot_leaves_quarantine_into_available_stock(
    time_skipping_env: WorkflowEnvironment,
    task_queue: str,
    world: World,
    inspector: User,
    session: Session,
    db: Engine,
) -> None:
    set_mode(session, world.sku_a, InspectionMode.ALWAYS)
    client = time_skipping_env.client
    before = balance(db, world, world.sku_a)
    async with running_worker(client, task_queue):
        handle, number, child = await _lot_of_line_1(time_skipping_env, task_queue, world, db)
        assert balance(db, world, world.sku_a) == _held(before)
        await record_defects(child, inspector, major=1)  # major 2.5 at n 20: Ac 1
        await until_stage(child, InspectionStage.DONE)
        assert balance(db, world, world.sku_a) == _released(before, LOT)  # the ledger agrees
        row = inspection_row(db, child.id)
        assert (row.verdict, row.disposition, row.accepted_quantity) == (
            InspectionVerdict.ACCEPTED,
            None,
            LOT,
        )
        assert rtv_of(db, child.id) is None and debit_notes(db, number) == []
        await _end(client, handle, child, db, number, InspectionResult(LOT, 0, InspectionVerdict.ACCEPTED))
        assert _finished(db, number) == [("accepted", LOT, 0)]


# --- rejected: HQ's decision ---------------------------------------------------------------------------


async def test_concession_releases_the_whole_lot_with_a_debit_note_for_the_deduction(
    time_skipping_env: WorkflowEnvironment,
    task_queue: str,
    world: World,
    inspector: User,
    quality_approver: User,
    session: Session,
    db: Engine,
) -> None:
    set_mode(session, world.sku_a, InspectionMode.ALWAYS)
    client = time_skipping_env.client
    before = balance(db, world, world.sku_a)
    async with running_worker(client, task_queue):
        handle, number, child = await _lot_of_line_1(time_skipping_env, task_queue, world, db)
        await reject(child, inspector)
        await until_stage(child, InspectionStage.AWAITING_DECISION)
        assert _po(db, number).status is POStatus.IN_DELIVERY
        assert balance(db, world, world.sku_a) == _held(before)

        approval = await decide(client, child, quality_approver, "concession", {"deduction_percent": "10"})
        await until_stage(child, InspectionStage.DONE)
        assert balance(db, world, world.sku_a) == _released(before, LOT)
        row = inspection_row(db, child.id)
        assert (row.verdict, row.disposition, row.price_deduction_percent) == (
            InspectionVerdict.REJECTED,
            Disposition.CONCESSION,
            Decimal("10"),
        )
        assert (row.accepted_quantity, row.rejected_quantity, row.decided_by_user_id) == (
            LOT,
            0,
            quality_approver.id,
        )
        note = debit_note_of(db, child.id, DebitNoteKind.CONCESSION)
        net = round_money(LOT * UNIT_PRICE * Decimal("10") / 100)
        assert note is not None and net == Decimal("100.00")
        assert (note.net_amount, note.tax_amount, note.total_amount) == (
            net,
            round_money(net * TAX_RATE),
            net + round_money(net * TAX_RATE),
        )
        assert (note.quantity, note.supplier_id, note.po_number) == (LOT, world.supplier_org_id, number)
        assert [n.number for n in debit_notes(db, number)] == [note.number]  # nothing else
        assert rtv_of(db, child.id) is None
        assert (await state_of(child)).debit_note_number == note.number
        await _end(
            client,
            handle,
            child,
            db,
            number,
            InspectionResult(LOT, 0, InspectionVerdict.REJECTED, Disposition.CONCESSION),
        )
        assert _finished(db, number) == [("rejected", LOT, 0)]
    await assert_replays(client, approval.id, [ApprovalWorkflow])


async def test_return_to_vendor_waits_for_the_supplier_then_stock_leaves_with_a_debit_note(
    time_skipping_env: WorkflowEnvironment,
    task_queue: str,
    world: World,
    inspector: User,
    quality_approver: User,
    session: Session,
    db: Engine,
) -> None:
    set_mode(session, world.sku_a, InspectionMode.ALWAYS)
    client = time_skipping_env.client
    before = balance(db, world, world.sku_a)
    async with running_worker(client, task_queue):
        handle, number, child = await _lot_of_line_1(time_skipping_env, task_queue, world, db)
        # Nothing to acknowledge before a return exists: refused, nothing changes.
        state_before = await state_of(child)
        refusal = await refused(lambda: acknowledge(child, world.supplier))
        assert refusal.message == NO_RETURN_WAITING
        assert await state_of(child) == state_before

        await reject(child, inspector)
        await decide(client, child, quality_approver, "return_to_vendor")
        state = await until_return(child)
        rtv = rtv_of(db, child.id)
        assert rtv is not None and state.return_number == rtv.number
        assert (rtv.status, rtv.quantity, rtv.unit_price, rtv.tax_rate) == (
            ReturnStatus.AWAITING_ACKNOWLEDGEMENT,
            LOT,
            UNIT_PRICE,
            TAX_RATE,
        )
        # The goods stay in quarantine until the supplier takes them back; the PO waits.
        assert balance(db, world, world.sku_a) == _held(before)
        assert debit_notes(db, number) == []
        assert _po(db, number).status is POStatus.IN_DELIVERY

        acknowledged = await acknowledge(child, world.supplier)
        assert balance(db, world, world.sku_a) == before  # on hand and quarantine drop by the lot
        rtv = rtv_of(db, child.id)
        assert rtv is not None
        assert (rtv.status, rtv.acknowledged_by_user_id) == (ReturnStatus.ACKNOWLEDGED, world.supplier.id)
        note = debit_note_of(db, child.id, DebitNoteKind.RETURN_TO_VENDOR)
        assert note is not None and note.number == acknowledged.debit_note_number
        assert (note.quantity, note.return_id, note.net_amount, note.tax_amount, note.total_amount) == (
            LOT,
            rtv.id,
            Decimal("1000.00"),
            Decimal("130.00"),
            Decimal("1130.00"),
        )
        row = inspection_row(db, child.id)
        assert (row.disposition, row.stage) == (Disposition.RETURN_TO_VENDOR, InspectionStage.DONE)

        # A second acknowledgement is refused and changes nothing.
        state_before = await state_of(child)
        refusal = await refused(lambda: acknowledge(child, world.supplier))
        assert refusal.message == NO_RETURN_WAITING
        assert await state_of(child) == state_before
        assert balance(db, world, world.sku_a) == before
        assert [n.number for n in debit_notes(db, number)] == [note.number]
        await _end(
            client,
            handle,
            child,
            db,
            number,
            InspectionResult(0, LOT, InspectionVerdict.REJECTED, Disposition.RETURN_TO_VENDOR),
        )
        assert _finished(db, number) == [("rejected", 0, LOT)]


async def test_sorting_releases_the_good_units_and_returns_the_rest(
    time_skipping_env: WorkflowEnvironment,
    task_queue: str,
    world: World,
    inspector: User,
    quality_approver: User,
    session: Session,
    db: Engine,
) -> None:
    set_mode(session, world.sku_a, InspectionMode.ALWAYS)
    client = time_skipping_env.client
    before = balance(db, world, world.sku_a)
    async with running_worker(client, task_queue):
        handle, number, child = await _lot_of_line_1(time_skipping_env, task_queue, world, db)
        await reject(child, inspector)
        await until_stage(child, InspectionStage.AWAITING_DECISION)
        # Sorting before HQ chose it is refused.
        refusal = await refused(lambda: sort(child, inspector, 70))
        assert refusal.message == NOT_SORTING

        await decide(client, child, quality_approver, "sorting")
        await until_stage(child, InspectionStage.SORTING)
        state_before = await state_of(child)
        for good in (LOT + 1, -1):
            refusal = await refused(lambda good=good: sort(child, inspector, good))
            assert refusal.message == GOOD_OUT_OF_RANGE and refusal.details[0] == {"lot_size": LOT}
        assert await state_of(child) == state_before
        assert inspection_row(db, child.id).sorted_good_quantity is None
        assert balance(db, world, world.sku_a) == _held(before)

        result = await sort(child, inspector, 70)
        assert (result.accepted_quantity, result.returned_quantity) == (70, 30)
        await until_return(child)
        # 70 released; 30 still in quarantine until the supplier takes them back.
        assert balance(db, world, world.sku_a) == _released(before, 70, left=30)
        rtv = rtv_of(db, child.id)
        assert rtv is not None and (rtv.quantity, rtv.status) == (30, ReturnStatus.AWAITING_ACKNOWLEDGEMENT)
        refusal = await refused(lambda: sort(child, inspector, 80))  # sorted once
        assert refusal.message == NOT_SORTING

        await acknowledge(child, world.supplier)
        assert balance(db, world, world.sku_a) == _released(before, 70)
        note = debit_note_of(db, child.id, DebitNoteKind.RETURN_TO_VENDOR)
        assert note is not None
        assert (note.quantity, note.net_amount, note.tax_amount) == (30, Decimal("300.00"), Decimal("39.00"))
        row = inspection_row(db, child.id)
        assert (row.sorted_good_quantity, row.accepted_quantity, row.rejected_quantity) == (70, 70, 30)
        await _end(
            client,
            handle,
            child,
            db,
            number,
            InspectionResult(70, 30, InspectionVerdict.REJECTED, Disposition.SORTING),
        )
        assert _finished(db, number) == [("rejected", 70, 30)]
        lines = {line.line_no: line for line in (await _state(handle)).lines}
        assert lines[1].quantity_rejected == 30


async def test_without_a_quality_approver_the_rejected_lot_goes_back(
    time_skipping_env: WorkflowEnvironment,
    task_queue: str,
    world: World,
    inspector: User,
    session: Session,
    db: Engine,
) -> None:
    """Nobody holds the quality approver role: the decision step rejects at once, the lot is returned."""
    set_mode(session, world.sku_a, InspectionMode.ALWAYS)
    client = time_skipping_env.client
    before = balance(db, world, world.sku_a)
    async with running_worker(client, task_queue):
        handle, number, child = await _lot_of_line_1(time_skipping_env, task_queue, world, db)
        await reject(child, inspector)
        await until_return(child)
        row = inspection_row(db, child.id)
        assert (row.disposition, row.decided_by_user_id) == (Disposition.RETURN_TO_VENDOR, None)
        _assert_the_quality_note_is_recorded(db, row.number)
        rtv = rtv_of(db, child.id)
        assert rtv is not None and rtv.quantity == LOT
        assert balance(db, world, world.sku_a) == _held(before)
        await acknowledge(child, world.supplier)
        assert balance(db, world, world.sku_a) == before
        await _end(
            client,
            handle,
            child,
            db,
            number,
            InspectionResult(0, LOT, InspectionVerdict.REJECTED, Disposition.RETURN_TO_VENDOR),
        )


def _assert_the_quality_note_is_recorded(db: Engine, number: str) -> None:
    """The quality note, never the approval step's "no approver's limit covers this amount": on the
    decision's and the disposition's timeline entries, read in either language."""
    [no_one] = _events(db, number, ACTION_REJECTED)
    [disposed] = _events(db, number, "disposition")
    assert no_one.note == disposed.note == NO_QUALITY_APPROVER
    with i18n.use_locale("en"):
        assert note_label(disposed.note) == (
            "No quality approver is available: the rejected lot is returned to the vendor."
        )
    with i18n.use_locale("zh_CN"):
        assert note_label(disposed.note) == "没有可用的质量审批人：拒收的检验批退回供应商。"


# --- certificates --------------------------------------------------------------------------------------


async def test_a_missing_certificate_holds_the_accepted_lot_until_it_is_uploaded(
    time_skipping_env: WorkflowEnvironment,
    task_queue: str,
    world: World,
    inspector: User,
    session: Session,
    db: Engine,
) -> None:
    set_mode(session, world.sku_a, InspectionMode.ALWAYS, certificates="coa")
    client = time_skipping_env.client
    before = balance(db, world, world.sku_a)
    async with running_worker(client, task_queue):
        handle, number, child = await _lot_of_line_1(time_skipping_env, task_queue, world, db)
        await record_defects(child, inspector)
        state = await until_stage(child, InspectionStage.ON_HOLD)
        assert state.verdict is InspectionVerdict.ACCEPTED and state.hold_reasons
        row = inspection_row(db, child.id)
        assert (row.stage, row.hold_reason) == (InspectionStage.ON_HOLD, "\n".join(state.hold_reasons))
        await _until(lambda: _messages(db, world.supplier, row.number), "the supplier to be told")
        assert _messages(db, world.supplier, row.number) == [CERTIFICATES_HOLD]
        assert balance(db, world, world.sku_a) == _held(before)  # nothing released
        assert _po(db, number).status is POStatus.IN_DELIVERY

        # The supplier uploads a valid COA for the SKU; the upload sends the recheck signal.
        today = await _today(time_skipping_env)
        upload_certificate(session, world, today)
        await child.signal(InspectionWorkflow.recheck_certificates)
        await until_stage(child, InspectionStage.DONE)
        assert balance(db, world, world.sku_a) == _released(before, LOT)
        row = inspection_row(db, child.id)
        assert (row.stage, row.hold_reason) == (InspectionStage.DONE, "")
        assert _messages(db, world.supplier, row.number) == [CERTIFICATES_HOLD]  # told once
        await _end(client, handle, child, db, number, InspectionResult(LOT, 0, InspectionVerdict.ACCEPTED))


async def test_the_decision_step_is_the_inspections_child_with_the_three_choices(
    time_skipping_env: WorkflowEnvironment,
    task_queue: str,
    world: World,
    inspector: User,
    quality_approver: User,
    session: Session,
    db: Engine,
) -> None:
    """An incomplete concession is refused by the approval step and changes nothing."""
    set_mode(session, world.sku_a, InspectionMode.ALWAYS)
    client = time_skipping_env.client
    async with running_worker(client, task_queue):
        handle, number, child = await _lot_of_line_1(time_skipping_env, task_queue, world, db)
        await reject(child, inspector)
        approval = await decision(client, child)
        assert (await approval.query(ApprovalWorkflow.get_state)).assignee_user_id == quality_approver.id
        for details in ({}, {"deduction_percent": "100"}):
            await refused(
                lambda details=details: decide(client, child, quality_approver, "concession", details)
            )
        assert (await state_of(child)).stage is InspectionStage.AWAITING_DECISION
        await decide(client, child, quality_approver, "concession", {"deduction_percent": "2.5"})
        await until_stage(child, InspectionStage.DONE)
        note = debit_note_of(db, child.id, DebitNoteKind.CONCESSION)
        assert note is not None and (note.net_amount, note.tax_amount) == (Decimal("25.00"), Decimal("3.25"))
        await _end(
            client,
            handle,
            child,
            db,
            number,
            InspectionResult(LOT, 0, InspectionVerdict.REJECTED, Disposition.CONCESSION),
        )


# --- switching -------------------------------------------------------------------------------------------


async def test_the_fifth_lot_rejected_on_tightened_discontinues_and_tells_the_buyers(
    time_skipping_env: WorkflowEnvironment,
    task_queue: str,
    world: World,
    inspector: User,
    quality_approver: User,
    session: Session,
    db: Engine,
) -> None:
    """ISO 2859-1 9.4: four lots already rejected on tightened; this one makes five. Its plan is the
    tightened one, the supplier+SKU is discontinued and the buyers are told once."""
    set_standing(session, world, SwitchingSeverity.TIGHTENED, rejected_on_tightened=4)
    client = time_skipping_env.client
    async with running_worker(client, task_queue):
        handle, number, child = await _lot_of_line_1(time_skipping_env, task_queue, world, db)
        assert inspection_row(db, child.id).severity is InspectionSeverity.TIGHTENED
        await reject(child, inspector)
        await until_stage(child, InspectionStage.AWAITING_DECISION)
        row = inspection_row(db, child.id)
        await _until(lambda: _messages(db, world.buyer, row.number), "the buyers to be told")
        assert _messages(db, world.buyer, row.number) == [INSPECTION_DISCONTINUED]
        with Session(db) as s:
            standing = s.get(InspectionSwitching, _switching_id(s, world))
            assert standing is not None and standing.severity is SwitchingSeverity.DISCONTINUED
        await decide(client, child, quality_approver, "concession", {"deduction_percent": "10"})
        await _end(
            client,
            handle,
            child,
            db,
            number,
            InspectionResult(LOT, 0, InspectionVerdict.REJECTED, Disposition.CONCESSION),
        )


async def test_a_lot_arriving_while_discontinued_goes_to_hq_even_when_its_plan_accepts_it(
    time_skipping_env: WorkflowEnvironment,
    task_queue: str,
    world: World,
    inspector: User,
    quality_approver: User,
    session: Session,
    db: Engine,
) -> None:
    """ISO 2859-1 9.4: acceptance by sampling stays discontinued until the supplier's corrective
    action. The lot is inspected on tightened terms for HQ's information; although it meets its
    plan it waits in quarantine for HQ quality, the supplier is told, and HQ may send it back."""
    set_standing(session, world, SwitchingSeverity.DISCONTINUED, rejected_on_tightened=5)
    client = time_skipping_env.client
    before = balance(db, world, world.sku_a)
    async with running_worker(client, task_queue):
        handle, number, child = await _lot_of_line_1(time_skipping_env, task_queue, world, db)
        assert inspection_row(db, child.id).severity is InspectionSeverity.TIGHTENED
        recorded = await child.execute_update(
            InspectionWorkflow.record_defects,
            RecordDefectsInput(actor_user_id=inspector.id, critical=0, major=0, minor=0, notes="clean"),
        )
        assert (recorded.verdict, recorded.held_for_decision) == (InspectionVerdict.ACCEPTED, True)
        await until_stage(child, InspectionStage.AWAITING_DECISION)
        row = inspection_row(db, child.id)
        assert (row.verdict, row.stage) == (InspectionVerdict.ACCEPTED, InspectionStage.AWAITING_DECISION)
        assert [e.after for e in _events(db, row.number, "acceptance_discontinued")] == [
            {"stage": "awaiting_decision"}
        ]
        await _until(lambda: _messages(db, world.supplier, row.number), "the supplier to be told")
        assert _messages(db, world.supplier, row.number) == [ACCEPTANCE_DISCONTINUED_SUPPLIER]
        assert balance(db, world, world.sku_a) == _held(before)  # not released by the plan

        await decide(client, child, quality_approver, "return_to_vendor")
        await until_return(child)
        rtv = rtv_of(db, child.id)
        assert rtv is not None and rtv.quantity == LOT
        await acknowledge(child, world.supplier)
        assert balance(db, world, world.sku_a) == before
        await _end(
            client,
            handle,
            child,
            db,
            number,
            InspectionResult(0, LOT, InspectionVerdict.ACCEPTED, Disposition.RETURN_TO_VENDOR),
        )
        with Session(db) as s:  # still discontinued: only corrective action resumes inspection
            standing = s.get(InspectionSwitching, _switching_id(s, world))
            assert standing is not None and standing.severity is SwitchingSeverity.DISCONTINUED


def _switching_id(session: Session, world: World) -> int | None:
    row = inspection_standing.switching_row(session, world.supplier_org_id, world.sku_a.id)
    return None if row is None else row.id
