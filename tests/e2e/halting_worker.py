"""The deployed worker, except that it stops dead once `write_payment_instructions` has returned.

    python -m tests.e2e.halting_worker      (HALT_MARKER=<path>)

Used only by the payment crash test: the instruction file is written, the activity has returned, and
before Temporal hears of it (so before the payment run records anything) the worker writes
HALT_MARKER and never reports the result. The test then SIGKILLs the process, as a crash
at the worst moment would. Production code carries no hook for this.
"""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path
from typing import Any

from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor

from worker import run_worker

HALT_AFTER = "write_payment_instructions"


class _HaltAfterActivity(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        result = await self.next.execute_activity(input)  # the sync activity ran on its thread
        if getattr(input.fn, "__name__", "") == HALT_AFTER:
            Path(os.environ["HALT_MARKER"]).write_text("halted")
            await asyncio.Event().wait()  # never reports the result: the test kills the process
        return result


class HaltAfterInstructions(Interceptor):
    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _HaltAfterActivity(next)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asyncio.run(run_worker(interceptors=[HaltAfterInstructions()]))
