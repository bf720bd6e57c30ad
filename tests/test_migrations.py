"""The Alembic migrations: up, down and up again on a scratch database of the run's kind, producing
exactly the schema the models declare, with the append-only triggers in place."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import DBAPIError
from sqlmodel import SQLModel

import supplychain.models  # noqa: F401  (registers every table)
from supplychain.db import make_engine
from supplychain.migrate import downgrade, upgrade
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
