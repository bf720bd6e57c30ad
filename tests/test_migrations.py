"""The Alembic migrations: up, down and up again on a scratch database of the run's kind, producing
exactly the schema the models declare, with the append-only triggers in place."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, MetaData, Numeric, Table, func, inspect, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel import Session, SQLModel, col

import supplychain.models  # noqa: F401  (registers every table)
from supplychain.db import make_engine
from supplychain.migrate import downgrade, upgrade
from supplychain.models import ApprovalRequest, DebitNote, PriceListEntry, PurchaseOrderLine
from supplychain.rules.money import from_units
from tests.fixtures.database import (
    DATABASE_URL,
    create_postgres_database,
    drop_postgres_database,
    is_postgres,
)


@pytest.fixture
def scratch_url(tmp_path: Path) -> Iterator[str]:
    """An empty database of the same kind as the run's: a second PostgreSQL database on the same
    server, or a SQLite file."""
    if is_postgres(DATABASE_URL):
        url = create_postgres_database(DATABASE_URL, prefix="scp_migr_")
        yield url
        drop_postgres_database(url, server_url=DATABASE_URL)
    else:
        yield f"sqlite:///{tmp_path / 'migrations.db'}"


@pytest.fixture
def scratch_engine(scratch_url: str) -> Iterator[Engine]:
    engine = make_engine(scratch_url)
    yield engine
    engine.dispose()


def schema_differences(engine: Engine) -> list[object]:
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "compare_server_default": True}
        )
        return list(compare_metadata(context, SQLModel.metadata))


def table_names(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


# Every trigger the migrations create (SQLite fires one event per trigger; PostgreSQL's triggers call
# a function of the same name): the append-only tables (0001) and the roles by organisation kind (0011).
TRIGGERS = {
    "sqlite": {
        "stock_ledger_no_update",
        "stock_ledger_no_delete",
        "document_event_no_update",
        "document_event_no_delete",
        "user_role_kind_insert",
        "user_role_kind_update",
        "app_user_kind_update",
        "organisation_kind_update",
    },
    "postgresql": {
        "stock_ledger_append_only",
        "document_event_append_only",
        "user_role_kind_check",
        "app_user_kind_check",
        "organisation_kind_check",
    },
}


def trigger_names(engine: Engine) -> set[str]:
    """The triggers in the database (PostgreSQL: with their functions, which must come and go too)."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            return set(conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")).scalars())
        triggers = set(conn.execute(text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")).scalars())
        functions = set(
            conn.execute(
                text(
                    "SELECT proname FROM pg_proc JOIN pg_namespace n ON n.oid = pronamespace "
                    "WHERE n.nspname = current_schema()"
                )
            ).scalars()
        )
        assert functions == triggers, f"trigger functions {sorted(functions)} != triggers {sorted(triggers)}"
        return triggers


def insert_ledger_row_and_event(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO organisation (id, code, name, kind, is_active, created_at) "
                "VALUES (1, 'HQ', 'HQ', 'hq', true, CURRENT_TIMESTAMP)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO location (id, code, name, kind, organisation_id, address, is_active, "
                "created_at) VALUES (1, 'W1', 'W1', 'central_warehouse', 1, '', true, CURRENT_TIMESTAMP)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO sku (id, code, name, name_en, unit, category, is_active, created_at) "
                "VALUES (1, 'S1', 'S1', '', 'pcs', '', true, CURRENT_TIMESTAMP)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO stock_ledger (location_id, sku_id, movement_type, delta_on_hand, "
                "delta_reserved, delta_in_transit, source_document_type, source_document_id, "
                "idempotency_key, note, created_at) "
                "VALUES (1, 1, 'opening', 5, 0, 0, 'test', 't1', 'k1', '', CURRENT_TIMESTAMP)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO document_event (document_type, document_id, action, occurred_at, note, "
                "idempotency_key) VALUES ('po', 'PO-1', 'created', CURRENT_TIMESTAMP, '', 'e1')"
            )
        )


def test_upgrade_downgrade_upgrade_round_trip(scratch_url: str, scratch_engine: Engine) -> None:
    model_tables = set(SQLModel.metadata.tables)

    upgrade(scratch_url)
    assert table_names(scratch_engine) == model_tables | {"alembic_version"}
    assert schema_differences(scratch_engine) == []
    assert trigger_names(scratch_engine) == TRIGGERS[scratch_engine.dialect.name]

    downgrade(scratch_url)
    assert table_names(scratch_engine) == {"alembic_version"}
    assert trigger_names(scratch_engine) == set()
    with scratch_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar_one() == 0

    upgrade(scratch_url)
    assert table_names(scratch_engine) == model_tables | {"alembic_version"}
    assert schema_differences(scratch_engine) == []
    assert trigger_names(scratch_engine) == TRIGGERS[scratch_engine.dialect.name]


def test_the_run_database_matches_the_models(engine: Engine) -> None:
    assert schema_differences(engine) == []


@pytest.mark.parametrize("table", ["stock_ledger", "document_event"])
@pytest.mark.parametrize("statement", ["UPDATE {table} SET note = 'rewritten'", "DELETE FROM {table}"])
def test_append_only_tables_refuse_update_and_delete(
    scratch_url: str, scratch_engine: Engine, table: str, statement: str
) -> None:
    upgrade(scratch_url)
    insert_ledger_row_and_event(scratch_engine)

    with pytest.raises(DBAPIError, match="append-only"), scratch_engine.begin() as conn:
        conn.execute(text(statement.format(table=table)))

    with scratch_engine.connect() as conn:
        assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() == 1
        assert conn.execute(text(f"SELECT note FROM {table}")).scalar_one() == ""


# --- 0010: money stored as whole units ---------------------------------------------------------------

# Rows as the app wrote them under 0008 (NUMERIC: a float on SQLite), including values with more
# places than the column keeps (PostgreSQL rounded those on insert; 0010 rounds them half-up on SQLite).
WRITTEN_UNDER_0008: dict[str, list[dict[str, object]]] = {
    "app_user": [
        {"id": 1, "approval_limit": "50000.00"},
        {"id": 2, "approval_limit": None},
    ],
    "price_list_entry": [
        {"id": 1, "unit_price": "12.3456", "tax_rate": "0.13"},
        {"id": 2, "unit_price": "0.0001", "tax_rate": "0.12345"},
    ],
    "purchase_order": [
        {"id": 1, "net_amount": "99999.99", "tax_amount": "12999.99", "total_amount": "112999.98"},
    ],
    "purchase_order_line": [
        {"id": 1, "unit_price": "1234567890.1234", "tax_rate": "0.09", "line_amount": "2.675"},
    ],
    "approval_request": [{"id": 1, "amount": "1.005"}],
    "inspection": [
        {"id": 1, "price_deduction_percent": "12.5", "unit_price": "0.1", "tax_rate": "0.06"},
        {"id": 2, "price_deduction_percent": None, "unit_price": None, "tax_rate": None},
    ],
    "return_to_vendor": [{"id": 1, "unit_price": "0.3", "tax_rate": "0.13"}],
    "debit_note": [{"id": 1, "net_amount": "0.1", "tax_amount": "0.3", "total_amount": "0.4"}],
}
# What 0010 stores: whole fen (scale 2) or ten-thousandths (scale 4), rounded half-up.
STORED_BY_0010: dict[str, list[tuple[object, ...]]] = {
    "app_user": [(1, 5000000), (2, None)],
    "price_list_entry": [(1, 123456, 1300), (2, 1, 1235)],
    "purchase_order": [(1, 9999999, 1299999, 11299998)],
    "purchase_order_line": [(1, 12345678901234, 900, 268)],
    "approval_request": [(1, 101)],
    "inspection": [(1, 1250, 1000, 600), (2, None, None, None)],
    "return_to_vendor": [(1, 3000, 1300)],
    "debit_note": [(1, 10, 30, 40)],
}


# The rows the money rows refer to, and the other columns they need (a function: of the row).
REFERENCED_ROWS: dict[str, list[dict[str, object]]] = {
    "organisation": [
        {"id": 1, "code": "HQ", "name": "HQ", "kind": "hq", "is_active": True},
        {"id": 2, "code": "S", "name": "S", "kind": "supplier", "is_active": True},
    ],
    "location": [
        {"id": 1, "code": "W1", "name": "W1", "kind": "central_warehouse", "organisation_id": 1,
         "address": "", "is_active": True},
    ],
    "sku": [
        {"id": n, "code": f"S{n}", "name": "S", "name_en": "", "unit": "pcs", "category": "",
         "is_active": True} for n in (1, 2)
    ],
}  # fmt: skip
REQUIRED_COLUMNS: dict[str, dict[str, object]] = {
    "app_user": {"email": lambda row: f"u{row['id']}@example.com", "full_name": "U", "organisation_id": 1,
                 "locale": "en", "is_active": True, "password_hash": "x"},
    "price_list_entry": {"supplier_id": 2, "sku_id": lambda row: row["id"], "currency": "CNY",
                         "lead_time_days": 7, "moq": 1, "pack_size": 1, "is_active": True},
    "purchase_order": {"number": "PO-1", "workflow_id": "po-1", "supplier_id": 2, "requester_user_id": 1,
                       "requester_org_id": 1, "requested_for_location_id": 1, "ship_to_location_id": 1,
                       "status": "sent", "currency": "CNY", "needs_approval": True, "note": "",
                       "status_reason": ""},
    "purchase_order_line": {"purchase_order_id": 1, "line_no": 1, "sku_id": 1, "quantity_requested": 1,
                            "quantity_ordered": 1, "quantity_shipped": 0, "quantity_received": 0,
                            "status": "open"},
    "approval_request": {"workflow_id": "approval-1", "document_type": "po", "document_id": "PO-1",
                         "document_link": "", "summary": "", "requester_user_id": 1, "assignee_user_id": 2,
                         "level": 1, "status": "pending", "comment": ""},
    "inspection": {"number": lambda row: f"INS-{row['id']}",
                   "workflow_id": lambda row: f"inspection-{row['id']}", "po_number": "PO-1",
                   "shipment_number": "SHP-1", "line_no": 1, "sku_id": 1, "supplier_id": 2, "location_id": 1,
                   "lot_size": 500, "inspection_level": "II", "severity": "normal", "aql_critical": "0",
                   "aql_major": "2.5", "aql_minor": "4.0", "code_letter": "H", "sample_size": 50,
                   "hundred_percent": False, "critical_sample_size": 50, "critical_accept": 0,
                   "critical_reject": 1, "major_sample_size": 50, "major_accept": 3, "major_reject": 4,
                   "minor_sample_size": 50, "minor_accept": 5, "minor_reject": 6, "notes": "",
                   "verdict": "pending"},
    "return_to_vendor": {"number": "RTV-1", "inspection_id": 1, "supplier_id": 2, "sku_id": 1,
                         "location_id": 1, "po_number": "PO-1", "quantity": 500, "reason": "",
                         "status": "awaiting_acknowledgement"},
    "debit_note": {"number": "DN-1", "kind": "return_to_vendor", "supplier_id": 2, "inspection_id": 1,
                   "return_id": 1, "po_number": "PO-1", "sku_id": 1, "quantity": 500, "reason": "",
                   "status": "open"},
}  # fmt: skip


def write_money_rows_under_0008(engine: Engine) -> None:
    """The rows above, written through the 0008 schema's own NUMERIC types (as the app bound them),
    with the rows they refer to."""
    now = datetime.now(UTC)
    with engine.begin() as conn:
        tables = {name: Table(name, MetaData(), autoload_with=conn) for name in REFERENCED_ROWS}
        for name, rows in REFERENCED_ROWS.items():
            conn.execute(tables[name].insert(), [row | {"created_at": now} for row in rows])
        for name, rows in WRITTEN_UNDER_0008.items():
            table = Table(name, MetaData(), autoload_with=conn)
            for row in rows:
                required = {k: v(row) if callable(v) else v for k, v in REQUIRED_COLUMNS[name].items()}
                money = {k: None if v is None else Decimal(str(v)) for k, v in row.items() if k != "id"}
                stamps = {c: now for c in ("created_at", "updated_at") if c in table.c}
                conn.execute(table.insert().values(required | stamps | {"id": row["id"]} | money))


def _scale(column: Any) -> int:
    assert isinstance(column.type, Numeric) and column.type.scale is not None
    return column.type.scale


def stored(engine: Engine, table: str) -> list[tuple[object, ...]]:
    names = [k for k in WRITTEN_UNDER_0008[table][0] if k != "id"]
    with engine.connect() as conn:
        rows = conn.execute(text(f"SELECT id, {', '.join(names)} FROM {table} ORDER BY id")).all()
    return [tuple(row) for row in rows]


def test_money_written_under_0008_is_kept_exactly_by_0010_and_its_downgrade(
    scratch_url: str, scratch_engine: Engine
) -> None:
    upgrade(scratch_url, "0008")
    write_money_rows_under_0008(scratch_engine)

    upgrade(scratch_url, "0010")
    assert {table: stored(scratch_engine, table) for table in STORED_BY_0010} == STORED_BY_0010
    with Session(scratch_engine) as session:  # read through the models: Decimal, at the column's scale
        assert session.execute(select(col(ApprovalRequest.amount))).scalar_one() == Decimal("1.01")
        assert (
            str(session.execute(select(col(PurchaseOrderLine.unit_price))).scalar_one()) == "1234567890.1234"
        )
        total = session.execute(select(func.sum(col(DebitNote.total_amount)))).scalar_one()
        assert (total, str(total)) == (Decimal("0.4"), "0.40")
        # The CHECK constraints kept their meaning in units: a 100 % tax rate is still refused.
        with pytest.raises(IntegrityError), session.begin_nested():
            session.execute(update(PriceListEntry).values(tax_rate=Decimal("1")))
        session.execute(
            update(PriceListEntry).where(col(PriceListEntry.id) == 1).values(tax_rate=Decimal("0.9999"))
        )
        session.commit()

    downgrade(scratch_url, "0008")
    with scratch_engine.connect() as conn:
        for table, rows in WRITTEN_UNDER_0008.items():
            numeric = Table(table, MetaData(), autoload_with=conn)
            names = [k for k in rows[0] if k != "id"]
            read = conn.execute(select(*(numeric.c[n] for n in names)).order_by(numeric.c.id)).all()
            expected = [
                tuple(None if units is None else from_units(int(units), _scale(numeric.c[n]))
                      for n, units in zip(names, row[1:], strict=True))
                for row in STORED_BY_0010[table]
            ]  # fmt: skip
            if table == "price_list_entry":
                expected[0] = (Decimal("12.3456"), Decimal("0.9999"))  # the update above
            assert [tuple(r) for r in read] == expected, table


def test_0014_gives_existing_certificates_distinct_random_public_ids(
    scratch_url: str, scratch_engine: Engine
) -> None:
    upgrade(scratch_url, "0012")
    now = datetime.now(UTC)
    with scratch_engine.begin() as conn:
        for name, rows in REFERENCED_ROWS.items():
            conn.execute(
                Table(name, MetaData(), autoload_with=conn).insert(), [r | {"created_at": now} for r in rows]
            )
        user = {k: v({"id": 1}) if callable(v) else v for k, v in REQUIRED_COLUMNS["app_user"].items()}
        conn.execute(
            Table("app_user", MetaData(), autoload_with=conn).insert().values(id=1, created_at=now, **user)
        )
        certificates = Table("quality_certificate", MetaData(), autoload_with=conn)
        conn.execute(
            certificates.insert(),
            [
                {"id": n, "supplier_id": 2, "sku_id": 1, "certificate_type": "coa", "number": f"C{n}",
                 "issued_on": now.date(), "original_filename": "c.pdf", "stored_name": f"{n:032x}",
                 "content_type": "application/pdf", "size_bytes": 1, "sha256": "0" * 64,
                 "uploaded_by_user_id": 1, "created_at": now, "is_active": True}
                for n in (1, 2, 3)
            ],
        )  # fmt: skip

    upgrade(scratch_url, "head")
    with scratch_engine.connect() as conn:
        public_ids = (
            conn.execute(text("SELECT public_id FROM quality_certificate ORDER BY id")).scalars().all()
        )
    assert len(set(public_ids)) == 3
    assert all(len(p) == 32 and int(p, 16) >= 0 for p in public_ids)
    with pytest.raises(IntegrityError), scratch_engine.begin() as conn:  # unique, so a URL names one file
        conn.execute(text("UPDATE quality_certificate SET public_id = :p WHERE id = 2"), {"p": public_ids[0]})

    downgrade(scratch_url, "0012")
    with scratch_engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM quality_certificate")).scalar_one() == 3
