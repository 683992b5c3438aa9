"""Inline SVG charts drawn on the server: no JavaScript, no chart library.

Each function takes plain numbers and returns an `<svg>` element as safe markup; text is
escaped. The SVGs scale to their container (viewBox) and carry a <title> for screen readers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal
from html import escape

from markupsafe import Markup

Number = int | float | Decimal

COLORS = ("#2563eb", "#f59e0b", "#16a34a", "#dc2626", "#7c3aed")


def _nice_max(value: float) -> float:
    """A round axis maximum at or above `value`."""
    if value <= 0:
        return 1.0
    exp = 10 ** len(str(int(value))) / 10
    for step in (1, 2, 2.5, 5, 10):
        if step * exp >= value:
            return float(step * exp)
    return float(10 * exp)


def _round_down(value: float) -> float:
    """The largest 1, 2 or 5 times a power of ten at or below `value` (at least 1)."""
    if value < 1:
        return 1.0
    exp = 10 ** math.floor(math.log10(value))
    return float(max(m * exp for m in (1, 2, 5) if m * exp <= value))


def _fmt(v: float) -> str:
    if v >= 100 or v == int(v):
        return f"{v:,.0f}"
    return f"{v:,.1f}"


def _text_width(text: str, size: float = 12) -> float:
    """A text's width in px at `size`: CJK characters are square, the rest about 0.6 em."""
    return sum(size if ord(ch) > 0x2E80 else 0.6 * size for ch in text)


def capacity_bars(
    rows: Sequence[tuple[str, float, float | None, str]], *, title: str, empty: str
) -> Markup:
    """Horizontal bars: (label, used, capacity or None, caption) per zone. Over 80 % amber,
    over 95 % red."""
    row_h, width, caption_w = 34, 640, 190
    label_w = min(280, max(120, max((_text_width(r[0]) for r in rows), default=0) + 10))
    bar_w = width - label_w - caption_w
    height = max(1, len(rows)) * row_h + 10
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" '
        f'width="100%" preserveAspectRatio="xMinYMin meet" data-chart="capacity">',
        f"<title>{escape(title)}</title>",
    ]
    if not rows:
        parts.append(f'<text x="10" y="24" class="muted">{escape(empty)}</text>')
    for i, (label, used, cap, caption) in enumerate(rows):
        y = 6 + i * row_h
        frac = (used / cap) if cap else 0.0
        color = "#dc2626" if frac > 0.95 else "#f59e0b" if frac > 0.8 else "#16a34a"
        w = min(1.0, frac) * bar_w
        parts.append(
            f'<text x="0" y="{y + 17}" class="lbl">{escape(label)}</text>'
            f'<rect x="{label_w}" y="{y + 4}" width="{bar_w}" height="18" rx="3" fill="#e5e7eb"/>'
            f'<rect x="{label_w}" y="{y + 4}" width="{w:.1f}" height="18" rx="3" '
            f'fill="{color}" class="bar"><title>{escape(caption)}</title></rect>'
            f'<text x="{label_w + bar_w + 8}" y="{y + 17}" class="val">{escape(caption)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def histogram(
    buckets: Sequence[tuple[str, int]], *, title: str, danger_from: int | None = None
) -> Markup:
    """Vertical bars, one per bucket; buckets from index `danger_from` on are red."""
    width, height, left, bottom, top = 640, 220, 40, 30, 16
    plot_h = height - bottom - top
    n = max(1, len(buckets))
    slot = (width - left - 10) / n
    top_v = max(4.0, _nice_max(max((c for _, c in buckets), default=0)))
    top_v = float(-(-int(top_v) // 4) * 4)  # counts: whole-number ticks
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="100%" '
        f'data-chart="histogram"><title>{escape(title)}</title>',
    ]
    for k in range(5):
        v = top_v * k / 4
        y = top + plot_h - plot_h * k / 4
        parts.append(
            f'<line x1="{left}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" class="axis" text-anchor="end">{_fmt(v)}</text>'
        )
    for i, (label, count) in enumerate(buckets):
        h = plot_h * count / top_v
        x = left + i * slot + slot * 0.15
        y = top + plot_h - h
        red = danger_from is not None and i >= danger_from
        color = (
            "#dc2626" if red else "#f59e0b" if danger_from and i == danger_from - 1 else "#2563eb"
        )
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" height="{h:.1f}" '
            f'fill="{color}" class="bar"><title>{escape(label)}: {count}</title></rect>'
            f'<text x="{x + slot * 0.35:.1f}" y="{y - 3:.1f}" class="val" '
            f'text-anchor="middle">{count}</text>'
            f'<text x="{x + slot * 0.35:.1f}" y="{height - 10}" class="axis" '
            f'text-anchor="middle">{escape(label)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def trend(
    months: Sequence[str], series: Sequence[tuple[str, Sequence[float]]], *, title: str
) -> Markup:
    """Grouped monthly bars, one colour per series, with a legend."""
    width, height, left, bottom, top = 640, 250, 44, 44, 14
    plot_h = height - bottom - top
    n = max(1, len(months))
    slot = (width - left - 10) / n
    k = max(1, len(series))
    top_v = _nice_max(max((v for _, vals in series for v in vals), default=0))
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="100%" '
        f'data-chart="trend"><title>{escape(title)}</title>',
    ]
    for t in range(5):
        v = top_v * t / 4
        y = top + plot_h - plot_h * t / 4
        parts.append(
            f'<line x1="{left}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" class="axis" text-anchor="end">{_fmt(v)}</text>'
        )
    bar_w = slot * 0.8 / k
    for i, month in enumerate(months):
        x0 = left + i * slot + slot * 0.1
        for j, (name, vals) in enumerate(series):
            v = float(vals[i]) if i < len(vals) else 0.0
            h = plot_h * v / top_v
            parts.append(
                f'<rect x="{x0 + j * bar_w:.1f}" y="{top + plot_h - h:.1f}" '
                f'width="{bar_w * 0.92:.1f}" height="{h:.1f}" fill="{COLORS[j % len(COLORS)]}" '
                f'class="bar"><title>{escape(month)} {escape(name)}: {_fmt(v)}</title></rect>'
            )
        parts.append(
            f'<text x="{x0 + slot * 0.4:.1f}" y="{top + plot_h + 14}" class="axis" '
            f'text-anchor="middle">{escape(month[2:])}</text>'
        )
    lx = left
    for j, (name, _) in enumerate(series):
        parts.append(
            f'<rect x="{lx}" y="{height - 16}" width="12" height="12" '
            f'fill="{COLORS[j % len(COLORS)]}"/>'
            f'<text x="{lx + 16}" y="{height - 6}" class="lbl">{escape(name)}</text>'
        )
        lx += 30 + 14 * len(name) + 20
    parts.append("</svg>")
    return Markup("".join(parts))


def track_map(
    points: Sequence[tuple[Number, Number]],
    gate: tuple[Number, Number] | None,
    geofence_m: float,
    title: str,
    width: int = 320,
    height: int = 200,
) -> Markup:
    """The trip's GPS fixes (lat, lon) as a line from start (hollow dot) to end (filled dot),
    the receiver's gate as a square with its geofence circle, on a local flat projection
    (one scale for both axes, so distances look right), with a scale bar."""
    pts = [(float(a), float(b)) for a, b in points]
    every = pts + ([(float(gate[0]), float(gate[1]))] if gate else [])
    lat0 = sum(p[0] for p in every) / len(every)
    kx = 111_320 * math.cos(math.radians(lat0))  # metres per degree of longitude here
    ky = 110_574.0  # metres per degree of latitude

    def metres(p: tuple[float, float]) -> tuple[float, float]:
        return (p[1] * kx, p[0] * ky)

    xy = [metres(p) for p in every]
    xs, ys = [x for x, _ in xy], [y for _, y in xy]
    pad = max(geofence_m if gate else 0, 50.0)
    x0, x1, y0, y1 = min(xs) - pad, max(xs) + pad, min(ys) - pad, max(ys) + pad
    margin = 12
    scale = min((width - 2 * margin) / (x1 - x0), (height - 2 * margin - 14) / (y1 - y0))

    def at(p: tuple[float, float]) -> tuple[float, float]:
        x, y = metres(p)
        return (margin + (x - x0) * scale, margin + (y1 - y) * scale)

    parts = [
        f'<svg viewBox="0 0 {width} {height}" class="chart track" role="img" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>',
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#f8fafc"/>',
    ]
    if gate:
        gx, gy = at((float(gate[0]), float(gate[1])))
        parts.append(
            f'<circle cx="{gx:.1f}" cy="{gy:.1f}" r="{geofence_m * scale:.1f}" fill="#16a34a" '
            'fill-opacity="0.08" stroke="#16a34a" stroke-dasharray="4 3"/>'
            f'<rect x="{gx - 5:.1f}" y="{gy - 5:.1f}" width="10" height="10" fill="#16a34a"/>'
        )
    if pts:
        line = " ".join(f"{x:.1f},{y:.1f}" for x, y in (at(p) for p in pts))
        (sx, sy), (ex, ey) = at(pts[0]), at(pts[-1])
        parts.append(
            f'<polyline points="{line}" fill="none" stroke="{COLORS[0]}" stroke-width="2"/>'
            f'<circle cx="{sx:.1f}" cy="{sy:.1f}" r="4" fill="#fff" stroke="{COLORS[0]}" '
            'stroke-width="2"/>'
            f'<circle cx="{ex:.1f}" cy="{ey:.1f}" r="4" fill="{COLORS[0]}"/>'
        )
    span = (width - 2 * margin) / scale  # metres across the drawing
    bar_m = _round_down(span / 4)
    label = f"{bar_m / 1000:g} km" if bar_m >= 1000 else f"{bar_m:g} m"
    by = height - 8
    parts.append(
        f'<line x1="{margin}" y1="{by}" x2="{margin + bar_m * scale:.1f}" y2="{by}" '
        'stroke="#334155" stroke-width="2"/>'
        f'<text x="{margin + bar_m * scale + 4:.1f}" y="{by + 4}" font-size="11" '
        f'fill="#334155">{escape(label)}</text></svg>'
    )
    return Markup("".join(parts))
