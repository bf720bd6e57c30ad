"""Database engine and sessions. The schema itself only ever comes from Alembic migrations."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Engine, event, make_url
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
        _create_owner_only(make_url(url).database)
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


def _create_owner_only(database: str | None) -> None:
    """Create the SQLite file readable by its owner only, before SQLite creates it by the umask
    (world-readable, usually); SQLite gives its -wal and -shm files the same mode. A new directory
    for it is owner-only too."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if not path.parent.exists():
        path.parent.mkdir(parents=True, mode=0o700)
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    with contextlib.suppress(PermissionError):  # a file another account owns keeps its mode
        path.chmod(0o600)  # and one created before this rule is tightened


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
