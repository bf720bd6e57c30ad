"""supplychain.rules.due_dates: T+N on the Chinese calendar, provisional past what it knows.

The calendars are built from the real libraries (chinese_calendar 1.11 knows 2004-2026; holidays
knows CN public holidays by rule). The 2026 dates, from chinese_calendar:
- Spring Festival: off Sun Feb 15 - Mon Feb 23; make-up workdays Sat Feb 14 and Sat Feb 28.
- National Day: off Thu Oct 1 - Wed Oct 7; make-up workday Sat Oct 10 (and Sun Sep 20).
- holidays' 2027: Jan 1 (Fri) New Year; Feb 5-10 Spring Festival; no make-up workdays.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from supplychain.rules.due_dates import (
    DueDate,
    DueDateMode,
    WorkingCalendar,
    build_calendar,
    calendar_range,
    due_date,
)
from supplychain.temporal import DATA_CONVERTER

CAL, WORK = DueDateMode.CALENDAR_DAYS, DueDateMode.WORKING_DAYS


def due(t: date, days: int, mode: DueDateMode, **calendar_args: object) -> DueDate:
    start, end = calendar_range(t, days)
    return due_date(t, days, mode, build_calendar(start, end, **calendar_args))


def test_the_library_knows_the_2026_days_these_tests_rely_on() -> None:
    calendar = build_calendar(date(2026, 2, 1), date(2026, 10, 31))
    assert calendar.is_working_day(date(2026, 2, 14))  # Saturday, make-up
    assert not calendar.is_working_day(date(2026, 2, 16))
    assert calendar.is_working_day(date(2026, 2, 28))  # Saturday, make-up
    assert not calendar.is_working_day(date(2026, 10, 5))
    assert calendar.is_working_day(date(2026, 10, 10))  # Saturday, make-up
    assert calendar.provisional_days == ()


# --- National Day 2026 ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("t", "mode", "expected"),
    [
        # Mon Sep 28 + 7 = Mon Oct 5, a holiday -> Thu Oct 8
        (date(2026, 9, 28), CAL, date(2026, 10, 8)),
        # Sep 29, Sep 30, Oct 8, Oct 9, Sat Oct 10 (make-up), Oct 12, Oct 13
        (date(2026, 9, 28), WORK, date(2026, 10, 13)),
        # Wed Sep 30 + 7 = Wed Oct 7, the last day off -> Thu Oct 8
        (date(2026, 9, 30), CAL, date(2026, 10, 8)),
        # Oct 8, Oct 9, Oct 10 (make-up), Oct 12, 13, 14, 15
        (date(2026, 9, 30), WORK, date(2026, 10, 15)),
        # Fri Oct 2 (T itself a holiday) + 7 = Fri Oct 9, a working day
        (date(2026, 10, 2), CAL, date(2026, 10, 9)),
        # Thu Oct 3 + 7 = Sat Oct 10, a make-up workday: due that Saturday, not moved
        (date(2026, 10, 3), CAL, date(2026, 10, 10)),
    ],
)
def test_a_statement_matched_just_before_national_day(t: date, mode: DueDateMode, expected: date) -> None:
    assert due(t, 7, mode) == DueDate(expected, provisional=False)


# --- Spring Festival 2026 -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("t", "mode", "expected"),
    [
        # Thu Feb 12 + 7 = Thu Feb 19, off -> Tue Feb 24
        (date(2026, 2, 12), CAL, date(2026, 2, 24)),
        # Fri Feb 13, Sat Feb 14 (make-up), Feb 24, 25, 26, 27, Sat Feb 28 (make-up)
        (date(2026, 2, 12), WORK, date(2026, 2, 28)),
        # Sat Feb 7 + 7 = Sat Feb 14, a make-up workday: not moved
        (date(2026, 2, 7), CAL, date(2026, 2, 14)),
        # Fri Feb 13 + 7 = Fri Feb 20, off -> Tue Feb 24
        (date(2026, 2, 13), CAL, date(2026, 2, 24)),
        # Sat Feb 14, Feb 24, 25, 26, 27, Sat Feb 28, Mon Mar 2
        (date(2026, 2, 13), WORK, date(2026, 3, 2)),
    ],
)
def test_a_statement_matched_just_before_spring_festival(t: date, mode: DueDateMode, expected: date) -> None:
    assert due(t, 7, mode) == DueDate(expected, provisional=False)


# --- an ordinary week -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("t", "days", "mode", "expected"),
    [
        (date(2026, 3, 6), 7, CAL, date(2026, 3, 13)),  # Fri -> Fri
        (date(2026, 3, 7), 7, CAL, date(2026, 3, 16)),  # Sat + 7 = Sat -> Mon
        (date(2026, 3, 8), 7, CAL, date(2026, 3, 16)),  # Sun + 7 = Sun -> Mon
        (date(2026, 3, 6), 7, WORK, date(2026, 3, 17)),  # Mar 9-13, 16, 17
        (date(2026, 3, 7), 1, WORK, date(2026, 3, 9)),  # T a Saturday: the next working day is the 1st
        (date(2026, 3, 9), 1, WORK, date(2026, 3, 10)),  # T never counts, even a working day
        (date(2026, 3, 9), 1, CAL, date(2026, 3, 10)),
        (date(2026, 3, 6), 30, CAL, date(2026, 4, 7)),  # Sun Apr 5 Qingming, Mon Apr 6 off -> Tue Apr 7
    ],
)
def test_weekends_are_skipped(t: date, days: int, mode: DueDateMode, expected: date) -> None:
    assert due(t, days, mode) == DueDate(expected, provisional=False)


def test_the_mode_may_come_as_its_stored_text() -> None:
    calendar = build_calendar(*calendar_range(date(2026, 3, 6), 7))
    assert due_date(date(2026, 3, 6), 7, "working_days", calendar).date == date(2026, 3, 17)


# --- past what chinese_calendar knows: 2027 -------------------------------------------------------


def test_a_due_date_in_2027_uses_the_holidays_fallback_and_is_provisional() -> None:
    # Mon Dec 28 2026 + 7 = Mon Jan 4 2027: a weekday, not a CN holiday by `holidays`; a guess
    assert due(date(2026, 12, 28), 7, CAL) == DueDate(date(2027, 1, 4), provisional=True)
    # Dec 29, 30, 31 (2026, known); Fri Jan 1 2027 New Year's Day; Jan 4, 5, 6, 7
    assert due(date(2026, 12, 28), 7, WORK) == DueDate(date(2027, 1, 7), provisional=True)


def test_the_2027_spring_festival_comes_from_holidays() -> None:
    # Mon Feb 1 2027 + 7 = Mon Feb 8 (Spring Festival), Feb 9 and 10 off too -> Thu Feb 11
    assert due(date(2027, 2, 1), 7, CAL) == DueDate(date(2027, 2, 11), provisional=True)


def test_a_due_date_that_only_looks_at_known_days_is_not_provisional() -> None:
    # The calendar reaches into 2027, but Dec 10 + 7 = Thu Dec 17 2026 needs no 2027 day.
    calendar = build_calendar(*calendar_range(date(2026, 12, 10), 7))
    assert calendar.end.year == 2027 and calendar.provisional_years == (2027,)
    assert due_date(date(2026, 12, 10), 7, CAL, calendar) == DueDate(date(2026, 12, 17), provisional=False)


def test_an_override_makes_a_2027_day_a_holiday() -> None:
    overrides = {date(2027, 1, 4): False}
    assert due(date(2026, 12, 28), 7, CAL, overrides=overrides) == DueDate(date(2027, 1, 5), provisional=True)


def test_an_override_makes_a_2027_saturday_a_make_up_workday() -> None:
    overrides = {date(2027, 1, 2): True}
    # Dec 29, 30, 31, Sat Jan 2 (make-up by override), Jan 4, 5, 6
    assert due(date(2026, 12, 28), 7, WORK, overrides=overrides) == DueDate(
        date(2027, 1, 6), provisional=True
    )


def test_an_overridden_day_alone_is_not_a_guess() -> None:
    # Dec 31 2026 + 4 = Mon Jan 4 2027; overridden as a working day, it is official, not provisional.
    overrides = {date(2027, 1, 4): True}
    assert due(date(2026, 12, 31), 4, CAL, overrides=overrides) == DueDate(
        date(2027, 1, 4), provisional=False
    )


def test_a_year_the_admin_entered_in_full_is_not_provisional() -> None:
    overrides = {date(2027, 1, 2): True}
    assert due(date(2026, 12, 28), 7, WORK, overrides=overrides, official_years=[2027]) == DueDate(
        date(2027, 1, 6), provisional=False
    )


def test_overrides_win_over_chinese_calendar_too() -> None:
    # Suppose the State Council moved a day: Thu Oct 8 2026 declared off.
    overrides = {date(2026, 10, 8): False}
    assert due(date(2026, 9, 28), 7, CAL, overrides=overrides) == DueDate(
        date(2026, 10, 9), provisional=False
    )


def test_build_calendar_marks_each_day() -> None:
    calendar = build_calendar(date(2026, 12, 30), date(2027, 1, 4), overrides={date(2027, 1, 2): True})
    assert calendar.working_days == (
        date(2026, 12, 30),
        date(2026, 12, 31),
        date(2027, 1, 2),  # override
        date(2027, 1, 4),
    )
    assert calendar.provisional_days == (date(2027, 1, 1), date(2027, 1, 3), date(2027, 1, 4))
    assert calendar.provisional_years == (2027,)


# --- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize("days", [0, -7, 366, True, 7.0])
def test_terms_must_be_a_whole_number_of_days_from_1_to_365(days: int) -> None:
    calendar = build_calendar(date(2026, 3, 1), date(2026, 3, 31))
    with pytest.raises(ValueError, match="a whole number from 1 to 365"):
        due_date(date(2026, 3, 6), days, CAL, calendar)


def test_an_unknown_mode_is_refused() -> None:
    calendar = build_calendar(date(2026, 3, 1), date(2026, 3, 31))
    with pytest.raises(ValueError, match="business_days"):
        due_date(date(2026, 3, 6), 7, "business_days", calendar)


def test_a_calendar_too_short_is_refused_not_guessed() -> None:
    calendar = build_calendar(date(2026, 9, 28), date(2026, 10, 6))
    with pytest.raises(ValueError, match="ends on 2026-10-06, before the due date"):
        due_date(date(2026, 9, 28), 7, CAL, calendar)


def test_a_calendar_that_starts_after_t_is_refused() -> None:
    calendar = build_calendar(date(2026, 3, 10), date(2026, 3, 31))
    with pytest.raises(ValueError, match="starts on 2026-03-10, after T"):
        due_date(date(2026, 3, 6), 7, CAL, calendar)


def test_a_calendar_is_asked_only_about_its_days() -> None:
    calendar = build_calendar(date(2026, 3, 1), date(2026, 3, 31))
    with pytest.raises(ValueError, match="outside the working calendar"):
        calendar.is_working_day(date(2026, 4, 1))


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (date(2026, 3, 2), date(2026, 3, 1), "ends .* before it starts"),
        (date(2026, 1, 1), date(2026, 1, 1) + timedelta(days=1000), "at most 1000 days"),
    ],
)
def test_build_calendar_refuses_a_bad_range(start: date, end: date, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build_calendar(start, end)


@pytest.mark.parametrize("days", [1, 7, 30, 90, 365])
def test_calendar_range_covers_the_longest_terms_over_spring_festival(days: int) -> None:
    t = date(2026, 2, 12)
    for mode in DueDateMode:
        due_date(t, days, mode, build_calendar(*calendar_range(t, days)))  # raises if too short


# --- what a workflow is handed --------------------------------------------------------------------


async def test_a_calendar_travels_through_temporals_converter_unchanged() -> None:
    calendar = build_calendar(date(2026, 12, 20), date(2027, 1, 10), overrides={date(2027, 1, 2): True})
    converter = DATA_CONVERTER  # the one every client and worker uses
    payloads = await converter.encode([calendar])
    (back,) = await converter.decode(payloads, [WorkingCalendar])
    assert back == calendar
    assert due_date(date(2026, 12, 28), 7, WORK, back) == due_date(date(2026, 12, 28), 7, WORK, calendar)


def test_importing_the_rules_does_not_load_the_calendar_libraries() -> None:
    import subprocess
    import sys

    code = (
        "import sys, supplychain.rules.due_dates;"
        "print('chinese_calendar' in sys.modules, 'holidays' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
