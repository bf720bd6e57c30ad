"""supplychain.rules.forecast: exponential smoothing of daily demand, with a weekly season."""

from __future__ import annotations

import random
import warnings

import pytest

from supplychain.rules.forecast import (
    MIN_HISTORY_DAYS,
    SEASONAL_HISTORY_DAYS,
    ForecastMethod,
    forecast,
)

WEEK = [10, 10, 10, 10, 12, 30, 30]  # Monday .. Sunday: a weekend peak


def noisy_weeks(weeks: int, seed: int = 1) -> list[int]:
    rng = random.Random(seed)
    return [max(0, q + rng.randint(-1, 1)) for _ in range(weeks) for q in WEEK]


def test_short_history_gives_no_forecast() -> None:
    assert forecast([5] * (MIN_HISTORY_DAYS - 1)) is None
    assert forecast([]) is None


def test_constant_series_forecasts_the_constant() -> None:
    for days in (MIN_HISTORY_DAYS, SEASONAL_HISTORY_DAYS, 60):
        result = forecast([7] * days, horizon=5)
        assert result is not None
        assert result.values == (7.0,) * 5  # the fit's 6.9999... rounds to 7.00
        assert result.fitted == pytest.approx((7.0,) * days, abs=0.01)


def test_steady_noisy_demand_forecasts_about_its_level() -> None:
    rng = random.Random(3)
    history = [20 + rng.randint(-2, 2) for _ in range(21)]  # 3 weeks: simple smoothing
    result = forecast(history, horizon=3)
    assert result is not None and result.method == ForecastMethod.SIMPLE
    assert all(18 <= value <= 22 for value in result.values)
    assert len(result.fitted) == 21


def test_weekly_pattern_is_followed() -> None:
    history = noisy_weeks(6)  # 42 days, starting on a Monday
    result = forecast(history, horizon=7)
    assert result is not None and result.method == ForecastMethod.WEEKLY_SEASONAL
    # The next 7 days are Monday .. Sunday again: each within 2 units of the pattern.
    for predicted, expected in zip(result.values, WEEK, strict=True):
        assert predicted == pytest.approx(expected, abs=2)
    # The fitted values track the actuals once the season is learnt (the last two weeks).
    for fitted, actual in zip(result.fitted[-14:], history[-14:], strict=True):
        assert fitted == pytest.approx(actual, abs=3)


def test_weekly_pattern_needs_four_full_weeks() -> None:
    short = forecast(noisy_weeks(4)[:-1], horizon=7)
    assert short is not None and short.method == ForecastMethod.SIMPLE
    full = forecast(noisy_weeks(4), horizon=7)
    assert full is not None and full.method == ForecastMethod.WEEKLY_SEASONAL


def test_forecast_is_never_negative_and_has_two_places() -> None:
    history = [0] * 20 + [50, 0, 0, 0, 0, 0, 0, 0, 1, 0]
    result = forecast(history, horizon=10)
    assert result is not None
    assert all(v >= 0 and round(v, 2) == v for v in result.values + result.fitted)


def test_fitting_prints_no_warnings() -> None:
    # Awkward series (almost all zeros, alternating extremes): a guard for statsmodels versions
    # that warn on them (0.15 fits these quietly; the function catches what others may raise).
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning escaping the function fails the test
        forecast([0] * 27 + [3], horizon=7)
        forecast(noisy_weeks(5, seed=9), horizon=7)
        forecast([0, 100] * 10, horizon=7)


@pytest.mark.parametrize(
    ("history", "horizon"),
    [([1] * 20, 0), ([1, -1] * 10, 7), ([float("nan")] * 20, 7), ([float("inf")] * 20, 7)],
)
def test_bad_input_is_refused(history: list[float], horizon: int) -> None:
    with pytest.raises(ValueError):
        forecast(history, horizon)
