"""The approval step's rules and its read model (`approval_request`, `approval_delegation`).

Used by the approval activities (every write here is idempotent: keyed by the approval's workflow id
and a state check, so a retried activity changes nothing twice) and by the approval queue pages
(who may decide what, SLA state, delegations). No function here commits: the caller's transaction
holds the change together with its document event and notifications.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import ColumnElement, Select, and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from supplychain import accounts
from supplychain.i18n import lazy
from supplychain.inspection import DOCUMENT_TYPE as INSPECTION
from supplychain.models import (
    ApprovalDelegation,
    ApprovalRequest,
    ApprovalStatus,
    Organisation,
    OrgKind,
    Role,
    User,
    UserRole,
)
from supplychain.principal import Principal

DOCUMENT_TYPE_LABELS: dict[str, str] = {
    "purchase_order": lazy("Purchase order"),
    "transfer": lazy("Transfer"),
    "transfer_loss": lazy("Transfer loss"),
    "concession": lazy("Quality concession"),
    "statement_dispute": lazy("Statement dispute"),
    "payment": lazy("Payment"),
    "invoice_match": lazy("Invoice mismatch"),
}

# Document event actions, marked for translation: the timeline shows `_(action)`.
ACTION_REQUESTED = lazy("approval.requested")
ACTION_REMINDED = lazy("approval.reminded")
ACTION_ESCALATED = lazy("approval.escalated")
ACTION_APPROVED = lazy("approval.approved")
ACTION_REJECTED = lazy("approval.rejected")
ACTION_CANCELLED = lazy("approval.cancelled")

NO_APPROVER_COMMENT = lazy("No approver's limit covers this amount")
COMMENT_MAX_LENGTH = 1000


class SlaState(enum.StrEnum):
    ON_TIME = "on_time"
    REMINDED = "reminded"  # the reminder is due (or sent): the assignee is late
    ESCALATED = "escalated"  # moved up the chain at least once


SLA_LABELS: dict[SlaState, str] = {
    SlaState.ON_TIME: lazy("On time"),
    SlaState.REMINDED: lazy("Reminded"),
    SlaState.ESCALATED: lazy("Escalated"),
}

# The roles an approval step is decided by, and who decides each document type's steps: a rejected
# lot goes to the quality approvers (workflows/inspection.py starts its step with that
# `approver_role`), every other step to the approvers. The request row does not store the role; it
# follows from the document type.
# A supplier's invoice that differs from its statement goes to finance (supplychain/invoices.py).
# A payment above the limit (workflows/settlement.py) is approved by finance.
DECIDING_ROLES: tuple[Role, ...] = (Role.APPROVER, Role.QUALITY_APPROVER, Role.FINANCE)
DECIDING_ROLE_LABELS: dict[Role, str] = {
    Role.APPROVER: lazy("Approver"),
    Role.QUALITY_APPROVER: lazy("Quality approver"),
    Role.FINANCE: lazy("Finance"),
}
_DECIDING_ROLE_BY_DOCUMENT_TYPE: dict[str, Role] = {
    INSPECTION: Role.QUALITY_APPROVER,
    "invoice_match": Role.FINANCE,
    "payment": Role.FINANCE,
}


def deciding_roles_of(roles: Collection[Role]) -> tuple[Role, ...]:
    """Which of `roles` decide approval steps, in the order of DECIDING_ROLES."""
    return tuple(role for role in DECIDING_ROLES if role in roles)


# -- the chain ------------------------------------------------------------------------------------


def _active_hq_organisations() -> Select[int | None]:
    return select(col(Organisation.id)).where(
        col(Organisation.kind) == OrgKind.HQ, col(Organisation.is_active).is_(True)
    )


def approval_chain(
    session: Session, *, amount: Decimal, requester_user_id: int, role: Role = Role.APPROVER
) -> list[int]:
    """Who decides, first assignee first; never the requester.

    Only active users of an active HQ organisation who hold the role in a way that counts
    (`accounts.holders_of`: a role row its holder's organisation kind does not allow is ignored).
    Role approver: those whose limit covers `amount`, lowest limit first (then id); a user without a
    limit (NULL) cannot approve anything. Any other role (a quality approver deciding on a rejected
    lot): its users in the requester's HQ organisation, by id; the amount is for information only.
    A requester outside HQ (a supplier whose invoice differs from its statement): the role's users
    in every active HQ organisation.
    """
    statement = select(col(User.id)).where(
        col(User.id).in_(accounts.holders_of(role)),
        col(User.is_active).is_(True),
        col(User.id) != requester_user_id,
        col(User.organisation_id).in_(_active_hq_organisations()),
    )
    if role is Role.APPROVER:
        statement = statement.where(
            col(User.approval_limit).is_not(None), col(User.approval_limit) >= amount
        ).order_by(col(User.approval_limit), col(User.id))
    elif role is Role.FINANCE:  # a payment's requester is the supplier's user: finance of any HQ
        statement = statement.order_by(col(User.id))
    else:  # the requester's own HQ when the requester is in HQ (the inspector of a rejected lot)
        requester_hq = (
            select(col(User.organisation_id))
            .join(Organisation, col(Organisation.id) == col(User.organisation_id))
            .where(col(User.id) == requester_user_id, col(Organisation.kind) == OrgKind.HQ)
        )
        statement = statement.where(
            or_(col(User.organisation_id).in_(requester_hq), ~requester_hq.exists())
        ).order_by(col(User.id))
    return list(dict.fromkeys(session.execute(statement).scalars()))


# -- the request row --------------------------------------------------------------------------------


def request_by_workflow(session: Session, workflow_id: str) -> ApprovalRequest | None:
    return session.execute(
        select(ApprovalRequest).where(col(ApprovalRequest.workflow_id) == workflow_id)
    ).scalar_one_or_none()


def open_request(
    session: Session,
    *,
    workflow_id: str,
    document_type: str,
    document_id: str,
    document_link: str,
    summary: str,
    amount: Decimal,
    requester_user_id: int,
    assignee_user_id: int,
    level: int,
    requested_at: datetime,
    reminder_after: timedelta,
    escalation_after: timedelta,
    choices: list[str] | None = None,
) -> tuple[ApprovalRequest, bool]:
    """The request row of this workflow, written once; returns (row, whether this call wrote it)."""
    existing = request_by_workflow(session, workflow_id)
    if existing is not None:
        return existing, False
    row = ApprovalRequest(
        workflow_id=workflow_id,
        document_type=document_type,
        document_id=document_id,
        document_link=document_link,
        summary=summary[:300],
        amount=amount,
        requester_user_id=requester_user_id,
        assignee_user_id=assignee_user_id,
        level=level,
        assigned_at=requested_at,
        reminder_after_seconds=int(reminder_after.total_seconds()),
        escalation_after_seconds=int(escalation_after.total_seconds()),
        created_at=requested_at,
        choices=",".join(choices or []),
    )
    savepoint = session.begin_nested()
    try:
        session.add(row)
        session.flush()
        savepoint.commit()
    except IntegrityError:
        savepoint.rollback()
        existing = request_by_workflow(session, workflow_id)
        if existing is None:
            raise
        return existing, False
    return row, True


def mark_reminded(session: Session, *, workflow_id: str, at: datetime) -> ApprovalRequest | None:
    row = request_by_workflow(session, workflow_id)
    if row is not None and row.status is ApprovalStatus.PENDING:
        row.reminded_at = at
        session.add(row)
        session.flush()
    return row


def reassign(
    session: Session, *, workflow_id: str, assignee_user_id: int, level: int, at: datetime
) -> ApprovalRequest | None:
    """Escalate a pending request to `assignee_user_id` at `level` (a second call changes nothing)."""
    row = request_by_workflow(session, workflow_id)
    if row is None or row.status is not ApprovalStatus.PENDING or row.level >= level:
        return row
    row.assignee_user_id = assignee_user_id
    row.level = level
    row.escalated_at = at
    row.assigned_at = at
    row.reminded_at = None
    session.add(row)
    session.flush()
    return row


def record_decision(
    session: Session,
    *,
    workflow_id: str,
    status: ApprovalStatus,
    decided_by_user_id: int | None,
    on_behalf_of_user_id: int | None,
    comment: str,
    at: datetime,
    choice: str = "",
    details: dict[str, str] | None = None,
) -> ApprovalRequest | None:
    """Write the workflow's decision onto its row (once: a decided row is left as it is)."""
    row = request_by_workflow(session, workflow_id)
    if row is not None and row.status is ApprovalStatus.PENDING:
        row.status = status
        row.decided_by_user_id = decided_by_user_id
        row.on_behalf_of_user_id = on_behalf_of_user_id
        row.comment = comment[:COMMENT_MAX_LENGTH]
        row.decided_at = at
        row.choice = choice
        row.choice_details = json.dumps(details, sort_keys=True) if details else ""
        session.add(row)
        session.flush()
    return row


# -- who may decide -------------------------------------------------------------------------------


def delegators_of(delegate_user_id: int, on_date: date) -> Select[int]:
    """Ids of the approvers who delegated to this user for `on_date` (a subquery), whatever the role;
    `delegated_to` limits a delegation to the steps of a role the delegate holds."""
    return select(col(ApprovalDelegation.approver_user_id)).where(
        col(ApprovalDelegation.delegate_user_id) == delegate_user_id,
        col(ApprovalDelegation.is_active).is_(True),
        col(ApprovalDelegation.start_date) <= on_date,
        col(ApprovalDelegation.end_date) >= on_date,
    )


def _decided_by_role(role: Role) -> ColumnElement[bool]:
    """Requests whose step `role` decides (by document type, see _DECIDING_ROLE_BY_DOCUMENT_TYPE)."""
    if role is Role.APPROVER:
        others = [t for t, r in _DECIDING_ROLE_BY_DOCUMENT_TYPE.items() if r is not role]
        return col(ApprovalRequest.document_type).not_in(others)
    return col(ApprovalRequest.document_type).in_(
        [t for t, r in _DECIDING_ROLE_BY_DOCUMENT_TYPE.items() if r is role]
    )


def delegated_to(user_id: int, on_date: date) -> ColumnElement[bool]:
    """Requests this user may decide as a delegate on `on_date`: the assignee delegated to them, and
    the step is decided by a role the delegate holds (a quality decision never reaches a plain
    approver through a delegation, nor a purchase order a plain quality approver)."""
    return and_(
        col(ApprovalRequest.assignee_user_id).in_(delegators_of(user_id, on_date)),
        or_(*(and_(_decided_by_role(role), accounts.holds(user_id, role)) for role in DECIDING_ROLES)),
    )


def involving(user_id: int, on_date: date) -> ColumnElement[bool]:
    """Who sees an approval request (the scoping rule, supplychain/scoping.py): its assignee, whoever
    the assignee delegated to for `on_date` (steps of a role they hold, see `delegated_to`), and
    whoever decided it or on whose behalf it was decided."""
    return or_(
        col(ApprovalRequest.assignee_user_id) == user_id,
        delegated_to(user_id, on_date),
        col(ApprovalRequest.decided_by_user_id) == user_id,
        col(ApprovalRequest.on_behalf_of_user_id) == user_id,
    )


def waiting_for(user_id: int) -> ColumnElement[bool]:
    """Of the requests a user sees: the pending ones they may decide (never their own request)."""
    return and_(
        col(ApprovalRequest.status) == ApprovalStatus.PENDING,
        col(ApprovalRequest.requester_user_id) != user_id,
    )


def decided_by(user_id: int) -> ColumnElement[bool]:
    """Of the requests a user sees: those they decided, or that were decided on their behalf."""
    return and_(
        col(ApprovalRequest.status).in_([ApprovalStatus.APPROVED, ApprovalStatus.REJECTED]),
        or_(
            col(ApprovalRequest.decided_by_user_id) == user_id,
            col(ApprovalRequest.on_behalf_of_user_id) == user_id,
        ),
    )


OLDEST_FIRST = (col(ApprovalRequest.created_at), col(ApprovalRequest.id))
NEWEST_DECISION_FIRST = (col(ApprovalRequest.decided_at).desc(), col(ApprovalRequest.id).desc())


def acting_for(session: Session, user_id: int, row: ApprovalRequest, on_date: date) -> int | None:
    """The approver this user would decide `row` for (themselves or a delegator), or None."""
    if row.requester_user_id == user_id:
        return None
    if row.assignee_user_id == user_id:
        return user_id
    if row.id is None:
        return None
    covered = session.execute(
        select(col(ApprovalRequest.id)).where(
            col(ApprovalRequest.id) == row.id, delegated_to(user_id, on_date)
        )
    ).first()
    return row.assignee_user_id if covered is not None else None


def sla_state(row: ApprovalRequest, now: datetime) -> SlaState:
    if row.escalated_at is not None or row.level > 1:
        return SlaState.ESCALATED
    since = row.assigned_at or row.created_at
    if row.reminded_at is not None or now >= since + timedelta(seconds=row.reminder_after_seconds):
        return SlaState.REMINDED
    return SlaState.ON_TIME


def delegations_involving(user_id: int) -> ColumnElement[bool]:
    """Who sees a delegation (the scoping rule): the approver who gave it and the delegate."""
    return or_(
        col(ApprovalDelegation.approver_user_id) == user_id,
        col(ApprovalDelegation.delegate_user_id) == user_id,
    )


LATEST_DELEGATION_FIRST = (col(ApprovalDelegation.start_date).desc(), col(ApprovalDelegation.id).desc())


# -- delegations ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DelegationView:
    id: int
    approver_name: str
    delegate_name: str
    start_date: date
    end_date: date
    is_active: bool
    mine: bool  # I delegated (else: delegated to me)
    covers: tuple[Role, ...] = ()  # the deciding roles both hold: whose steps the delegate decides


@dataclass(frozen=True)
class Colleague:
    """Someone this user may delegate to, with the deciding roles they share with this user."""

    id: int
    full_name: str
    roles: tuple[Role, ...]


def delegate_candidates(session: Session, principal: Principal) -> list[Colleague]:
    """Who `principal` may delegate to: the other active users of their organisation holding one of
    their deciding roles (an approver: approvers; a quality approver: quality approvers; both: either).
    By name."""
    mine = deciding_roles_of(principal.roles)
    if not mine:
        return []
    held = accounts.held_roles().subquery()
    rows = session.execute(
        select(col(User.id), col(User.full_name), held.c.role)
        .join(held, held.c.user_id == col(User.id))
        .where(
            held.c.role.in_(mine),
            col(User.is_active).is_(True),
            col(User.organisation_id) == principal.organisation_id,
            col(User.id) != principal.user_id,
        )
        .order_by(col(User.full_name), col(User.id))
    ).all()
    names: dict[int, str] = {}
    roles: dict[int, set[Role]] = {}
    for user_id, full_name, role in rows:
        names[user_id] = full_name
        roles.setdefault(user_id, set()).add(role)
    return [
        Colleague(id=uid, full_name=name, roles=deciding_roles_of(roles[uid])) for uid, name in names.items()
    ]


def _deciding_roles_by_user(session: Session, user_ids: set[int]) -> dict[int, set[Role]]:
    if not user_ids:
        return {}
    rows = session.execute(
        accounts.held_roles().where(
            col(UserRole.user_id).in_(user_ids), col(UserRole.role).in_(DECIDING_ROLES)
        )
    )
    held: dict[int, set[Role]] = {}
    for user_id, role in rows:
        held.setdefault(user_id, set()).add(role)
    return held


def delegation_views(session: Session, user_id: int, rows: list[ApprovalDelegation]) -> list[DelegationView]:
    """The delegations `rows` (those this user gave or received, already scoped) as the page shows them."""
    ids = {uid for d in rows for uid in (d.approver_user_id, d.delegate_user_id)}
    names = user_names(session, ids)
    held = _deciding_roles_by_user(session, ids)
    return [
        DelegationView(
            id=d.id or 0,
            approver_name=names.get(d.approver_user_id, ""),
            delegate_name=names.get(d.delegate_user_id, ""),
            start_date=d.start_date,
            end_date=d.end_date,
            is_active=d.is_active,
            mine=d.approver_user_id == user_id,
            covers=deciding_roles_of(
                held.get(d.approver_user_id, set()) & held.get(d.delegate_user_id, set())
            ),
        )
        for d in rows
    ]


def create_delegation(
    session: Session, *, approver_user_id: int, delegate_user_id: int, start_date: date, end_date: date
) -> ApprovalDelegation:
    delegation = ApprovalDelegation(
        approver_user_id=approver_user_id,
        delegate_user_id=delegate_user_id,
        start_date=start_date,
        end_date=end_date,
    )
    session.add(delegation)
    session.flush()
    return delegation


def end_delegation(session: Session, *, approver_user_id: int, delegation: ApprovalDelegation) -> bool:
    """End one of the approver's own delegations; False when it is not theirs (or already ended)."""
    if delegation.approver_user_id != approver_user_id or not delegation.is_active:
        return False
    delegation.is_active = False
    session.add(delegation)
    session.flush()
    return True


def user_names(session: Session, user_ids: set[int] | list[int]) -> dict[int, str]:
    ids = list(user_ids)
    if not ids:
        return {}
    rows = session.execute(select(col(User.id), col(User.full_name)).where(col(User.id).in_(ids)))
    return {row[0]: row[1] for row in rows}
