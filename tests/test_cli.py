"""The `portal` command: its commands exist, migrate + seed repeat safely, and `dev` stops cleanly."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlmodel import Session
from typer.testing import CliRunner

from cli import app
from supplychain.i18n import use_locale
from supplychain.models import OrgKind, User
from supplychain.security import verify_password
from tests.factories import make_organisation, make_user

ROOT = Path(__file__).resolve().parent.parent
# Variables a developer's shell or CI may set that would point the subprocess somewhere else.
INHERITED_SETTINGS = ("DATABASE_URL", "VAR_DIR", "TEMPORAL_ADDRESS", "ENVIRONMENT", "SECRET_KEY")


def test_help_lists_every_command() -> None:
    result = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for command in ("dev", "web", "worker", "migrate", "seed"):
        assert command in result.output


def portal_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in INHERITED_SETTINGS}
    var_dir = tmp_path / "var"
    env.update(VAR_DIR=str(var_dir), DATABASE_URL=f"sqlite:///{var_dir / 'portal.db'}", PYTHONUNBUFFERED="1")
    env.update(overrides)
    return env


def portal(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # From tmp_path, so no .env file of the checkout leaks in; `cli` is importable from the install.
    return subprocess.run(
        [sys.executable, "-m", "cli", *args],
        cwd=tmp_path,
        env=portal_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def login_lines(output: str) -> list[str]:
    return [line.strip() for line in output.splitlines() if "@" in line]


def test_migrate_and_seed_twice_print_the_same_logins(tmp_path: Path) -> None:
    for _ in range(2):
        migrated = portal(tmp_path, "migrate")
        assert migrated.returncode == 0, migrated.stderr

    first = portal(tmp_path, "seed")
    assert first.returncode == 0, first.stderr
    second = portal(tmp_path, "seed")
    assert second.returncode == 0, second.stderr

    logins = login_lines(first.stdout)
    assert logins, f"seed printed no logins:\n{first.stdout}"
    assert login_lines(second.stdout) == logins
    from supplychain.models import Role

    printed_roles = {line.split()[0] for line in logins}
    assert {role.value for role in Role} <= printed_roles, "expected a login for every role"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def accepts_connections(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def child_pids(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def dev_process(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], dict[str, int], Path]]:
    ports = {"WEB_PORT": free_port(), "TEMPORAL_DEV_PORT": free_port(), "TEMPORAL_UI_PORT": free_port()}
    log = tmp_path / "dev.log"
    env = portal_env(tmp_path, WEB_HOST="127.0.0.1", **{key: str(port) for key, port in ports.items()})
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "cli", "dev"], cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    children: list[int] = []
    try:
        yield process, ports, log
    finally:
        if process.poll() is None:
            children = child_pids(process.pid)
            process.kill()
            process.wait()
        for pid in children:  # only reached when the test already failed
            if alive(pid):
                os.killpg(pid, signal.SIGKILL)


@pytest.mark.e2e
def test_dev_starts_everything_and_stops_on_ctrl_c(
    dev_process: tuple[subprocess.Popen[bytes], dict[str, int], Path],
) -> None:
    process, ports, log = dev_process
    healthz = f"http://127.0.0.1:{ports['WEB_PORT']}/healthz"
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, f"portal dev exited early:\n{log.read_text()}"
        try:
            with urllib.request.urlopen(healthz, timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        assert time.monotonic() < deadline, f"/healthz did not answer within 60 s:\n{log.read_text()}"
        time.sleep(0.5)
    # The banner follows portal dev's own check that the web port is up, a moment after ours.
    while f"http://127.0.0.1:{ports['WEB_PORT']}/" not in log.read_text():
        assert time.monotonic() < deadline, f"no banner within 60 s:\n{log.read_text()}"
        time.sleep(0.2)
    children = child_pids(process.pid)
    assert len(children) == 3, f"expected temporal, worker and web, got {children}"
    assert accepts_connections(ports["TEMPORAL_DEV_PORT"])

    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=20) == 0, log.read_text()

    assert not [pid for pid in children if alive(pid)], "a child outlived portal dev"
    assert not accepts_connections(ports["TEMPORAL_DEV_PORT"])
    assert not accepts_connections(ports["WEB_PORT"])
    output = log.read_text()
    assert f"http://127.0.0.1:{ports['WEB_PORT']}/" in output
    assert f"http://127.0.0.1:{ports['TEMPORAL_UI_PORT']}/" in output
    # The demo orders, then the demo statements and the demo transfers were made by their own
    # short-lived processes, which ended cleanly.
    assert "Demo purchase orders created: PO-" in output
    assert "Demo statements created: ST-" in output
    assert "Demo transfers created: TR-" in output
    assert "Demo planning runs made: planning-reorder-review" in output
    assert "Fatal Python error" not in output and "Warning" not in output, output


@pytest.mark.parametrize(
    ("returncode", "warning"),
    [
        (0, None),
        (1, "Warning: the demo purchase orders could not be created (see above); continuing."),
        (-6, "Warning: `portal demo-orders` died of SIGABRT; run `portal demo-orders` to check"),
    ],
)
def test_portal_dev_warns_about_the_demo_orders_only_when_their_step_did_not_succeed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], returncode: int, warning: str | None
) -> None:
    """Exit 0: in place, no warning. Exit 1: the step said what failed. A signal: nothing is known."""
    import cli

    ran: list[list[str]] = []

    def run(argv: list[str], **kwargs: object) -> subprocess.CompletedProcess[bytes]:
        ran.append(argv)
        return subprocess.CompletedProcess(argv, returncode)

    monkeypatch.setattr(subprocess, "run", run)
    assert cli._create_demo_orders() is (returncode == 0)
    assert ran == [[sys.executable, "-m", "cli", "demo-orders"]]
    err = capsys.readouterr().err
    if warning is None:
        assert "Warning" not in err
    else:
        assert warning in err


# --- accounts: the password rule, create-admin, production ------------------------------------------


def test_create_user_applies_the_password_rule_to_a_password_read_from_stdin(session: Session) -> None:
    hq = make_organisation(session, kind=OrgKind.HQ, name="Lakeside Trading Company")
    args = [
        "create-user",
        "ann@example.test",
        "--organisation",
        hq.code,
        "--role",
        "buyer",
        "--password-stdin",
    ]
    with use_locale("en"):
        for weak, reason in [
            ("qwerty123456", "Too common"),
            ("Ann@Example.test", "same as the e-mail address"),
            ("lakeside trading company", "same as the organisation's name"),
            ("short", "Too short: use at least 12 characters."),
        ]:
            refused = CliRunner().invoke(app, args, input=weak + "\n")
            assert refused.exit_code == 2, refused.output
            assert reason in refused.output
    assert session.execute(select(User).filter_by(email="ann@example.test")).first() is None

    created = CliRunner().invoke(app, args, input="violet kettle under 9 maps\n")
    assert created.exit_code == 0, created.output
    ann = session.execute(select(User).filter_by(email="ann@example.test")).scalar_one()
    assert verify_password(ann.password_hash, "violet kettle under 9 maps")


@pytest.fixture
def production(monkeypatch: pytest.MonkeyPatch) -> None:
    from supplychain.settings import settings

    monkeypatch.setattr(settings, "ENVIRONMENT", "production")


@pytest.mark.parametrize(
    "command", ["seed", "demo-orders", "demo-statements", "demo-transfers", "demo-planning", "dev"]
)
def test_demo_data_commands_refuse_to_run_in_production(
    production: None, session: Session, command: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import cli

    def must_not_run(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"portal {command} went on in production")

    monkeypatch.setattr(cli, "_Supervisor", must_not_run)  # dev would start processes next
    monkeypatch.setattr("supplychain.migrate.upgrade", must_not_run)

    result = CliRunner().invoke(app, [command])

    assert result.exit_code == 1, result.output
    assert "Demo data is never loaded with ENVIRONMENT=production" in result.output
    assert "portal create-admin" in result.output
    assert session.execute(select(User)).first() is None


def test_create_admin_in_production_makes_the_headquarters_and_shows_a_generated_password_once(
    production: None, session: Session
) -> None:
    from supplychain import accounts
    from supplychain.models import Organisation, Role

    result = CliRunner().invoke(
        app,
        [
            "create-admin", "--email", " Root@Example.COM ", "--name", "Root",
            "--organisation", "Lakeside Retail", "--generate",
        ],
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert "Created the administrator root@example.com in Lakeside Retail (HQ, created now)." in result.output
    password = result.output.split("Password (shown once): ")[1].strip()
    assert result.output.count(password) == 1
    admin = session.execute(select(User).filter_by(email="root@example.com")).scalar_one()
    hq = session.get(Organisation, admin.organisation_id)
    assert (hq.code, hq.name, hq.kind) == ("HQ", "Lakeside Retail", OrgKind.HQ)
    assert admin.full_name == "Root"
    assert accounts.roles_of(session, admin.id) == {Role.ADMIN}
    assert verify_password(admin.password_hash, password)


def test_create_admin_asks_twice_for_the_password_and_again_until_the_rule_accepts_it(
    session: Session,
) -> None:
    from supplychain.models import Organisation

    hq = make_organisation(session, kind=OrgKind.HQ, name="Existing Head Office")
    typed = "qwerty123456\nqwerty123456\nviolet kettle under 9 maps\nviolet kettle under 9 maps\n"
    with use_locale("en"):
        result = CliRunner().invoke(app, ["create-admin", "--email", "boss@example.test"], input=typed)

    assert result.exit_code == 0, result.output
    assert "Too common: it is on a list of common and breached passwords." in result.output
    assert "violet kettle" not in result.output  # typed without echo
    assert "Password (shown once)" not in result.output
    assert f"in Existing Head Office ({hq.code})." in result.output
    boss = session.execute(select(User).filter_by(email="boss@example.test")).scalar_one()
    assert boss.organisation_id == hq.id
    assert verify_password(boss.password_hash, "violet kettle under 9 maps")
    assert len(session.execute(select(Organisation)).all()) == 1


def test_create_admin_refuses_a_taken_email_and_changes_nothing(session: Session) -> None:
    hq = make_organisation(session, kind=OrgKind.HQ)
    make_user(session, organisation=hq, roles=[], email="taken@example.test")

    with use_locale("en"):
        result = CliRunner().invoke(app, ["create-admin", "--email", "taken@example.test", "--generate"])

    assert result.exit_code == 1
    assert "Another user already has the e-mail taken@example.test." in result.output
    assert "shown once" not in result.output
