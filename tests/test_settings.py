"""Settings: embedded defaults, environment overrides, and the secret key policy.

Every test builds its own `Settings` from a controlled environment (no `.env` file); the global
`settings` singleton is never touched.
"""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from pydantic import ValidationError

from supplychain.settings import Settings

SETTINGS_ENV_VARS = (
    "ENVIRONMENT",
    "VAR_DIR",
    "DATABASE_URL",
    "TEMPORAL_ADDRESS",
    "TEMPORAL_NAMESPACE",
    "TEMPORAL_TASK_QUEUE",
    "SECRET_KEY",
    "DEFAULT_LOCALE",
    "WEB_PORT",
    "SMTP_HOST",
    "COOKIE_SECURE",
)


@pytest.fixture
def var_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A clean environment with VAR_DIR pointing at an empty directory."""
    for name in SETTINGS_ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "var"
    monkeypatch.setenv("VAR_DIR", str(path))
    return path


def make_settings() -> Settings:
    return Settings(_env_file=None)


def test_defaults_run_everything_on_one_machine(var_dir: Path) -> None:
    s = make_settings()

    assert s.ENVIRONMENT == "development"
    expected_url = f"sqlite:///{var_dir / 'portal.db'}"
    assert expected_url == s.DATABASE_URL
    assert s.is_sqlite
    assert s.TEMPORAL_ADDRESS is None
    assert s.DEFAULT_LOCALE == "zh_CN"
    assert s.smtp_enabled is False
    assert s.COOKIE_SECURE is None


def test_environment_variables_override_defaults(var_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://portal:pw@db:5432/portal")
    monkeypatch.setenv("TEMPORAL_ADDRESS", "temporal:7233")
    monkeypatch.setenv("TEMPORAL_NAMESPACE", "retail")
    monkeypatch.setenv("DEFAULT_LOCALE", "en")
    monkeypatch.setenv("WEB_PORT", "9000")
    monkeypatch.setenv("SMTP_HOST", "mail.example.com")
    monkeypatch.setenv("COOKIE_SECURE", "true")

    s = make_settings()

    assert s.DATABASE_URL == "postgresql+psycopg://portal:pw@db:5432/portal"
    assert not s.is_sqlite
    assert s.TEMPORAL_ADDRESS == "temporal:7233"
    assert s.TEMPORAL_NAMESPACE == "retail"
    assert s.DEFAULT_LOCALE == "en"
    assert s.WEB_PORT == 9000
    assert s.smtp_enabled
    assert s.COOKIE_SECURE is True


def test_keyword_arguments_override_the_environment(var_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEMPORAL_ADDRESS", "from-env:7233")

    s = Settings(_env_file=None, TEMPORAL_ADDRESS="from-kwarg:7233")

    assert s.TEMPORAL_ADDRESS == "from-kwarg:7233"


@pytest.mark.parametrize(
    ("name", "value"), [("DEFAULT_LOCALE", "fr"), ("ENVIRONMENT", "staging"), ("WEB_PORT", "x")]
)
def test_invalid_values_are_refused(
    var_dir: Path, monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)

    with pytest.raises(ValidationError, match=name):
        make_settings()


def test_secret_key_is_generated_once_into_var_dir_and_reused(var_dir: Path) -> None:
    first = make_settings()
    key_file = var_dir / "secret_key"

    assert key_file.read_text().strip() == first.SECRET_KEY
    assert len(first.SECRET_KEY) >= 32
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert make_settings().SECRET_KEY == first.SECRET_KEY


def test_an_explicit_secret_key_wins_and_writes_nothing(
    var_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SECRET_KEY", "an-explicit-secret-of-reasonable-length")

    assert make_settings().SECRET_KEY == "an-explicit-secret-of-reasonable-length"
    assert not (var_dir / "secret_key").exists()


@pytest.mark.parametrize("secret", ["", "changeme", "CHANGE-ME", "secret", "dev"])
def test_production_refuses_an_empty_or_placeholder_secret_key(
    var_dir: Path, monkeypatch: pytest.MonkeyPatch, secret: str
) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("SECRET_KEY", secret)

    with pytest.raises(ValidationError, match="SECRET_KEY"):
        make_settings()
    assert not (var_dir / "secret_key").exists()  # nothing generated behind the operator's back


def test_production_accepts_a_real_secret_key(var_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("SECRET_KEY", "k3J9-real-production-secret-value-0123456789")

    assert make_settings().SECRET_KEY == "k3J9-real-production-secret-value-0123456789"


def test_the_test_run_uses_its_own_database_and_var_dir() -> None:
    from supplychain.settings import settings
    from tests.fixtures.database import DATABASE_URL

    assert settings.ENVIRONMENT == "test"
    assert settings.DATABASE_URL == DATABASE_URL
    assert "scp-test-" in str(settings.VAR_DIR)


@pytest.mark.parametrize("sla", ["PO_CONFIRM", "APPROVAL", "QUALITY_DECISION"])
def test_sla_hours_are_settings_and_escalation_must_come_after_the_reminder(
    monkeypatch: pytest.MonkeyPatch, sla: str
) -> None:
    reminder, escalation = f"{sla}_REMINDER_HOURS", f"{sla}_ESCALATION_HOURS"
    monkeypatch.setenv(reminder, "12")
    monkeypatch.setenv(escalation, "36")
    configured = Settings()
    assert (getattr(configured, reminder), getattr(configured, escalation)) == (12, 36)
    monkeypatch.setenv(escalation, "6")
    with pytest.raises(ValidationError, match=escalation):
        Settings()


def test_each_sla_default_has_one_source_the_workflows_fall_back_to() -> None:
    """Settings offer supplychain/sla.py's defaults; a workflow input that carries no SLA (one
    recorded before it did) falls back to the very same values, never to numbers of its own."""
    from datetime import timedelta

    from supplychain import sla
    from workflows import approval, inspection, replenishment

    fallbacks = {
        "PO_CONFIRM_REMINDER_HOURS": replenishment.CONFIRM_REMINDER_AFTER,
        "PO_CONFIRM_ESCALATION_HOURS": replenishment.CONFIRM_ESCALATION_AFTER,
        "APPROVAL_REMINDER_HOURS": approval.DEFAULT_REMINDER_AFTER,
        "APPROVAL_ESCALATION_HOURS": approval.DEFAULT_ESCALATION_AFTER,
        "QUALITY_DECISION_REMINDER_HOURS": inspection.DECISION_REMINDER_AFTER,
        "QUALITY_DECISION_ESCALATION_HOURS": inspection.DECISION_ESCALATION_AFTER,
    }
    sla_settings = [
        name for name in Settings.model_fields if name.startswith(("PO_CONFIRM_", "APPROVAL_", "QUALITY_"))
    ]
    assert sorted(fallbacks) == sorted(sla_settings)
    for name, fallback in fallbacks.items():
        default = Settings.model_fields[name].default
        assert default == getattr(sla, name), name
        assert fallback == timedelta(hours=default), name


def test_purchase_orders_start_with_the_configured_sla_timers(monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import timedelta
    from decimal import Decimal

    from supplychain.models import Location, LocationKind, OrgKind, Role
    from supplychain.principal import Principal
    from supplychain.replenishment import replenishment_input
    from supplychain.rules.ordering import SupplierOffer, split_by_supplier
    from supplychain.settings import settings

    monkeypatch.setattr(settings, "PO_CONFIRM_REMINDER_HOURS", 6.0)
    monkeypatch.setattr(settings, "PO_CONFIRM_ESCALATION_HOURS", 30.0)
    monkeypatch.setattr(settings, "APPROVAL_REMINDER_HOURS", 2.0)
    monkeypatch.setattr(settings, "APPROVAL_ESCALATION_HOURS", 4.0)
    monkeypatch.setattr(settings, "QUALITY_DECISION_REMINDER_HOURS", 3.0)
    monkeypatch.setattr(settings, "QUALITY_DECISION_ESCALATION_HOURS", 5.0)
    offer = SupplierOffer(
        supplier_id=7, sku_id=3, unit_price=Decimal("2.50"), tax_rate=Decimal("0.13"),
        moq=1, pack_size=1, lead_time_days=3,
    )  # fmt: skip
    [planned] = split_by_supplier([(offer, 4)])
    store = Principal(
        user_id=1, email="s@x", full_name="S", organisation_id=1, organisation_name="HQ",
        org_kind=OrgKind.HQ, roles=frozenset({Role.STORE}), location_id=5, locale="en",
        approval_limit=Decimal("0"),
    )  # fmt: skip
    warehouse = Location(id=9, code="RW", name="RW", kind=LocationKind.REGIONAL_WAREHOUSE, organisation_id=1)
    started = replenishment_input("PO-2026-000001", planned, store, warehouse)
    assert started.confirm_reminder_after == timedelta(hours=6)
    assert started.confirm_escalation_after == timedelta(hours=30)
    assert started.approval_reminder_after == timedelta(hours=2)
    assert started.approval_escalation_after == timedelta(hours=4)
    assert started.quality_decision_reminder_after == timedelta(hours=3)
    assert started.quality_decision_escalation_after == timedelta(hours=5)
    assert started.needs_approval


@pytest.mark.parametrize("secret", ["k3J9-short-not-a-placeholder", "密钥" * 5, "x" * 31])
def test_production_refuses_a_secret_key_shorter_than_32_bytes(
    var_dir: Path, monkeypatch: pytest.MonkeyPatch, secret: str
) -> None:
    assert len(secret.encode()) < 32
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("SECRET_KEY", secret)

    with pytest.raises(ValidationError, match=r"SECRET_KEY is \d+ bytes long; production needs at least 32"):
        make_settings()


def test_production_counts_the_secret_key_in_bytes_and_accepts_32(
    var_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("SECRET_KEY", "x" * 32)
    assert make_settings().SECRET_KEY == "x" * 32
    monkeypatch.setenv("SECRET_KEY", "密钥" * 6)  # 12 characters, 36 bytes
    assert make_settings().SECRET_KEY == "密钥" * 6


def test_development_keeps_a_short_secret_key_it_is_given(
    var_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SECRET_KEY", "short-dev-key")
    assert make_settings().SECRET_KEY == "short-dev-key"
