"""Small charts drawn as inline SVG on the server (no JavaScript library, nothing the CSP must allow):
a SKU's daily demand as bars, the forecast's fitted values over them as a line, and the forecast's
next days as lighter bars after them."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup

from supplychain.rules.forecast import Forecast

WIDTH, HEIGHT, PAD = 640, 160, 4


def demand_chart(history: Sequence[int], predicted: Forecast | None) -> Markup:
    ahead = list(predicted.values) if predicted else []
    days = len(history) + len(ahead)
    if days == 0:
        return Markup("")
    top = max([*history, *ahead, *(predicted.fitted if predicted else ()), 1])
    step = (WIDTH - 2 * PAD) / days
    bar = max(step * 0.8, 1)

    def y(value: float) -> float:
        return HEIGHT - PAD - (HEIGHT - 2 * PAD) * value / top

    parts = [
        f'<svg class="demand-chart" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img" '
        f'preserveAspectRatio="none" data-testid="demand-chart">'
    ]
    for n, value in enumerate(history):
        parts.append(
            f'<rect class="actual" x="{PAD + n * step:.1f}" y="{y(value):.1f}" width="{bar:.1f}" '
            f'height="{HEIGHT - PAD - y(value):.1f}" fill="#4a78b5"></rect>'
        )
    for n, forecast_value in enumerate(ahead, len(history)):
        parts.append(
            f'<rect class="forecast" x="{PAD + n * step:.1f}" y="{y(forecast_value):.1f}" width="{bar:.1f}" '
            f'height="{HEIGHT - PAD - y(forecast_value):.1f}" fill="#f0a848"></rect>'
        )
    if predicted and predicted.fitted:
        points = " ".join(
            f"{PAD + (n + 0.4) * step:.1f},{y(fit):.1f}" for n, fit in enumerate(predicted.fitted)
        )
        line = 'fill="none" stroke="#c0392b" stroke-width="2"'
        parts.append(f'<polyline class="fitted" points="{points}" {line}></polyline>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (only our numbers and fixed markup)
