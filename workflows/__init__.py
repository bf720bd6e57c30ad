"""Workflows: one module per business process. `WORKFLOWS` is the one list the worker registers.

Each process adds its `@workflow.defn` class here when it lands (`workflows/<process>.py`).
"""

from __future__ import annotations

from workflows.approval import ApprovalWorkflow
from workflows.inspection import InspectionWorkflow
from workflows.replenishment import ReplenishmentWorkflow

WORKFLOWS: list[type] = [ApprovalWorkflow, ReplenishmentWorkflow, InspectionWorkflow]
