"""Small server-side SVG charts for the admin pages: no JavaScript, no third-party code, CSP-safe.

Every piece of text that reaches the SVG (title, axis labels, tooltips) goes through
html.escape, because labels may come from shop data; the result is returned as Markup so
Jinja inserts it as is.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

from plugin.errors import ChartError

WIDTH, HEIGHT = 640, 220
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 64, 16, 28, 36


@dataclass(frozen=True)
class Point:
    """One day's value: label is the x-axis text (a date), value a number >= 0, or None for a
    day with nothing to measure (a rate without a denominator): drawn as a gap, not as 0."""

    label: str
    value: float | None


def _fmt(value: float) -> str:
    return f"{value:.1f}"


def _nice_ceiling(value: float) -> float:
    """The smallest 1, 2, 4, 5 or 10 times a power of ten at or above `value`, so the axis's
    top and middle read as round numbers (a top of 3.2 clicks becomes 4, middle 2)."""
    power = 10.0 ** math.floor(math.log10(value))
    for step in (1.0, 2.0, 4.0, 5.0, 10.0):
        if value <= step * power * (1 + 1e-9):
            return step * power
    return 10.0 * power


def daily_chart(
    points: Sequence[Point],
    title: str,
    value_format: Callable[[float], str] = lambda v: f"{v:,.2f}",
    kind: str = "line",
    chart_id: str = "",
) -> Markup:
    """An SVG line or bar chart of daily values, with min/max gridlines and a few date labels.

    Args:
        points: the days in order; an empty list draws an empty frame saying "no data".
        title: the chart's caption (escaped).
        value_format: how a value is written on the y axis and in tooltips.
        kind: 'line' or 'bar'.
        chart_id: an id attribute for tests and links (escaped).
    """
    if kind not in ("line", "bar"):
        raise ChartError(f"kind must be 'line' or 'bar', got {kind!r}")
    plot_w = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    plot_h = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    highest = max((p.value for p in points if p.value is not None), default=0.0)
    # Nothing above zero: one baseline and a sentence, not a 0/0/1 axis over an empty plot.
    empty = highest <= 0
    top = _nice_ceiling(highest) if not empty else 1.0
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" '
        f'role="img" aria-label="{escape(title)}" class="chart"'
        + (f' id="{escape(chart_id)}"' if chart_id else "")
        + ">",
        f"<title>{escape(title)}</title>",
        f'<text x="{MARGIN_LEFT}" y="18" font-size="13" font-weight="600">{escape(title)}</text>',
    ]
    base_y = MARGIN_TOP + plot_h
    for value in (0.0,) if empty else (0.0, top / 2, top):
        line_y = base_y - plot_h * value / top
        parts.append(
            f'<line x1="{MARGIN_LEFT}" x2="{WIDTH - MARGIN_RIGHT}" y1="{_fmt(line_y)}" '
            f'y2="{_fmt(line_y)}" stroke="#ddd" stroke-width="1"/>'
            f'<text x="{MARGIN_LEFT - 6}" y="{_fmt(line_y + 4)}" font-size="11" text-anchor="end">'
            f"{escape(value_format(value))}</text>"
        )
    if empty:
        message = "no data in this range" if not points else "none yet in this range"
        parts.append(
            f'<text x="{MARGIN_LEFT + plot_w / 2}" y="{MARGIN_TOP + plot_h / 2}" '
            f'font-size="13" text-anchor="middle" fill="#777">{message}</text></svg>'
        )
        return Markup("".join(parts))
    step = plot_w / len(points)
    xs = [MARGIN_LEFT + step * (i + 0.5) for i in range(len(points))]
    ys = [None if p.value is None else base_y - plot_h * p.value / top for p in points]
    if kind == "line":
        for run in _runs(xs, ys):
            path = " ".join(f"{_fmt(x)},{_fmt(y)}" for x, y in run)
            parts.append(
                f'<polyline points="{path}" fill="none" stroke="#2a6fdb" stroke-width="2"/>'
            )
    for point, x, y in zip(points, xs, ys, strict=True):
        if point.value is None or y is None:
            continue
        tip = f"<title>{escape(point.label)}: {escape(value_format(point.value))}</title>"
        if kind == "bar":
            width = max(step * 0.8, 1.0)
            parts.append(
                f'<rect x="{_fmt(x - width / 2)}" y="{_fmt(y)}" width="{_fmt(width)}" '
                f'height="{_fmt(base_y - y)}" fill="#2a9d6f">{tip}</rect>'
            )
        else:
            parts.append(
                f'<circle cx="{_fmt(x)}" cy="{_fmt(y)}" r="2.5" fill="#2a6fdb">{tip}</circle>'
            )
    last = len(points) - 1
    for index in sorted({0, last // 2, last}):
        # the end labels hang inwards so they are not cut off at the frame
        anchor = "start" if index == 0 and last else "end" if index == last and last else "middle"
        x = (
            MARGIN_LEFT
            if anchor == "start"
            else WIDTH - MARGIN_RIGHT
            if anchor == "end"
            else xs[index]
        )
        parts.append(
            f'<text x="{_fmt(x)}" y="{HEIGHT - 12}" font-size="11" text-anchor="{anchor}">'
            f"{escape(points[index].label)}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def _runs(xs: Sequence[float], ys: Sequence[float | None]) -> list[list[tuple[float, float]]]:
    """The stretches of consecutive days that have a value (a line is broken at gaps)."""
    runs: list[list[tuple[float, float]]] = [[]]
    for x, y in zip(xs, ys, strict=True):
        if y is None:
            if runs[-1]:
                runs.append([])
            continue
        runs[-1].append((x, y))
    return [run for run in runs if run]


SPLIT_COLOURS = ("#9ca3af", "#2a6fdb", "#2a9d6f", "#d97706", "#9333ea", "#db2777", "#0891b2")
SPLIT_ROW, SPLIT_LABEL_W = 22, 150


def split_chart(
    periods: Sequence[tuple[str, Mapping[str, float]]], title: str, chart_id: str = ""
) -> Markup:
    """An SVG of how traffic was split over time: one 100% bar per period (oldest on top),
    a segment per arm in the same colour on every bar, and a legend.

    Args:
        periods: (when the split took effect, arm -> share of all traffic), oldest first;
            the arms of the first period name the colours.
        title: the chart's caption (escaped, as are the arms' names and the period labels).
        chart_id: an id attribute for tests and links (escaped).
    """
    arms = list(periods[0][1]) if periods else []
    colour = {arm: SPLIT_COLOURS[i % len(SPLIT_COLOURS)] for i, arm in enumerate(arms)}
    plot_w = WIDTH - SPLIT_LABEL_W - MARGIN_RIGHT
    legend_y = MARGIN_TOP + SPLIT_ROW * len(periods) + 16
    height = legend_y + 20
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'width="{WIDTH}" height="{height}" role="img" aria-label="{escape(title)}" class="chart"'
        + (f' id="{escape(chart_id)}"' if chart_id else "")
        + ">",
        f"<title>{escape(title)}</title>",
        f"<desc>{escape(_split_summary(periods))}</desc>",
        f'<text x="0" y="18" font-size="13" font-weight="600">{escape(title)}</text>',
    ]
    for row, (label, shares) in enumerate(periods):
        y = MARGIN_TOP + SPLIT_ROW * row
        parts.append(
            f'<text x="{SPLIT_LABEL_W - 8}" y="{_fmt(y + 14)}" font-size="11" '
            f'text-anchor="end">{escape(label)}</text>'
        )
        x = float(SPLIT_LABEL_W)
        for arm in arms:
            share = max(0.0, float(shares.get(arm, 0.0)))
            width = plot_w * share
            tip = f"{escape(arm)}: {100 * share:.1f}%"
            parts.append(
                f'<rect x="{_fmt(x)}" y="{_fmt(y + 2)}" width="{_fmt(width)}" height="16" '
                f'fill="{colour[arm]}" data-arm="{escape(arm)}" data-share="{share:.4f}">'
                f"<title>{tip}</title></rect>"
            )
            x += width
    x = float(SPLIT_LABEL_W)
    for arm in arms:
        parts.append(
            f'<rect x="{_fmt(x)}" y="{legend_y - 10}" width="10" height="10" fill="{colour[arm]}"/>'
            f'<text x="{_fmt(x + 14)}" y="{legend_y}" font-size="11">{escape(arm)}</text>'
        )
        x += 14 + 7 * len(arm) + 18
    parts.append("</svg>")
    return Markup("".join(parts))


def _split_summary(periods: Sequence[tuple[str, Mapping[str, float]]]) -> str:
    """The chart in one sentence for a screen reader: how many splits and the latest one (the
    table under the chart has every figure)."""
    if not periods:
        return "No split yet."
    label, shares = periods[-1]
    latest = ", ".join(f"{arm} {100 * float(share):.1f}%" for arm, share in shares.items())
    count = "1 split" if len(periods) == 1 else f"{len(periods)} splits"
    return f"{count}; the latest, from {label}: {latest}."
