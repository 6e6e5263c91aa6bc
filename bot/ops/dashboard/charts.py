"""The geometry of the dashboard's charts: numbers in, coordinates out; the templates draw them as SVG.

Three small charts (two line charts and stacked bars over twelve weeks) do not need a chart library:
each one's title, description and table of numbers for screen readers are ours anyway, and the
geometry is a scale per axis.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 14, 34


@dataclass(frozen=True)
class Dot:
    x: float
    y: float
    label: str


@dataclass(frozen=True)
class Line:
    name: str
    css: str
    segments: Sequence[str]          # SVG polyline points; a week without a value breaks the line
    dots: Sequence[Dot]


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    css: str
    label: str


@dataclass(frozen=True)
class Tick:
    at: float
    text: str


@dataclass(frozen=True)
class Chart:
    id: str
    title: str
    description: str
    x_ticks: Sequence[Tick]
    y_ticks: Sequence[Tick]
    lines: Sequence[Line]
    bars: Sequence[Bar]
    legend: Sequence[tuple[str, str]]          # (css class, name)
    table_head: Sequence[str]
    table_rows: Sequence[Sequence[str]]
    width: int = WIDTH
    height: int = HEIGHT
    plot_left: int = LEFT
    plot_right: int = WIDTH - RIGHT
    plot_top: int = TOP
    plot_bottom: int = HEIGHT - BOTTOM


def _x(index: int, count: int) -> float:
    span = WIDTH - LEFT - RIGHT
    return LEFT + span * (index + 0.5) / max(count, 1)


def _y(value: float, top: float) -> float:
    span = HEIGHT - TOP - BOTTOM
    return HEIGHT - BOTTOM - span * (value / top if top else 0)


def nice_top(value: float) -> float:
    """A round upper end for an axis: 1, 2, 2.5 or 5 times a power of ten, at least ``value``."""
    if value <= 0:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power


def _x_ticks(labels: Sequence[str]) -> list[Tick]:
    return [Tick(_x(i, len(labels)), label.split("-")[-1]) for i, label in enumerate(labels)]


def line_chart(chart_id: str, title: str, description: str, labels: Sequence[str],
               series: Sequence[tuple[str, str, Sequence[float | None]]], top: float, unit: str,
               fmt: str = "{:.0f}") -> Chart:
    """``series``: (name, css class, one value or None per label). ``top``: the axis end."""
    lines = []
    for name, css, values in series:
        segments, current, dots = [], [], []
        for i, value in enumerate(values):
            if value is None:
                if current:
                    segments.append(" ".join(current))
                current = []
                continue
            x, y = _x(i, len(labels)), _y(value, top)
            current.append(f"{x:.1f},{y:.1f}")
            dots.append(Dot(x, y, f"{name}, {labels[i]}: {fmt.format(value)}{unit}"))
        if current:
            segments.append(" ".join(current))
        lines.append(Line(name, css, segments, dots))
    y_ticks = [Tick(_y(top * k / 4, top), f"{top * k / 4:g}{unit}") for k in range(5)]
    rows = [[label] + [("–" if values[i] is None else fmt.format(values[i]) + unit) for _, _, values in series]
            for i, label in enumerate(labels)]
    return Chart(chart_id, title, description, _x_ticks(labels), y_ticks, lines, [],
                 [(css, name) for name, css, _ in series], ["week", *(name for name, _, _ in series)], rows)


def stacked_bars(chart_id: str, title: str, description: str, labels: Sequence[str],
                 parts: Sequence[tuple[str, str, Sequence[int]]]) -> Chart:
    """``parts``: (name, css class, one count per label), stacked bottom to top in that order."""
    totals = [sum(values[i] for _, _, values in parts) for i in range(len(labels))]
    top = nice_top(max(totals, default=0) or 1)
    if top < 4:
        top = 4
    band = (WIDTH - LEFT - RIGHT) / max(len(labels), 1)
    bars = []
    for i, label in enumerate(labels):
        base = 0
        for name, css, values in parts:
            if values[i]:
                y_low, y_high = _y(base, top), _y(base + values[i], top)
                bars.append(Bar(_x(i, len(labels)) - band * 0.35, y_high, band * 0.7, y_low - y_high, css,
                                f"{label}: {values[i]} {name}"))
                base += values[i]
    step = top / 4
    y_ticks = [Tick(_y(step * k, top), f"{step * k:g}") for k in range(5)]
    rows = [[label, *(str(values[i]) for _, _, values in parts), str(totals[i])] for i, label in enumerate(labels)]
    return Chart(chart_id, title, description, _x_ticks(labels), y_ticks, [], bars,
                 [(css, name) for name, css, _ in parts], ["week", *(name for name, _, _ in parts), "total"], rows)
