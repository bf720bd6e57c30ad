"""The invoice step's rules: the supplier's tolerance from its terms (0 means not set), what may be
submitted when, and the queue's one-line summary of the differences."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from supplychain.models.settlement import StatementStatus
from supplychain.rules.refusal import Refused
from supplychain.rules.statement import StatementState
from supplychain.rules.statement_invoice import (
    ALREADY_MATCHED,
    AWAITING_DECISION,
    DOES_NOT_ADD_UP,
    DUPLICATE_NUMBER,
    FIGURE_BAD,
    FIGURE_NEGATIVE,
    NOT_CONFIRMED,
    NUMBER_REQUIRED,
    NUMBER_TOO_LONG,
    SubmitInvoiceInput,
    check_submit_invoice,
    match_against_statement,
    summary_of,
    tolerance_of,
)
from supplychain.rules.statement_totals import LineAmounts

STATEMENT = LineAmounts(Decimal("1000.00"), Decimal("130.00"), Decimal("1130.00"))


def submission(
    number: str = "044001", net: str = "1000.00", tax: str = "130.00", total: str = "1130.00"
) -> SubmitInvoiceInput:
    return SubmitInvoiceInput(
        1,
        number,
        date(2026, 2, 3),
        Decimal(net),
        Decimal(tax),
        Decimal(total),
        "f" * 32,
        "application/pdf",
        1,
    )


def state(status: StatementStatus, *numbers: str) -> StatementState:
    return StatementState(
        number="ST-2026-000001", status=status, recorded=True, invoice_numbers=list(numbers)
    )


def refusal(state: StatementState, input: SubmitInvoiceInput) -> str:
    with pytest.raises(Refused) as refused:
        check_submit_invoice(state, input)
    return refused.value.message_id


def test_a_zero_limit_is_not_set_and_the_stricter_of_two_wins() -> None:
    assert tolerance_of(Decimal("1.00"), Decimal("0.0000")).limit(Decimal("1130.00")) == Decimal("1.00")
    assert tolerance_of(Decimal("0.00"), Decimal("0.0050")).limit(Decimal("1130.00")) == Decimal("5.65")
    assert tolerance_of(Decimal("5.00"), Decimal("0.0010")).limit(Decimal("1130.00")) == Decimal("1.13")
    assert tolerance_of(Decimal("0.00"), Decimal("0.0000")).limit(Decimal("1130.00")) == 0


def test_exactly_at_the_tolerance_matches_and_one_fen_over_does_not() -> None:
    tolerance = tolerance_of(Decimal("1.00"), Decimal("0"))
    at = LineAmounts(Decimal("1001.00"), Decimal("130.00"), Decimal("1131.00"))
    over = LineAmounts(Decimal("1001.01"), Decimal("130.00"), Decimal("1131.01"))
    assert match_against_statement(STATEMENT, at, tolerance).matched
    result = match_against_statement(STATEMENT, over, tolerance)
    assert not result.matched
    assert [f.within for f in result.figures] == [False, True, False]
    assert summary_of("ST-2026-000001", "044001", [f.difference for f in result.figures]) == (
        "ST-2026-000001 · 044001 · +1.01 / +0.00 / +1.01"
    )


def test_a_right_total_with_the_tax_split_wrongly_is_a_mismatch() -> None:
    split = LineAmounts(Decimal("1010.00"), Decimal("120.00"), Decimal("1130.00"))
    assert not match_against_statement(STATEMENT, split, tolerance_of(Decimal("1.00"), Decimal("0"))).matched


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (StatementStatus.AWAITING_CONFIRMATION, NOT_CONFIRMED),
        (StatementStatus.DISPUTED, NOT_CONFIRMED),
        (StatementStatus.MATCH_EXCEPTION, AWAITING_DECISION),
        (StatementStatus.MATCHED, ALREADY_MATCHED),
    ],
)
def test_an_invoice_only_answers_a_confirmed_statement(status: StatementStatus, message: str) -> None:
    assert refusal(state(status), submission()) == message
    check_submit_invoice(state(StatementStatus.CONFIRMED), submission())


@pytest.mark.parametrize(
    ("input", "message"),
    [
        (submission(number="  "), NUMBER_REQUIRED),
        (submission(number="9" * 33), NUMBER_TOO_LONG),
        (submission(number="REJECTED-1"), DUPLICATE_NUMBER),
        (submission(net="-1000.00", total="-870.00"), FIGURE_NEGATIVE),
        (submission(total="1130.01"), DOES_NOT_ADD_UP),
        (submission(net="1000.001", total="1130.001"), FIGURE_BAD),
        (submission(net="NaN"), FIGURE_BAD),
        (submission(net="99999999999.00", total="99999999999.00", tax="0.00"), FIGURE_BAD),
    ],
)
def test_bad_invoices_are_refused(input: SubmitInvoiceInput, message: str) -> None:
    assert refusal(state(StatementStatus.CONFIRMED, "REJECTED-1"), input) == message
