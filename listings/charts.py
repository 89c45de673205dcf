"""Bar charts as inline SVG, drawn on the server: no JavaScript, no inline styles.

The page's Content-Security-Policy forbids inline ``style`` attributes, so the
charts use SVG presentation attributes (``fill``, ``stroke``, ``font-size``).
Every text is escaped; each chart has a ``<title>`` and a ``<desc>`` so screen
readers announce it, and the numbers are also given in a table by the page.
Values are integers (fen, counts); the scale is computed in integers too.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import count

from markupsafe import Markup, escape

BAR = "#0b5cad"
GRID = "#dde3ea"
INK = "#1c2430"
MUTED = "#5d6b7a"
_ids = count(1)


def nice_step(maximum: int, ticks: int = 5) -> int:
    """A round step (1, 2 or 5 times a power of ten) giving about ``ticks`` gridlines up to ``maximum``."""
    if maximum <= 0:
        return 1
    raw = -(-maximum // ticks)  # ceiling division, integers only
    power = 1
    while power * 10 <= raw:
        power *= 10
    for m in (1, 2, 5, 10):
        if m * power >= raw:
            return m * power
    return 10 * power  # pragma: no cover - the loop always returns


def _text(x: float, y: float, body: str, *, anchor: str = "start", size: int = 12, fill: str = INK,
          extra: str = "") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" fill="{fill}"{extra}>'
            f"{escape(body)}</text>")


def _frame(title: str, desc: str, width: int, height: int, body: list[str]) -> Markup:
    n = next(_ids)
    return Markup(
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'role="img" aria-labelledby="chart{n}-title chart{n}-desc" font-family="sans-serif">'
        f'<title id="chart{n}-title">{escape(title)}</title><desc id="chart{n}-desc">{escape(desc)}</desc>'
        + "".join(body) + "</svg>"
    )


def _empty(title: str, empty_text: str, width: int) -> Markup:
    height = 120
    return _frame(title, empty_text, width, height, [
        f'<rect x="0.5" y="0.5" width="{width - 1}" height="{height - 1}" fill="#fff" stroke="{GRID}"/>',
        _text(width / 2, height / 2 + 5, empty_text, anchor="middle", size=14, fill=MUTED),
    ])


def column_chart(title: str, data: Sequence[tuple[str, int]], *, value_label: Callable[[int], str] = str,
                 axis_title: str = "", empty_text: str = "No data", width: int = 720, height: int = 320) -> Markup:
    """Vertical bars: one column per category (e.g. months), value axis on the left with gridlines."""
    if not data or all(v == 0 for _, v in data):
        return _empty(title, empty_text, width)
    left, right, top, bottom = 88, 16, 40, 48
    plot_w, plot_h = width - left - right, height - top - bottom
    top_value = max(v for _, v in data)
    step = nice_step(top_value)
    axis_max = step * -(-top_value // step)
    body = [f'<rect x="0" y="0" width="{width}" height="{height}" fill="#fff"/>']
    if axis_title:
        body.append(_text(8, 18, axis_title, size=12, fill=MUTED))
    tick = 0
    while tick <= axis_max:
        y = top + plot_h - plot_h * tick / axis_max
        body.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="{GRID}"/>')
        body.append(_text(left - 6, y + 4, value_label(tick), anchor="end", size=11, fill=MUTED))
        tick += step
    slot = plot_w / len(data)
    bar_w = max(4.0, slot * 0.6)
    for i, (name, value) in enumerate(data):
        h = plot_h * value / axis_max
        x = left + slot * i + (slot - bar_w) / 2
        y = top + plot_h - h
        body.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" fill="{BAR}">'
                    f"<title>{escape(name)}: {escape(value_label(value))}</title></rect>")
        cx = left + slot * i + slot / 2
        body.append(_text(cx, top + plot_h + 16, name, anchor="middle", size=11))
        if value:
            body.append(_text(cx, y - 4, value_label(value), anchor="middle", size=10, fill=MUTED))
    body.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="{INK}"/>')
    body.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{width - right}" y2="{top + plot_h}" stroke="{INK}"/>')
    desc = "; ".join(f"{n}: {value_label(v)}" for n, v in data)
    return _frame(title, desc, width, height, body)


def bar_chart(title: str, data: Sequence[tuple[str, int]], *, value_label: Callable[[int], str] = str,
              axis_title: str = "", empty_text: str = "No data", width: int = 720) -> Markup:
    """Horizontal bars: suits long category names (technical fields, trading modes)."""
    if not data or all(v == 0 for _, v in data):
        return _empty(title, empty_text, width)
    left, right, top, bottom, row = 190, 80, 16, 48, 30
    plot_w = width - left - right
    height = top + row * len(data) + bottom
    top_value = max(v for _, v in data)
    step = nice_step(top_value, 4)
    axis_max = step * -(-top_value // step)
    plot_bottom = top + row * len(data)
    body = [f'<rect x="0" y="0" width="{width}" height="{height}" fill="#fff"/>']
    if axis_title:
        body.append(_text(left + plot_w / 2, height - 8, axis_title, anchor="middle", size=12, fill=MUTED))
    tick = 0
    while tick <= axis_max:
        x = left + plot_w * tick / axis_max
        body.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{plot_bottom}" stroke="{GRID}"/>')
        body.append(_text(x, plot_bottom + 16, value_label(tick), anchor="middle", size=11, fill=MUTED))
        tick += step
    for i, (name, value) in enumerate(data):
        y = top + row * i + 6
        w = plot_w * value / axis_max
        body.append(f'<rect x="{left}" y="{y:.1f}" width="{w:.1f}" height="{row - 12}" fill="{BAR}">'
                    f"<title>{escape(name)}: {escape(value_label(value))}</title></rect>")
        shown = name if len(name) <= 24 else name[:23] + "…"
        body.append(_text(left - 8, y + row / 2 - 2, shown, anchor="end", size=12))
        body.append(_text(left + w + 6, y + row / 2 - 2, value_label(value), size=11, fill=MUTED))
    body.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{plot_bottom}" stroke="{INK}"/>')
    desc = "; ".join(f"{n}: {value_label(v)}" for n, v in data)
    return _frame(title, desc, width, height, body)
