"""A step refused by a rule, with a message a person can act on."""

from __future__ import annotations


class Refused(Exception):
    """A step refused: `message_id` is English text from the catalogue, `params` fill it in.

    Pure rules raise it; a workflow turns it into its Update's refusal (workflows.common.checked)."""

    def __init__(self, message_id: str, **params: object) -> None:
        super().__init__(message_id)
        self.message_id = message_id
        self.params = params
