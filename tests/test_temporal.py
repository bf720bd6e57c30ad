"""`run_with_client`: a short-lived process's Temporal client leaves no thread behind.

The SDK's default runtime keeps its Rust threads until the interpreter shuts down, and one of them
still finishing an RPC callback then aborts the process ("Fatal Python error: PyGILState_Release",
temporalio/sdk-python#300): `portal demo-orders` did so in two of four `make run` starts, after its
orders were made. Each case runs in a fresh interpreter, as that command does, and lists the
threads left once the work is done.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

PRELUDE = """
import json, os, sys
from supplychain.temporal import connect, run_with_client

def threads():
    return sorted(open(f"/proc/self/task/{t}/comm").read().strip() for t in os.listdir("/proc/self/task"))

async def count(client):
    return await client.count_workflows()

async def fail(client):
    await client.count_workflows()
    raise LookupError("the work failed")
"""


def _run(address: str, body: str) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-c", PRELUDE + textwrap.dedent(body)],
        cwd=ROOT,
        env={**os.environ, "TEMPORAL_ADDRESS": address},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Fatal Python error" not in result.stderr
    found: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return found


def test_the_client_and_its_threads_are_gone_when_the_work_returns(temporal_address: str) -> None:
    found = _run(
        temporal_address,
        """
        before = threads()
        run_with_client(count)
        print(json.dumps({"before": before, "after": threads()}))
        """,
    )
    assert found["after"] == found["before"] and len(found["before"]) == 1


def test_the_threads_are_gone_when_the_work_fails_too(temporal_address: str) -> None:
    found = _run(
        temporal_address,
        """
        before = threads()
        try:
            run_with_client(fail)
        except LookupError as exc:
            error = str(exc)
        print(json.dumps({"before": before, "after": threads(), "error": error}))
        """,
    )
    assert found["error"] == "the work failed"
    assert found["after"] == found["before"]


def test_with_the_sdks_default_runtime_its_threads_outlive_the_work(temporal_address: str) -> None:
    """What `run_with_client` avoids: these threads are still running when the interpreter shuts down."""
    found = _run(
        temporal_address,
        """
        import asyncio
        before = threads()

        async def main():
            await count(await connect())

        asyncio.run(main())
        print(json.dumps({"before": before, "after": threads()}), flush=True)
        os._exit(0)  # skip the interpreter shutdown these threads may crash
        """,
    )
    assert len(found["after"]) > len(found["before"])
