"""Charts drawn on the server as SVG: no chart service, no script, nothing fetched.

Pure: numbers in, SVG markup out (labels escaped). The look comes from console.css classes
(`chart`, `series-a`, `bar`...), never from inline styles, which the Content-Security-Policy
forbids. A view passes the markup to its template with `mark_safe`.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from html import escape

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 14, 30


@dataclass(frozen=True)
class Series:
    """One line: points (x as a date or a number, y a number) and its legend."""

    label: str
    points: Sequence[tuple[date | float, float]]
    css_class: str = "series-a"


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    highlight: bool = False


def _x_number(x: date | float) -> float:
    return float(x.toordinal()) if isinstance(x, date) else float(x)


def _fmt(value: float) -> str:
    return f"{value:.0f}" if abs(value) >= 100 or value == int(value) else f"{value:.2f}"


def _scale(low: float, high: float, out_low: float,
           out_high: float) -> Callable[[float], float]:
    span = (high - low) or 1.0

    def scale(value: float) -> float:
        return out_low + (value - low) / span * (out_high - out_low)

    return scale


def line_chart(
    series: Sequence[Series], *, title: str, y_range: tuple[float, float] | None = None,
    x_labels: Sequence[tuple[date | float, str]] = (),
) -> str:
    """Lines over a shared x axis; `y_range` fixes the axis (a rating is 0-5 whatever the
    data). An empty chart says so instead of drawing nothing."""
    points = [p for s in series for p in s.points]
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    if not points:
        parts.append(f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle">'
                     f"{escape(title)}: -</text></svg>")
        return "".join(parts)
    xs = [_x_number(x) for x, _ in points]
    ys = [y for _, y in points]
    y_low, y_high = y_range if y_range is not None else (min(0.0, *ys), max(ys))
    x_of = _scale(min(xs), max(xs), LEFT, WIDTH - RIGHT)
    y_of = _scale(y_low, y_high, HEIGHT - BOTTOM, TOP)
    for step in range(5):
        value = y_low + (y_high - y_low) * step / 4
        y = y_of(value)
        parts.append(f'<line class="grid" x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" '
                     f'y2="{y:.1f}"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
                     f"{_fmt(value)}</text>")
    parts.append(f'<line class="axis" x1="{LEFT}" y1="{HEIGHT - BOTTOM}" x2="{WIDTH - RIGHT}" '
                 f'y2="{HEIGHT - BOTTOM}"/>')
    for x, label in x_labels:
        parts.append(f'<text x="{x_of(_x_number(x)):.1f}" y="{HEIGHT - 10}" '
                     f'text-anchor="middle">{escape(label)}</text>')
    for index, line in enumerate(series):
        if not line.points:
            continue
        coordinates = " ".join(
            f"{x_of(_x_number(x)):.1f},{y_of(y):.1f}" for x, y in line.points
        )
        parts.append(f'<polyline class="{escape(line.css_class)}" points="{coordinates}"/>')
        legend_y = TOP + 4 + 14 * index
        parts.append(f'<text x="{WIDTH - RIGHT - 4}" y="{legend_y}" text-anchor="end" '
                     f'class="legend">{escape(line.label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(bars: Sequence[Bar], *, title: str, median: float | None = None,
              median_label: str = "median",
              value_format: Callable[[float], str] | None = None) -> str:
    """Horizontal bars, one per label (a franchise, a month), with the network median as a
    dashed line where given. Highlighted bars are the reader's own: when there is a median
    or any bar is highlighted, the others are drawn muted. `value_format` writes the
    figures (a percentage, money); plain numbers otherwise."""
    write = value_format or _fmt
    mute_others = median is not None or any(bar.highlight for bar in bars)
    row = 18
    height = TOP + BOTTOM + row * max(len(bars), 1)
    label_width = 180
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    values = [b.value for b in bars] + ([median] if median is not None else [])
    high = max([v for v in values if v is not None] + [0.0]) or 1.0
    x_of = _scale(0.0, high, label_width, WIDTH - RIGHT - 50)
    for index, bar in enumerate(bars):
        y = TOP + index * row
        css = "bar" if bar.highlight or not mute_others else "bar median"
        parts.append(f'<text x="{label_width - 6}" y="{y + 12}" text-anchor="end">'
                     f"{escape(bar.label[:28])}</text>")
        parts.append(f'<rect class="{css}" x="{label_width}" y="{y + 2}" '
                     f'width="{max(x_of(bar.value) - label_width, 0):.1f}" height="{row - 5}"/>')
        parts.append(f'<text x="{x_of(bar.value) + 4:.1f}" y="{y + 12}">'
                     f"{escape(write(bar.value))}</text>")
    if median is not None:
        x = x_of(median)
        parts.append(f'<line class="mark" x1="{x:.1f}" y1="{TOP - 4}" x2="{x:.1f}" '
                     f'y2="{height - BOTTOM + 4}"/>')
        parts.append(f'<text x="{x:.1f}" y="{height - 8}" text-anchor="middle">'
                     f"{escape(median_label)} {escape(write(median))}</text>")
    parts.append("</svg>")
    return "".join(parts)
