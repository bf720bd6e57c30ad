"""`WORKFLOWS`: the one list the worker registers (and the replay tests replay against).

Apart from the package's __init__ so that a workflow run, which the sandbox imports afresh with its
module's package, imports only its own workflow's modules, not every process's.
Each process adds its `@workflow.defn` class here when it lands (`workflows/<process>.py`).
"""

from __future__ import annotations

from workflows.approval import ApprovalWorkflow
from workflows.inspection import InspectionWorkflow
from workflows.payment_run import PaymentRunWorkflow
from workflows.planning import ReorderReviewWorkflow, TransferPlanWorkflow
from workflows.replenishment import ReplenishmentWorkflow
from workflows.settlement import SettlementWorkflow
from workflows.statement import StatementRunWorkflow, StatementWorkflow
from workflows.transfer import TransferWorkflow

WORKFLOWS: tuple[type, ...] = (
    ApprovalWorkflow,
    ReplenishmentWorkflow,
    InspectionWorkflow,
    StatementWorkflow,
    StatementRunWorkflow,
    SettlementWorkflow,
    PaymentRunWorkflow,
    TransferWorkflow,
    ReorderReviewWorkflow,
    TransferPlanWorkflow,
)
