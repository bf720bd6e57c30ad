"""Supplier quality scorecard: what a supplier's lots came to, per supplier and per SKU.

Read-only queries over the inspection read model (inspections, returns to vendor, debit notes and
the switching state), always limited by `supplychain.scoping.visible`, so HQ sees every supplier and
a supplier only its own. Per supplier and per SKU:

- lots inspected (accepted + rejected on inspection), accepted, rejected, skipped (skip-lot: accepted
  without inspection) and the acceptance rate (accepted / inspected);
- defects per category (critical, major, minor) and the defect rate: defects / units sampled for
  that category, over the inspected lots;
- HQ's dispositions of rejected lots (concessions, sortings, returns to vendor), open returns
  (waiting for the supplier's acknowledgement), debit notes (count and total, VAT included);
- per SKU, the ISO 2859-1 switching state (severity, switching score, reduced approved) and the
  skip-lot standing.

Rates are `Decimal` fractions (0.25 = 25 %), None when nothing was inspected.

Two HQ master-data actions on the switching state live here too (the scorecard page offers them):
`approve_reduced` (the responsible authority's consent of ISO 2859-1 9.3.3 c)) and
`resume_after_corrective_action` (9.4: a discontinued supplier+SKU restarts on tightened inspection).
Each writes the row and one document event in the caller's transaction, through
`supplychain.inspection_standing.update_standing` like the lot results, so neither overwrites the
other; refusals are `SwitchingRefused` with a message a person can act on. A repeated action with
the same idempotency key (a double submit) changes nothing and is not refused.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final

from sqlalchemy import ColumnElement, case, func, select
from sqlmodel import Session, col

from supplychain import i18n
from supplychain.events import record_event, recorded
from supplychain.i18n import lazy
from supplychain.inspection_standing import update_standing
from supplychain.models import (
    DebitNote,
    Disposition,
    Inspection,
    InspectionSwitching,
    InspectionVerdict,
    Organisation,
    OrgKind,
    ReturnStatus,
    ReturnToVendor,
    Sku,
    SwitchingSeverity,
)
from supplychain.models.base import utcnow
from supplychain.principal import Principal
from supplychain.rules import switching as switching_rules
from supplychain.rules.money import round_half_up
from supplychain.scoping import visible

CATEGORIES: Final = ("critical", "major", "minor")
RATE_PLACES: Final = 6
ZERO_MONEY: Final = Decimal("0.00")


def rate(numerator: int, denominator: int) -> Decimal | None:
    """numerator / denominator as a Decimal fraction rounded half-up to 6 places; None for 0 / 0."""
    if denominator <= 0:
        return None
    return round_half_up(Decimal(numerator) / Decimal(denominator), RATE_PLACES)


@dataclass(frozen=True)
class CategoryDefects:
    category: str
    defects: int
    units_sampled: int

    @property
    def rate(self) -> Decimal | None:
        return rate(self.defects, self.units_sampled)


@dataclass
class QualityFigures:
    """The counts a scorecard shows; added up from SKU to supplier."""

    accepted: int = 0
    rejected: int = 0
    skipped: int = 0
    pending: int = 0
    defects: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CATEGORIES, 0))
    units_sampled: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CATEGORIES, 0))
    concessions: int = 0
    sortings: int = 0
    returns: int = 0
    open_returns: int = 0
    debit_notes: int = 0
    debit_note_total: Decimal = ZERO_MONEY

    @property
    def lots_inspected(self) -> int:
        return self.accepted + self.rejected

    @property
    def acceptance_rate(self) -> Decimal | None:
        return rate(self.accepted, self.lots_inspected)

    @property
    def categories(self) -> list[CategoryDefects]:
        return [CategoryDefects(c, self.defects[c], self.units_sampled[c]) for c in CATEGORIES]

    def category(self, name: str) -> CategoryDefects:
        return CategoryDefects(name, self.defects[name], self.units_sampled[name])

    def add(self, other: QualityFigures) -> None:
        for name in ("accepted", "rejected", "skipped", "pending", "concessions", "sortings", "returns"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.open_returns += other.open_returns
        self.debit_notes += other.debit_notes
        self.debit_note_total += other.debit_note_total
        for c in CATEGORIES:
            self.defects[c] += other.defects[c]
            self.units_sampled[c] += other.units_sampled[c]


@dataclass
class SkuScorecard:
    sku: Sku
    figures: QualityFigures
    switching: InspectionSwitching | None = None


@dataclass
class SupplierScorecard:
    supplier: Organisation
    figures: QualityFigures
    skus: list[SkuScorecard] = field(default_factory=list)

    def sku(self, sku_id: int) -> SkuScorecard | None:
        return next((s for s in self.skus if s.sku.id == sku_id), None)


def supplier_scorecards(session: Session, principal: Principal) -> list[SupplierScorecard]:
    """Every supplier the principal may see, by name, with its totals and SKUs."""
    suppliers = list(
        session.execute(
            select(Organisation)
            .where(visible(principal, Organisation), col(Organisation.kind) == OrgKind.SUPPLIER)
            .order_by(col(Organisation.name), col(Organisation.id))
        ).scalars()
    )
    return _build(session, principal, suppliers)


def supplier_scorecard(session: Session, principal: Principal, supplier_id: int) -> SupplierScorecard | None:
    """One supplier's scorecard; None when the principal may not see it or it is not a supplier."""
    supplier = session.execute(
        select(Organisation).where(
            visible(principal, Organisation),
            col(Organisation.kind) == OrgKind.SUPPLIER,
            col(Organisation.id) == supplier_id,
        )
    ).scalar_one_or_none()
    if supplier is None:
        return None
    return _build(session, principal, [supplier])[0]


# --- queries ---------------------------------------------------------------------------------------

Key = tuple[int, int]  # (supplier id, SKU id)


def _count_if(condition: ColumnElement[bool]) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _sum_if(condition: ColumnElement[bool], value: Any) -> Any:
    return func.coalesce(func.sum(case((condition, value), else_=0)), 0)


def _build(session: Session, principal: Principal, suppliers: list[Organisation]) -> list[SupplierScorecard]:
    ids = [s.id for s in suppliers if s.id is not None]
    by_key: dict[Key, QualityFigures] = {}

    def figures(key: Key) -> QualityFigures:
        return by_key.setdefault(key, QualityFigures())

    _inspections(session, principal, ids, figures)
    _returns(session, principal, ids, figures)
    _debit_notes(session, principal, ids, figures)
    switching = _switching(session, principal, ids)
    for key in switching:
        figures(key)

    skus = _skus(session, {sku_id for _, sku_id in by_key})
    cards = {s.id: SupplierScorecard(supplier=s, figures=QualityFigures()) for s in suppliers}
    for (supplier_id, sku_id), sku_figures in sorted(by_key.items(), key=lambda kv: skus[kv[0][1]].code):
        card = cards[supplier_id]
        card.figures.add(sku_figures)
        card.skus.append(SkuScorecard(skus[sku_id], sku_figures, switching.get((supplier_id, sku_id))))
    return list(cards.values())


def _inspections(session: Session, principal: Principal, ids: list[int], figures: Any) -> None:
    verdict = col(Inspection.verdict)
    inspected = verdict.in_([InspectionVerdict.ACCEPTED, InspectionVerdict.REJECTED])
    disposition = col(Inspection.disposition)
    columns = [
        _count_if(verdict == InspectionVerdict.ACCEPTED),
        _count_if(verdict == InspectionVerdict.REJECTED),
        _count_if(verdict == InspectionVerdict.SKIPPED),
        _count_if(verdict == InspectionVerdict.PENDING),
        _count_if(disposition == Disposition.CONCESSION),
        _count_if(disposition == Disposition.SORTING),
        _count_if(disposition == Disposition.RETURN_TO_VENDOR),
    ]
    for c in CATEGORIES:
        columns.append(_sum_if(inspected, getattr(Inspection, f"{c}_defects")))
        columns.append(_sum_if(inspected, getattr(Inspection, f"{c}_sample_size")))
    stmt = (
        select(col(Inspection.supplier_id), col(Inspection.sku_id), *columns)
        .where(visible(principal, Inspection), col(Inspection.supplier_id).in_(ids))
        .group_by(col(Inspection.supplier_id), col(Inspection.sku_id))
    )
    for supplier_id, sku_id, *values in session.execute(stmt):
        f = figures((supplier_id, sku_id))
        (f.accepted, f.rejected, f.skipped, f.pending, f.concessions, f.sortings, f.returns) = (
            int(v) for v in values[:7]
        )
        for i, c in enumerate(CATEGORIES):
            f.defects[c] = int(values[7 + 2 * i])
            f.units_sampled[c] = int(values[8 + 2 * i])


def _returns(session: Session, principal: Principal, ids: list[int], figures: Any) -> None:
    stmt = (
        select(col(ReturnToVendor.supplier_id), col(ReturnToVendor.sku_id), func.count())
        .where(
            visible(principal, ReturnToVendor),
            col(ReturnToVendor.supplier_id).in_(ids),
            col(ReturnToVendor.status) == ReturnStatus.AWAITING_ACKNOWLEDGEMENT,
        )
        .group_by(col(ReturnToVendor.supplier_id), col(ReturnToVendor.sku_id))
    )
    for supplier_id, sku_id, count in session.execute(stmt):
        figures((supplier_id, sku_id)).open_returns = int(count)


def _debit_notes(session: Session, principal: Principal, ids: list[int], figures: Any) -> None:
    stmt = (
        select(
            col(DebitNote.supplier_id),
            col(DebitNote.sku_id),
            func.count(),
            func.coalesce(func.sum(col(DebitNote.total_amount)), 0),
        )
        .where(visible(principal, DebitNote), col(DebitNote.supplier_id).in_(ids))
        .group_by(col(DebitNote.supplier_id), col(DebitNote.sku_id))
    )
    for supplier_id, sku_id, count, total in session.execute(stmt):
        f = figures((supplier_id, sku_id))
        f.debit_notes = int(count)
        f.debit_note_total = total  # exact: SUM of the stored fen, read back as Decimal


def _switching(session: Session, principal: Principal, ids: list[int]) -> dict[Key, InspectionSwitching]:
    stmt = select(InspectionSwitching).where(
        visible(principal, InspectionSwitching), col(InspectionSwitching.supplier_id).in_(ids)
    )
    return {(row.supplier_id, row.sku_id): row for row in session.execute(stmt).scalars()}


def _skus(session: Session, ids: Iterable[int]) -> dict[int, Sku]:
    wanted = set(ids)
    if not wanted:
        return {}
    rows = session.execute(select(Sku).where(col(Sku.id).in_(wanted))).scalars()
    return {row.id: row for row in rows if row.id is not None}


# --- HQ actions on the switching state --------------------------------------------------------------

#: Document type of the events recorded on a supplier+SKU switching state (id "<supplier>:<sku>").
SWITCHING_DOCUMENT_TYPE: Final = "inspection_switching"

NOT_NORMAL = lazy(
    "Reduced inspection can only be approved while inspection is normal; it is %(severity)s now."
)
ALREADY_APPROVED = lazy("Reduced inspection is already approved for this SKU.")
NOT_DISCONTINUED = lazy("Only a discontinued inspection can be resumed; it is %(severity)s now.")
STANDING_CHANGED = lazy(
    "A lot result for this SKU was recorded while the page was open: inspection is %(severity)s "
    "with a switching score of %(score)s now. Check the figures and decide again."
)

SEVERITY_LABELS: dict[SwitchingSeverity, str] = {
    SwitchingSeverity.NORMAL: lazy("normal"),
    SwitchingSeverity.TIGHTENED: lazy("tightened"),
    SwitchingSeverity.REDUCED: lazy("reduced"),
    SwitchingSeverity.DISCONTINUED: lazy("discontinued"),
}


class SwitchingRefused(ValueError):
    """The action does not fit the current state; the message says why (translated)."""


class StandingChanged(SwitchingRefused):
    """The row changed since the page the action was taken on was drawn (its version)."""


def switching_document_id(supplier_id: int, sku_id: int) -> str:
    return f"{supplier_id}:{sku_id}"


def _snapshot(row: InspectionSwitching) -> dict[str, Any]:
    return {
        "severity": row.severity.value,
        "recent_normal_rejections": row.recent_normal_rejections,
        "switching_score": row.switching_score,
        "consecutive_accepted_tightened": row.consecutive_accepted_tightened,
        "rejected_on_tightened": row.rejected_on_tightened,
        "reduced_approved": row.reduced_approved,
        "skip_consecutive_accepted": row.skip_consecutive_accepted,
        "skip_qualified": row.skip_qualified,
        "skip_lots_since_qualified": row.skip_lots_since_qualified,
    }


def _severity_label(row: InspectionSwitching) -> str:
    return i18n.gettext(SEVERITY_LABELS[row.severity])


def approve_reduced(
    session: Session,
    *,
    supplier_id: int,
    sku_id: int,
    seen_version: int | None,
    actor_user_id: int,
    idempotency_key: str,
    note: str = "",
) -> None:
    """HQ quality allows reduced inspection for this supplier+SKU (taken once the score reaches 30).

    `seen_version` is the row's version on the page HQ decided on. The consent rests on the lots'
    record that page showed: when a lot result has come in since (the version moved), HQ is asked to
    look again (`StandingChanged`) rather than approving on figures it has not seen.
    """

    def change(row: InspectionSwitching) -> None:
        if recorded(session, idempotency_key):  # a double submit: the first one did it
            return
        if row.version != seen_version:
            raise StandingChanged(
                i18n.gettext(STANDING_CHANGED, severity=_severity_label(row), score=row.switching_score)
            )
        if row.severity is not SwitchingSeverity.NORMAL:
            raise SwitchingRefused(i18n.gettext(NOT_NORMAL, severity=_severity_label(row)))
        if row.reduced_approved:
            raise SwitchingRefused(i18n.gettext(ALREADY_APPROVED))
        before = _snapshot(row)
        row.reduced_approved = True
        row.updated_at = utcnow()
        _record(session, row, "reduced_approved", before, actor_user_id, idempotency_key, note)

    update_standing(session, supplier_id, sku_id, change)


def resume_after_corrective_action(
    session: Session, *, supplier_id: int, sku_id: int, actor_user_id: int, idempotency_key: str, note: str
) -> None:
    """After the supplier's corrective action a discontinued inspection resumes on tightened (9.4):
    every switching counter starts again, the reduced approval and the skip-lot standing are gone.

    Applied to the row as it is when HQ clicks, whatever version the page showed: lot results that
    came in while the inspection was discontinued do not move its switching state (9.4; HQ decides
    each of those lots), so resuming means the same; if someone else has resumed it meanwhile, the
    row is no longer discontinued and the action is refused with that message.
    """

    def change(row: InspectionSwitching) -> None:
        if recorded(session, idempotency_key):  # a double submit: the first one did it
            return
        if row.severity is not SwitchingSeverity.DISCONTINUED:
            raise SwitchingRefused(i18n.gettext(NOT_DISCONTINUED, severity=_severity_label(row)))
        resumed = switching_rules.resume_after_corrective_action(
            switching_rules.SwitchingState(
                severity="discontinued", rejected_on_tightened=row.rejected_on_tightened
            )
        )
        before = _snapshot(row)
        row.severity = SwitchingSeverity(resumed.severity)
        row.recent_normal_rejections = "".join("1" if r else "0" for r in resumed.recent_normal_rejections)
        row.switching_score = resumed.switching_score
        row.consecutive_accepted_tightened = resumed.consecutive_accepted_tightened
        row.rejected_on_tightened = resumed.rejected_on_tightened
        row.reduced_approved = False
        row.skip_consecutive_accepted = 0
        row.skip_qualified = False
        row.skip_lots_since_qualified = 0
        row.updated_at = utcnow()
        _record(session, row, "resumed_after_corrective_action", before, actor_user_id, idempotency_key, note)

    update_standing(session, supplier_id, sku_id, change)


def _record(
    session: Session,
    row: InspectionSwitching,
    action: str,
    before: dict[str, Any],
    actor_user_id: int,
    idempotency_key: str,
    note: str,
) -> None:
    record_event(
        session,
        document_type=SWITCHING_DOCUMENT_TYPE,
        document_id=switching_document_id(row.supplier_id, row.sku_id),
        action=action,
        idempotency_key=idempotency_key,
        actor_user_id=actor_user_id,
        before=before,
        after=_snapshot(row),
        note=note,
    )
