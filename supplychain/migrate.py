"""Run Alembic migrations from code (CLI, `make run`, tests) against any database URL."""

from __future__ import annotations

from alembic import command
from alembic.config import Config

from supplychain.settings import PROJECT_ROOT, settings


def alembic_config(database_url: str | None = None) -> Config:
    cfg = Config(str(PROJECT_ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    cfg.attributes["database_url"] = database_url or settings.DATABASE_URL
    cfg.attributes["configure_logger"] = False
    return cfg


def upgrade(database_url: str | None = None, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str | None = None, revision: str = "base") -> None:
    command.downgrade(alembic_config(database_url), revision)
