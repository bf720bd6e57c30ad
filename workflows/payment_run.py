"""A payment run: the payments that are due and approved, handed to the bank in one instruction file.

One `PaymentRunWorkflow` per run, workflow id `payment_run_workflow_id("PR-2026-000001") ==
"payment-run-pr-2026-000001"`, started by finance's "run payments now" (the run number is reserved
before the start; a daily Temporal Schedule can start the same workflow).

1. `write_payment_instructions`: the payment adapter writes the run's file with every payment that
   is ready (SCHEDULED, `ready_at` set, in no run) and whose idempotency key is in no earlier file;
   a retry finds the run's file and writes nothing (supplychain/payments.py).
2. `record_payment_run`: the run's row, its payments INSTRUCTED, finance told.
3. Each payment's SettlementWorkflow is signalled `payment_instructed`; the bank's result comes back
   to each of them through their `record_bank_result` Update (finance uploads the result file).

Two runs at once, a retried activity or a worker killed between the two steps: a key is written into
one file only, and the rows follow that file.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import date, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

from workflows.settlement import PaymentInstructed, SettlementWorkflow

with workflow.unsafe.imports_passed_through():
    from activities.settlement import (
        RecordedRun,
        RecordRunInput,
        WriteInstructionsInput,
        WrittenInstructions,
        record_payment_run,
        write_payment_instructions,
    )

ACTIVITY_TIMEOUT = timedelta(seconds=30)
ACTIVITY_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1))


def payment_run_workflow_id(run_number: str) -> str:
    return f"payment-run-{run_number.lower()}"


@dataclass
class PaymentRunInput:
    run_number: str
    value_date: date  # the day the bank pays (the run's business day)
    activity_timeout: timedelta = ACTIVITY_TIMEOUT


@dataclass
class PaymentRunResult:
    run_number: str
    instruction_file: str
    payment_numbers: list[str] = field(default_factory=list)


@workflow.defn
class PaymentRunWorkflow:
    @workflow.run
    async def run(self, input: PaymentRunInput) -> PaymentRunResult:
        written: WrittenInstructions = await workflow.execute_activity(
            write_payment_instructions,
            WriteInstructionsInput(run_number=input.run_number, value_date=input.value_date),
            start_to_close_timeout=input.activity_timeout,
            retry_policy=ACTIVITY_RETRY,
        )
        recorded: RecordedRun = await workflow.execute_activity(
            record_payment_run,
            RecordRunInput(
                run_number=input.run_number,
                instruction_file=written.instruction_file,
                idempotency_keys=written.idempotency_keys,
                occurred_at=workflow.now(),
            ),
            start_to_close_timeout=input.activity_timeout,
            retry_policy=ACTIVITY_RETRY,
        )
        # The rows say INSTRUCTED already; the signals only update the live state, so one that cannot
        # be delivered (a payment process terminated by hand) does not stop the run.
        await asyncio.gather(
            *(
                workflow.get_external_workflow_handle_for(SettlementWorkflow.run, payment.workflow_id).signal(
                    SettlementWorkflow.payment_instructed,
                    PaymentInstructed(run_number=input.run_number, idempotency_key=payment.idempotency_key),
                )
                for payment in recorded.payments
            ),
            return_exceptions=True,
        )
        return PaymentRunResult(
            run_number=input.run_number,
            instruction_file=written.instruction_file,
            payment_numbers=[payment.number for payment in recorded.payments],
        )
