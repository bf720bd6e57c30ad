"""Determinism guard for receiving inspection: committed histories replayed against the current code.

Like the replenishment happy path in test_replenishment, four histories recorded from real runs on
the time-skipping server are committed in tests/workflows/histories/:

- replenishment_inspection_return.json: the two-line PO of test_replenishment whose line-1 lot
  (SKU A, inspected "always") is rejected, decided "return_to_vendor" by HQ's quality approver and
  acknowledged by the supplier; the PO learns the quantities by the inspection's settle signal and
  closes (ReplenishmentWorkflow: child inspection, `inspection_settled` signal).
- inspection_return.json: that lot's InspectionWorkflow (record, notify, defects Update, the
  decision ApprovalWorkflow child, disposition, release of 0 from quarantine, return to vendor,
  acknowledgement Update, settle signal to the parent, late-click window).
- inspection_sorting.json: the InspectionWorkflow of a lot rejected, sent to sorting and sorted
  (70 good released from quarantine, 30 returned and acknowledged, settle signal to the parent).
- inspection_discontinued_return.json: the InspectionWorkflow of a lot whose supplier+SKU is
  discontinued (ISO 2859-1 9.4): it meets its tightened plan, is held for HQ's decision
  (`discontinued-lots-go-to-decision`), returned to the vendor and acknowledged.

A change to the workflow code that reorders, adds or removes commands without `workflow.patched`
makes the replay tests fail. After an intended, versioned change, record them again with
`RECORD_HISTORIES=1 pytest tests/workflows/test_inspection_histories.py -k fresh`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    import pytest
    from sqlalchemy import Engine
    from sqlmodel import Session
    from temporalio.client import Client, WorkflowHistory
    from temporalio.testing import WorkflowEnvironment
    from temporalio.worker import Replayer

    from supplychain.models import (
        Disposition,
        InspectionStage,
        InspectionVerdict,
        POStatus,
        SwitchingSeverity,
        User,
    )
    from supplychain.models.catalog import InspectionMode
    from supplychain.temporal import DATA_CONVERTER
    from tests.fixtures.temporal import running_worker
    from tests.workflows.inspection_world import (
        acknowledge,
        closed,
        decide,
        inspector,  # noqa: F401  (the fixture)
        quality_approver,  # noqa: F401  (the fixture)
        record_defects,
        reject,
        set_mode,
        set_standing,
        sort,
        until_return,
        until_stage,
        world,  # noqa: F401  (the fixture)
    )
    from tests.workflows.test_inspection_dispositions import LOT, _lot_of_line_1
    from tests.workflows.test_replenishment import HISTORIES, World
    from workflows.approval import ApprovalWorkflow
    from workflows.inspection import InspectionResult, InspectionWorkflow
    from workflows.replenishment import ReplenishmentWorkflow

WORKFLOWS = [ReplenishmentWorkflow, InspectionWorkflow, ApprovalWorkflow]
PO_RETURN_HISTORY = HISTORIES / "replenishment_inspection_return.json"
INSPECTION_RETURN_HISTORY = HISTORIES / "inspection_return.json"
INSPECTION_SORTING_HISTORY = HISTORIES / "inspection_sorting.json"
INSPECTION_DISCONTINUED_HISTORY = HISTORIES / "inspection_discontinued_return.json"
SORTED_GOOD = 70


@dataclass(frozen=True)
class Run:
    """A finished scenario: the PO's and its line-1 inspection's workflow ids."""

    po_workflow_id: str
    inspection_workflow_id: str


async def _return_to_vendor(
    env: WorkflowEnvironment, task_queue: str, world: World, inspector: User, approver: User, db: Engine
) -> Run:
    """Line 1's lot rejected, returned to the vendor by HQ's decision, acknowledged; the PO closes."""
    client = env.client
    handle, number, child = await _lot_of_line_1(env, task_queue, world, db)
    await reject(child, inspector)
    await decide(client, child, approver, "return_to_vendor")
    await until_return(child)
    await acknowledge(child, world.supplier)
    await closed(handle, db, number)
    assert await child.result() == InspectionResult(
        0, LOT, InspectionVerdict.REJECTED, Disposition.RETURN_TO_VENDOR
    )
    assert (await handle.result()).status is POStatus.CLOSED
    return Run(handle.id, child.id)


async def _sorting(
    env: WorkflowEnvironment, task_queue: str, world: World, inspector: User, approver: User, db: Engine
) -> Run:
    """Line 1's lot rejected and sorted: 70 good released, 30 returned and acknowledged."""
    client = env.client
    handle, number, child = await _lot_of_line_1(env, task_queue, world, db)
    await reject(child, inspector)
    await decide(client, child, approver, "sorting")
    await until_stage(child, InspectionStage.SORTING)
    result = await sort(child, inspector, SORTED_GOOD)
    assert (result.accepted_quantity, result.returned_quantity) == (SORTED_GOOD, LOT - SORTED_GOOD)
    await until_return(child)
    await acknowledge(child, world.supplier)
    await closed(handle, db, number)
    assert await child.result() == InspectionResult(
        SORTED_GOOD, LOT - SORTED_GOOD, InspectionVerdict.REJECTED, Disposition.SORTING
    )
    assert (await handle.result()).status is POStatus.CLOSED
    return Run(handle.id, child.id)


async def _discontinued_return(
    env: WorkflowEnvironment, task_queue: str, world: World, inspector: User, approver: User, db: Engine
) -> Run:
    """Line 1's lot of a discontinued supplier+SKU meets its plan, waits for HQ, goes back."""
    client = env.client
    handle, number, child = await _lot_of_line_1(env, task_queue, world, db)
    await record_defects(child, inspector)
    await until_stage(child, InspectionStage.AWAITING_DECISION)
    await decide(client, child, approver, "return_to_vendor")
    await until_return(child)
    await acknowledge(child, world.supplier)
    await closed(handle, db, number)
    assert await child.result() == InspectionResult(
        0, LOT, InspectionVerdict.ACCEPTED, Disposition.RETURN_TO_VENDOR
    )
    return Run(handle.id, child.id)


def _replayer() -> Replayer:
    return Replayer(workflows=WORKFLOWS, data_converter=DATA_CONVERTER)


async def _replay_fresh_and_maybe_record(client: Client, workflow_id: str, path: Path) -> None:
    """Replay the finished run's history; with RECORD_HISTORIES=1 also (re)write the committed file."""
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    await _replayer().replay_workflow(history)
    if os.environ.get("RECORD_HISTORIES"):
        HISTORIES.mkdir(exist_ok=True)
        path.write_text(
            json.dumps({"workflow_id": workflow_id, "history": json.loads(history.to_json())}, indent=1)
            + "\n"
        )


# --- replaying the committed histories -----------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        PO_RETURN_HISTORY,
        INSPECTION_RETURN_HISTORY,
        INSPECTION_SORTING_HISTORY,
        INSPECTION_DISCONTINUED_HISTORY,
    ],
    ids=lambda path: path.stem,
)
async def test_recorded_inspection_history_replays_against_the_current_code(path: Path) -> None:
    """Catches a determinism break across code changes: each file was recorded from a real run.

    To record them again after an intended, versioned change, run
    `RECORD_HISTORIES=1 pytest tests/workflows/test_inspection_histories.py -k fresh`.
    """
    recorded = json.loads(path.read_text())
    history = WorkflowHistory.from_json(recorded["workflow_id"], recorded["history"])
    assert history.events, f"{path.name} holds no events"
    await _replayer().replay_workflow(history)


# --- fresh runs (and recording) --------------------------------------------------------------------------


async def test_fresh_return_to_vendor_histories_replay_and_can_be_recorded(
    time_skipping_env: WorkflowEnvironment,
    task_queue: str,
    world: World,
    inspector: User,
    quality_approver: User,
    session: Session,
    db: Engine,
) -> None:
    """The PO's and the inspection's histories of a returned lot replay; RECORD_HISTORIES=1 records them."""
    set_mode(session, world.sku_a, InspectionMode.ALWAYS)
    client = time_skipping_env.client
    async with running_worker(client, task_queue):
        run = await _return_to_vendor(time_skipping_env, task_queue, world, inspector, quality_approver, db)
    await _replay_fresh_and_maybe_record(client, run.po_workflow_id, PO_RETURN_HISTORY)
    await _replay_fresh_and_maybe_record(client, run.inspection_workflow_id, INSPECTION_RETURN_HISTORY)


async def test_fresh_sorting_history_replays_and_can_be_recorded(
    time_skipping_env: WorkflowEnvironment,
    task_queue: str,
    world: World,
    inspector: User,
    quality_approver: User,
    session: Session,
    db: Engine,
) -> None:
    """The inspection history of a sorted lot replays; RECORD_HISTORIES=1 records it."""
    set_mode(session, world.sku_a, InspectionMode.ALWAYS)
    client = time_skipping_env.client
    async with running_worker(client, task_queue):
        run = await _sorting(time_skipping_env, task_queue, world, inspector, quality_approver, db)
    await _replay_fresh_and_maybe_record(client, run.inspection_workflow_id, INSPECTION_SORTING_HISTORY)


async def test_fresh_discontinued_history_replays_and_can_be_recorded(
    time_skipping_env: WorkflowEnvironment,
    task_queue: str,
    world: World,
    inspector: User,
    quality_approver: User,
    session: Session,
    db: Engine,
) -> None:
    """The inspection history of a discontinued supplier's lot held for HQ replays; RECORD_HISTORIES=1
    records it."""
    set_standing(session, world, SwitchingSeverity.DISCONTINUED, rejected_on_tightened=5)
    client = time_skipping_env.client
    async with running_worker(client, task_queue):
        run = await _discontinued_return(
            time_skipping_env, task_queue, world, inspector, quality_approver, db
        )
    await _replay_fresh_and_maybe_record(client, run.inspection_workflow_id, INSPECTION_DISCONTINUED_HISTORY)
