"""Database engine and sessions. The schema itself only ever comes from Alembic migrations."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import TypeVar

from sqlalchemy import Engine, event
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, create_engine

from supplychain.settings import settings


def make_engine(url: str) -> Engine:
    pool = {
        "pool_size": settings.DB_POOL_SIZE,
        "max_overflow": settings.DB_MAX_OVERFLOW,
        "pool_timeout": settings.DB_POOL_TIMEOUT_SECONDS,
    }
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **pool)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            # WAL lets the web app read while the worker writes; foreign keys are off by default.
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "savepoint")
        def _sqlite_begin_before_savepoint(conn, _name):  # type: ignore[no-untyped-def]
            # pysqlite only emits BEGIN before INSERT/UPDATE/DELETE, so a SAVEPOINT taken before the
            # session's first write would itself open the transaction, and releasing it would
            # commit everything at once: `begin_nested()` would silently autocommit. Open the real
            # transaction first. IMMEDIATE takes the write lock now (a savepoint is always taken
            # to write), so a concurrent writer makes us wait (busy_timeout) instead of failing.
            dbapi_conn = conn.connection.dbapi_connection
            if dbapi_conn is not None and not dbapi_conn.in_transaction:
                conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True, **pool)


@lru_cache(maxsize=4)
def get_engine(url: str | None = None) -> Engine:
    return make_engine(url or settings.DATABASE_URL)


@contextmanager
def session_scope() -> Iterator[Session]:
    """A session that commits on success and rolls back on error (activities, CLI)."""
    with Session(get_engine()) as session:
        try:
            yield session
            session.commit()
        except Exception:
            session.rollback()
            raise


RowT = TypeVar("RowT", bound=SQLModel)


def insert_once(session: Session, row: RowT, existing: Callable[[], RowT | None]) -> tuple[RowT, bool]:
    """Insert `row` under a savepoint; when a unique constraint says it is there already (a retry,
    or a concurrent writer), return the row `existing()` finds instead. (row, whether inserted)."""
    savepoint = session.begin_nested()
    try:
        session.add(row)
        session.flush()
        savepoint.commit()
    except IntegrityError:
        savepoint.rollback()
        found = existing()
        if found is None:  # not a duplicate: a real violation
            raise
        return found, False
    return row, True
