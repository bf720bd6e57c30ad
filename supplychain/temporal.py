"""The one way every process (web, worker, CLI, tests) talks to Temporal.

All clients share the pydantic data converter, so workflow and activity inputs can carry `Decimal`
money, `datetime`s, enums and pydantic models and get the same types back on the other side.
"""

from __future__ import annotations

import asyncio
import logging
import time

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter

from supplychain.settings import settings

logger = logging.getLogger(__name__)

DATA_CONVERTER: DataConverter = pydantic_data_converter


def default_address() -> str:
    return settings.TEMPORAL_ADDRESS or f"127.0.0.1:{settings.TEMPORAL_DEV_PORT}"


async def connect(address: str | None = None, *, namespace: str | None = None) -> Client:
    """A client for `address` (default: TEMPORAL_ADDRESS, else the embedded dev server)."""
    return await Client.connect(
        address or default_address(),
        namespace=namespace or settings.TEMPORAL_NAMESPACE,
        data_converter=DATA_CONVERTER,
    )


async def connect_with_retry(
    address: str | None = None,
    *,
    namespace: str | None = None,
    timeout: float = 60.0,
    initial_delay: float = 0.2,
    max_delay: float = 5.0,
) -> Client:
    """`connect`, retried with backoff for up to `timeout` seconds: the server may still be starting."""
    deadline = time.monotonic() + timeout
    delay = initial_delay
    while True:
        try:
            return await connect(address, namespace=namespace)
        except RuntimeError as exc:  # the core SDK reports connection failures as RuntimeError
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ConnectionError(
                    f"Temporal at {address or default_address()} not reachable after {timeout:.0f} s: {exc}"
                ) from exc
            logger.warning("Temporal not reachable yet (%s); retrying in %.1f s", exc, delay)
            await asyncio.sleep(min(delay, remaining))
            delay = min(delay * 2, max_delay)
