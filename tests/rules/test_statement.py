"""Pure statement rules: periods per cycle, line amounts, totals per VAT rate, and the checks behind
confirm, dispute_line and resolve_dispute."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from supplychain.models.settlement import DisputeResolution, StatementCycle, StatementStatus
from supplychain.rules.refusal import Refused
from supplychain.rules.statement import (
    ConfirmStatementInput,
    DisputeLineInput,
    Period,
    ResolveDisputeInput,
    StatementLineState,
    StatementState,
    amounts_from_net,
    check_confirm,
    check_dispute_line,
    check_resolve_dispute,
    last_complete_period,
    resolved_net,
    statement_line_amounts,
    totals_by_rate,
)


@pytest.mark.parametrize(
    ("cycle", "today", "period"),
    [
        (StatementCycle.MONTHLY, date(2026, 3, 1), Period(date(2026, 2, 1), date(2026, 2, 28))),
        (StatementCycle.MONTHLY, date(2026, 1, 17), Period(date(2025, 12, 1), date(2025, 12, 31))),
        (StatementCycle.SEMI_MONTHLY, date(2026, 3, 16), Period(date(2026, 3, 1), date(2026, 3, 15))),
        (StatementCycle.SEMI_MONTHLY, date(2026, 3, 1), Period(date(2026, 2, 16), date(2026, 2, 28))),
        (StatementCycle.SEMI_MONTHLY, date(2024, 3, 2), Period(date(2024, 2, 16), date(2024, 2, 29))),
        (StatementCycle.WEEKLY, date(2026, 12, 7), Period(date(2026, 11, 30), date(2026, 12, 6))),  # a Monday
        (
            StatementCycle.WEEKLY,
            date(2026, 12, 6),
            Period(date(2026, 11, 23), date(2026, 11, 29)),
        ),  # a Sunday
    ],
)
def test_the_last_complete_period_of_each_cycle(cycle: StatementCycle, today: date, period: Period) -> None:
    assert last_complete_period(cycle, today) == period


def test_line_amounts_round_half_up_per_line_and_totals_add_up_exactly_per_rate() -> None:
    amounts = statement_line_amounts(3, Decimal("0.3350"), Decimal("0.13"))  # 1.005 -> 1.01; 0.1313 -> 0.13
    assert (amounts.net, amounts.tax, amounts.total) == (Decimal("1.01"), Decimal("0.13"), Decimal("1.14"))
    assert amounts_from_net(Decimal("-10.05"), Decimal("0.13")).tax == Decimal("-1.31")
    rates = totals_by_rate(
        [
            (Decimal("0.1300"), Decimal("1.01"), Decimal("0.13")),
            (Decimal("0.06"), Decimal("7.00"), Decimal("0.42")),
            (Decimal("0.13"), Decimal("-0.02"), Decimal("0.00")),
        ]
    )
    assert [(r.tax_rate, r.net, r.tax, r.total) for r in rates] == [
        (Decimal("0.06"), Decimal("7.00"), Decimal("0.42"), Decimal("7.42")),
        (Decimal("0.13"), Decimal("0.99"), Decimal("0.13"), Decimal("1.12")),
    ]


def _state(status: StatementStatus = StatementStatus.AWAITING_CONFIRMATION) -> StatementState:
    return StatementState(
        number="ST-2026-000001",
        status=status,
        recorded=True,
        lines=[
            StatementLineState(line_id=1, line_no=1, tax_rate=Decimal("0.13"), net_amount=Decimal("100.00")),
            StatementLineState(
                line_id=2, line_no=2, tax_rate=Decimal("0.13"), net_amount=Decimal("-20.00"), deduction=True
            ),
        ],
    )


def _refused(check: object, *args: object) -> str:
    with pytest.raises(Refused) as refused:
        check(*args)  # type: ignore[operator]
    return refused.value.message_id


@pytest.mark.parametrize(
    ("figure", "reason", "message"),
    [
        (Decimal("-1"), "too much", "Enter the amount as a positive number"),
        (Decimal("1.005"), "too much", "Enter an amount with at most 2 decimals"),
        (Decimal("NaN"), "too much", "Enter an amount with at most 2 decimals"),
        (Decimal("1e12"), "too much", "Enter an amount with at most 2 decimals"),
        (Decimal("90"), "  ", "Give a reason"),
        (Decimal("100.00"), "same", "Your figure is the same as ours"),
    ],
)
def test_a_dispute_with_bad_input_is_refused(figure: Decimal, reason: str, message: str) -> None:
    refused = _refused(check_dispute_line, _state(), DisputeLineInput(1, 1, reason, figure))
    assert refused.startswith(message)


def test_a_confirmed_statement_refuses_disputes_and_a_second_confirmation() -> None:
    state = _state(StatementStatus.CONFIRMED)
    assert _refused(check_confirm, state, ConfirmStatementInput(1)).startswith(
        "This statement is already confirmed"
    )
    dispute = DisputeLineInput(1, 1, "wrong", Decimal("90"))
    assert _refused(check_dispute_line, state, dispute).startswith("This statement is already confirmed")


def test_confirmation_waits_for_open_disputes_and_one_open_dispute_per_line() -> None:
    state = _state(StatementStatus.DISPUTED)
    state.lines[0].dispute_open = True
    state.lines[0].supplier_net_amount = Decimal("90.00")
    assert _refused(check_confirm, state, ConfirmStatementInput(1)).startswith(
        "This statement cannot be confirmed"
    )
    again = DisputeLineInput(1, 1, "still wrong", Decimal("80"))
    assert _refused(check_dispute_line, state, again).startswith("Line %(line)s is already disputed")
    check_dispute_line(state, DisputeLineInput(1, 2, "deduction too high", Decimal("10")))


def test_resolutions_and_their_figures() -> None:
    state = _state(StatementStatus.DISPUTED)
    line = state.lines[1]
    line.dispute_open, line.supplier_net_amount = True, Decimal("-10.00")
    keep = ResolveDisputeInput(2, 2, DisputeResolution.KEPT_OURS)
    assert _refused(check_resolve_dispute, state, keep).startswith("Give a comment")
    adjust = ResolveDisputeInput(2, 2, DisputeResolution.ADJUSTED, adjusted_net_amount=Decimal("-5"))
    assert _refused(check_resolve_dispute, state, adjust).startswith("Enter the amount as a positive number")
    nothing = ResolveDisputeInput(2, 1, DisputeResolution.ACCEPTED_SUPPLIER)
    assert _refused(check_resolve_dispute, state, nothing).startswith("Line %(line)s has no open dispute")
    accept = ResolveDisputeInput(2, 2, DisputeResolution.ACCEPTED_SUPPLIER)
    assert resolved_net(line, accept) == Decimal("-10.00")
    adjusted = ResolveDisputeInput(2, 2, DisputeResolution.ADJUSTED, adjusted_net_amount=Decimal("15.00"))
    assert resolved_net(line, adjusted) == Decimal("-15.00")  # a deduction stays a deduction
    assert resolved_net(line, ResolveDisputeInput(2, 2, DisputeResolution.KEPT_OURS, "as agreed")) == Decimal(
        "-20.00"
    )


def test_nothing_can_be_done_before_the_statement_is_recorded() -> None:
    state = StatementState()
    assert _refused(check_confirm, state, ConfirmStatementInput(1)).startswith(
        "This statement is still being"
    )
    state.no_source_lines = True
    assert _refused(check_confirm, state, ConfirmStatementInput(1)).startswith("There was nothing")
