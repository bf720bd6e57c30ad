"""When a settled statement's payment is due (T+7 结算, DESIGN 4.5).

The rule (issue 12): T is the day the statement is confirmed and matched (day 0). The due date is

- `calendar_days` (the default): T + N calendar days (N = 7 by default, per supplier), moved to
  the next working day when it falls on a day off; or
- `working_days`, per supplier: the Nth working day after T (T itself never counts),

on the Chinese calendar with its make-up workdays (调休): a Saturday worked in exchange for a
holiday is a working day in both modes (banks work on it), so a due date may fall on it.

Where the calendar comes from (NOTES "Chinese business days"):
1. an admin-entered override (the State Council's official holidays and make-up workdays): wins;
2. `chinese_calendar`, for the years it knows (1.11: 2004-2026; later years raise
   NotImplementedError);
3. otherwise weekdays minus the `holidays` CN public holidays. `holidays` knows the holidays by rule
   but not the make-up workdays, so such a day is *provisional*, and a due date whose computation
   looked at a provisional day is provisional too: finance is told and the admin can enter the
   official days. A year the admin has entered completely (`official_years`) is not provisional.

Workflow code never calls those libraries (they read tables that change with a new release, and
workflow code must replay the same): an activity calls `build_calendar` and hands the workflow a
`WorkingCalendar`, a plain frozen dataclass of dates that Temporal carries as JSON; the workflow calls
the pure `due_date`. `calendar_range` says which dates the calendar must cover.

N is 1..365: T+0 would make the statement due the day it is matched, before anyone could pay it,
and more than a year is a typing error, not payment terms.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property

DEFAULT_DAYS = 7
MIN_DAYS, MAX_DAYS = 1, 365
MAX_CALENDAR_SPAN = 1000  # days one calendar may cover: enough for any term above, with slack
_ONE_DAY = dt.timedelta(days=1)


class DueDateMode(StrEnum):
    CALENDAR_DAYS = "calendar_days"  # 自然日, moved to the next working day
    WORKING_DAYS = "working_days"  # 工作日


@dataclass(frozen=True)
class WorkingCalendar:
    """Which days from `start` to `end` (both included) are working days, and which are guesses."""

    start: dt.date
    end: dt.date
    working_days: tuple[dt.date, ...]  # sorted
    provisional_days: tuple[dt.date, ...]  # sorted: days whose status is the fallback's guess

    def is_working_day(self, day: dt.date) -> bool:
        self._require_covers(day)
        return day in self._working

    def is_provisional(self, day: dt.date) -> bool:
        self._require_covers(day)
        return day in self._provisional

    @property
    def provisional_years(self) -> tuple[int, ...]:
        """The years finance should be told about: their make-up workdays are not known yet."""
        return tuple(sorted({day.year for day in self.provisional_days}))

    def _require_covers(self, day: dt.date) -> None:
        if not self.start <= day <= self.end:
            raise ValueError(f"{day} is outside the working calendar ({self.start} to {self.end})")

    @cached_property
    def _working(self) -> frozenset[dt.date]:
        return frozenset(self.working_days)

    @cached_property
    def _provisional(self) -> frozenset[dt.date]:
        return frozenset(self.provisional_days)


@dataclass(frozen=True)
class DueDate:
    date: dt.date
    provisional: bool  # a day the computation looked at is only the fallback's guess


def due_date(t: dt.date, days: int, mode: DueDateMode | str, calendar: WorkingCalendar) -> DueDate:
    """The due date of a statement matched on `t`, `days` (1..365) days on in `mode`.

    Raises ValueError for a bad `days` or `mode`, or a calendar that does not cover the days needed
    (build it over `calendar_range(t, days)`).
    """
    _check_days(days)
    mode = DueDateMode(mode)
    if t < calendar.start:
        raise ValueError(f"the working calendar starts on {calendar.start}, after T = {t}")
    looked_at: list[dt.date] = []
    if mode == DueDateMode.CALENDAR_DAYS:
        day = t + dt.timedelta(days=days)
        while not _working(calendar, day, looked_at):
            day += _ONE_DAY
    else:
        day, counted = t, 0
        while counted < days:
            day += _ONE_DAY
            if _working(calendar, day, looked_at):
                counted += 1
    return DueDate(day, any(calendar.is_provisional(seen) for seen in looked_at))


def calendar_range(t: dt.date, days: int) -> tuple[dt.date, dt.date]:
    """The dates a calendar must cover for `due_date(t, days, either mode, ...)`.

    Generous: N working days take at most 7/5 N calendar days plus the holidays in between (the
    longest run off, Spring Festival with its weekends, is 9 days; a year has about 16 holidays).
    """
    _check_days(days)
    return t, t + dt.timedelta(days=2 * days + 30)


def build_calendar(
    start: dt.date,
    end: dt.date,
    overrides: Mapping[dt.date, bool] | None = None,
    official_years: Iterable[int] = (),
) -> WorkingCalendar:
    """The working calendar from `start` to `end`: overrides, else `chinese_calendar`, else the fallback.

    `overrides` maps a date to whether it is a working day (admin-entered, official); they win.
    `official_years`: years whose official days the admin has entered in full, so the fallback's
    other days in them are not provisional. Not pure (reads the libraries' tables): call it from an
    activity.
    """
    if end < start:
        raise ValueError(f"the calendar ends ({end}) before it starts ({start})")
    if (end - start).days >= MAX_CALENDAR_SPAN:
        raise ValueError(f"a working calendar covers at most {MAX_CALENDAR_SPAN} days")
    # Imported here so that importing this module (as workflows do) never loads the libraries.
    import chinese_calendar
    import holidays

    overrides = overrides or {}
    official = frozenset(official_years)
    fallback_holidays = holidays.country_holidays("CN", years=range(start.year, end.year + 1))
    working: list[dt.date] = []
    provisional: list[dt.date] = []
    day = start
    while day <= end:
        if day in overrides:
            is_working = overrides[day]
        else:
            try:
                is_working = bool(chinese_calendar.is_workday(day))
            except NotImplementedError:  # a year the library does not cover
                is_working = day.weekday() < 5 and day not in fallback_holidays
                if day.year not in official:
                    provisional.append(day)
        if is_working:
            working.append(day)
        day += _ONE_DAY
    return WorkingCalendar(start, end, tuple(working), tuple(provisional))


def _working(calendar: WorkingCalendar, day: dt.date, looked_at: list[dt.date]) -> bool:
    if day > calendar.end:
        raise ValueError(f"the working calendar ends on {calendar.end}, before the due date is reached")
    looked_at.append(day)
    return calendar.is_working_day(day)


def _check_days(days: int) -> None:
    if isinstance(days, bool) or not isinstance(days, int) or not MIN_DAYS <= days <= MAX_DAYS:
        raise ValueError(f"payment terms of {days!r} days: a whole number from {MIN_DAYS} to {MAX_DAYS}")
