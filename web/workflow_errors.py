"""Turning a refused workflow Update into a message for the person who clicked."""

from __future__ import annotations

import logging

from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from supplychain import i18n
from workflows.common import REJECTED_TYPE

log = logging.getLogger(__name__)


def rejection_message(error: WorkflowUpdateFailedError) -> str:
    """The validator's message, translated; a generic message for anything unexpected."""
    cause = error.cause
    if isinstance(cause, ApplicationError) and cause.type == REJECTED_TYPE:
        params = cause.details[0] if cause.details and isinstance(cause.details[0], dict) else {}
        return i18n.gettext(cause.message, **params)
    log.error("Update failed unexpectedly: %r", cause)
    return i18n.gettext("This could not be done right now. Please try again.")
