"""The worker, the registries and the client every process uses."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from temporalio import activity, workflow

with workflow.unsafe.imports_passed_through():
    import socket
    import subprocess
    import sys
    from pathlib import Path

    import pytest
    from temporalio.testing import WorkflowEnvironment

    from activities import ACTIVITIES
    from activities.notifications import NotifyRoleInput
    from supplychain.models import Role
    from supplychain.settings import PROJECT_ROOT, settings
    from supplychain.temporal import DATA_CONVERTER, connect, connect_with_retry, default_address
    from tests.fixtures.temporal import running_worker
    from worker import build_worker, run_worker
    from workflows.registry import WORKFLOWS


@dataclass
class Money:
    amount: Decimal
    at: datetime
    amounts: list[Decimal]


@activity.defn
def double(money: Money) -> Money:
    assert isinstance(money.amount, Decimal)
    return Money(amount=money.amount * 2, at=money.at, amounts=[a * 2 for a in money.amounts])


@workflow.defn
class EchoMoneyWorkflow:
    @workflow.run
    async def run(self, money: Money) -> Money:
        assert isinstance(money.amount, Decimal)  # a float here would fail the workflow task
        return await workflow.execute_activity(double, money, start_to_close_timeout=timedelta(seconds=30))


# async: building a worker validates each workflow in the sandbox, which needs a running event loop.
async def test_build_worker_registers_every_workflow_and_activity(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    worker = build_worker(time_skipping_env.client, "q")

    assert worker.task_queue == "q"
    config = worker.config()
    assert list(config.get("workflows") or []) == list(WORKFLOWS)
    assert list(config.get("activities") or []) == ACTIVITIES
    assert config.get("activity_executor") is not None  # sync activities need a thread pool
    assert build_worker(time_skipping_env.client).task_queue == settings.TEMPORAL_TASK_QUEUE


def test_registries_hold_only_defined_workflows_and_activities() -> None:
    assert all(hasattr(w, "__temporal_workflow_definition") for w in WORKFLOWS)
    assert all(hasattr(a, "__temporal_activity_definition") for a in ACTIVITIES)
    names = [a.__temporal_activity_definition.name for a in ACTIVITIES]  # type: ignore[attr-defined]
    assert {"record_event", "notify", "notify_role"} <= set(names)
    assert len(names) == len(set(names))


async def test_decimal_and_datetime_round_trip_through_the_data_converter() -> None:
    value = Money(
        amount=Decimal("1234.56"), at=datetime(2026, 12, 1, 8, tzinfo=UTC), amounts=[Decimal("0.10")]
    )

    payloads = await DATA_CONVERTER.encode([value])
    (decoded,) = await DATA_CONVERTER.decode(payloads, [Money])

    assert decoded == value
    assert isinstance(decoded.amount, Decimal) and decoded.amount.as_tuple() == value.amount.as_tuple()
    assert b'"1234.56"' in payloads[0].data  # carried as a string, never as a float


async def test_activity_inputs_round_trip_through_the_data_converter() -> None:
    value = NotifyRoleInput(
        role=Role.APPROVER,
        message="Approve %(number)s",
        idempotency_key="po-1:ask",
        organisation_id=7,
        params={"number": "PO-1", "total": "12.50"},
    )

    (decoded,) = await DATA_CONVERTER.decode(await DATA_CONVERTER.encode([value]), [NotifyRoleInput])

    assert decoded == value
    assert decoded.role is Role.APPROVER


async def test_decimal_round_trips_through_a_workflow_and_activity(
    time_skipping_env: WorkflowEnvironment, task_queue: str
) -> None:
    client = time_skipping_env.client
    value = Money(amount=Decimal("0.10"), at=datetime(2026, 12, 1, tzinfo=UTC), amounts=[Decimal("19.99")])

    async with running_worker(client, task_queue, workflows=[EchoMoneyWorkflow], activities=[double]):
        result = await client.execute_workflow(
            EchoMoneyWorkflow.run, value, id=f"test-money-{uuid.uuid4()}", task_queue=task_queue
        )

    assert result == Money(amount=Decimal("0.20"), at=value.at, amounts=[Decimal("39.98")])


async def test_connect_reaches_the_dev_server_with_the_pydantic_converter(
    dev_server_env: WorkflowEnvironment, task_queue: str
) -> None:
    address = dev_server_env.client.service_client.config.target_host

    client = await connect(address)

    assert client.namespace == settings.TEMPORAL_NAMESPACE
    assert client.data_converter is DATA_CONVERTER
    async with running_worker(client, task_queue, workflows=[EchoMoneyWorkflow], activities=[double]):
        result = await client.execute_workflow(
            EchoMoneyWorkflow.run,
            Money(amount=Decimal("1.005"), at=datetime(2026, 1, 1, tzinfo=UTC), amounts=[]),
            id=f"test-connect-{uuid.uuid4()}",
            task_queue=task_queue,
        )
    assert result.amount == Decimal("2.010")


def test_default_address_is_the_embedded_dev_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "TEMPORAL_ADDRESS", None)
    monkeypatch.setattr(settings, "TEMPORAL_DEV_PORT", 7999)
    assert default_address() == "127.0.0.1:7999"
    monkeypatch.setattr(settings, "TEMPORAL_ADDRESS", "temporal:7233")
    assert default_address() == "temporal:7233"


async def test_connect_with_retry_gives_up_with_a_clear_error() -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    with pytest.raises(ConnectionError, match=f"127.0.0.1:{port} not reachable"):
        await connect_with_retry(f"127.0.0.1:{port}", timeout=0.5, initial_delay=0.1)


async def test_run_worker_serves_the_queue_and_stops_gracefully(dev_server_env: WorkflowEnvironment) -> None:
    address = dev_server_env.client.service_client.config.target_host
    stop = asyncio.Event()
    task = asyncio.create_task(run_worker(address, task_queue=f"test-{uuid.uuid4()}", stop=stop))
    await asyncio.sleep(0.5)
    assert not task.done()

    stop.set()
    await asyncio.wait_for(task, timeout=30)  # returns without error


def test_worker_module_does_not_run_on_import() -> None:
    # Importing worker.py (as tests and the sandbox do) must not start anything.
    completed = subprocess.run(
        [sys.executable, "-c", "import worker; print('imported')"],
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "imported"


def test_a_workflow_module_imports_only_its_own_process() -> None:
    """The sandbox imports a workflow's module with its package for every run: the package must not
    pull in every process (workflows/__init__.py stays empty; the list is workflows.registry)."""
    code = (
        "import sys, workflows.approval; print(sorted(m for m in sys.modules if m.startswith('workflows')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=PROJECT_ROOT
    )
    assert done.stdout.strip() == "['workflows', 'workflows.approval', 'workflows.common']", done.stdout
