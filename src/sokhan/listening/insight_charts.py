"""Geometry of the insight page's server-side SVG charts: a line per topic and stacked sentiment
bars. Coordinates come out as strings (the template must not localise them), every point and bar
carries the link to its mentions, and in right-to-left pages time runs from right to left with the
value axis on the right, as Persian readers expect.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

WIDTH, HEIGHT = 720, 220
AXIS, PAD, BOTTOM = 44.0, 12.0, 28.0  # value-axis labels, the other side, time-axis labels
MAX_TIME_TICKS = 6


@dataclass(frozen=True)
class Mark:
    """A point (``x``, ``y``) or a bar (``x``, ``y``, ``width``, ``height``), with its link."""

    x: str
    y: str
    href: str
    title: str
    css: str
    width: str = ""
    height: str = ""


@dataclass(frozen=True)
class Line:
    name: str
    css: str
    points: str  # the polyline's "x,y x,y …"
    marks: list[Mark]


@dataclass(frozen=True)
class Tick:
    at: str  # x for time ticks, y for value ticks
    label: str


@dataclass
class Chart:
    width: int = WIDTH
    height: int = HEIGHT
    lines: list[Line] = field(default_factory=list)
    bars: list[Mark] = field(default_factory=list)
    time_ticks: list[Tick] = field(default_factory=list)
    value_ticks: list[Tick] = field(default_factory=list)
    value_label_x: str = ""
    time_label_y: str = ""
    value_label_anchor: str = "end"
    plot_left: str = ""
    plot_right: str = ""
    baseline_y: str = ""


@dataclass(frozen=True)
class Series:
    name: str
    css: str
    values: Sequence[int]
    hrefs: Sequence[str]


@dataclass(frozen=True)
class Segment:
    value: int
    css: str
    href: str
    name: str


def _num(value: float) -> str:
    return f"{value:.1f}"


def nice_max(value: int) -> int:
    """The top of the value axis: ``value`` rounded up to 1, 2 or 5 × a power of ten (at least 1)."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    return int(next(step * power for step in (1, 2, 5, 10) if step * power >= value))


class _Frame:
    def __init__(self, count: int, top_value: int, *, rtl: bool, bars: bool) -> None:
        self.left = PAD if rtl else AXIS
        self.right = WIDTH - (AXIS if rtl else PAD)
        self.top, self.bottom = PAD, HEIGHT - BOTTOM
        self.count, self.rtl, self.bars = count, rtl, bars
        self.top_value = nice_max(top_value)

    def x(self, index: int) -> float:
        """The centre of bucket ``index`` (first bucket on the left, or on the right in RTL)."""
        width = self.right - self.left
        if self.bars:
            offset = (index + 0.5) * width / self.count
        else:
            offset = index * width / (self.count - 1) if self.count > 1 else width / 2
        return self.right - offset if self.rtl else self.left + offset

    def y(self, value: float) -> float:
        return self.bottom - value / self.top_value * (self.bottom - self.top)

    def slot(self) -> float:
        return (self.right - self.left) / max(self.count, 1)


def _frame_ticks(chart: Chart, frame: _Frame, labels: Sequence[str], digits: Callable[[str], str]) -> None:
    step = max(1, math.ceil(len(labels) / MAX_TIME_TICKS))
    chart.time_ticks = [Tick(_num(frame.x(i)), labels[i]) for i in range(0, len(labels), step)]
    chart.value_ticks = [
        Tick(_num(frame.y(v)), digits(str(v))) for v in sorted({0, frame.top_value // 2, frame.top_value})
    ]
    chart.time_label_y = _num(HEIGHT - 8)
    chart.value_label_x = _num(frame.right + 6 if frame.rtl else frame.left - 6)
    chart.value_label_anchor = "start" if frame.rtl else "end"
    chart.plot_left, chart.plot_right, chart.baseline_y = _num(frame.left), _num(frame.right), _num(frame.bottom)


def line_chart(labels: Sequence[str], series: Sequence[Series], *, rtl: bool, digits: Callable[[str], str]) -> Chart:
    """One line per series over the buckets ``labels``, a linked dot per value."""
    chart = Chart()
    if not labels:
        return chart
    frame = _Frame(len(labels), max((max(s.values, default=0) for s in series), default=0), rtl=rtl, bars=False)
    for s in series:
        marks = [
            Mark(_num(frame.x(i)), _num(frame.y(v)), s.hrefs[i], f"{s.name} · {labels[i]} · {digits(str(v))}", s.css)
            for i, v in enumerate(s.values)
        ]
        chart.lines.append(Line(s.name, s.css, " ".join(f"{m.x},{m.y}" for m in marks), marks))
    _frame_ticks(chart, frame, labels, digits)
    return chart


def stacked_bars(
    labels: Sequence[str], stacks: Sequence[Sequence[Segment]], *, rtl: bool, digits: Callable[[str], str]
) -> Chart:
    """One bar per bucket, its segments stacked bottom up in the given order; empty ones are left out."""
    chart = Chart()
    if not labels:
        return chart
    frame = _Frame(len(labels), max((sum(s.value for s in stack) for stack in stacks), default=0), rtl=rtl, bars=True)
    width = max(frame.slot() * 0.7, 1.0)
    for i, stack in enumerate(stacks):
        below = 0
        for segment in stack:
            if not segment.value:
                continue
            top, bottom = frame.y(below + segment.value), frame.y(below)
            title = f"{segment.name} · {labels[i]} · {digits(str(segment.value))}"
            chart.bars.append(
                Mark(
                    _num(frame.x(i) - width / 2),
                    _num(top),
                    segment.href,
                    title,
                    segment.css,
                    width=_num(width),
                    height=_num(bottom - top),
                )
            )
            below += segment.value
    _frame_ticks(chart, frame, labels, digits)
    return chart
