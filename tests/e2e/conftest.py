"""End-to-end: the portal against the session's real Temporal dev server and real worker *processes*.

- `workers`: starts `python -m worker` (the deployed worker, every registered workflow and activity)
  as child processes on a fresh task queue of their own, with the run's DATABASE_URL (inherited from
  tests.fixtures.database). A test can SIGKILL one and start the next; every process still running
  at the end is stopped (SIGTERM, then SIGKILL). Each process logs to a file in the test's tmp_path,
  and a worker that dies while starting fails the test with its log.
- `e2e_client`: like `portal_client`, but the app talks to the workers' task queue.
- `world`: a small retailer (HQ with a region, its regional warehouse and a store, an approver, a
  buyer, a warehouse clerk, one supplier), every user in English so pages can be read in tests;
  `quality`: its inspector and HQ quality approver.
- `short_inspection_tail`: inspections started by a PO stop answering late clicks after 1 s.
- `fresh_numbers`: starts this test's document numbers in a block of its own, because the dev server
  (and the workflow ids made from PO numbers) outlive the database wiped for each test.
- Reading the database back: `ledger_rows`, `po_actions`, `on_hand`, `until`.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, replace
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session, col
from starlette.testclient import TestClient

from supplychain.models import (
    DocumentEvent,
    Location,
    LocationKind,
    Organisation,
    OrgKind,
    Role,
    StockLedgerEntry,
    User,
)
from supplychain.stock import get_balance, ledger_totals
from tests.factories import make_location, make_organisation, make_region, make_user
from tests.fixtures.numbers import fresh_document_numbers
from tests.fixtures.web import ClientFactory, unique_client_ip

SOURCE_ROOT = Path(__file__).resolve().parents[2]
WORKER_READY_LINE = "worker polling task queue"
WORKER_START_TIMEOUT = 60.0
WORKER_STOP_TIMEOUT = 30.0  # longer than the worker's graceful shutdown for running activities
LOG_TAIL_CHARS = 4000


# --- worker processes ------------------------------------------------------------------------------


@dataclass
class WorkerProcess:
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_tail(self) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return text[-LOG_TAIL_CHARS:]

    def wait_ready(self, timeout: float = WORKER_START_TIMEOUT) -> None:
        """Block until the worker says it polls its task queue; fail with its log if it exits first."""
        deadline = time.monotonic() + timeout
        while WORKER_READY_LINE not in self.log_tail():
            if self.process.poll() is not None:
                pytest.fail(f"worker {self.pid} exited with {self.process.returncode}:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                pytest.fail(f"worker {self.pid} not polling after {timeout:.0f} s:\n{self.log_tail()}")
            time.sleep(0.05)

    async def wait_ready_async(self, timeout: float = WORKER_START_TIMEOUT) -> None:
        await asyncio.to_thread(self.wait_ready, timeout)

    def kill(self) -> int:
        """SIGKILL, as a crash or the OOM killer would: no graceful shutdown, nothing flushed."""
        os.kill(self.pid, signal.SIGKILL)
        code = self.process.wait(timeout=10)
        assert code == -signal.SIGKILL, f"worker {self.pid} ended with {code}, not by SIGKILL"
        return code


class WorkerProcesses:
    """`python -m worker` processes serving one task queue on the session's dev server."""

    def __init__(self, address: str, task_queue: str, log_dir: Path) -> None:
        self.address = address
        self.task_queue = task_queue
        self._log_dir = log_dir
        self._started: list[WorkerProcess] = []

    def start(self, module: str = "worker", env: dict[str, str] | None = None) -> WorkerProcess:
        """Start one more worker (`python -m <module>`, with `env` added to the run's); call
        `wait_ready` (or `wait_ready_async`) on it before relying on it."""
        env = {
            **os.environ,  # DATABASE_URL, VAR_DIR and ENVIRONMENT of this run
            # The code under test: this checkout first (the installed package may be another one).
            "PYTHONPATH": os.pathsep.join(filter(None, [str(SOURCE_ROOT), os.environ.get("PYTHONPATH")])),
            "TEMPORAL_ADDRESS": self.address,
            "TEMPORAL_TASK_QUEUE": self.task_queue,
            "PYTHONUNBUFFERED": "1",
            **(env or {}),
        }
        log = self._log_dir / f"worker-{len(self._started) + 1}.log"
        with log.open("wb") as out:
            # From the log directory, so no .env file of a checkout leaks in; `worker` is installed.
            process = subprocess.Popen(
                [sys.executable, "-m", module],
                cwd=self._log_dir,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        started = WorkerProcess(process=process, log=log)
        self._started.append(started)
        return started

    def stop_all(self) -> None:
        running = [w for w in self._started if w.process.poll() is None]
        for worker in running:
            worker.process.send_signal(signal.SIGTERM)
        for worker in running:
            try:
                worker.process.wait(timeout=WORKER_STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                worker.process.kill()
                worker.process.wait(timeout=10)


@pytest.fixture
def workers(temporal_address: str, tmp_path: Path) -> Iterator[WorkerProcesses]:
    manager = WorkerProcesses(temporal_address, f"e2e-{uuid.uuid4()}", tmp_path)
    try:
        yield manager
    finally:
        manager.stop_all()


@pytest.fixture
def e2e_client(
    db: Engine, workers: WorkerProcesses, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ClientFactory]:
    """Web clients of a fresh app each (one per browser/role) talking to the workers' task queue."""
    from supplychain.settings import settings
    from web.app import create_app

    monkeypatch.setattr(settings, "TEMPORAL_ADDRESS", workers.address)
    monkeypatch.setattr(settings, "TEMPORAL_TASK_QUEUE", workers.task_queue)
    with ExitStack() as stack:

        def factory(**kwargs: Any) -> TestClient:
            client = TestClient(create_app(), client=(unique_client_ip(), 50000), **kwargs)
            return stack.enter_context(client)

        yield factory


# --- the world -------------------------------------------------------------------------------------

STORE_LIMIT = Decimal("100.00")  # a store's own approval limit: bigger orders go to an approver
APPROVER_LIMIT = Decimal("100000.00")


@dataclass
class World:
    hq: Organisation
    supplier_org: Organisation
    store: Location
    warehouse: Location  # the regional warehouse of the store's region: where its orders arrive
    store_user: User
    approver: User
    buyer: User
    supplier: User
    warehouse_clerk: User


@pytest.fixture
def world(session: Session) -> World:
    hq = make_organisation(session, kind=OrgKind.HQ)
    supplier_org = make_organisation(session, kind=OrgKind.SUPPLIER, name="Supplier Alpha")
    region = make_region(session)
    warehouse = make_location(
        session, organisation=hq, kind=LocationKind.REGIONAL_WAREHOUSE, region=region, name="East DC"
    )
    store = make_location(session, organisation=hq, kind=LocationKind.STORE, region=region, name="Store 1")

    def user(org: Organisation, role: Role, name: str, **kwargs: Any) -> User:
        return make_user(session, organisation=org, roles=[role], full_name=name, locale="en", **kwargs)

    return World(
        hq=hq,
        supplier_org=supplier_org,
        store=store,
        warehouse=warehouse,
        store_user=user(hq, Role.STORE, "Sam Store", location=store, approval_limit=STORE_LIMIT),
        approver=user(hq, Role.APPROVER, "Ada Approver", approval_limit=APPROVER_LIMIT),
        buyer=user(hq, Role.BUYER, "Bo Buyer"),
        supplier=user(supplier_org, Role.SUPPLIER, "Sue Supplier"),
        warehouse_clerk=user(hq, Role.WAREHOUSE, "Wu Warehouse", location=warehouse),
    )


@dataclass
class Quality:
    inspector: User  # works at the warehouse
    approver: User  # HQ's quality approver: decides on rejected lots


@pytest.fixture
def quality(session: Session, world: World) -> Quality:
    def user(role: Role, name: str, **kwargs: Any) -> User:
        return make_user(session, organisation=world.hq, roles=[role], full_name=name, locale="en", **kwargs)

    return Quality(
        inspector=user(Role.INSPECTOR, "Ivy Inspector", location=world.warehouse),
        approver=user(Role.QUALITY_APPROVER, "Quinn Quality"),
    )


@pytest.fixture
def short_inspection_tail(monkeypatch: pytest.MonkeyPatch) -> None:
    """The store's PO starts as deployed, except its inspections stop answering late clicks after 1 s.

    The PO closes only once every inspection child has ended, and a child keeps answering stale
    pages for `inspection_answer_late_clicks_for` (10 minutes deployed) after its lot is decided.
    """
    from web.routes import replenishment

    deployed = replenishment.replenishment_input  # type: ignore[attr-defined]  # patched where the route looks it up

    def replenishment_input(*args: Any, **kwargs: Any) -> Any:
        return replace(deployed(*args, **kwargs), inspection_answer_late_clicks_for=timedelta(seconds=1))

    monkeypatch.setattr(replenishment, "replenishment_input", replenishment_input)


@pytest.fixture
def fresh_numbers(session: Session) -> None:
    fresh_document_numbers(session, ("PO", "SHP", "TR"))


# --- reading the database back ---------------------------------------------------------------------


def ledger_rows(db: Engine, po_number: str) -> list[StockLedgerEntry]:
    with Session(db) as session:
        return list(
            session.execute(
                select(StockLedgerEntry)
                .where(col(StockLedgerEntry.source_document_id) == po_number)
                .order_by(col(StockLedgerEntry.id))
            ).scalars()
        )


def po_actions(db: Engine, po_number: str) -> list[str]:
    """The PO's document events (its own steps and its approval's), in the order they were written."""
    with Session(db) as session:
        return list(
            session.execute(
                select(col(DocumentEvent.action))
                .where(col(DocumentEvent.document_id) == po_number)
                .order_by(col(DocumentEvent.id))
            ).scalars()
        )


def on_hand(db: Engine, location_id: int, sku_id: int) -> int:
    """On hand from the balance row, checked against the ledger it must always equal."""
    with Session(db) as session:
        balance = get_balance(session, location_id, sku_id)
        value = balance.on_hand if balance is not None else 0
        assert ledger_totals(session, location_id, sku_id).on_hand == value, "balance differs from ledger"
        return value


def until(predicate: Callable[[], Any], what: str, timeout: float = 30.0, interval: float = 0.1) -> Any:
    """Poll `predicate` until it returns something truthy (returned); fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)
