"""Server-side SVG charts: bars (optionally grouped, with interval whiskers) and heat maps.

Plain strings of inline SVG: no JavaScript chart library and no external asset. Every text that
comes from data is escaped.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

PALETTE = ["#2457c5", "#e07b39", "#1f8a4c", "#8e44ad", "#b3261e", "#16a0a8", "#7f8c8d", "#c29d0b"]
FONT = 'font-family="system-ui, sans-serif" font-size="11"'


@dataclass(frozen=True)
class Bar:
    value: float
    low: float | None = None
    high: float | None = None


def _fmt(x: float) -> str:
    return f"{x:.1f}"


def _svg(width: int, height: int, body: list[str], title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title>{''.join(body)}</svg>"
    )


def _nice_max(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5, 10 x a power of ten that is >= value."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(value))
    return next(step * magnitude for step in (1, 2, 2.5, 5, 10) if value <= step * magnitude * (1 + 1e-12))


def bar_chart(
    categories: Sequence[str],
    series: dict[str, Sequence[Bar]],
    title: str,
    y_max: float | None = None,
    y_label: str = "",
    width: int = 640,
    height: int = 260,
) -> str:
    """Vertical bars, one group per category and one bar per series, whiskers where low/high are set."""
    left, right, top, bottom = 48, 12, 24, 56
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [b.high if b.high is not None else b.value for bars in series.values() for b in bars]
    top_value = y_max if y_max is not None else _nice_max(max([v for v in values if v == v] or [0]))
    body = [f'<text x="{left}" y="14" {FONT} font-weight="600">{escape(title)}</text>']
    body += _y_axis(left, top, plot_w, plot_h, top_value, y_label)
    n_cat = max(len(categories), 1)
    group_w = plot_w / n_cat
    bar_w = max(group_w * 0.8 / max(len(series), 1), 1.0)

    def y(v: float) -> float:
        return top + plot_h * (1 - min(max(v, 0.0), top_value) / top_value)

    for s, (name, bars) in enumerate(series.items()):
        colour = PALETTE[s % len(PALETTE)]
        for c, bar in enumerate(bars):
            if bar.value != bar.value:
                continue
            x = left + c * group_w + group_w * 0.1 + s * bar_w
            body.append(
                f'<rect x="{_fmt(x)}" y="{_fmt(y(bar.value))}" width="{_fmt(bar_w)}" '
                f'height="{_fmt(top + plot_h - y(bar.value))}" fill="{colour}">'
                f"<title>{escape(name)} {escape(categories[c])}: {bar.value:.3g}"
                f"{_interval_text(bar)}</title></rect>"
            )
            if bar.low is not None and bar.high is not None and bar.low == bar.low:
                cx = x + bar_w / 2
                body.append(
                    f'<path d="M{_fmt(cx)} {_fmt(y(bar.low))}V{_fmt(y(bar.high))}'
                    f'M{_fmt(cx - 3)} {_fmt(y(bar.low))}h6M{_fmt(cx - 3)} {_fmt(y(bar.high))}h6" '
                    'stroke="#1d2330" stroke-width="1" fill="none"/>'
                )
    body += _x_labels(categories, left, top + plot_h, group_w)
    if len(series) > 1:
        body += _legend(list(series), left, height - 10)
    return _svg(width, height, body, title)


def _interval_text(bar: Bar) -> str:
    if bar.low is None or bar.high is None or bar.low != bar.low:
        return ""
    return f" [{bar.low:.3g}, {bar.high:.3g}]"


def _y_axis(left: int, top: int, plot_w: int, plot_h: int, top_value: float, y_label: str) -> list[str]:
    parts = []
    for i in range(5):
        v = top_value * i / 4
        yy = top + plot_h * (1 - i / 4)
        parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{_fmt(yy)}" y2="{_fmt(yy)}" stroke="#e3e6eb"/>')
        parts.append(f'<text x="{left - 4}" y="{_fmt(yy + 4)}" text-anchor="end" {FONT}>{v:.3g}</text>')
    parts.append(f'<line x1="{left}" x2="{left}" y1="{top}" y2="{top + plot_h}" stroke="#5b6475"/>')
    if y_label:
        parts.append(
            f'<text transform="translate(10 {top + plot_h / 2:.0f}) rotate(-90)" text-anchor="middle" {FONT}>'
            f"{escape(y_label)}</text>"
        )
    return parts


def _x_labels(categories: Sequence[str], left: int, baseline: float, group_w: float) -> list[str]:
    step = max(1, len(categories) // 20)
    parts = [f'<line x1="{left}" x2="{left + group_w * len(categories):.1f}" y1="{baseline}" '
             f'y2="{baseline}" stroke="#5b6475"/>']
    for c in range(0, len(categories), step):
        x = left + c * group_w + group_w / 2
        label = escape(categories[c][:18])
        parts.append(
            f'<text transform="translate({_fmt(x)} {baseline + 12:.0f}) rotate(30)" {FONT}>{label}</text>'
        )
    return parts


def _legend(names: list[str], left: int, y: float) -> list[str]:
    parts = []
    x = left
    for s, name in enumerate(names):
        parts.append(f'<rect x="{x}" y="{_fmt(y - 8)}" width="10" height="10" fill="{PALETTE[s % len(PALETTE)]}"/>')
        parts.append(f'<text x="{x + 14}" y="{_fmt(y + 1)}" {FONT}>{escape(name)}</text>')
        x += 24 + 7 * len(name)
    return parts


def heatmap(
    matrix: Sequence[Sequence[float]],
    rows: Sequence[str],
    cols: Sequence[str],
    title: str,
    row_title: str = "",
    col_title: str = "",
    cell: int = 26,
) -> str:
    """A matrix of counts as shaded cells, each with its number."""
    left, top = 170, 150
    width, height = left + cell * len(cols) + 12, top + cell * len(rows) + 12
    peak = max([v for row in matrix for v in row] or [0]) or 1
    body = [f'<text x="4" y="14" {FONT} font-weight="600">{escape(title)}</text>']
    if row_title:
        body.append(f'<text x="4" y="{top - 6}" {FONT} fill="#5b6475">{escape(row_title)} ↓</text>')
    if col_title:
        body.append(f'<text x="{left}" y="30" {FONT} fill="#5b6475">{escape(col_title)} →</text>')
    for j, name in enumerate(cols):
        x = left + j * cell + cell / 2
        body.append(f'<text transform="translate({_fmt(x)} {top - 4}) rotate(-60)" {FONT}>{escape(name[:22])}</text>')
    for i, name in enumerate(rows):
        y = top + i * cell
        body.append(
            f'<text x="{left - 4}" y="{y + cell / 2 + 4:.0f}" text-anchor="end" {FONT}>{escape(name[:26])}</text>'
        )
        for j, value in enumerate(matrix[i]):
            shade = value / peak
            fill = f"rgba(36,87,197,{0.08 + 0.92 * shade:.3f})" if value else "#f7f8fa"
            text_fill = "#fff" if shade > 0.5 else "#1d2330"
            body.append(
                f'<rect x="{left + j * cell}" y="{y}" width="{cell - 1}" height="{cell - 1}" fill="{fill}">'
                f"<title>{escape(name)} / {escape(cols[j])}: {value:g}</title></rect>"
            )
            if value:
                body.append(
                    f'<text x="{left + j * cell + cell / 2 - 0.5:.1f}" y="{y + cell / 2 + 3.5:.1f}" '
                    f'text-anchor="middle" font-size="9" font-family="system-ui, sans-serif" '
                    f'fill="{text_fill}">{value:g}</text>'
                )
    return _svg(width, height, body, title)


def hbar_list(items: Sequence[tuple[str, float, str]], title: str, width: int = 520, row: int = 20) -> str:
    """Horizontal bars in [0, 1] (e.g. one SF per candidate label); items are (label, value, colour)."""
    left = 200
    plot_w = width - left - 50
    height = 24 + row * len(items) + 6
    body = [f'<text x="4" y="14" {FONT} font-weight="600">{escape(title)}</text>']
    for i, (label, value, colour) in enumerate(items):
        y = 24 + i * row
        bar = plot_w * min(max(value, 0.0), 1.0)
        body.append(f'<text x="{left - 6}" y="{y + 13}" text-anchor="end" {FONT}>{escape(label[:32])}</text>')
        body.append(f'<rect x="{left}" y="{y + 2}" width="{plot_w}" height="{row - 6}" fill="#eef0f4"/>')
        body.append(f'<rect x="{left}" y="{y + 2}" width="{_fmt(bar)}" height="{row - 6}" fill="{colour}"/>')
        body.append(f'<text x="{left + plot_w + 6}" y="{y + 13}" {FONT}>{value:.2f}</text>')
    return _svg(width, height, body, title)
