"""A bar chart drawn on the server as SVG geometry (no JavaScript library)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from babel.dates import format_date

WIDTH = 640
HEIGHT = 220
MARGIN_LEFT = 36
MARGIN_BOTTOM = 28
MARGIN_TOP = 12


@dataclass
class Bar:
    """One day's bar, with its label for the axis and the tooltip."""

    x: float
    y: float
    width: float
    height: float
    value: int
    label: str
    show_label: bool


@dataclass
class BarChart:
    """Geometry of the chart; the template draws it."""

    width: int
    height: int
    bars: list[Bar]
    ticks: list[tuple[float, int]]
    baseline: float
    left: float


def nice_max(value: int) -> int:
    """A round top for the scale (1, 2, 5 × 10^n)."""
    if value <= 5:
        return max(value, 1)
    magnitude = 10 ** (len(str(value)) - 1)
    for step in (1, 2, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return value


def bar_chart(series: list[tuple[date, int]]) -> BarChart:
    """Bars for (day, count) pairs, a y scale with ticks, about eight day labels."""
    top = nice_max(max((count for _, count in series), default=0))
    plot_width = WIDTH - MARGIN_LEFT - 8
    plot_height = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    baseline = HEIGHT - MARGIN_BOTTOM
    slot = plot_width / max(len(series), 1)
    every = max(1, -(-len(series) // 8))
    bars = []
    for index, (day, count) in enumerate(series):
        height = plot_height * count / top
        bars.append(
            Bar(
                x=round(MARGIN_LEFT + index * slot + slot * 0.15, 1),
                y=round(baseline - height, 1),
                width=round(max(slot * 0.7, 1), 1),
                height=round(height, 1),
                value=count,
                label=format_date(day, "d MMM", locale="fr_FR"),
                show_label=index % every == 0,
            )
        )
    fractions = (0, 0.5, 1) if top % 2 == 0 else (0, 1)
    ticks = [
        (round(baseline - plot_height * fraction, 1), round(top * fraction))
        for fraction in fractions
    ]
    return BarChart(WIDTH, HEIGHT, bars, ticks, baseline, MARGIN_LEFT)
