"""The SQLite database file: created for its owner only."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from sqlalchemy import text

from supplychain.db import make_engine


def test_sqlite_database_and_its_wal_files_are_created_for_their_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "var" / "portal.db"
    previous = os.umask(0o022)  # the usual umask: world-readable unless the code says otherwise
    try:
        engine = make_engine(f"sqlite:///{path}")
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (x INTEGER)"))
            conn.execute(text("INSERT INTO t VALUES (1)"))
            files = sorted(p.name for p in path.parent.iterdir())
            modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in path.parent.iterdir()}
        engine.dispose()
    finally:
        os.umask(previous)
    assert files == ["portal.db", "portal.db-shm", "portal.db-wal"]
    assert modes == dict.fromkeys(files, 0o600)
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_an_existing_world_readable_database_file_is_tightened(tmp_path: Path) -> None:
    path = tmp_path / "portal.db"
    path.touch(mode=0o644)
    path.chmod(0o644)
    make_engine(f"sqlite:///{path}").dispose()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
