"""Settings from environment variables, with defaults that run the whole portal on one machine.

Every process (web, worker, CLI, tests) reads the same `settings` object; docker-compose sets the
same variables for production.
"""

from __future__ import annotations

import secrets
from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from supplychain import sla

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_VAR_DIR = PROJECT_ROOT / "var"
PLACEHOLDER_SECRETS = {"", "changeme", "change-me", "secret", "dev"}
# Sessions, CSRF tokens and signed values are HMAC-SHA256 with this key: below 256 bits a key can be
# guessed more easily than the hash can be broken (OWASP ASVS 6.2).
MIN_SECRET_KEY_BYTES = 32


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    ENVIRONMENT: Literal["development", "test", "production"] = "development"
    VAR_DIR: Path = DEFAULT_VAR_DIR

    # Database: SQLite file under ./var unless DATABASE_URL points elsewhere (PostgreSQL in production).
    DATABASE_URL: str = ""

    # Temporal: unset TEMPORAL_ADDRESS means `portal dev` starts the embedded dev server.
    TEMPORAL_ADDRESS: str | None = None
    TEMPORAL_NAMESPACE: str = "default"
    TEMPORAL_TASK_QUEUE: str = "supplychain"
    TEMPORAL_DEV_PORT: int = 7233
    TEMPORAL_UI_PORT: int = 8233

    # Database connections per process. Every request holds one connection at most (never while it
    # waits on Temporal), so a pool at least as large as the web thread pool never makes one wait.
    DB_POOL_SIZE: int = Field(default=20, ge=1)
    DB_MAX_OVERFLOW: int = Field(default=30, ge=0)
    DB_POOL_TIMEOUT_SECONDS: float = Field(default=30, gt=0)

    # Web
    WEB_HOST: str = "127.0.0.1"
    WEB_PORT: int = 8000
    # Worker threads for the sync routes (FastAPI's thread pool; anyio's default is 40). Page work is
    # Python holding the GIL: past a few threads more only contend for it, and requests per second
    # fall as connections rise (make bench: 40 threads lost a third at 50 connections, 4 about 5 %).
    # A click waiting for its Update does not count (web.workflow_calls).
    WEB_THREADS: int = Field(default=4, ge=1)
    # On SIGTERM the web process stops taking requests and gives those in flight this long.
    WEB_SHUTDOWN_SECONDS: int = Field(default=5, ge=0)
    SECRET_KEY: str = ""
    DEFAULT_LOCALE: Literal["zh_CN", "en"] = "zh_CN"
    SESSION_IDLE_MINUTES: int = Field(default=60, ge=1)
    SESSION_ABSOLUTE_HOURS: int = Field(default=12, ge=1)
    # None: Secure cookies exactly when the request arrived over HTTPS (proxy headers honoured).
    COOKIE_SECURE: bool | None = None
    # Login throttling (supplychain/login_throttle.py): failures never lock, they delay the next
    # attempt, doubling from 1 s up to LOGIN_MAX_DELAY_MINUTES once these many have failed.
    LOGIN_MAX_FAILURES_PER_ACCOUNT: int = Field(default=5, ge=1)
    LOGIN_MAX_FAILURES_PER_CLIENT: int = Field(default=20, ge=1)
    LOGIN_MAX_DELAY_MINUTES: int = Field(default=15, ge=1)
    # Sensitive changes (another user's e-mail, roles, organisation or password) ask for the admin's own
    # password when they last typed it longer ago than this.
    REAUTH_MINUTES: int = Field(default=5, ge=1)
    # Login requests per client address (slowapi syntax), whatever their outcome.
    LOGIN_RATE_LIMIT: str = "30/minute"
    # Security events (supplychain/security_log.py) as JSON lines: to this file, or to standard error.
    SECURITY_LOG_FILE: Path | None = None
    # Uploaded files (certificates, inspection photos) live here, outside the web root;
    # None: VAR_DIR/uploads.
    UPLOAD_DIR: Path | None = None
    CERTIFICATE_MAX_BYTES: int = Field(default=10 * 1024 * 1024, ge=1)
    # Largest inspection photo accepted (before it is re-encoded without its metadata).
    PHOTO_MAX_BYTES: int = Field(default=10 * 1024 * 1024, ge=1)
    # Any request body above this is refused with 413 before it is read (uploads plus form overhead).
    MAX_REQUEST_BYTES: int = Field(default=12 * 1024 * 1024, ge=1024)

    # Process SLAs (hours): reminders and escalations are durable Temporal timers, set per document
    # when its workflow starts (defaults: supplychain/sla.py).
    PO_CONFIRM_REMINDER_HOURS: float = Field(default=sla.PO_CONFIRM_REMINDER_HOURS, gt=0)
    PO_CONFIRM_ESCALATION_HOURS: float = Field(default=sla.PO_CONFIRM_ESCALATION_HOURS, gt=0)
    APPROVAL_REMINDER_HOURS: float = Field(default=sla.APPROVAL_REMINDER_HOURS, gt=0)
    APPROVAL_ESCALATION_HOURS: float = Field(default=sla.APPROVAL_ESCALATION_HOURS, gt=0)
    QUALITY_DECISION_REMINDER_HOURS: float = Field(default=sla.QUALITY_DECISION_REMINDER_HOURS, gt=0)
    QUALITY_DECISION_ESCALATION_HOURS: float = Field(default=sla.QUALITY_DECISION_ESCALATION_HOURS, gt=0)
    STATEMENT_CONFIRM_REMINDER_HOURS: float = Field(default=sla.STATEMENT_CONFIRM_REMINDER_HOURS, gt=0)
    STATEMENT_CONFIRM_ESCALATION_HOURS: float = Field(default=sla.STATEMENT_CONFIRM_ESCALATION_HOURS, gt=0)
    STATEMENT_DISPUTE_REMINDER_HOURS: float = Field(default=sla.STATEMENT_DISPUTE_REMINDER_HOURS, gt=0)
    STATEMENT_DISPUTE_ESCALATION_HOURS: float = Field(default=sla.STATEMENT_DISPUTE_ESCALATION_HOURS, gt=0)
    TRANSFER_DISPATCH_REMINDER_HOURS: float = Field(default=sla.TRANSFER_DISPATCH_REMINDER_HOURS, gt=0)
    TRANSFER_DISPATCH_ESCALATION_HOURS: float = Field(default=sla.TRANSFER_DISPATCH_ESCALATION_HOURS, gt=0)

    # The company header of PDFs (statements, remittance advice, purchase orders): the HQ
    # organisation's name, and these when set (the organisation table has no address or tax id).
    COMPANY_ADDRESS: str = ""
    COMPANY_TAX_ID: str = ""  # 统一社会信用代码

    # Settlement (T+7): a payment above this amount (CNY, the statement's total) needs a finance
    # approval before it is paid.
    PAYMENT_APPROVAL_LIMIT: Decimal = Field(default=Decimal("50000.00"), ge=0)
    # The payment adapter's directories (supplychain/payments.py): instruction files written for the
    # bank, one per payment run, and the bank's result files read back; None: under VAR_DIR/payments.
    PAYMENT_OUTBOX_DIR: Path | None = None
    PAYMENT_INBOX_DIR: Path | None = None
    # Years whose official holidays and make-up workdays an admin has entered in full in the
    # working-day override table: due dates in them are not provisional (supplychain/rules/due_dates.py).
    CALENDAR_OFFICIAL_YEARS: list[int] = Field(default_factory=list)

    # Planning (DESIGN 4.6, supplychain/planning.py): the demand history the reorder review reads,
    # the service level its safety stock is for, and how often it runs (the order-up-to level covers
    # one review period more than the reorder point).
    PLANNING_HISTORY_DAYS: int = Field(default=56, ge=1, le=3660)
    PLANNING_SERVICE_LEVEL: float = Field(default=0.95, ge=0.5, lt=1)
    PLANNING_REVIEW_DAYS: int = Field(default=7, ge=1)
    # The transfer planner's cost of moving one unit (CNY): handling plus a cost per km between the
    # regions' coordinates; between regions of which one has no coordinates, a flat cost instead.
    PLANNER_HANDLING_COST: Decimal = Field(default=Decimal("0.50"), ge=0, decimal_places=4)
    PLANNER_COST_PER_KM: Decimal = Field(default=Decimal("0.0010"), ge=0, decimal_places=4)
    PLANNER_INTER_REGION_COST: Decimal = Field(default=Decimal("2.00"), ge=0, decimal_places=4)
    # Stock with no movement for this many days is proposed to move to where the SKU sells.
    PLANNER_SLOW_MOVING_DAYS: int = Field(default=90, ge=1)

    # Mail: SMTP_HOST unset keeps notifications in-app and in the log.
    SMTP_HOST: str | None = None
    SMTP_PORT: int = 587
    SMTP_USERNAME: str | None = None
    SMTP_PASSWORD: str | None = None
    SMTP_FROM: str = "portal@localhost"
    SMTP_STARTTLS: bool = True

    @model_validator(mode="after")
    def _fill_defaults(self) -> Settings:
        if self.PO_CONFIRM_ESCALATION_HOURS <= self.PO_CONFIRM_REMINDER_HOURS:
            raise ValueError("PO_CONFIRM_ESCALATION_HOURS must be later than PO_CONFIRM_REMINDER_HOURS")
        if self.DB_POOL_SIZE + self.DB_MAX_OVERFLOW < self.WEB_THREADS:
            raise ValueError("DB_POOL_SIZE + DB_MAX_OVERFLOW must be at least WEB_THREADS")
        if self.MAX_REQUEST_BYTES <= self.CERTIFICATE_MAX_BYTES:
            raise ValueError("MAX_REQUEST_BYTES must be larger than CERTIFICATE_MAX_BYTES")
        if self.MAX_REQUEST_BYTES <= self.PHOTO_MAX_BYTES:
            raise ValueError("MAX_REQUEST_BYTES must be larger than PHOTO_MAX_BYTES")
        if self.APPROVAL_ESCALATION_HOURS <= self.APPROVAL_REMINDER_HOURS:
            raise ValueError("APPROVAL_ESCALATION_HOURS must be later than APPROVAL_REMINDER_HOURS")
        if self.QUALITY_DECISION_ESCALATION_HOURS <= self.QUALITY_DECISION_REMINDER_HOURS:
            raise ValueError(
                "QUALITY_DECISION_ESCALATION_HOURS must be later than QUALITY_DECISION_REMINDER_HOURS"
            )
        if self.STATEMENT_CONFIRM_ESCALATION_HOURS <= self.STATEMENT_CONFIRM_REMINDER_HOURS:
            raise ValueError(
                "STATEMENT_CONFIRM_ESCALATION_HOURS must be later than STATEMENT_CONFIRM_REMINDER_HOURS"
            )
        if self.STATEMENT_DISPUTE_ESCALATION_HOURS <= self.STATEMENT_DISPUTE_REMINDER_HOURS:
            raise ValueError(
                "STATEMENT_DISPUTE_ESCALATION_HOURS must be later than STATEMENT_DISPUTE_REMINDER_HOURS"
            )
        if self.TRANSFER_DISPATCH_ESCALATION_HOURS <= self.TRANSFER_DISPATCH_REMINDER_HOURS:
            raise ValueError(
                "TRANSFER_DISPATCH_ESCALATION_HOURS must be later than TRANSFER_DISPATCH_REMINDER_HOURS"
            )
        if self.UPLOAD_DIR is None:
            self.UPLOAD_DIR = self.VAR_DIR / "uploads"
        if self.PAYMENT_OUTBOX_DIR is None:
            self.PAYMENT_OUTBOX_DIR = self.VAR_DIR / "payments" / "outbox"
        if self.PAYMENT_INBOX_DIR is None:
            self.PAYMENT_INBOX_DIR = self.VAR_DIR / "payments" / "inbox"
        if not self.DATABASE_URL:
            self.DATABASE_URL = f"sqlite:///{self.VAR_DIR / 'portal.db'}"
        if not self.SECRET_KEY:
            if self.ENVIRONMENT == "production":
                raise ValueError("SECRET_KEY must be set in production")
            self.SECRET_KEY = _generated_secret(self.VAR_DIR)
        elif self.ENVIRONMENT == "production" and self.SECRET_KEY.lower() in PLACEHOLDER_SECRETS:
            raise ValueError("SECRET_KEY is a placeholder; set a real secret in production")
        elif self.ENVIRONMENT == "production" and len(self.SECRET_KEY.encode()) < MIN_SECRET_KEY_BYTES:
            # Development keeps any key it is given; the generated one is 64 characters.
            raise ValueError(
                f"SECRET_KEY is {len(self.SECRET_KEY.encode())} bytes long; production needs at least "
                f"{MIN_SECRET_KEY_BYTES}. This makes one: "
                "python3 -c 'import secrets; print(secrets.token_urlsafe(48))'"
            )
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.DATABASE_URL.startswith("sqlite")

    @property
    def smtp_enabled(self) -> bool:
        return bool(self.SMTP_HOST)


def _generated_secret(var_dir: Path) -> str:
    """A secret generated once into ./var so sessions survive restarts of a development install."""
    path = var_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    var_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key


settings = Settings()
