"""The Temporal worker: runs every workflow and activity in the registries on one task queue.

    python worker.py        (or `make worker`)

Run as many as you like against the same server and task queue; SIGTERM/SIGINT shut down gracefully:
no new tasks are taken, running activities get GRACEFUL_SHUTDOWN to finish, and whatever is still
unfinished is retried by Temporal on another (or the restarted) worker.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from temporalio.client import Client
from temporalio.worker import Interceptor, Worker

from activities import ACTIVITIES
from supplychain import planning_schedules
from supplychain.settings import settings
from supplychain.temporal import connect_with_retry, run_with_client
from workflows.registry import WORKFLOWS

logger = logging.getLogger("worker")

# Database activities are sync and run on this many threads; the worker never takes more activity
# tasks at once than it has threads for them.
MAX_CONCURRENT_ACTIVITIES = 20
GRACEFUL_SHUTDOWN = timedelta(seconds=20)


def build_worker(
    client: Client,
    task_queue: str | None = None,
    *,
    activity_executor: Executor | None = None,
    extra_workflows: Sequence[type] = (),
    extra_activities: Sequence[Callable[..., Any]] = (),
    interceptors: Sequence[Interceptor] = (),
) -> Worker:
    """A worker for every registered workflow and activity (plus extras and interceptors, for tests).

    Pass an `activity_executor` whose lifetime you manage; without one a new thread pool is made.
    """
    return Worker(
        client,
        task_queue=task_queue or settings.TEMPORAL_TASK_QUEUE,
        workflows=[*WORKFLOWS, *extra_workflows],
        activities=[*ACTIVITIES, *extra_activities],
        activity_executor=activity_executor
        or ThreadPoolExecutor(MAX_CONCURRENT_ACTIVITIES, thread_name_prefix="activity"),
        max_concurrent_activities=MAX_CONCURRENT_ACTIVITIES,
        graceful_shutdown_timeout=GRACEFUL_SHUTDOWN,
        interceptors=interceptors,
    )


async def run_worker(
    address: str | None = None,
    *,
    task_queue: str | None = None,
    stop: asyncio.Event | None = None,
    connect_timeout: float = 60.0,
    interceptors: Sequence[Interceptor] = (),
) -> None:
    """Connect (retrying while the server starts) and run until SIGTERM/SIGINT, `stop` or cancellation."""
    client = await connect_with_retry(address, timeout=connect_timeout)
    await serve(client, task_queue=task_queue, stop=stop, interceptors=interceptors)


def run_worker_process(connect_timeout: float = 60.0) -> None:
    """`portal worker`: the worker on a Temporal runtime of its own, shut down before the process
    exits (supplychain.temporal.run_with_client). On the SDK's default runtime a Rust thread still
    finishing a call at interpreter shutdown can abort the process after a clean stop ("Fatal Python
    error: PyGILState_Release", temporalio/sdk-python#300)."""
    run_with_client(serve, connect_timeout=connect_timeout)


async def serve(
    client: Client,
    *,
    task_queue: str | None = None,
    stop: asyncio.Event | None = None,
    interceptors: Sequence[Interceptor] = (),
) -> None:
    """Run the worker on `client` until SIGTERM/SIGINT, `stop` or cancellation."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread / platform
            pass
    queue = task_queue or settings.TEMPORAL_TASK_QUEUE
    # The planning runs' daily schedules: created once, left alone when they exist (an admin may have
    # paused one); a server without schedules only logs it.
    created = await planning_schedules.ensure_schedules(client, task_queue=queue)
    if created:
        logger.info("created the schedules %s", ", ".join(created))
    try:
        with ThreadPoolExecutor(MAX_CONCURRENT_ACTIVITIES, thread_name_prefix="activity") as executor:
            worker = build_worker(client, queue, activity_executor=executor, interceptors=interceptors)
            logger.info("worker polling task queue %r on namespace %r", queue, client.namespace)
            run_task = asyncio.create_task(worker.run())
            stop_task = asyncio.create_task(stop.wait())
            try:
                await asyncio.wait({run_task, stop_task}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                stop_task.cancel()
                if not run_task.done():
                    logger.info("worker shutting down")
                    await worker.shutdown()
                await run_task  # re-raises a fatal worker error
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
    logger.info("worker stopped")


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    run_worker_process()
