"""The Temporal floors: bare workflows on the same dev server, run by a worker process of their own.

- `BareStepsWorkflow`: N activities in a row that do nothing, then done. The floor for a purchase
  order's throughput: the same number of activities, none of the work.
- `BareUpdateWorkflow`: one Update with a validator that only counts. The floor for a click: the
  round trip of an Update that is checked, accepted and answered, with no activity behind it.

The worker runs like the portal's (worker.py): synchronous activities on a thread pool of the same
size, the same data converter.

    python -m bench.floor_worker      (TEMPORAL_ADDRESS and BENCH_FLOOR_QUEUE from the environment)
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Worker

READY_LINE = "floor worker polling"
MAX_CONCURRENT_ACTIVITIES = 20  # as worker.py
STEP_TIMEOUT = timedelta(seconds=30)


@dataclass
class StepInput:
    index: int


@dataclass
class BareStepsInput:
    activities: int


@dataclass
class BumpInput:
    amount: int = 1


@activity.defn
def bare_step(input: StepInput) -> int:
    return input.index


@workflow.defn
class BareStepsWorkflow:
    @workflow.run
    async def run(self, input: BareStepsInput) -> int:
        for index in range(input.activities):
            await workflow.execute_activity(bare_step, StepInput(index), start_to_close_timeout=STEP_TIMEOUT)
        return input.activities


@workflow.defn
class BareUpdateWorkflow:
    @workflow.init
    def __init__(self) -> None:
        self._count = 0
        self._finished = False

    @workflow.run
    async def run(self) -> int:
        await workflow.wait_condition(lambda: self._finished)
        return self._count

    @workflow.update
    def bump(self, input: BumpInput) -> int:
        self._count += input.amount
        return self._count

    @bump.validator
    def validate_bump(self, input: BumpInput) -> None:
        if input.amount <= 0:
            raise ValueError("Only a positive amount can be added.")

    @workflow.signal
    def finish(self) -> None:
        self._finished = True


async def run_floor_worker(address: str, task_queue: str) -> None:
    client = await Client.connect(address, data_converter=pydantic_data_converter)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    with ThreadPoolExecutor(MAX_CONCURRENT_ACTIVITIES, thread_name_prefix="activity") as executor:
        worker = Worker(
            client,
            task_queue=task_queue,
            workflows=[BareStepsWorkflow, BareUpdateWorkflow],
            activities=[bare_step],
            activity_executor=executor,
            max_concurrent_activities=MAX_CONCURRENT_ACTIVITIES,
        )
        async with worker:
            logging.getLogger("bench").info("%s %s", READY_LINE, task_queue)
            await stop.wait()


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asyncio.run(run_floor_worker(os.environ["TEMPORAL_ADDRESS"], os.environ["BENCH_FLOOR_QUEUE"]))
