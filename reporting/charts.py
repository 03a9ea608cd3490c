"""Charts drawn on the server as inline SVG: no script and no CDN (the app may run where
nothing outside is reachable), and a chart is testable as text."""

from __future__ import annotations

from html import escape
from typing import Any

BAR_HEIGHT = 22
GAP = 6
LABEL_WIDTH = 220
BAR_AREA = 420
VALUE_WIDTH = 90


def bar_chart(title: str, labels: list[Any], values: list[Any], value_format: str = "{:,.0f}") -> str:
    """A horizontal bar chart; bars scale to the largest value, a missing value draws no bar."""
    numbers = [_number(v) for v in values]
    largest = max((n for n in numbers if n is not None and n > 0), default=0.0)
    height = len(labels) * (BAR_HEIGHT + GAP) + 30
    width = LABEL_WIDTH + BAR_AREA + VALUE_WIDTH
    parts = [
        f'<svg class="chart" role="img" aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}">',
        f'<text x="0" y="16" font-weight="bold">{escape(title)}</text>',
    ]
    for i, (label, number) in enumerate(zip(labels, numbers, strict=True)):
        y = 30 + i * (BAR_HEIGHT + GAP)
        length = 0.0 if number is None or largest == 0 else max(number, 0.0) / largest * BAR_AREA
        shown = "–" if number is None else value_format.format(number)
        parts += [
            f'<text x="{LABEL_WIDTH - 8}" y="{y + 15}" text-anchor="end">{escape(_short(str(label)))}</text>',
            f'<rect class="bar" x="{LABEL_WIDTH}" y="{y}" width="{length:.1f}" height="{BAR_HEIGHT}" fill="#3b6ea8">'
            f"<title>{escape(str(label))}: {escape(shown)}</title></rect>",
            f'<text x="{LABEL_WIDTH + length + 6:.1f}" y="{y + 15}">{escape(shown)}</text>',
        ]
    parts.append("</svg>")
    return "".join(parts)


def _short(label: str, width: int = 30) -> str:
    """A label that fits left of the bars (the full one is in the bar's tooltip)."""
    return label if len(label) <= width else label[: width - 1] + "…"


def _number(value: Any) -> float | None:
    """A value as a bar length: numbers and decimals; text, booleans and nulls draw no bar."""
    if value is None or isinstance(value, bool | str):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
