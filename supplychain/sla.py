"""Process SLAs: how many hours a step may wait before a reminder, and before it is escalated.

The one source of each default. `Settings` offers them as PO_CONFIRM_REMINDER_HOURS and so on
(override them in the environment), and whoever starts a workflow puts the configured values into
its input (`supplychain.replenishment.replenishment_input`). Workflows cannot read settings: they
fall back to these defaults only for an input that carries no value, that is one recorded before the
value travelled in it (a committed history, or a process started before a deployment).
"""

from __future__ import annotations

from typing import Final

# The supplier's confirmation of a sent purchase order: reminder to the supplier, then the buyers.
PO_CONFIRM_REMINDER_HOURS: Final = 24.0
PO_CONFIRM_ESCALATION_HOURS: Final = 48.0
# HQ approval of a purchase order: reminder to the approver, then the next level up.
APPROVAL_REMINDER_HOURS: Final = 8.0
APPROVAL_ESCALATION_HOURS: Final = 24.0
# HQ quality's decision on a rejected lot (concession, sorting or return): the same, among the
# quality approvers.
QUALITY_DECISION_REMINDER_HOURS: Final = 8.0
QUALITY_DECISION_ESCALATION_HOURS: Final = 24.0
# The supplier's confirmation of a statement: reminder to the supplier, then the buyers are told.
STATEMENT_CONFIRM_REMINDER_HOURS: Final = 72.0
STATEMENT_CONFIRM_ESCALATION_HOURS: Final = 120.0
# The buyer's answer to a disputed statement line: reminder to the buyers, then the approvers.
STATEMENT_DISPUTE_REMINDER_HOURS: Final = 24.0
STATEMENT_DISPUTE_ESCALATION_HOURS: Final = 72.0
# A reserved transfer not yet dispatched: reminder to the source location, then HQ is told.
TRANSFER_DISPATCH_REMINDER_HOURS: Final = 24.0
TRANSFER_DISPATCH_ESCALATION_HOURS: Final = 48.0
