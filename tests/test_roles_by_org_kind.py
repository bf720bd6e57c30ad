"""Roles belong to kinds of organisation: one rule for every writer, refused by the database, and a
role row that breaks it (written behind the application's back) is ignored by every reader."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

import pytest
from sqlalchemy import Engine, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from supplychain import accounts
from supplychain.approvals import approval_chain
from supplychain.i18n import use_locale
from supplychain.models import ApprovalRequest, ApprovalStatus, Organisation, OrgKind, Role, User, UserRole
from supplychain.notifications import users_with_role
from supplychain.principal import principal_for
from supplychain.rules.roles import HQ_ONLY_ROLES, ROLES_BY_ORG_KIND, allowed_roles, refused_roles
from supplychain.security import verify_password
from tests.factories import make_organisation, make_user
from tests.fixtures.web import ClientFactory, form_post, login

ALL_PAIRS = [(kind, role) for kind in OrgKind for role in Role]


# --- the rule -------------------------------------------------------------------------------------


def test_every_hq_role_exists_only_in_hq() -> None:
    for role in HQ_ONLY_ROLES:
        assert [kind for kind in OrgKind if role in allowed_roles(kind)] == [OrgKind.HQ], role


def test_suppliers_hold_supplier_users_and_distributors_store_users_only() -> None:
    assert allowed_roles(OrgKind.SUPPLIER) == {Role.SUPPLIER}
    assert allowed_roles(OrgKind.DISTRIBUTOR) == {Role.STORE}
    assert refused_roles(OrgKind.SUPPLIER, [Role.SUPPLIER, Role.APPROVER]) == {Role.APPROVER}
    assert refused_roles(OrgKind.HQ, [Role.SUPPLIER]) == {Role.SUPPLIER}


def test_every_role_has_a_home() -> None:
    assert set().union(*ROLES_BY_ORG_KIND.values()) == set(Role)


# --- the database -------------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "role"), ALL_PAIRS, ids=[f"{k.value}-{r.value}" for k, r in ALL_PAIRS])
def test_the_database_refuses_exactly_the_pairs_the_rule_refuses(
    session: Session, kind: OrgKind, role: Role
) -> None:
    org = make_organisation(session, kind=kind)
    user = make_user(session, organisation=org, roles=[])
    statement = insert(UserRole).values(user_id=user.id, role=role)
    if role in allowed_roles(kind):
        session.execute(statement)
        session.commit()
    else:
        with pytest.raises(IntegrityError, match="role not allowed"):
            session.execute(statement)
            session.flush()
        session.rollback()


def test_the_database_refuses_changing_a_role_row_into_an_impossible_one(session: Session) -> None:
    supplier = make_organisation(session, kind=OrgKind.SUPPLIER)
    user = make_user(session, organisation=supplier, roles=[Role.SUPPLIER])
    with pytest.raises(IntegrityError, match="role not allowed"):
        session.execute(update(UserRole).where(UserRole.user_id == user.id).values(role=Role.APPROVER))
        session.flush()
    session.rollback()


def test_the_database_refuses_moving_an_approver_into_a_supplier(session: Session) -> None:
    hq = make_organisation(session, kind=OrgKind.HQ)
    supplier = make_organisation(session, kind=OrgKind.SUPPLIER)
    approver = make_user(session, organisation=hq, roles=[Role.APPROVER])
    with pytest.raises(IntegrityError, match="role not allowed"):
        session.execute(update(User).where(User.id == approver.id).values(organisation_id=supplier.id))
        session.flush()
    session.rollback()
    # Moving within HQ-kind organisations is fine.
    other_hq = make_organisation(session, kind=OrgKind.HQ)
    session.execute(update(User).where(User.id == approver.id).values(organisation_id=other_hq.id))
    session.commit()


def test_the_database_refuses_turning_an_organisation_with_buyers_into_a_distributor(
    session: Session,
) -> None:
    hq = make_organisation(session, kind=OrgKind.HQ)
    make_user(session, organisation=hq, roles=[Role.BUYER])
    with pytest.raises(IntegrityError, match="role not allowed"):
        session.execute(update(Organisation).where(Organisation.id == hq.id).values(kind=OrgKind.DISTRIBUTOR))
        session.flush()
    session.rollback()


# --- one rule for every writer ------------------------------------------------------------------


def test_set_roles_refuses_an_hq_role_for_a_supplier_user_and_changes_nothing(session: Session) -> None:
    supplier = make_organisation(session, kind=OrgKind.SUPPLIER)
    user = make_user(session, organisation=supplier, roles=[Role.SUPPLIER])
    with pytest.raises(accounts.RoleNotAllowed) as refused:
        accounts.set_roles(session, user=user, roles={Role.SUPPLIER, Role.APPROVER})
    assert refused.value.roles == (Role.APPROVER,)
    with use_locale("en"):
        assert refused.value.message() == "A user of a Supplier organisation cannot hold the role Approver."
    session.rollback()
    assert accounts.roles_of(session, user.id) == {Role.SUPPLIER}
    with pytest.raises(accounts.RoleNotAllowed):
        accounts.grant_roles(session, user=user, roles={Role.ADMIN})


def test_the_refusal_reads_in_the_users_language() -> None:
    with use_locale("zh_CN"):
        message = accounts.RoleNotAllowed(OrgKind.SUPPLIER, {Role.APPROVER}).message()
    assert message == "供应商组织的用户不能担任以下角色：审批人。"


# --- a row behind the application's back is ignored ---------------------------------------------


@contextmanager
def roles_unguarded(db: Engine) -> Iterator[None]:
    """Lift migration 0011's triggers for the duration (as a hand-edited database would be)."""
    with db.begin() as conn:
        if db.dialect.name == "sqlite":
            saved = conn.execute(
                text(
                    "SELECT name, sql FROM sqlite_master "
                    "WHERE type = 'trigger' AND name LIKE 'user_role_kind%'"
                )
            ).all()
            assert saved, "migration 0011's triggers are missing"
            for name, _ in saved:
                conn.execute(text(f'DROP TRIGGER "{name}"'))
        else:
            conn.execute(text("ALTER TABLE user_role DISABLE TRIGGER user_role_kind_check"))
    try:
        yield
    finally:
        with db.begin() as conn:
            if db.dialect.name == "sqlite":
                for _, sql in saved:
                    conn.execute(text(sql))
            else:
                conn.execute(text("ALTER TABLE user_role ENABLE TRIGGER user_role_kind_check"))


def test_a_role_row_inserted_behind_the_applications_back_is_ignored(db: Engine, session: Session) -> None:
    hq = make_organisation(session, kind=OrgKind.HQ)
    supplier = make_organisation(session, kind=OrgKind.SUPPLIER)
    buyer = make_user(session, organisation=hq, roles=[Role.BUYER])
    approver = make_user(session, organisation=hq, roles=[Role.APPROVER], approval_limit=Decimal("50000"))
    intruder = make_user(session, organisation=supplier, roles=[Role.SUPPLIER], approval_limit=Decimal("1"))
    with roles_unguarded(db):
        for role in (Role.APPROVER, Role.QUALITY_APPROVER, Role.ADMIN, Role.BUYER):
            session.add(UserRole(user_id=intruder.id, role=role))
        session.commit()

    # The chains: the lowest limit covering 1 CNY would be the intruder's.
    assert approval_chain(session, amount=Decimal("1"), requester_user_id=buyer.id) == [approver.id]
    assert (
        approval_chain(session, amount=Decimal("1"), requester_user_id=buyer.id, role=Role.QUALITY_APPROVER)
        == []
    )
    # Who gets told, and who the intruder is when logged in.
    assert intruder.id not in users_with_role(session, Role.BUYER)
    assert principal_for(session, intruder).roles == {Role.SUPPLIER}
    assert accounts.roles_of(session, intruder.id) == {Role.SUPPLIER}


# --- HQ routes require HQ --------------------------------------------------------------------------


def _pending_approval(session: Session, requester: User, assignee: User) -> ApprovalRequest:
    row = ApprovalRequest(
        workflow_id=f"approval-po-{requester.id}-{assignee.id}",
        document_type="purchase_order",
        document_id="PO-2026-000001",
        amount=Decimal("5000.00"),
        requester_user_id=requester.id,
        assignee_user_id=assignee.id,
    )
    session.add(row)
    session.commit()
    return row


def test_a_supplier_posting_an_approval_decision_is_refused_and_nothing_changes(
    make_client: ClientFactory, session: Session
) -> None:
    hq = make_organisation(session, kind=OrgKind.HQ)
    supplier = make_organisation(session, kind=OrgKind.SUPPLIER)
    buyer = make_user(session, organisation=hq, roles=[Role.BUYER])
    approver = make_user(session, organisation=hq, roles=[Role.APPROVER], approval_limit=Decimal("9000"))
    supplier_user = make_user(session, organisation=supplier, roles=[Role.SUPPLIER])
    row = _pending_approval(session, buyer, approver)

    client = make_client()
    login(client, supplier_user)
    for decision in ("approve", "reject"):
        response = form_post(client, f"/approvals/{row.id}/decide", {"decision": decision, "comment": "x"})
        assert response.status_code in (403, 404)
    assert form_post(client, "/approvals/bulk-approve", {"ids": str(row.id)}).status_code in (403, 404)
    assert client.get("/approvals").status_code == 403
    session.expire_all()
    after = session.get(ApprovalRequest, row.id)
    assert after is not None
    assert (after.status, after.decided_by_user_id, after.comment) == (ApprovalStatus.PENDING, None, "")


def test_hq_roles_written_for_a_supplier_user_open_no_hq_route(
    db: Engine, make_client: ClientFactory, session: Session
) -> None:
    """The admin, buyer and approval routes require HQ: the roles that open them count only in HQ."""
    hq = make_organisation(session, kind=OrgKind.HQ)
    supplier = make_organisation(session, kind=OrgKind.SUPPLIER)
    buyer = make_user(session, organisation=hq, roles=[Role.BUYER])
    intruder = make_user(
        session, organisation=supplier, roles=[Role.SUPPLIER], approval_limit=Decimal("9000")
    )
    with roles_unguarded(db):
        for role in (Role.ADMIN, Role.BUYER, Role.APPROVER, Role.QUALITY_APPROVER, Role.FINANCE):
            session.add(UserRole(user_id=intruder.id, role=role))
        session.commit()
    row = _pending_approval(session, buyer, intruder)  # even assigned to them

    client = make_client()
    login(client, intruder)
    for url in (
        "/admin/users",
        "/admin/organisations",
        "/approvals",
        "/approvals/delegations",
        "/purchase-orders",
    ):
        assert client.get(url).status_code == 403, url
    assert form_post(client, f"/approvals/{row.id}/decide", {"decision": "approve"}).status_code == 403
    assert form_post(client, "/admin/users/new", {"email": "x@example.test"}).status_code == 403
    nav = client.get("/").text
    assert 'href="/admin' not in nav and 'href="/approvals"' not in nav


# --- the CLI goes through the same rule ---------------------------------------------------------


def test_portal_create_user_refuses_an_approver_in_a_supplier_and_creates_a_buyer_in_hq(
    session: Session,
) -> None:
    from typer.testing import CliRunner

    from cli import app

    hq = make_organisation(session, kind=OrgKind.HQ)
    supplier = make_organisation(session, kind=OrgKind.SUPPLIER)
    runner = CliRunner()
    with use_locale("en"):
        refused = runner.invoke(
            app, ["create-user", "vera@example.test", "--organisation", supplier.code, "--role", "approver"]
        )
    assert refused.exit_code == 2
    assert "cannot hold the role Approver" in refused.output
    assert session.execute(select(User).filter_by(email="vera@example.test")).first() is None

    created = runner.invoke(
        app,
        ["create-user", "Bob@Example.test", "--organisation", hq.code, "--role", "buyer", "--name", "Bob"],
    )
    assert created.exit_code == 0, created.output
    password = created.output.split("(shown once): ")[1].strip()
    bob = session.execute(select(User).filter_by(email="bob@example.test")).scalar_one()
    assert accounts.roles_of(session, bob.id) == {Role.BUYER}
    assert verify_password(bob.password_hash, password)
