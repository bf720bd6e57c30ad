"""The module's time-skipping server after a test that left a workflow open (tests/fixtures/temporal.py).

A workflow test that fails half way leaves its workflows open with their worker gone. On the
time-skipping server the next task of such a workflow, which nobody takes, stops time skipping for
good, and terminating the workflow does not free it: every later `result()` of the module waited
for a timer that never fired, until the 300 s timeout (seen after a failure in
test_replenishment_inspection). So the next test gets a server of its own.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from temporalio.worker import Worker

    from tests.fixtures.temporal import ModuleServer, open_workflows


@workflow.defn(name="FixtureSleeper")
class Sleeper:
    @workflow.run
    async def run(self) -> None:
        await workflow.sleep(timedelta(days=1))


async def test_after_a_test_left_a_workflow_nobody_serves_the_next_test_still_skips_time() -> None:
    server = ModuleServer()
    try:
        first = await server.env()
        stranded = await first.client.start_workflow(
            Sleeper.run, id=f"stranded-{uuid.uuid4()}", task_queue=f"nobody-{uuid.uuid4()}"
        )
        assert await open_workflows(first.client) == [stranded.id]
        await server.after_test()

        second = await server.env()
        assert second is not first
        task_queue = f"sleepers-{uuid.uuid4()}"
        client = second.client
        async with Worker(client, task_queue=task_queue, workflows=[Sleeper]):
            sleeper = await client.start_workflow(
                Sleeper.run, id=f"sleeper-{uuid.uuid4()}", task_queue=task_queue
            )
            await asyncio.wait_for(sleeper.result(), timeout=60)  # a day passes in a moment
        await server.after_test()
        assert await server.env() is second  # nothing was left open: the server is kept
    finally:
        await server.shut_down()
