"""Inspection: one received lot (a receipt line) checked by ISO 2859-1 single sampling.

One `InspectionWorkflow` per receipt line that needs inspection, workflow id
`inspection_workflow_id("po-2026-000123", "SHP-2026-000001", 1)
== "po-2026-000123:inspection:shp-2026-000001:1"`.

1. Record the inspection (activity): the plan per defect category (critical, major, minor, each
   with its own AQL) from lot size, inspection level and severity, and an INS number.
2. Tell the inspectors (at the lot's location, else every inspector of its organisation) how many
   units to draw.
3. Wait for `record_defects`: defects per category and notes. The validator refuses negative
   counts, a count above the category's sample size, and any second recording once decided.
4. The verdict follows the plan: any category with defects at or above its Re rejects the lot. It
   is recorded (row and event) before the Update returns.
5. Accepted: the whole lot is accepted (`accepted_quantity == lot_size`). Rejected: the whole lot
   is rejected for now; `_decide_rejected_lot` is the seam where the HQ quality approver's decision
   (concession, sorting or return to vendor, through the shared approval step) comes next.
6. After the verdict the workflow keeps answering for `answer_late_clicks_for` (a stale page gets
   "already decided", not an RPC error), then returns its `InspectionResult`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy

from workflows.common import UpdateRejected, business_date

with workflow.unsafe.imports_passed_through():
    from activities.inspection import (
        NotifyInspectionInput,
        RecordInspectionInput,
        RecordVerdictInput,
        notify_inspection,
        record_inspection,
        record_inspection_verdict,
    )
    from supplychain.i18n import lazy
    from supplychain.inspection import (
        CATEGORIES,
        NOTES_MAX_LENGTH,
        DefectCounts,
        InspectionAudience,
        InspectionPlan,
        lot_verdict,
    )
    from supplychain.models.inspection import InspectionSeverity, InspectionVerdict

# After the verdict, a click from a page opened earlier still gets a clear refusal this long.
ANSWER_LATE_CLICKS_FOR = timedelta(days=1)
ACTIVITY_TIMEOUT = timedelta(seconds=30)
# Database activities retry until the database is back; a bug shows up as retries in the UI.
ACTIVITY_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1))

# Validator messages (message ids; the web layer translates them with rejection_message).
NOT_READY = lazy("This inspection is still being prepared. Please try again in a moment.")
ALREADY_DECIDED = lazy("This inspection has already been decided.")
NEGATIVE = {
    "critical": lazy("The number of critical defects cannot be negative."),
    "major": lazy("The number of major defects cannot be negative."),
    "minor": lazy("The number of minor defects cannot be negative."),
}
MORE_THAN_SAMPLE = {
    "critical": lazy("Critical defects cannot exceed the %(sample_size)s units inspected for them."),
    "major": lazy("Major defects cannot exceed the %(sample_size)s units inspected for them."),
    "minor": lazy("Minor defects cannot exceed the %(sample_size)s units inspected for them."),
}
NOTES_TOO_LONG = lazy("The notes are too long (at most %(max)s characters).")
WAITING_FOR_INSPECTION = lazy(
    "Inspection %(number)s is waiting: draw %(sample_size)s units from the lot of %(lot_size)s "
    "(purchase order %(po_number)s, shipment %(shipment_number)s)."
)


def inspection_workflow_id(po_workflow_id: str, shipment_number: str, line_no: int) -> str:
    return f"{po_workflow_id}:inspection:{shipment_number.lower()}:{line_no}"


@dataclass
class InspectionInput:
    po_number: str
    shipment_number: str
    line_no: int
    sku_id: int
    supplier_id: int
    location_id: int  # where the lot waits (the receiving warehouse)
    lot_size: int  # the counted quantity of the receipt line
    inspection_level: str  # S-1 .. S-4, I, II, III
    severity: InspectionSeverity  # normal or tightened (reduced: not yet, Table II-C)
    aql_critical: str  # "0": zero tolerance
    aql_major: str
    aql_minor: str
    answer_late_clicks_for: timedelta = ANSWER_LATE_CLICKS_FOR


@dataclass
class InspectionResult:
    accepted_quantity: int
    rejected_quantity: int
    verdict: InspectionVerdict


@dataclass
class RecordDefectsInput:
    actor_user_id: int
    critical: int
    major: int
    minor: int
    notes: str = ""


@dataclass
class RecordDefectsResult:
    verdict: InspectionVerdict
    accepted_quantity: int
    rejected_quantity: int


@dataclass
class InspectionState:
    verdict: InspectionVerdict = InspectionVerdict.PENDING
    number: str | None = None  # known once recorded
    plan: InspectionPlan | None = None
    defects: DefectCounts | None = None
    notes: str = ""
    inspector_user_id: int | None = None
    accepted_quantity: int | None = None
    rejected_quantity: int | None = None


@workflow.defn
class InspectionWorkflow:
    @workflow.init
    def __init__(self, input: InspectionInput) -> None:
        self._input = input
        self._state = InspectionState()
        self._lock = asyncio.Lock()

    @workflow.run
    async def run(self, input: InspectionInput) -> InspectionResult:
        await self._record()
        await self._notify_inspectors()
        await workflow.wait_condition(self._decided)
        if self._state.verdict is InspectionVerdict.REJECTED:
            await self._decide_rejected_lot()
        await self._answer_late_clicks()
        await workflow.wait_condition(workflow.all_handlers_finished)
        assert self._state.accepted_quantity is not None and self._state.rejected_quantity is not None
        return InspectionResult(
            accepted_quantity=self._state.accepted_quantity,
            rejected_quantity=self._state.rejected_quantity,
            verdict=self._state.verdict,
        )

    @workflow.query
    def get_state(self) -> InspectionState:
        return self._state

    # --- the story's steps -----------------------------------------------------------------------

    async def _record(self) -> None:
        input = self._input
        recorded = await self._activity(
            record_inspection,
            RecordInspectionInput(
                workflow_id=workflow.info().workflow_id,
                po_number=input.po_number,
                shipment_number=input.shipment_number,
                line_no=input.line_no,
                sku_id=input.sku_id,
                supplier_id=input.supplier_id,
                location_id=input.location_id,
                lot_size=input.lot_size,
                inspection_level=input.inspection_level,
                severity=input.severity,
                aql_critical=input.aql_critical,
                aql_major=input.aql_major,
                aql_minor=input.aql_minor,
                number_year=business_date(workflow.now()).year,
                idempotency_key=self._key("created"),
                occurred_at=workflow.now(),
            ),
        )
        self._state.number = recorded.number
        self._state.plan = recorded.plan

    async def _notify_inspectors(self) -> None:
        plan = self._plan()
        await self._activity(
            notify_inspection,
            NotifyInspectionInput(
                number=self._number(),
                audience=InspectionAudience.INSPECTORS,
                message=WAITING_FOR_INSPECTION,
                idempotency_key=self._key("notify:waiting"),
                params={
                    "sample_size": plan.sample_size,
                    "lot_size": self._input.lot_size,
                    "po_number": self._input.po_number,
                    "shipment_number": self._input.shipment_number,
                },
            ),
        )

    async def _decide_rejected_lot(self) -> None:
        """The seam for HQ's decision on a rejected lot: concession, sorting or return to vendor.

        Next step of issue 5: start the shared approval step (ApprovalWorkflow) for the HQ quality
        approver and set the accepted/rejected quantities from the decision (concession: all
        accepted at a price deduction; sorting: the good units after 100% inspection; RTV: none).
        Today the whole lot stays rejected, as `record_defects` recorded it.
        """

    async def _answer_late_clicks(self) -> None:
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(lambda: False, timeout=self._input.answer_late_clicks_for)

    # --- update ----------------------------------------------------------------------------------

    @workflow.update
    async def record_defects(self, input: RecordDefectsInput) -> RecordDefectsResult:
        async with self._lock:
            # Validators of Updates delivered together all run before any handler: check again.
            self._check_record_defects(input)
            defects = DefectCounts(critical=input.critical, major=input.major, minor=input.minor)
            verdict = lot_verdict(self._plan(), defects)
            lot = self._input.lot_size
            accepted, rejected = (lot, 0) if verdict is InspectionVerdict.ACCEPTED else (0, lot)
            notes = input.notes.strip()
            await self._activity(
                record_inspection_verdict,
                RecordVerdictInput(
                    number=self._number(),
                    defects=defects,
                    verdict=verdict,
                    accepted_quantity=accepted,
                    rejected_quantity=rejected,
                    inspector_user_id=input.actor_user_id,
                    notes=notes,
                    idempotency_key=self._key("verdict"),
                    occurred_at=workflow.now(),
                ),
            )
            state = self._state
            state.defects = defects
            state.notes = notes
            state.inspector_user_id = input.actor_user_id
            state.accepted_quantity, state.rejected_quantity = accepted, rejected
            state.verdict = verdict
            return RecordDefectsResult(
                verdict=verdict, accepted_quantity=accepted, rejected_quantity=rejected
            )

    @record_defects.validator
    def validate_record_defects(self, input: RecordDefectsInput) -> None:
        self._check_record_defects(input)

    def _check_record_defects(self, input: RecordDefectsInput) -> None:
        if self._decided():
            raise UpdateRejected(ALREADY_DECIDED)
        plan = self._state.plan
        if plan is None:
            raise UpdateRejected(NOT_READY)
        counts = {"critical": input.critical, "major": input.major, "minor": input.minor}
        for category in CATEGORIES:
            if counts[category] < 0:
                raise UpdateRejected(NEGATIVE[category])
        for category in CATEGORIES:
            sample_size = plan.for_category(category).sample_size
            if counts[category] > sample_size:
                raise UpdateRejected(MORE_THAN_SAMPLE[category], sample_size=sample_size)
        if len(input.notes.strip()) > NOTES_MAX_LENGTH:
            raise UpdateRejected(NOTES_TOO_LONG, max=NOTES_MAX_LENGTH)

    # --- helpers ---------------------------------------------------------------------------------

    def _decided(self) -> bool:
        return self._state.verdict is not InspectionVerdict.PENDING

    def _plan(self) -> InspectionPlan:
        assert self._state.plan is not None
        return self._state.plan

    def _number(self) -> str:
        assert self._state.number is not None
        return self._state.number

    @staticmethod
    def _key(step: str) -> str:
        """`<workflow id>:<step>`: each step happens once per inspection."""
        return f"{workflow.info().workflow_id}:{step}"

    async def _activity(self, activity: Callable[..., Any], arg: Any) -> Any:
        return await workflow.execute_activity(
            activity, arg, start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=ACTIVITY_RETRY
        )
