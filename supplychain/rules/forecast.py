"""A daily demand forecast by exponential smoothing (DESIGN 4.6), for the planning pages and review.

From a location's daily demand for a SKU (one figure per day, oldest first, days without a sale as
0):

- fewer than MIN_HISTORY_DAYS days: no forecast (None): two weeks is the least that says anything;
- at least SEASONAL_HISTORY_DAYS (4 full weeks): Holt-Winters with an additive weekly season
  (statsmodels `ExponentialSmoothing(seasonal="add", seasonal_periods=7)`, no trend: retail daily
  demand has a strong day-of-week pattern, and a fitted trend over a few weeks runs away);
  four weeks, not the two the method needs at least, so that each weekday's effect rests on a few
  observations rather than one or two;
- in between: simple exponential smoothing (a level only).

It returns the forecast for the next `horizon` days and the fitted (one-step-ahead) values over the
history, so a page can show the forecast against what was sold. Demand is never negative, so both
are clipped at 0; they are quantities, not money, so floats rounded to 2 places are fine.

statsmodels may warn while it fits (ConvergenceWarning on awkward series, numpy's divide warnings
from the optimiser; which inputs do depends on its version): those are caught here and never reach
the logs or the test output; the fit is judged by its result. The library (numpy, scipy,
pandas) is heavy and not deterministic across versions, so it is imported only when a forecast is
made and never from workflow code: an activity calls `forecast`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

MIN_HISTORY_DAYS = 14
SEASON_DAYS = 7
SEASONAL_HISTORY_DAYS = 4 * SEASON_DAYS
DEFAULT_HORIZON_DAYS = 14
PLACES = 2


class ForecastMethod(StrEnum):
    WEEKLY_SEASONAL = "weekly_seasonal"  # Holt-Winters, additive weekly season
    SIMPLE = "simple"  # simple exponential smoothing


@dataclass(frozen=True)
class Forecast:
    method: ForecastMethod
    history_days: int
    values: tuple[float, ...]  # the next `horizon` days, day 1 first
    fitted: tuple[float, ...]  # one per history day, aligned with the history


def forecast(daily_demand: Sequence[int | float], horizon: int = DEFAULT_HORIZON_DAYS) -> Forecast | None:
    """The next `horizon` days' demand, or None when there is not enough history."""
    if horizon < 1:
        raise ValueError(f"forecast horizon {horizon} must be at least 1 day")
    history = [float(quantity) for quantity in daily_demand]
    if not all(math.isfinite(quantity) and quantity >= 0 for quantity in history):
        raise ValueError("daily demand must be numbers >= 0")
    if len(history) < MIN_HISTORY_DAYS:
        return None
    method = (
        ForecastMethod.WEEKLY_SEASONAL if len(history) >= SEASONAL_HISTORY_DAYS else ForecastMethod.SIMPLE
    )
    values, fitted = _fit(history, horizon, method)
    return Forecast(method, len(history), _rounded(values), _rounded(fitted))


def _fit(
    history: list[float], horizon: int, method: ForecastMethod
) -> tuple[Sequence[float], Sequence[float]]:
    from statsmodels.tools.sm_exceptions import ConvergenceWarning
    from statsmodels.tsa.holtwinters import ExponentialSmoothing, SimpleExpSmoothing

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", RuntimeWarning)  # numpy's divide/overflow inside the optimiser
        warnings.simplefilter("ignore", UserWarning)  # statsmodels' ValueWarning and friends
        model: Any
        if method == ForecastMethod.WEEKLY_SEASONAL:
            model = ExponentialSmoothing(
                history,
                trend=None,
                seasonal="add",
                seasonal_periods=SEASON_DAYS,
                initialization_method="estimated",
            )
        else:
            model = SimpleExpSmoothing(history, initialization_method="estimated")
        result = model.fit()
        return list(result.forecast(horizon)), list(result.fittedvalues)


def _rounded(values: Sequence[float]) -> tuple[float, ...]:
    return tuple(round(max(0.0, float(value)), PLACES) for value in values)
