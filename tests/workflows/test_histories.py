"""Replay coverage for running processes: every committed workflow history replays on today's code.

tests/workflows/histories/ holds one JSON file per workflow of each scenario registered in
tests/workflows/history_scenarios.py, each recorded from a whole run under the code of its day (a
file's name says its workflow and its story: `replenishment_partial_backorder.json`,
`approval_delegated.json`, `inspection_concession.json`). `test_committed_history_replays` replays
every `*.json` there against the current workflow code with a Replayer that registers every
workflow of the worker: a change that reorders, adds or removes a workflow's commands fails it,
naming each file it breaks, as it would fail every process running with such a history after a
deployment. Replay compares the kind and order of commands (activity types, timers, children,
signals, markers), not their inputs: swapping two calls of the same activity passes it.

The rules:

- A committed file is never recorded again to make a change pass, and never deleted to be recorded
  again: a change that breaks replay is versioned with `workflow.patched` (old histories keep the
  old path, new runs take the new one), and the old file then proves the old path still replays.
- A new story of a workflow test gets a scenario: a recording function in history_scenarios.py,
  registered with `@scenario(<file names>)`, that asserts the story reached its end. Then
  `make histories` (RECORD_HISTORIES=1 on the time-skipping test server) runs only the scenarios
  whose files do not exist yet and writes those files, never overwriting one; commit them.
- After a versioning change the stories it touches are recorded again under new names that say
  so: `<workflow>_<story>.<patch>.json`, listed in the scenario's `rerecorded=` (the patch part is
  one of history_scenarios.PATCHES). `replenishment_happy_path.json` keeps proving the path of POs
  started before `NAMED_STEPS_PATCH`, `replenishment_happy_path.named_steps.json` the path of POs
  started after it; `test_named_steps_files_took_the_named_steps` checks each file took its path.
- Every scenario has its files and every file belongs to a scenario (the two tests below), and every
  scenario runs here on today's code and its fresh histories replay.
- A file's name says its workflow by its longest known prefix (history_scenarios.WORKFLOW_OF_PREFIX:
  `statement_run_started` is StatementRunWorkflow's, `statement_invoice_corrected` StatementWorkflow's),
  and a statement, settlement or payment run file names the steps its story took in STORY_ACTIVITIES.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from functools import cache
from pathlib import Path

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    import pytest
    import pytest_asyncio
    from sqlalchemy import Engine
    from sqlmodel import Session
    from temporalio.client import WorkflowExecutionStatus, WorkflowHistory
    from temporalio.worker import Replayer

    from supplychain.models import User
    from supplychain.temporal import DATA_CONVERTER
    from tests.fixtures.temporal import running_worker, time_skipping_server
    from tests.workflows.history_scenarios import (
        HISTORIES,
        SCENARIOS,
        Scenario,
        Scene,
        activity_types,
        named_workflow,
        patch_markers,
        read_history,
        workflow_type,
        write_history,
    )
    from tests.workflows.inspection_world import (
        inspector,  # noqa: F401  (the fixture)
        quality_approver,  # noqa: F401  (the fixture)
        world,  # noqa: F401  (the fixture)
    )
    from tests.workflows.test_replenishment import World
    from workflows.approval import LOCAL_DECISION_PATCH
    from workflows.registry import WORKFLOWS  # the list worker.build_worker registers
    from workflows.replenishment import NAMED_STEPS_PATCH

RECORDING = bool(os.environ.get("RECORD_HISTORIES"))
COMMITTED = sorted(HISTORIES.glob("*.json"))
# The activities of POs started before NAMED_STEPS_PATCH.
GENERIC = {
    "update_purchase_order",
    "notify_purchase_order",
    "record_shipment",
    "record_shipment_receipt",
    "post_receipt_to_stock",
}


@cache  # its workflows are validated in the sandbox once
def _replayer() -> Replayer:
    return Replayer(workflows=WORKFLOWS, data_converter=DATA_CONVERTER)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def replay_failures() -> dict[Path, Exception | None]:
    """Every committed file replayed by one replay worker (a worker per file takes several times longer)."""
    histories = {path: read_history(path) for path in COMMITTED}
    path_of = {id(history): path for path, history in histories.items()}

    async def each() -> AsyncIterator[WorkflowHistory]:
        for history in histories.values():
            yield history

    failures: dict[Path, Exception | None] = {}
    async with _replayer().workflow_replay_iterator(each()) as results:
        async for result in results:
            failures[path_of[id(result.history)]] = result.replay_failure
    return failures


@pytest.mark.parametrize("path", COMMITTED, ids=lambda path: path.name)
def test_committed_history_replays(path: Path, replay_failures: dict[Path, Exception | None]) -> None:
    history = read_history(path)
    assert history.events, f"{path.name} holds no events"
    assert workflow_type(history) == named_workflow(path), f"{path.name} is named for another workflow"
    failure = replay_failures[path]
    if failure is not None:
        raise failure


def test_every_scenario_has_its_committed_histories() -> None:
    missing = [path.name for scenario in SCENARIOS for path in scenario.paths() if not path.exists()]
    assert not missing, f"not recorded yet: {missing}; run `make histories` and commit the files"


@pytest.mark.parametrize(
    "path", [p for p in COMMITTED if p.stem.startswith("replenishment_")], ids=lambda path: path.name
)
def test_named_steps_files_took_the_named_steps(path: Path) -> None:
    """A `.named_steps` file runs the named activities and never the generic ones; an older file
    runs the generic ones (the path a PO started before `NAMED_STEPS_PATCH` keeps to its end)."""
    history = read_history(path)
    activities = set(activity_types(history))
    named = path.stem.endswith(".named_steps")
    assert (NAMED_STEPS_PATCH in patch_markers(history)) is named
    if named:
        assert activities & GENERIC == set() and len(activities) > 1, activities
    else:
        assert "update_purchase_order" in activities


# The steps each statement, settlement and payment run file must have taken (the activities that
# say its story); none of those workflows has had a versioning change yet, so no patch markers.
MATCHED = {"collect_statement", "record_supplier_invoice", "hand_over_to_settlement"}
PAID = {"schedule_payment", "record_payment_ready", "record_payment_paid"}
STORY_ACTIVITIES = {
    "statement_confirmed_matched": MATCHED | {"record_statement_confirmed"},
    "statement_disputes_resolved": MATCHED
    | {"record_statement_line_disputed", "record_statement_dispute_resolved", "record_statement_confirmed"},
    "statement_reminded_escalated": MATCHED | {"record_statement_reminder", "record_statement_escalated"},
    "statement_invoice_mismatch_approved": MATCHED | {"record_invoice_decision"},
    "statement_invoice_corrected": MATCHED | {"record_invoice_decision"},
    "statement_run_started": {"plan_statement_run"},
    "statement_run_already_started": {"plan_statement_run"},
    "statement_run_no_source_lines": {"plan_statement_run"},
    "settlement_paid": PAID,
    "settlement_approved_above_limit": PAID
    | {"record_payment_approval_requested", "record_payment_approval_decided"},
    "settlement_early_payment": PAID | {"record_early_payment_requested", "record_early_payment_decided"},
    "settlement_failed_retried": PAID | {"record_payment_failed", "record_payment_retried"},
    "settlement_approval_rejected": {"record_payment_approval_requested", "record_payment_approval_decided"},
    "settlement_cancelled": {"record_payment_failed", "record_payment_cancelled"},
    "payment_run_instructed": {"write_payment_instructions", "record_payment_run"},
}


@pytest.mark.parametrize(
    "path",
    [p for p in COMMITTED if p.stem.split("_")[0] in ("statement", "settlement", "payment")],
    ids=lambda path: path.name,
)
def test_statement_and_settlement_files_took_their_story(path: Path) -> None:
    history = read_history(path)
    assert path.stem in STORY_ACTIVITIES, f"say which steps {path.name} took in STORY_ACTIVITIES"
    assert STORY_ACTIVITIES[path.stem] <= set(activity_types(history))
    assert patch_markers(history) == []


@pytest.mark.parametrize(
    "path",
    [p for p in COMMITTED if p.stem.startswith("approval_") and p.stem != "approval_cancelled"],
    ids=lambda path: path.name,
)
def test_local_decision_files_recorded_the_decision_locally(path: Path) -> None:
    """A `.local_decision` file records the decision by a local activity (a marker, no activity
    task); an older file by the `record_approval_decision` activity."""
    history = read_history(path)
    local = path.stem.endswith(".local_decision")
    assert (LOCAL_DECISION_PATCH in patch_markers(history)) is local
    assert ("record_approval_decision" in activity_types(history)) is not local


def test_every_committed_history_belongs_to_a_scenario() -> None:
    registered = {path for scenario in SCENARIOS for path in scenario.paths()}
    assert COMMITTED, f"no histories in {HISTORIES}"
    assert [path.name for path in COMMITTED if path not in registered] == []


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda scenario: scenario.name)
async def test_scenario_runs_and_its_fresh_histories_replay(
    scenario: Scenario,
    task_queue: str,
    world: World,
    inspector: User,
    quality_approver: User,
    session: Session,
    db: Engine,
) -> None:
    """With RECORD_HISTORIES=1 (`make histories`) the files not recorded yet are written, and only
    the scenarios that have such a file run.

    Each scenario has a time-skipping server of its own: a scenario that fails leaves its workflows
    running without a worker, and on a shared server that was seen to stop the server answering
    ("transport error") in a later scenario's `result()`.
    """
    missing = [path for path in scenario.paths() if not path.exists()]
    if RECORDING and not missing:
        pytest.skip(f"recorded already: {', '.join(path.name for path in scenario.paths())}")
    async with time_skipping_server() as env:
        await _run(scenario, Scene(env, task_queue, world, inspector, quality_approver, session, db), missing)


async def _run(scenario: Scenario, scene: Scene, missing: list[Path]) -> None:
    client = scene.client
    async with running_worker(client, scene.task_queue):
        workflow_ids = await scenario.record(scene)
    for path, workflow_id in scenario.files(workflow_ids):
        handle = client.get_workflow_handle(workflow_id)
        status = (await handle.describe()).status
        assert status in (WorkflowExecutionStatus.COMPLETED, WorkflowExecutionStatus.CANCELED), (
            f"{workflow_id} is {status}: a history file holds a whole run"
        )
        history = await handle.fetch_history()
        assert workflow_type(history) == named_workflow(path)
        await _replayer().replay_workflow(history)
        if RECORDING and path in missing:
            write_history(path, history)
