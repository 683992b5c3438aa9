"""Hazard-characteristic pictograms (T, C, I, R, In) drawn as reportlab vector graphics.

Each pictogram is a diamond (red frame, white field, black symbol, GHS-like; the exact HJ 1276
artwork is unconfirmed) in a 100 x 100 unit box.  In a PDF each one is defined once as a form
XObject and then placed by reference, which keeps big batches small and fast.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from reportlab.pdfgen.canvas import Canvas

__all__ = ["PICTOGRAM_CAPTIONS", "PICTOGRAM_CAPTIONS_EN", "draw_pictogram", "ensure_forms"]

PICTOGRAM_CAPTIONS: dict[str, str] = {
    "T": "毒性",
    "C": "腐蚀性",
    "I": "易燃性",
    "R": "反应性",
    "In": "感染性",
}
PICTOGRAM_CAPTIONS_EN: dict[str, str] = {
    "T": "Toxic",
    "C": "Corrosive",
    "I": "Ignitable",
    "R": "Reactive",
    "In": "Infectious",
}

_RED = (0.85, 0.0, 0.0)


def _diamond(c: Canvas) -> None:
    c.setFillColorRGB(*_RED)
    p = c.beginPath()
    p.moveTo(50, 0)
    p.lineTo(100, 50)
    p.lineTo(50, 100)
    p.lineTo(0, 50)
    p.close()
    c.drawPath(p, stroke=0, fill=1)
    c.setFillColorRGB(1, 1, 1)
    p = c.beginPath()
    p.moveTo(50, 9)
    p.lineTo(91, 50)
    p.lineTo(50, 91)
    p.lineTo(9, 50)
    p.close()
    c.drawPath(p, stroke=0, fill=1)
    c.setFillColorRGB(0, 0, 0)
    c.setStrokeColorRGB(0, 0, 0)


def _toxic(c: Canvas) -> None:
    """Skull and crossbones."""
    c.setLineCap(1)
    c.setLineWidth(5)
    c.line(32, 27, 68, 45)
    c.line(32, 45, 68, 27)
    for x, y in ((31, 27), (31, 45), (69, 27), (69, 45)):
        c.circle(x - 1.5, y, 3, stroke=0, fill=1)
        c.circle(x + 1.5, y + (-2 if y > 40 else 2), 3, stroke=0, fill=1)
    c.circle(50, 62, 13, stroke=0, fill=1)
    c.roundRect(42, 45, 16, 12, 2, stroke=0, fill=1)
    c.setFillColorRGB(1, 1, 1)
    c.circle(44.5, 62, 4, stroke=0, fill=1)
    c.circle(55.5, 62, 4, stroke=0, fill=1)
    p = c.beginPath()
    p.moveTo(50, 57)
    p.lineTo(48, 53)
    p.lineTo(52, 53)
    p.close()
    c.drawPath(p, stroke=0, fill=1)
    c.setLineWidth(1.2)
    c.setStrokeColorRGB(1, 1, 1)
    for x in (46, 50, 54):
        c.line(x, 45.5, x, 49)
    c.setFillColorRGB(0, 0, 0)
    c.setStrokeColorRGB(0, 0, 0)


def _corrosive(c: Canvas) -> None:
    """Two test tubes dripping onto a hand and a bar."""
    for pts in (
        ((24, 73), (44, 65), (46.5, 70), (26.5, 78)),
        ((54, 65), (74, 73), (71.5, 78), (51.5, 70)),
    ):
        p = c.beginPath()
        p.moveTo(*pts[0])
        for pt in pts[1:]:
            p.lineTo(*pt)
        p.close()
        c.drawPath(p, stroke=0, fill=1)
    for x in (44, 56):
        for y in (59, 52):
            c.circle(x, y, 2.2, stroke=0, fill=1)
    c.roundRect(25, 36, 22, 9, 3, stroke=0, fill=1)  # hand
    c.rect(53, 36, 22, 9, stroke=0, fill=1)  # bar
    c.rect(23, 30, 54, 3, stroke=0, fill=1)  # ground
    c.setFillColorRGB(1, 1, 1)
    c.circle(38, 45, 3.2, stroke=0, fill=1)
    c.circle(58, 45, 3.2, stroke=0, fill=1)
    c.circle(65, 45, 2.2, stroke=0, fill=1)
    c.setFillColorRGB(0, 0, 0)


def _flame(c: Canvas) -> None:
    """Flame over a bar."""
    p = c.beginPath()
    p.moveTo(50, 36)
    p.curveTo(38, 36, 33, 46, 37, 56)
    p.curveTo(40, 63, 46, 66, 47, 80)
    p.curveTo(55, 72, 53, 64, 57, 58)
    p.curveTo(59, 62, 60, 65, 61, 68)
    p.curveTo(68, 60, 67, 48, 63, 42)
    p.curveTo(60, 38, 56, 36, 50, 36)
    p.close()
    c.drawPath(p, stroke=0, fill=1)
    c.setFillColorRGB(1, 1, 1)
    p = c.beginPath()
    p.moveTo(50, 39)
    p.curveTo(44, 39, 42, 45, 45, 50)
    p.curveTo(47, 53, 50, 55, 50, 60)
    p.curveTo(54, 55, 58, 50, 56, 44)
    p.curveTo(55, 41, 53, 39, 50, 39)
    p.close()
    c.drawPath(p, stroke=0, fill=1)
    c.setFillColorRGB(0, 0, 0)
    c.rect(30, 28, 40, 4, stroke=0, fill=1)


def _explosion(c: Canvas) -> None:
    """Exploding bomb: burst star with fragments."""
    cx, cy = 50.0, 52.0
    n = 12
    p = c.beginPath()
    for i in range(2 * n):
        r = 24.0 if i % 2 == 0 else 10.0
        a = math.pi * i / n + 0.13
        x, y = cx + r * math.cos(a), cy + r * math.sin(a)
        if i == 0:
            p.moveTo(x, y)
        else:
            p.lineTo(x, y)
    p.close()
    c.drawPath(p, stroke=0, fill=1)
    c.setFillColorRGB(1, 1, 1)
    c.circle(cx, cy, 6, stroke=0, fill=1)
    c.setFillColorRGB(0, 0, 0)
    c.circle(cx, cy, 3.5, stroke=0, fill=1)
    c.rect(30, 26, 40, 3, stroke=0, fill=1)


def _biohazard(c: Canvas) -> None:
    """Biohazard-like trefoil."""
    cx, cy = 50.0, 51.0
    for k in range(3):
        a = math.radians(90 + 120 * k)
        c.circle(cx + 9 * math.cos(a), cy + 9 * math.sin(a), 11, stroke=0, fill=1)
    c.setFillColorRGB(1, 1, 1)
    for k in range(3):
        a = math.radians(90 + 120 * k)
        c.circle(cx + 12.5 * math.cos(a), cy + 12.5 * math.sin(a), 7.5, stroke=0, fill=1)
    c.circle(cx, cy, 4.5, stroke=0, fill=1)
    c.setFillColorRGB(0, 0, 0)
    c.setStrokeColorRGB(0, 0, 0)
    c.setLineWidth(2.2)
    c.circle(cx, cy, 10.5, stroke=1, fill=0)
    c.circle(cx, cy, 2.5, stroke=0, fill=1)


_SYMBOLS: dict[str, Callable[[Canvas], None]] = {
    "T": _toxic,
    "C": _corrosive,
    "I": _flame,
    "R": _explosion,
    "In": _biohazard,
}


def _form_name(code: str) -> str:
    return f"hzpict_{code}"


def ensure_forms(c: Canvas) -> None:
    """Define the five pictogram forms in this canvas's document (once)."""
    for code, symbol in _SYMBOLS.items():
        name = _form_name(code)
        if c.hasForm(name):
            continue
        c.beginForm(name, lowerx=0, lowery=0, upperx=100, uppery=100)
        c.saveState()
        _diamond(c)
        symbol(c)
        c.restoreState()
        c.endForm()


def draw_pictogram(c: Canvas, code: str, x: float, y: float, size: float) -> None:
    """Draw pictogram ``code`` with its lower-left corner at (x, y), ``size`` points square."""
    if code not in _SYMBOLS:
        raise KeyError(f"unknown hazard characteristic {code!r}")
    ensure_forms(c)
    c.saveState()
    c.translate(x, y)
    c.scale(size / 100.0, size / 100.0)
    c.doForm(_form_name(code))
    c.restoreState()
