"""Render labels and signs to PDF bytes with reportlab (pure: DTOs in, bytes out).

* ``render_label(data)`` - one HJ 1276 危险废物 label; the page is the label (100/150/200 mm
  square by container volume, see ``labels.layout``); > 450 L containers give two pages (one per
  opposite side).
* ``render_labels(items, mode="roll" | "a4")`` - a batch: one label per page for label printers,
  or N-up on A4 with cut marks.
* ``render_zone_sign(data)`` / ``render_facility_sign(data)`` - A4 or A5 signs.

Text height: HJ 1276 gives a minimum text height per size (3/5/6 mm).  We size fonts so that the
*ink* of a full CJK character (0.87 em in the embedded WenQuanYi Micro Hei) is at least that
height, and never print anything smaller: long values wrap, then shrink towards the minimum, then
are cut with an ellipsis.

The QR code and the Code 128 barcode are each drawn as one vector path (no reportlab barcode
widget) and both carry exactly the bare digital ID.  The CJK font is embedded (subset) in every
PDF.
"""

from __future__ import annotations

import functools
import io
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import ParamSpec

from reportlab import rl_config
from reportlab.lib.pagesizes import A4, A5
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from labels.codes import code128_path_code, qr_path_code
from labels.data import HAZARD_CODES, FacilitySignData, LabelData, ZoneSignData
from labels.layout import BORDER_MARGIN_MM, BORDER_WIDTH_MM, MM, LabelSize, size_for_volume
from labels.pictograms import PICTOGRAM_CAPTIONS, draw_pictogram

__all__ = [
    "CJK_INK_RATIO",
    "FONT_NAME",
    "label_pages",
    "render_facility_sign",
    "render_label",
    "render_labels",
    "render_zone_sign",
]

FONT_DIR = Path(__file__).with_name("fonts")
FONT_FILE = FONT_DIR / "wqy-microhei.ttc"
FONT_NAME = "HazchainCJK"
#: Ink height of a full CJK character as a fraction of the em (measured on 废/国).
CJK_INK_RATIO = 0.87

ORANGE = (1.0, 150 / 255, 0.0)  # HJ 1276: RGB(255,150,0)
BLACK = (0.0, 0.0, 0.0)
WHITE = (1.0, 1.0, 1.0)
ELLIPSIS = "…"


@lru_cache(maxsize=1)
def _font() -> str:
    """Register the embedded CJK TrueType font once per process."""
    if FONT_NAME not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(FONT_NAME, str(FONT_FILE), subfontIndex=0))
    return FONT_NAME


@lru_cache(maxsize=65536)
def _width(text: str, size: float) -> float:
    return pdfmetrics.stringWidth(text, FONT_NAME, size)


@contextmanager
def _no_a85() -> Iterator[None]:
    """Plain Flate streams (no ASCII85 layer): 20 % smaller PDFs and much faster on reportlab
    without its C accelerator.  Scoped so other reportlab users keep their setting."""
    old = rl_config.useA85
    rl_config.useA85 = 0
    try:
        yield
    finally:
        rl_config.useA85 = old


P = ParamSpec("P")


def _plain_streams(fn: Callable[P, bytes]) -> Callable[P, bytes]:
    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> bytes:
        with _no_a85():
            return fn(*args, **kwargs)

    return wrapper


def _new_canvas(buf: io.BytesIO, pagesize: tuple[float, float], title: str) -> Canvas:
    _font()
    c = Canvas(
        buf,
        pagesize=pagesize,
        pageCompression=1,
        invariant=1,
        initialFontName=FONT_NAME,
        initialFontSize=10,
    )
    c.setTitle(title)
    c.setCreator("hazchain labels")
    return c


# --------------------------------------------------------------------------- text helpers


def _tokens(text: str) -> list[str]:
    """Split into wrap units: runs of ASCII word characters stay together, CJK chars split."""
    out: list[str] = []
    word = ""
    for ch in text:
        if ch.isascii() and not ch.isspace():
            word += ch
            continue
        if word:
            out.append(word)
            word = ""
        out.append(ch)
    if word:
        out.append(word)
    return out


_NO_LINE_START = frozenset("、，。；：？！）》」』】〕,.;:?!)]%…·")


def _wrap(text: str, size: float, first_width: float, width: float) -> list[str]:
    """Greedy wrap; the first line may be narrower (it follows a caption)."""
    lines: list[str] = []
    cur: list[str] = []
    avail = first_width
    for tok in _tokens(text):
        if not cur and tok.isspace():
            continue
        if _width("".join(cur) + tok, size) <= avail:
            cur.append(tok)
            continue
        if cur:
            carry: list[str] = []
            if tok in _NO_LINE_START and len(cur) > 1:
                carry = [cur.pop()]  # kinsoku: no closing punctuation at the start of a line
            lines.append("".join(cur).rstrip())
            avail = width
            cur = [] if tok.isspace() else [*carry, tok]
        else:
            cur = [tok]
        joined = "".join(cur)
        while _width(joined, size) > avail:  # a single over-long token: break by character
            cut = len(joined) - 1
            while cut > 1 and _width(joined[:cut], size) > avail:
                cut -= 1
            lines.append(joined[:cut])
            avail = width
            joined = joined[cut:]
            cur = [joined]
    if cur or not lines:
        lines.append("".join(cur).rstrip())
    return lines


def _ellipsize(text: str, size: float, width: float) -> str:
    if _width(text + ELLIPSIS, size) <= width:
        return text + ELLIPSIS
    while text and _width(text + ELLIPSIS, size) > width:
        text = text[:-1]
    return text + ELLIPSIS


def _fit_line(text: str, size: float, width: float) -> str:
    return text if _width(text, size) <= width else _ellipsize(text, size, width)


def _bold(c: Canvas, x: float, y: float, text: str, size: float, center: bool = False) -> None:
    """Pseudo-bold (fill + thin stroke), the embedded font has one weight."""
    if center:
        x -= _width(text, size) / 2
    c.saveState()  # text render mode is graphics state: keep it local
    t = c.beginText(x, y)
    t.setFont(FONT_NAME, size)
    t.setTextRenderMode(2)
    c.setLineWidth(size * 0.035)
    t.textOut(text)
    c.drawText(t)
    c.restoreState()


# --------------------------------------------------------------------------- codes as paths


class _RawPath:
    """A ready-made path for ``Canvas.drawPath`` (which only needs ``getCode()``)."""

    __slots__ = ("code",)

    def __init__(self, code: str) -> None:
        self.code = code

    def getCode(self) -> str:
        return self.code


def _draw_qr(c: Canvas, data: str, x: float, y: float, size: float, quiet: int = 4) -> None:
    """QR with white quiet zone in a ``size`` square at (x, y); the modules are ONE path."""
    n, code = qr_path_code(data)
    mod = size / (n + 2 * quiet)
    c.setFillColorRGB(*WHITE)
    c.rect(x, y, size, size, stroke=0, fill=1)
    c.saveState()
    c.setFillColorRGB(*BLACK)
    c.translate(x + quiet * mod, y + size - quiet * mod)
    c.scale(mod, mod)
    c.drawPath(_RawPath(code), stroke=0, fill=1)  # type: ignore[arg-type]
    c.restoreState()


def _draw_code128(
    c: Canvas, data: str, x: float, y: float, w: float, h: float, max_module: float = 0.6 * MM
) -> float:
    """Code 128 with 10-module quiet zones on white, bars as ONE path; returns module width.

    Short payloads are not stretched beyond ``max_module`` per module; the symbol is centred.
    """
    n, code = code128_path_code(data)
    mod = min(w / (n + 20), max_module)
    x += (w - mod * (n + 20)) / 2
    w = mod * (n + 20)
    c.setFillColorRGB(*WHITE)
    c.rect(x, y, w, h, stroke=0, fill=1)
    pad = min(h * 0.08, 2 * MM)
    c.saveState()
    c.setFillColorRGB(*BLACK)
    c.translate(x + 10 * mod, y + pad)
    c.scale(mod, h - 2 * pad)
    c.drawPath(_RawPath(code), stroke=0, fill=1)  # type: ignore[arg-type]
    c.restoreState()
    return mod


# --------------------------------------------------------------------------- the label


def _fmt_weight(kg: float | None) -> str:
    if kg is None:
        return "待称重"
    return f"{kg:.3f}".rstrip("0").rstrip(".") + " kg"


@dataclass
class _Para:
    caption: str
    value: str
    priority: int  # lower = cut first when space runs out
    lines: list[str]


def _field_paras(d: LabelData) -> list[tuple[str, str, int] | tuple[tuple[str, str], ...]]:
    """Fields in print order; a tuple of pairs may share one line if both fit."""
    return [
        ("废物名称", d.waste_name, 9),
        (("废物类别", d.category), ("废物代码", d.waste_code)),
        ("废物形态", d.form, 8),
        ("主要成分", d.main_components, 5),
        ("有害成分", d.harmful_components, 6),
        ("注意事项", d.precautions, 4),
        ("产生/收集单位", d.unit_name, 7),
        (("联系人", d.contact_person), ("联系方式", d.phone)),
        (("产生日期", f"{d.generation_date:%Y-%m-%d}"), ("废物重量", _fmt_weight(d.weight_kg))),
        ("备注", d.remarks, 3),
    ]


def _layout_fields(d: LabelData, size: float, width: float) -> list[_Para]:
    sep = "："
    paras: list[_Para] = []
    for item in _field_paras(d):
        if isinstance(item[0], tuple):
            pairs = [f"{cap}{sep}{val}" for cap, val in item]  # type: ignore[misc]
            joined = "  ".join(pairs)
            if _width(joined, size) <= width:
                paras.append(_Para("", joined, 10, [joined]))
            else:
                for text in pairs:
                    paras.append(_Para("", text, 10, [_fit_line(text, size, width)]))
            continue
        cap, val, prio = item  # type: ignore[misc]
        head = f"{cap}{sep}"
        indent = _width(head, size)
        if indent > width * 0.45:
            indent = 0.0
        body = _wrap(val or "", size, width - _width(head, size), width - indent)
        paras.append(_Para(head, val, prio, body))
    return paras


def _cut_to(paras: list[_Para], max_lines: int, size: float, width: float) -> None:
    """Drop wrapped lines (lowest priority, longest first) until ``max_lines``; add ellipses."""
    while sum(len(p.lines) for p in paras) > max_lines:
        cands = [p for p in paras if len(p.lines) > 1]
        if not cands:
            break
        victim = max(cands, key=lambda p: (len(p.lines), -p.priority))
        victim.lines.pop()
        last_w = (
            width
            if len(victim.lines) > 1 or not victim.caption
            else width - _width(victim.caption, size)
        )
        victim.lines[-1] = _ellipsize(victim.lines[-1], size, last_w)


def _max_lines(height: float, size: float, lead: float) -> int:
    """Lines that fit: first baseline 0.86 em below the top, descenders 0.2 em above bottom."""
    return max(0, int((height - 1.06 * size) // (size * lead)) + 1)


@dataclass(frozen=True)
class _Geo:
    side: float
    pad: float
    min_font: float  # em size giving the minimum ink height


def _geo(sz: LabelSize) -> _Geo:
    k = sz.side_mm / 100.0
    pad = (BORDER_MARGIN_MM + BORDER_WIDTH_MM + 1.5 * k) * MM
    return _Geo(sz.side_pt, pad, sz.min_text_pt / CJK_INK_RATIO)


QrDrawer = Callable[[Canvas, str, float, float, float], None]


def _draw_label(
    c: Canvas, d: LabelData, sz: LabelSize, ox: float, oy: float, qr_drawer: QrDrawer = _draw_qr
) -> None:
    g = _geo(sz)
    S = g.side
    f = g.min_font
    lead = 1.12
    # background and border
    c.setFillColorRGB(*ORANGE)
    c.rect(ox, oy, S, S, stroke=0, fill=1)
    c.setStrokeColorRGB(*BLACK)
    c.setLineWidth(BORDER_WIDTH_MM * MM)
    inset = (BORDER_MARGIN_MM + BORDER_WIDTH_MM / 2) * MM
    c.rect(ox + inset, oy + inset, S - 2 * inset, S - 2 * inset, stroke=1, fill=0)
    x0, y0 = ox + g.pad, oy + g.pad
    W = S - 2 * g.pad
    top = y0 + W
    c.setFillColorRGB(*BLACK)

    # title band
    ft = f * 2.3
    title = "危险废物"
    _bold(c, x0 + W / 2, top - ft * 0.86, title, ft, center=True)
    c.setFont(FONT_NAME, f)
    side = (W - _width(title, ft)) / 2 - f * 0.5
    if max(_width("HAZARDOUS", f), _width("WASTE", f)) <= side and 2 * f * 1.1 <= ft * 1.05:
        # English stacked beside the title: saves a text line for the fields
        ex = x0 + W - side
        c.drawString(ex, top - ft * 0.5 + f * 0.1, "HAZARDOUS")
        c.drawString(ex, top - ft * 0.5 - f * 1.0, "WASTE")
        y_title_bottom = top - ft * 1.12
    else:
        c.drawCentredString(x0 + W / 2, top - ft * 1.05 - f * 0.86, "HAZARDOUS WASTE")
        y_title_bottom = top - ft * 1.05 - f * 1.12
    c.setLineWidth(0.4 * MM)
    c.line(x0, y_title_bottom, x0 + W, y_title_bottom)

    # bottom band: [caption] + barcode + ID text
    did = d.digital_id
    line_h = f * lead
    id_w = _width(did, f)
    cap = "数字识别码："
    one_line = _width(cap, f) + id_w <= W
    y = y0
    text_y = y + f * 0.2
    if one_line:
        c.setFont(FONT_NAME, f)
        c.drawString(x0 + (W - _width(cap, f) - id_w) / 2, text_y, cap + did)
    else:
        c.setFont(FONT_NAME, f)
        c.drawCentredString(x0 + W / 2, text_y, _fit_line(did, f, W))
    y += line_h
    bh = max(7.0 * MM * sz.side_mm / 100.0, 7 * MM)
    _draw_code128(c, did, x0, y, W, bh)
    y += bh + f * 0.25
    if not one_line:
        c.setFillColorRGB(*BLACK)
        c.setFont(FONT_NAME, f)
        c.drawString(x0, y + f * 0.2, "数字识别码 Digital ID")
        y += line_h
    mid_bottom = y + f * 0.15
    mid_top = y_title_bottom - f * 0.35
    mid_h = mid_top - mid_bottom

    # right column: hazard pictograms + QR
    rw = W * 0.34
    rx = x0 + W - rw
    qr = min(rw, max(24 * MM, W * 0.24), mid_h * 0.5)  # >= 0.7 mm modules (33 with quiet)
    qr_drawer(c, did, rx + (rw - qr) / 2, mid_bottom, qr)
    c.setFillColorRGB(*BLACK)
    c.setFont(FONT_NAME, f)
    c.drawCentredString(rx + rw / 2, mid_top - f * 0.86, "危险特性")
    p_top = mid_top - line_h
    p_h = p_top - (mid_bottom + qr) - f * 0.3
    hz = [h for h in HAZARD_CODES if h in d.hazards]
    if hz:
        best = (0.0, 1)
        cap_w = max(_width(PICTOGRAM_CAPTIONS[h], f) for h in hz) + f * 0.4
        for cols in (1, 2, 3):
            if cols > 1 and rw / cols < cap_w:
                break
            rows = math.ceil(len(hz) / cols)
            s = min(rw / cols * 0.92, p_h / rows - line_h)
            if s > best[0]:
                best = (s, cols)
        s, cols = best
        s = min(s, rw * 0.7)
        rows = math.ceil(len(hz) / cols)
        cell_w = rw / cols
        cell_h = s + line_h
        block_h = rows * cell_h
        by = p_top - (p_h - block_h) / 2
        for i, code in enumerate(hz):
            r, col = divmod(i, cols)
            n_in_row = min(cols, len(hz) - r * cols)
            row_x = rx + (rw - n_in_row * cell_w) / 2
            cx = row_x + col * cell_w + cell_w / 2
            cy_top = by - r * cell_h
            draw_pictogram(c, code, cx - s / 2, cy_top - s, s)
            c.setFillColorRGB(*BLACK)
            c.setFont(FONT_NAME, f)
            c.drawCentredString(cx, cy_top - s - f * 0.95, PICTOGRAM_CAPTIONS[code])

    # left column: fields
    lw = W - rw - 1.5 * MM
    fs = f
    paras: list[_Para] = []
    for scale in (1.25, 1.12, 1.0):  # prefer larger text when it fits, never below minimum
        fs = f * scale
        paras = _layout_fields(d, fs, lw)
        if sum(len(p.lines) for p in paras) <= _max_lines(mid_h, fs, lead):
            break
    max_lines = _max_lines(mid_h, fs, lead)
    _cut_to(paras, max_lines, fs, lw)
    c.setFillColorRGB(*BLACK)
    c.setFont(FONT_NAME, fs)
    yy = mid_top - fs * 0.86
    for p in paras:
        indent = _width(p.caption, fs) if p.caption else 0.0
        if indent > lw * 0.45:
            indent = 0.0
        for i, line in enumerate(p.lines):
            if yy < mid_bottom:
                break
            if i == 0:
                c.drawString(x0, yy, p.caption + line)
            else:
                c.drawString(x0 + indent, yy, line)
            yy -= fs * lead


def label_pages(d: LabelData) -> int:
    """How many label pages (roll mode) this container needs: 2 above 450 L."""
    return size_for_volume(d.container_litres).copies


def render_label(data: LabelData) -> bytes:
    """One label as a PDF whose page is the label size (two pages for > 450 L containers)."""
    return render_labels([data], mode="roll")


def _a4_grid(side: float, gap: float = 4 * MM) -> tuple[int, int, float, float]:
    pw, ph = A4
    cols = max(1, int((pw - 2 * 3 * MM + gap) // (side + gap)))
    rows = max(1, int((ph - 2 * 3 * MM + gap) // (side + gap)))
    mx = (pw - cols * side - (cols - 1) * gap) / 2
    my = (ph - rows * side - (rows - 1) * gap) / 2
    return cols, rows, mx, my


def _cut_marks(c: Canvas, x: float, y: float, s: float) -> None:
    c.setStrokeColorRGB(0.4, 0.4, 0.4)
    c.setLineWidth(0.2)
    m = 1.5 * MM
    for cx, cy, dx, dy in (
        (x, y, -1, -1),
        (x + s, y, 1, -1),
        (x, y + s, -1, 1),
        (x + s, y + s, 1, 1),
    ):
        c.line(cx + dx * 0.5, cy, cx + dx * m, cy)
        c.line(cx, cy + dy * 0.5, cx, cy + dy * m)


def render_labels(items: Iterable[LabelData], mode: str = "roll") -> bytes:
    """Many labels in one PDF.

    ``roll``: one label per page, page = label size (>450 L containers get two pages).
    ``a4``: N-up on A4 portrait with cut marks (4 x 100 mm, 1 x 150 mm, 1 x 200 mm per page);
    a change of label size starts a new page.
    """
    return _render_labels(items, mode, _draw_qr)


@_plain_streams
def _render_labels(items: Iterable[LabelData], mode: str, qr_drawer: QrDrawer) -> bytes:
    if mode not in ("roll", "a4"):
        raise ValueError("mode must be 'roll' or 'a4'")
    buf = io.BytesIO()
    c = _new_canvas(buf, A4, "危险废物标签")
    any_page = False
    slot = 0
    cur_side = 0.0
    grid = (1, 1, 0.0, 0.0)
    for d in items:
        sz = size_for_volume(d.container_litres)
        for _ in range(sz.copies):
            if mode == "roll":
                if any_page:
                    c.showPage()
                c.setPageSize((sz.side_pt, sz.side_pt))
                _draw_label(c, d, sz, 0.0, 0.0, qr_drawer)
                any_page = True
                continue
            if sz.side_pt != cur_side:
                if any_page:
                    c.showPage()
                cur_side = sz.side_pt
                grid = _a4_grid(cur_side)
                slot = 0
            cols, rows, mx, my = grid
            if slot == cols * rows:
                c.showPage()
                slot = 0
            r, col = divmod(slot, cols)
            x = mx + col * (cur_side + 4 * MM)
            y = A4[1] - my - (r + 1) * cur_side - r * 4 * MM
            c.setPageSize(A4)
            _cut_marks(c, x, y, cur_side)
            _draw_label(c, d, sz, x, y, qr_drawer)
            slot += 1
            any_page = True
    if not any_page:
        raise ValueError("no labels to render")
    c.showPage()
    c.save()
    return buf.getvalue()


# --------------------------------------------------------------------------- signs


def _page(size_name: str) -> tuple[float, float]:
    if size_name.upper() == "A5":
        return A5
    if size_name.upper() == "A4":
        return A4
    raise ValueError("page_size must be 'A4' or 'A5'")


def _sign_frame(c: Canvas, pw: float, ph: float) -> tuple[float, float, float, float]:
    c.setFillColorRGB(*ORANGE)
    c.rect(0, 0, pw, ph, stroke=0, fill=1)
    c.setStrokeColorRGB(*BLACK)
    lw = 2 * MM * pw / A4[0]
    c.setLineWidth(lw)
    inset = 6 * MM * pw / A4[0]
    c.rect(inset, inset, pw - 2 * inset, ph - 2 * inset, stroke=1, fill=0)
    pad = inset + lw + 4 * MM * pw / A4[0]
    c.setFillColorRGB(*BLACK)
    return pad, pad, pw - 2 * pad, ph - 2 * pad


def _text_rows(
    c: Canvas, x: float, y_top: float, w: float, rows: Sequence[str], size: float, max_y: float
) -> float:
    """Wrapped rows from ``y_top`` downwards, stopping (with ellipsis) above ``max_y``."""
    c.setFont(FONT_NAME, size)
    y = y_top - size * 0.86
    for row in rows:
        lines = _wrap(row, size, w, w)
        for i, line in enumerate(lines):
            if y - size * 1.2 < max_y and i < len(lines) - 1:
                c.drawString(x, y, _ellipsize(line, size, w))
                return y - size * 1.2
            if y < max_y:
                return y
            c.drawString(x, y, line)
            y -= size * 1.2
    return y


@_plain_streams
def render_zone_sign(data: ZoneSignData) -> bytes:
    """危险废物贮存分区标志: zone code as QR + Code 128 (payload = the bare zone code), zone name,
    allowed categories/codes with Chinese names, facility, and an optional plan of all zones
    with a "you are here" marker."""
    pw, ph = _page(data.page_size)
    k = pw / A4[0]
    buf = io.BytesIO()
    c = _new_canvas(buf, (pw, ph), f"贮存分区标志 {data.zone_code}")
    x0, y0, W, H = _sign_frame(c, pw, ph)
    top = y0 + H
    f = 5 * MM * k / CJK_INK_RATIO  # body text: 5 mm ink height on A4
    ft = 11 * MM * k
    _bold(c, x0 + W / 2, top - ft * 0.9, "危险废物贮存分区标志", ft, center=True)
    c.setFont(FONT_NAME, f * 0.8)
    c.drawCentredString(x0 + W / 2, top - ft * 1.1 - f * 0.7, "HAZARDOUS WASTE STORAGE ZONE")
    y = top - ft * 1.1 - f * 1.2
    c.setLineWidth(0.6 * MM * k)
    c.line(x0, y, x0 + W, y)
    # facility line
    y -= f * 0.4
    y = _text_rows(
        c,
        x0,
        y,
        W,
        [f"设施名称：{data.facility_name}", f"设施编码：{data.facility_code}"],
        f,
        y0,
    )
    # zone code block: big code + name on the left, QR on the right
    qr = W * 0.34
    block_top = y - f * 0.2
    _draw_qr(c, data.zone_code, x0 + W - qr, block_top - qr, qr)
    c.setFillColorRGB(*BLACK)
    c.setFont(FONT_NAME, f)
    c.drawString(x0, block_top - f * 0.9, "分区编码 Zone code")
    zc = data.zone_code
    zsize = min(f * 3.2, (W - qr - 4 * MM) / max(_width(zc, 1.0), 0.1))
    _bold(c, x0, block_top - f * 1.3 - zsize * 0.8, zc, zsize)
    yy = block_top - f * 1.5 - zsize * 0.95
    c.setFont(FONT_NAME, f)
    c.drawString(x0, yy - f * 0.9, "分区名称 Zone name")
    name_size = f * 1.6
    _bold(
        c,
        x0,
        yy - f * 1.2 - name_size * 0.9,
        _fit_line(data.zone_name, name_size, W - qr - 4 * MM),
        name_size,
    )
    y = block_top - qr - f * 0.4
    bh = 14 * MM * k
    _draw_code128(c, zc, x0, y - bh, W, bh)
    y -= bh + f * 0.5
    c.setFillColorRGB(*BLACK)
    c.setLineWidth(0.4 * MM * k)
    c.line(x0, y, x0 + W, y)
    # allowed wastes
    c.setFillColorRGB(*BLACK)
    plan_h = H * 0.28 if data.all_zones else 0.0
    rows = [f"{a.code}  {a.name}".rstrip() for a in data.allowed] or [data.empty_text]
    c.setFont(FONT_NAME, f)
    c.drawString(x0, y - f * 1.0, _fit_line(data.allowed_title, f, W))
    y = _text_rows(c, x0 + f, y - f * 1.3, W - f, rows, f, y0 + plan_h + f * 0.5)
    if data.all_zones:
        _draw_plan(c, data, x0, y0, W, plan_h, f * 0.8)
    c.showPage()
    c.save()
    return buf.getvalue()


def _draw_plan(
    c: Canvas, data: ZoneSignData, x: float, y: float, w: float, h: float, f: float
) -> None:
    """Schematic plan view: one box per zone in a grid, the current zone highlighted."""
    c.setFillColorRGB(*BLACK)
    c.setFont(FONT_NAME, f)
    c.drawString(x, y + h - f * 0.9, "分区平面示意 Zone plan")
    zones = data.all_zones
    n = len(zones)
    cols = min(n, 4) if n <= 8 else math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    gh = h - f * 1.4
    cw, ch = w / cols, gh / rows
    for i, z in enumerate(zones):
        r, col = divmod(i, cols)
        bx = x + col * cw + 1 * MM
        by = y + gh - (r + 1) * ch + 1 * MM
        bw, bhh = cw - 2 * MM, ch - 2 * MM
        here = z.zone_code == data.zone_code
        c.setFillColorRGB(*(BLACK if here else WHITE))
        c.setStrokeColorRGB(*BLACK)
        c.setLineWidth(0.5 * MM)
        c.rect(bx, by, bw, bhh, stroke=1, fill=1)
        c.setFillColorRGB(*(WHITE if here else BLACK))
        lines = [z.zone_code, z.zone_name, "、".join(z.categories)]
        if here:
            lines.append("您在此处")
        c.setFont(FONT_NAME, f)
        ty = by + bhh - f * 1.05
        for line in lines:
            if ty < by + f * 0.2:
                break
            if line:
                c.drawString(bx + 1 * MM, ty, _fit_line(line, f, bw - 2 * MM))
            ty -= f * 1.15
    c.setFillColorRGB(*BLACK)


def _warning_triangle(c: Canvas, cx: float, cy: float, s: float) -> None:
    """GB 15562.2-style warning triangle (yellow field, black frame, exclamation mark)."""
    h = s * math.sqrt(3) / 2
    p = c.beginPath()
    p.moveTo(cx - s / 2, cy - h / 3)
    p.lineTo(cx + s / 2, cy - h / 3)
    p.lineTo(cx, cy + 2 * h / 3)
    p.close()
    c.setFillColorRGB(*BLACK)
    c.drawPath(p, stroke=0, fill=1)
    s2 = s * 0.78
    h2 = s2 * math.sqrt(3) / 2
    p = c.beginPath()
    p.moveTo(cx - s2 / 2, cy - h2 / 3)
    p.lineTo(cx + s2 / 2, cy - h2 / 3)
    p.lineTo(cx, cy + 2 * h2 / 3)
    p.close()
    c.setFillColorRGB(1.0, 0.85, 0.0)
    c.drawPath(p, stroke=0, fill=1)
    c.setFillColorRGB(*BLACK)
    c.rect(cx - s * 0.04, cy - h2 * 0.05, s * 0.08, h2 * 0.38, stroke=0, fill=1)
    c.circle(cx, cy - h2 * 0.17, s * 0.05, stroke=0, fill=1)


@_plain_streams
def render_facility_sign(data: FacilitySignData) -> bytes:
    """危险废物贮存/利用/处置设施标志 (A4 or A5 portrait)."""
    pw, ph = _page(data.page_size)
    k = pw / A4[0]
    buf = io.BytesIO()
    c = _new_canvas(buf, (pw, ph), f"危险废物{data.facility_type}设施")
    x0, y0, W, H = _sign_frame(c, pw, ph)
    top = y0 + H
    ft = 16 * MM * k
    title = f"危险废物{data.facility_type}设施"
    ft = min(ft, W / _width(title, 1.0))
    _bold(c, x0 + W / 2, top - ft * 0.9, title, ft, center=True)
    en = {"贮存": "STORAGE", "利用": "UTILISATION", "处置": "DISPOSAL"}[data.facility_type]
    f = 6 * MM * k / CJK_INK_RATIO
    c.setFont(FONT_NAME, f)
    c.drawCentredString(x0 + W / 2, top - ft * 1.15 - f * 0.8, f"HAZARDOUS WASTE {en} FACILITY")
    tri = W * 0.6
    tri_cy = top - ft * 1.2 - f * 2.0 - tri * 0.58
    _warning_triangle(c, x0 + W / 2, tri_cy, tri)
    y = tri_cy - tri * 0.35 - f
    c.setLineWidth(0.6 * MM * k)
    c.line(x0, y, x0 + W, y)
    rows = [
        f"单位名称：{data.unit_name}",
        f"设施编码：{data.facility_code}",
        f"负 责 人：{data.responsible_person}",
        f"联系电话：{data.phone}",
    ]
    fr = min(f * 1.5, W / max(_width(r, 1.0) for r in rows))  # large, but one line each
    fr = max(fr, f)
    c.setFont(FONT_NAME, fr)
    yy = y - fr * 1.3
    for row in rows:
        if yy < y0:
            break
        c.drawString(x0, yy, _fit_line(row, fr, W))
        yy -= fr * 1.6
    c.showPage()
    c.save()
    return buf.getvalue()
