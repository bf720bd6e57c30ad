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
   The severity (normal / tightened / reduced) comes from the supplier+SKU switching state when
   `severity_from_standing`; a SKU on skip-lot whose supplier qualifies skips steps 2-4 (verdict
   "skipped", the whole lot accepted). The lot's result then updates that state (once per lot).
5. Rejected: HQ's quality approver decides through the shared approval step (a child
   ApprovalWorkflow with choices): concession (the whole lot accepted, a debit note for the price
   deduction), sorting (the inspector counts the good units in `record_sorting`; the rest go back)
   or return to vendor. Nobody to decide: the lot goes back. While the supplier+SKU is discontinued
   (ISO 2859-1 9.4), a lot the plan accepts goes to the same decision (patch
   `discontinued-lots-go-to-decision`).
6. Accepted units: a required certificate missing or expired holds them (stage ON_HOLD, the
   supplier is told) until `recheck_certificates` (sent on upload) or a daily recheck finds them in
   order; then they leave quarantine (when the PO put them there: `quarantined`).
7. Returned units: an RTV waits for the supplier's `acknowledge_return`; then the goods leave stock
   and a debit note carries their value into reconciliation.
8. Then the workflow keeps answering for `answer_late_clicks_for` (a stale page gets "already
   decided", not an RPC error), and returns its `InspectionResult`.

A page offers a click once its row says so (stage SORTING, an open return, a lot ON_HOLD), and that
row is written by an activity the workflow hears back from a moment later. So the click is taken
from the moment that activity starts: `record_sorting` and `acknowledge_return` are accepted then
and recorded once the step is (they wait for its lock), and a `recheck_certificates` signal sent
meanwhile has the lot checked again (patch `rechecks-asked-during-a-check-kept`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy

from workflows.approval import ApprovalInput, ApprovalResult, ApprovalWorkflow, approval_workflow_id
from workflows.common import business_date, checked

with workflow.unsafe.imports_passed_through():
    from activities.inspection import (
        AcknowledgeReturnActivityInput,
        ApplySwitchingInput,
        CheckCertificatesInput,
        DispositionResult,
        HoldForDecisionInput,
        NotifyInspectionInput,
        OpenReturnInput,
        RecordDispositionInput,
        RecordInspectionInput,
        RecordSortingActivityInput,
        RecordVerdictInput,
        ReleaseLotInput,
        acknowledge_return_to_vendor,
        apply_inspection_switching,
        check_lot_certificates,
        hold_lot_for_decision,
        notify_inspection,
        open_return_to_vendor,
        record_inspection,
        record_inspection_disposition,
        record_inspection_sorting,
        record_inspection_verdict,
        release_inspected_lot,
    )
    from supplychain import sla
    from supplychain.dispositions import rtv_link
    from supplychain.i18n import lazy
    from supplychain.inspection import (
        DOCUMENT_TYPE,
        NO_QUALITY_APPROVER,
        DefectCounts,
        InspectionAudience,
        InspectionPlan,
        lot_verdict,
    )
    from supplychain.models.inspection import (
        Disposition,
        InspectionSeverity,
        InspectionStage,
        InspectionVerdict,
        SwitchingSeverity,
    )
    from supplychain.rules.decisions import REJECTED_LOT_CHOICES, deduction_percent
    from supplychain.rules.inspection_checks import (
        CATEGORIES,
        check_acknowledge_return,
        check_record_defects,
        check_record_sorting,
    )

# After the verdict, a click from a page opened earlier still gets a clear refusal this long.
ANSWER_LATE_CLICKS_FOR = timedelta(days=1)
# HQ quality's decision SLA when the input carries none (the PO passes the settings' values).
DECISION_REMINDER_AFTER = timedelta(hours=sla.QUALITY_DECISION_REMINDER_HOURS)
DECISION_ESCALATION_AFTER = timedelta(hours=sla.QUALITY_DECISION_ESCALATION_HOURS)
# A lot held for certificates is checked again this often (a certificate may have been uploaded
# while the signal was lost, or the date may have moved past an expiry).
CERTIFICATE_RECHECK_EVERY = timedelta(days=1)
ACTIVITY_TIMEOUT = timedelta(seconds=30)
# Database activities retry until the database is back; a bug shows up as retries in the UI.
ACTIVITY_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1))

LOT_REJECTED_SUPPLIER = lazy(
    "Your lot %(number)s (purchase order %(po_number)s) failed inspection; HQ quality decides on "
    "concession, sorting or return."
)
ACCEPTANCE_DISCONTINUED_SUPPLIER = lazy(
    "Lot %(number)s (purchase order %(po_number)s) met the sampling plan, but acceptance by sampling of "
    "this SKU is discontinued until your corrective action; HQ quality decides on concession, sorting "
    "or return."
)
CERTIFICATES_HOLD = lazy(
    "Lot %(number)s (purchase order %(po_number)s) passed inspection but is on hold: a required "
    "certificate is missing or expired. Please upload it."
)
SORT_THE_LOT = lazy("Lot %(number)s is to be sorted (every unit inspected): record the good units.")
RETURN_WAITING = lazy(
    "Return %(return_number)s: %(quantity)s units of lot %(number)s (purchase order %(po_number)s) "
    "are to be taken back. Please acknowledge the return."
)
RETURN_ACKNOWLEDGED = lazy(
    "The supplier acknowledged the return of lot %(number)s; debit note %(debit_note)s was raised."
)
INSPECTION_DISCONTINUED = lazy(
    "Lot %(number)s was the fifth rejected on tightened inspection: inspection of this SKU from this "
    "supplier is discontinued until the supplier's corrective action (quality scorecard)."
)
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
    lot_no: int = 1  # a receipt line may be inspected as several lots (batches, tranches)
    batch_no: str = ""
    expiry_date: date | None = None
    severity_from_standing: bool = False  # the supplier+SKU switching state decides the severity
    quarantined: bool = False  # the lot is held in quarantine stock: release or return it here
    # HQ quality's decision on a rejected lot (QUALITY_DECISION_*_HOURS); None: the defaults above.
    decision_reminder_after: timedelta | None = None
    decision_escalation_after: timedelta | None = None


@dataclass
class InspectionResult:
    accepted_quantity: int
    rejected_quantity: int
    verdict: InspectionVerdict
    disposition: Disposition | None = None


@dataclass
class InspectionSettled:
    """Sent to the parent purchase order once the lot's quantities are final."""

    workflow_id: str
    result: InspectionResult


# Versioning: inspections recorded before this change told their PO only by completing.
SETTLE_PARENT_PATCH = "settle-parent-early"
# Versioning: before this change a lot of a discontinued supplier+SKU was accepted by its plan.
DISCONTINUED_DECISION_PATCH = "discontinued-lots-go-to-decision"
# Versioning: before this change a recheck asked for during the check was dropped (daily recheck).
KEEP_RECHECKS_PATCH = "rechecks-asked-during-a-check-kept"


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
    # The plan accepts the lot, but acceptance is discontinued for its supplier+SKU: HQ decides it.
    held_for_decision: bool = False


@dataclass
class RecordSortingInput:
    actor_user_id: int
    good_quantity: int
    notes: str = ""


@dataclass
class RecordSortingResult:
    accepted_quantity: int
    returned_quantity: int


@dataclass
class AcknowledgeReturnInput:
    actor_user_id: int  # a supplier user of the lot's supplier (checked by the route)
    note: str = ""


@dataclass
class AcknowledgeReturnResult:
    debit_note_number: str


@dataclass
class InspectionState:
    verdict: InspectionVerdict = InspectionVerdict.PENDING
    stage: InspectionStage = InspectionStage.AWAITING_INSPECTION
    severity: InspectionSeverity = InspectionSeverity.NORMAL
    disposition: Disposition | None = None
    hold_reasons: list[str] = field(default_factory=list)
    return_number: str | None = None
    debit_note_number: str | None = None
    discontinued: bool = False  # the supplier+SKU was already discontinued when the lot arrived
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
        self._state = InspectionState(severity=input.severity)
        self._lock = asyncio.Lock()
        self._rechecks_requested = 0  # recheck_certificates signals received
        # Set as the step starts whose row makes a page offer a click (see the module's docstring).
        self._deciding: Disposition | None = None
        self._opening_return = False
        self._sorted = False
        self._return_acknowledged = False
        self._lot_value = Decimal(0)  # net value at the PO price: what the decision is about

    @workflow.run
    async def run(self, input: InspectionInput) -> InspectionResult:
        await self._record()
        if self._state.verdict is not InspectionVerdict.SKIPPED:
            await self._notify_inspectors()
            await workflow.wait_condition(self._decided)
        await self._update_standing()
        if self._state.verdict is InspectionVerdict.REJECTED:
            await self._notify(InspectionAudience.SUPPLIER, LOT_REJECTED_SUPPLIER, "notify:rejected")
            await self._decide_rejected_lot()
        elif self._acceptance_discontinued():
            await self._hold_for_decision()
            await self._decide_rejected_lot()
        accepted, rejected = self._quantities()
        # With units to return, the stage moves on only once the return exists.
        await self._accept(accepted, then=None if rejected else InspectionStage.DONE)
        if rejected:
            await self._return_to_vendor(rejected)
        self._state.stage = InspectionStage.DONE
        result = self._result()
        await self._settle_parent(result)
        await self._answer_late_clicks()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return result

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
                lot_no=input.lot_no,
                batch_no=input.batch_no,
                expiry_date=input.expiry_date,
                severity_from_standing=input.severity_from_standing,
            ),
        )
        self._state.number = recorded.number
        self._state.plan = recorded.plan
        self._state.severity = recorded.severity
        self._state.discontinued = recorded.discontinued
        self._lot_value = recorded.lot_value or Decimal(0)
        if recorded.skipped:
            self._state.verdict = InspectionVerdict.SKIPPED
            self._state.accepted_quantity, self._state.rejected_quantity = input.lot_size, 0

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

    def _result(self) -> InspectionResult:
        accepted, rejected = self._quantities()
        return InspectionResult(
            accepted_quantity=accepted,
            rejected_quantity=rejected,
            verdict=self._state.verdict,
            disposition=self._state.disposition,
        )

    async def _settle_parent(self, result: InspectionResult) -> None:
        """Tell the purchase order the quantities now, not after the late-click window."""
        parent = workflow.info().parent
        if parent is None or not workflow.patched(SETTLE_PARENT_PATCH):
            return
        await workflow.get_external_workflow_handle(parent.workflow_id).signal(
            "inspection_settled", InspectionSettled(workflow.info().workflow_id, result)
        )

    async def _update_standing(self) -> None:
        if self._input.severity_from_standing:
            applied = await self._activity(
                apply_inspection_switching, ApplySwitchingInput(self._number(), workflow.now())
            )
            if applied.severity is SwitchingSeverity.DISCONTINUED and not self._state.discontinued:
                # ISO 2859-1 9.4: the buyers take it up with the supplier (corrective action).
                await self._notify(InspectionAudience.BUYERS, INSPECTION_DISCONTINUED, "notify:discontinued")

    def _acceptance_discontinued(self) -> bool:
        """ISO 2859-1 9.4: while the supplier+SKU is discontinued, the sampling plan may not accept
        a lot (it is inspected on tightened terms for HQ's information; HQ decides it)."""
        return (
            self._state.verdict is InspectionVerdict.ACCEPTED
            and self._state.discontinued
            and workflow.patched(DISCONTINUED_DECISION_PATCH)
        )

    async def _hold_for_decision(self) -> None:
        await self._activity(
            hold_lot_for_decision,
            HoldForDecisionInput(self._number(), self._key("acceptance-discontinued"), workflow.now()),
        )
        self._state.stage = InspectionStage.AWAITING_DECISION
        await self._notify(
            InspectionAudience.SUPPLIER, ACCEPTANCE_DISCONTINUED_SUPPLIER, "notify:acceptance-discontinued"
        )

    async def _decide_rejected_lot(self) -> None:
        """HQ's quality approver chooses concession, sorting or return to vendor (shared approval step)."""
        self._state.stage = InspectionStage.AWAITING_DECISION
        input = self._input
        approval = ApprovalInput(
            document_type=DOCUMENT_TYPE,
            document_id=self._number(),
            document_link=f"/inspections/{self._number()}",
            summary=f"{input.po_number} · {input.shipment_number} · {input.lot_size}",
            amount=self._lot_value,
            requester_user_id=self._state.inspector_user_id or 0,
            reminder_after=input.decision_reminder_after or DECISION_REMINDER_AFTER,
            escalation_after=input.decision_escalation_after or DECISION_ESCALATION_AFTER,
            approver_role="quality_approver",
            choices=list(REJECTED_LOT_CHOICES),
            no_approver_comment=NO_QUALITY_APPROVER,
        )
        result: ApprovalResult = await workflow.execute_child_workflow(
            ApprovalWorkflow.run, approval, id=approval_workflow_id(workflow.info().workflow_id, "decision")
        )
        if result.approved and result.choice:
            disposition = Disposition(result.choice)
            comment = result.comment
        else:  # nobody could decide (no quality approver): the lot goes back
            disposition, comment = Disposition.RETURN_TO_VENDOR, NO_QUALITY_APPROVER
        deduction = deduction_percent(result.details) if disposition is Disposition.CONCESSION else None
        async with self._lock:  # a sorting click meanwhile is taken, and recorded after this
            self._deciding = disposition
            decided: DispositionResult = await self._activity(
                record_inspection_disposition,
                RecordDispositionInput(
                    number=self._number(),
                    disposition=disposition,
                    deduction_percent=deduction,
                    decided_by_user_id=result.decided_by_user_id,
                    comment=comment,
                    number_year=business_date(workflow.now()).year,
                    idempotency_key=self._key("disposition"),
                    occurred_at=workflow.now(),
                ),
            )
            self._state.disposition = disposition
            self._state.debit_note_number = decided.debit_note_number
            self._state.accepted_quantity = decided.accepted_quantity
            self._state.rejected_quantity = decided.rejected_quantity
            if disposition is Disposition.SORTING:
                self._state.stage = InspectionStage.SORTING
        if disposition is Disposition.SORTING:
            await self._notify(InspectionAudience.INSPECTORS, SORT_THE_LOT, "notify:sorting")
            await workflow.wait_condition(lambda: self._sorted)

    async def _accept(self, quantity: int, *, then: InspectionStage | None) -> None:
        """Release the accepted units once the lot's required certificates are in order."""
        if quantity > 0:
            await self._wait_for_certificates()
        await self._activity(
            release_inspected_lot,
            ReleaseLotInput(
                number=self._number(),
                quantity=quantity,
                quarantined=self._input.quarantined,
                idempotency_key=self._key("release"),
                actor_user_id=self._state.inspector_user_id,
                stage=then,
            ),
        )
        if then is not None:
            self._state.stage = then

    async def _wait_for_certificates(self) -> None:
        attempt = 0
        while True:
            asked = self._rechecks_requested  # one asked for during this check gets another
            checked = await self._activity(
                check_lot_certificates,
                CheckCertificatesInput(number=self._number(), on_date=business_date(workflow.now())),
            )
            self._state.hold_reasons = list(checked.problems)
            if not checked.problems:
                return
            self._state.stage = InspectionStage.ON_HOLD
            if attempt == 0:
                await self._notify(InspectionAudience.SUPPLIER, CERTIFICATES_HOLD, "notify:certificates")
            attempt += 1
            if not workflow.patched(KEEP_RECHECKS_PATCH):
                asked = self._rechecks_requested  # before: one asked for meanwhile was dropped
            await self._recheck_asked_after(asked)

    async def _recheck_asked_after(self, asked: int) -> None:
        """Until a recheck beyond the first `asked` is asked for, or the daily recheck is due."""
        if self._rechecks_requested != asked:
            return
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(
                lambda: self._rechecks_requested != asked, timeout=CERTIFICATE_RECHECK_EVERY
            )

    async def _return_to_vendor(self, quantity: int) -> None:
        async with self._lock:  # an acknowledgement meanwhile is taken, and recorded after this
            self._opening_return = True
            opened = await self._activity(
                open_return_to_vendor,
                OpenReturnInput(
                    number=self._number(),
                    quantity=quantity,
                    reason=self._state.notes,
                    number_year=business_date(workflow.now()).year,
                    idempotency_key=self._key("return"),
                    occurred_at=workflow.now(),
                ),
            )
            self._state.return_number = opened.return_number
            self._state.stage = InspectionStage.AWAITING_RETURN
        await self._notify(
            InspectionAudience.SUPPLIER,
            RETURN_WAITING,
            "notify:return",
            link=rtv_link(opened.return_number),
            return_number=opened.return_number,
            quantity=quantity,
        )
        await workflow.wait_condition(lambda: self._return_acknowledged)

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
            if verdict is InspectionVerdict.REJECTED:
                state.stage = InspectionStage.AWAITING_DECISION
            return RecordDefectsResult(
                verdict=verdict,
                accepted_quantity=accepted,
                rejected_quantity=rejected,
                held_for_decision=verdict is InspectionVerdict.ACCEPTED and state.discontinued,
            )

    @record_defects.validator
    def validate_record_defects(self, input: RecordDefectsInput) -> None:
        self._check_record_defects(input)

    def _check_record_defects(self, input: RecordDefectsInput) -> None:
        plan = self._state.plan
        checked(
            check_record_defects,
            decided=self._decided(),
            sample_sizes={c: plan.for_category(c).sample_size for c in CATEGORIES} if plan else None,
            counts={"critical": input.critical, "major": input.major, "minor": input.minor},
            notes=input.notes,
        )

    @workflow.update
    async def record_sorting(self, input: RecordSortingInput) -> RecordSortingResult:
        async with self._lock:
            self._check_record_sorting(input)
            sorted_: DispositionResult = await self._activity(
                record_inspection_sorting,
                RecordSortingActivityInput(
                    number=self._number(),
                    good_quantity=input.good_quantity,
                    actor_user_id=input.actor_user_id,
                    notes=input.notes.strip(),
                    idempotency_key=self._key("sorted"),
                    occurred_at=workflow.now(),
                ),
            )
            self._state.accepted_quantity = sorted_.accepted_quantity
            self._state.rejected_quantity = sorted_.rejected_quantity
            self._sorted = True
            return RecordSortingResult(sorted_.accepted_quantity, sorted_.rejected_quantity)

    @record_sorting.validator
    def validate_record_sorting(self, input: RecordSortingInput) -> None:
        self._check_record_sorting(input)

    def _check_record_sorting(self, input: RecordSortingInput) -> None:
        sorting = self._state.stage is InspectionStage.SORTING or self._deciding is Disposition.SORTING
        checked(
            check_record_sorting,
            sorting=sorting and not self._sorted,
            lot_size=self._input.lot_size,
            good_quantity=input.good_quantity,
            notes=input.notes,
        )

    @workflow.update
    async def acknowledge_return(self, input: AcknowledgeReturnInput) -> AcknowledgeReturnResult:
        async with self._lock:
            self._check_acknowledge_return(input)
            acknowledged = await self._activity(
                acknowledge_return_to_vendor,
                AcknowledgeReturnActivityInput(
                    number=self._number(),
                    actor_user_id=input.actor_user_id,
                    note=input.note.strip(),
                    quarantined=self._input.quarantined,
                    number_year=business_date(workflow.now()).year,
                    idempotency_key=self._key("return-acknowledged"),
                    occurred_at=workflow.now(),
                ),
            )
            self._state.debit_note_number = acknowledged.debit_note_number
            self._return_acknowledged = True
            self._state.stage = InspectionStage.DONE
            await self._notify(
                InspectionAudience.BUYERS,
                RETURN_ACKNOWLEDGED,
                "notify:return-acknowledged",
                debit_note=acknowledged.debit_note_number,
            )
            return AcknowledgeReturnResult(debit_note_number=acknowledged.debit_note_number)

    @acknowledge_return.validator
    def validate_acknowledge_return(self, input: AcknowledgeReturnInput) -> None:
        self._check_acknowledge_return(input)

    def _check_acknowledge_return(self, input: AcknowledgeReturnInput) -> None:
        waiting = self._opening_return and not self._return_acknowledged
        checked(check_acknowledge_return, return_waiting=waiting, note=input.note)

    @workflow.signal
    def recheck_certificates(self) -> None:
        """A certificate was uploaded (or an inspector asks): check a held lot again now."""
        self._rechecks_requested += 1

    # --- helpers ---------------------------------------------------------------------------------

    def _quantities(self) -> tuple[int, int]:
        assert self._state.accepted_quantity is not None and self._state.rejected_quantity is not None
        return self._state.accepted_quantity, self._state.rejected_quantity

    async def _notify(
        self, audience: InspectionAudience, message: str, step: str, *, link: str | None = None, **params: Any
    ) -> None:
        await self._activity(
            notify_inspection,
            NotifyInspectionInput(
                number=self._number(),
                audience=audience,
                message=message,
                idempotency_key=self._key(step),
                params={"po_number": self._input.po_number, **params},
                link=link,
            ),
        )

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
