"""Render labels and signs to PDF bytes with reportlab (pure: DTOs in, bytes out).

* ``render_label(data)`` - one HJ 1276 危险废物 label; the page is the label (100/150/200 mm
  square, see below); > 450 L containers give two pages (one per opposite side).
* ``render_labels(items, mode="roll" | "a4")`` - a batch: one label per page for label printers,
  or N-up on A4 with cut marks.
* ``label_fit(data)`` - the size a label gets, the fields it had to cut (normally none) and
  the characters the font cannot draw (``unprintable``: printed as □, never silently lost).
* ``render_zone_sign(data)`` / ``render_facility_sign(data)`` - A4 or A5 signs.

Size and text height: HJ 1276 gives, by container volume, a *minimum* label size and a minimum
text height (<= 50 L: 100 mm, 3 mm; <= 450 L: 150 mm, 5 mm; above: 200 mm, 6 mm; see
``labels.layout``).  We size fonts so that the *ink* of a full CJK character (0.87 em in the
embedded WenQuanYi Micro Hei) is at least that height and never print anything smaller.  Every
field is required, so a label is printed on the smallest size allowed for the volume on which all
fields fit uncut (long values wrap; a tighter layout is tried before a larger size).  Only if
even 200 mm cannot hold them are the least important fields cut with an ellipsis, and
``label_fit`` says which.

The QR code and the Code 128 barcode are each drawn as one vector path (no reportlab barcode
widget) and both carry exactly the bare digital ID.  The CJK font is embedded (subset) in every
PDF.
"""

from __future__ import annotations

import dataclasses
import functools
import io
import math
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple, ParamSpec

from reportlab import rl_config
from reportlab.lib.pagesizes import A4, A5
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from labels.codes import code128_path_code, qr_path_code
from labels.data import HAZARD_CODES, FacilitySignData, LabelData, ZoneSignData
from labels.layout import (
    BORDER_MARGIN_MM,
    BORDER_WIDTH_MM,
    MM,
    SIZE_TABLE,
    LabelSize,
    size_for_volume,
)
from labels.pictograms import PICTOGRAM_CAPTIONS, draw_pictogram

__all__ = [
    "CJK_INK_RATIO",
    "FONT_NAME",
    "LabelFit",
    "label_fit",
    "label_pages",
    "missing_glyphs",
    "printable",
    "render_facility_sign",
    "render_label",
    "render_labels",
    "render_zone_sign",
    "unprintable",
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


#: Printed for a character the embedded font has no glyph for (an emoji, a CJK Extension B
#: character such as 𠀀): reportlab would draw glyph 0, which is blank, and the character
#: would vanish from the label without a trace.
MISSING_MARK = "□"
#: Characters that need no glyph: controls, format marks (RLO...), spaces and line breaks,
#: combining marks and variation selectors (drawn with the character before them).
_NO_GLYPH_NEEDED = ("Cc", "Cf", "Zs", "Zl", "Zp", "Mn", "Me")
#: The label's text fields, whose characters are checked against the font.
TEXT_FIELDS = (
    "waste_name",
    "category",
    "waste_code",
    "form",
    "main_components",
    "harmful_components",
    "precautions",
    "unit_name",
    "contact_person",
    "phone",
    "remarks",
)


@lru_cache(maxsize=1)
def _covered() -> frozenset[int]:
    """The code points the embedded font draws."""
    _font()
    return frozenset(pdfmetrics.getFont(FONT_NAME).face.charToGlyph)


def missing_glyphs(text: str) -> str:
    """The characters of ``text`` the embedded font cannot draw, each once, in order."""
    covered = _covered()
    out: dict[str, None] = {}
    for ch in text:
        if ord(ch) not in covered and unicodedata.category(ch) not in _NO_GLYPH_NEEDED:
            out[ch] = None
    return "".join(out)


def printable(text: str) -> str:
    """``text`` with each character the font cannot draw replaced by ``MISSING_MARK``."""
    gone = missing_glyphs(text)
    return text.translate({ord(ch): MISSING_MARK for ch in gone}) if gone else text


def unprintable(d: LabelData) -> dict[str, str]:
    """Per text field of ``d``: the characters the label prints as □ (normally none)."""
    out = {}
    for name in TEXT_FIELDS:
        gone = missing_glyphs(getattr(d, name) or "")
        if gone:
            out[name] = gone
    return out


def _printable_data(d: LabelData, gone: dict[str, str] | None = None) -> LabelData:
    """``d`` with □ for what the font cannot draw (``gone``: ``unprintable(d)``, if known)."""
    gone = unprintable(d) if gone is None else gone
    marks = {
        name: getattr(d, name).translate(dict.fromkeys(map(ord, chars), MISSING_MARK))
        for name, chars in gone.items()
    }
    return dataclasses.replace(d, **marks) if marks else d


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
#
# Measuring is separate from drawing: ``_frame`` computes where everything but the field text
# goes, ``_fit_on`` lays the fields out in it and ``_draw_label`` only paints the resulting
# ``_Plan``.  The size choice (``label_fit``) and the page drawn therefore use the same numbers.

KEEP = 100  # priority of the fields cut only when nothing else can give a line
TITLE = "危险废物"
ID_CAPTION = "数字识别码："
LEAD = 1.12  # line lead of the frame's text (pictogram captions, ID band) and of roomy fields
QR_MIN = 24 * MM  # smallest QR side: 0.73 mm modules (version 2: 25 modules + 2 x 4 quiet)
#: A compact style may not make the pictograms both a third smaller and under a tenth of the side.
PICTOGRAM_KEEP, PICTOGRAM_MIN = 2 / 3, 0.1
HAZARD_CAPTION = "危险特性"
FIELD_SCALES = (1.25, 1.12, 1.0)  # field text over the base text height, largest first
RIGHT_SHARE = 0.34  # pictogram + QR column's share of the inner width (roomy styles)


def _fmt_weight(kg: float | None) -> str:
    if kg is None:
        return "待称重"
    return f"{kg:.3f}".rstrip("0").rstrip(".") + " kg"


@dataclass(frozen=True)
class _Field:
    key: str  # the LabelData attribute, reported by ``label_fit`` when cut
    caption: str
    value: str
    priority: int  # lower = cut first when space runs out; KEEP = last resort


def _fields(d: LabelData) -> list[_Field | tuple[_Field, _Field]]:
    """Fields in print order; a pair shares one line if both fit."""
    return [
        _Field("waste_name", "废物名称", d.waste_name, KEEP),
        (
            _Field("category", "废物类别", d.category, KEEP),
            _Field("waste_code", "废物代码", d.waste_code, KEEP),
        ),
        _Field("form", "废物形态", d.form, 8),
        _Field("main_components", "主要成分", d.main_components, 5),
        _Field("harmful_components", "有害成分", d.harmful_components, 6),
        _Field("precautions", "注意事项", d.precautions, 4),
        _Field("unit_name", "产生/收集单位", d.unit_name, KEEP),
        (
            _Field("contact_person", "联系人", d.contact_person, 7),
            _Field("phone", "联系方式", d.phone, 7),
        ),
        (
            _Field("generation_date", "产生日期", f"{d.generation_date:%Y-%m-%d}", 8),
            _Field("weight_kg", "废物重量", _fmt_weight(d.weight_kg), 8),
        ),
        _Field("remarks", "备注", d.remarks, 3),
    ]


@dataclass
class _Para:
    """One field (or a pair sharing its line) as wrapped lines; ``_cut_to`` may drop lines."""

    keys: tuple[str, ...]
    caption: str  # "废物名称：" printed before the first line; "" for a pair
    indent: float  # x offset of continuation lines
    priority: int
    lines: list[str]


def _para(field: _Field, size: float, width: float) -> _Para:
    head = f"{field.caption}："
    head_w = _width(head, size)
    indent = head_w if head_w <= width * 0.45 else 0.0  # long captions: wrap to the margin
    lines = _wrap(field.value, size, width - head_w, width - indent)
    return _Para((field.key,), head, indent, field.priority, lines)


def _layout_fields(d: LabelData, size: float, width: float) -> list[_Para]:
    """Every field wrapped (never cut) at ``size`` in a column ``width`` wide."""
    paras: list[_Para] = []
    for item in _fields(d):
        if not isinstance(item, tuple):
            paras.append(_para(item, size, width))
            continue
        joined = "  ".join(f"{f.caption}：{f.value}" for f in item)
        if _width(joined, size) <= width:
            keys = tuple(f.key for f in item)
            paras.append(_Para(keys, "", 0.0, min(f.priority for f in item), [joined]))
        else:  # one line each, wrapped like any field: a long name or phone is not cut
            paras.extend(_para(f, size, width) for f in item)
    return paras


def _n_lines(paras: Sequence[_Para]) -> int:
    return sum(len(p.lines) for p in paras)


def _cut_to(paras: list[_Para], max_lines: int, size: float, width: float) -> tuple[str, ...]:
    """Drop wrapped lines until ``max_lines`` remain and return the keys of the fields cut.

    Lowest priority first, each down to its first line; the KEEP fields (name, category and
    code, unit) only once no other field has a line to give.  A shortened field ends in an
    ellipsis.  Should even one line per field be too many, the last fields are left out (and
    reported too) rather than drawn over the codes.
    """
    excess = _n_lines(paras) - max_lines
    shortened: list[_Para] = []
    for pool in ([p for p in paras if p.priority < KEEP], paras):
        for p in sorted(pool, key=lambda p: p.priority):  # stable: print order among equals
            drop = min(excess, len(p.lines) - 1)
            if drop > 0:
                del p.lines[-drop:]
                excess -= drop
                shortened.append(p)
    dropped: list[_Para] = []
    while excess > 0 and paras:
        dropped.append(paras.pop())
        excess -= len(dropped[-1].lines)
    for p in shortened:
        last_w = width - p.indent if len(p.lines) > 1 else width - _width(p.caption, size)
        p.lines[-1] = _ellipsize(p.lines[-1], size, last_w)
    cut = [p for p in shortened if all(p is not q for q in dropped)] + dropped[::-1]
    return tuple(k for p in cut for k in p.keys)


def _max_lines(height: float, size: float, lead: float) -> int:
    """Lines that fit: first baseline 0.86 em below the top, descenders 0.2 em above bottom."""
    return max(0, int((height - 1.06 * size) // (size * lead)) + 1)


@dataclass(frozen=True)
class _Style:
    """A field layout; ``_STYLES`` runs from the roomiest to the most compact."""

    lead: float  # field line lead
    narrow: bool  # right column just wide enough for a QR_MIN code and the captions


#: Tried in order on one size before stepping up to the next: a tighter lead (still >= 1.05,
#: 0.18 em between the ink of two CJK lines), then the narrow right column (QR modules still
#: >= 0.73 mm; refused where it would shrink the pictograms by more than a third and below a
#: tenth of the label side: 4 or 5 pictograms on 150 mm would drop from 12-20 mm to 6-9 mm).
_STYLES = (_Style(LEAD, False), _Style(1.05, False), _Style(1.05, True))


@dataclass(frozen=True)
class _Frame:
    """Geometry of one label with its lower-left corner at (0, 0), in points."""

    side: float
    x0: float  # the inner box: left = bottom = x0, width = height = w
    w: float
    f: float  # em size of the base text (its CJK ink is the base text height)
    title_size: float
    english_beside: bool  # "HAZARDOUS / WASTE" stacked beside the title, else a line below
    title_bottom: float  # y of the rule under the title band
    id_one_line: bool  # "数字识别码：<ID>" under the bars, else the caption above them
    bar_h: float
    mid_bottom: float  # the band between the title rule and the barcode
    mid_top: float
    rx: float  # right column: hazard pictograms over the QR code
    rw: float
    qr: float
    pictogram: float  # side of each hazard pictogram
    pictogram_cols: int
    lw: float  # field column (left), from x0


def _pictogram_grid(
    hazards: Sequence[str], rw: float, height: float, f: float
) -> tuple[float, int]:
    """Largest pictogram side (and columns) for ``hazards`` captioned in a ``rw`` x ``height``
    box; a column is added only while the captions still fit side by side."""
    if not hazards:
        return 0.0, 1
    line_h = f * LEAD
    best = (0.0, 1)
    cap_w = max(_width(PICTOGRAM_CAPTIONS[h], f) for h in hazards) + f * 0.4
    for cols in (1, 2, 3):
        if cols > 1 and rw / cols < cap_w:
            break
        rows = math.ceil(len(hazards) / cols)
        s = min(rw / cols * 0.92, height / rows - line_h)
        if s > best[0]:
            best = (s, cols)
    return min(best[0], rw * 0.7), best[1]


def _frame(sz: LabelSize, text_mm: float, narrow: bool, d: LabelData) -> _Frame:
    """Place the title band, the ID band and the columns for base text ``text_mm`` high."""
    k = sz.side_mm / 100.0
    pad = (BORDER_MARGIN_MM + BORDER_WIDTH_MM + 1.5 * k) * MM
    w = sz.side_pt - 2 * pad
    f = text_mm * MM / CJK_INK_RATIO
    ft = f * 2.3
    side = (w - _width(TITLE, ft)) / 2 - f * 0.5
    beside = max(_width("HAZARDOUS", f), _width("WASTE", f)) <= side and 2 * f * 1.1 <= ft * 1.05
    top = pad + w
    title_bottom = top - ft * 1.12 if beside else top - ft * 1.05 - f * 1.12
    one_line = _width(ID_CAPTION, f) + _width(d.digital_id, f) <= w
    bar_h = max(7.0 * MM * k, 7 * MM)
    ids_h = f * LEAD + bar_h + f * 0.25 + (0.0 if one_line else f * LEAD)
    mid_bottom = pad + ids_h + f * 0.15
    mid_top = title_bottom - f * 0.35
    hz = [h for h in HAZARD_CODES if h in d.hazards]
    rw = w * RIGHT_SHARE
    if narrow:  # as narrow as the smallest QR and the captions allow
        caps = [_width(HAZARD_CAPTION, f)] + [_width(PICTOGRAM_CAPTIONS[h], f) for h in hz]
        rw = min(rw, max(QR_MIN, max(caps) + f * 0.4))
    qr = min(rw, max(QR_MIN, w * 0.24), (mid_top - mid_bottom) * 0.5)
    p_h = mid_top - f * LEAD - (mid_bottom + qr) - f * 0.3
    pictogram, cols = _pictogram_grid(hz, rw, p_h, f)
    return _Frame(
        side=sz.side_pt,
        x0=pad,
        w=w,
        f=f,
        title_size=ft,
        english_beside=beside,
        title_bottom=title_bottom,
        id_one_line=one_line,
        bar_h=bar_h,
        mid_bottom=mid_bottom,
        mid_top=mid_top,
        rx=pad + w - rw,
        rw=rw,
        qr=qr,
        pictogram=pictogram,
        pictogram_cols=cols,
        lw=w - rw - 1.5 * MM,
    )


@dataclass(frozen=True)
class _Plan:
    """Everything ``_draw_label`` needs: the size, the frame and the laid-out fields."""

    size: LabelSize
    frame: _Frame
    font: float  # field text em size
    lead: float
    paras: tuple[_Para, ...]
    cut: tuple[str, ...]  # LabelData fields shortened with an ellipsis (empty: all complete)


def _text_heights(sz: LabelSize, vol: LabelSize) -> list[float]:
    """Base text heights to try on ``sz`` for a container of band ``vol``: from the size's own
    minimum down to the volume's (the legal one) in 1 mm steps, so a label stepped up from
    100 mm first tries the look of a native one."""
    heights = [sz.min_text_mm]
    while heights[-1] - 1.0 >= vol.min_text_mm:
        heights.append(heights[-1] - 1.0)
    if heights[-1] > vol.min_text_mm:
        heights.append(vol.min_text_mm)
    return heights


def _styles(d: LabelData, sz: LabelSize, text_mm: float) -> Iterator[tuple[_Style, _Frame]]:
    """The styles worth trying on ``sz`` at ``text_mm``, roomiest first, with their frames:
    the narrow column only where it is narrower and keeps the pictograms large enough.
    Lazy: most labels fit in the first style, and frames cost text measurements."""
    roomy = _frame(sz, text_mm, False, d)
    yield from ((st, roomy) for st in _STYLES if not st.narrow)
    narrow = _frame(sz, text_mm, True, d)
    small = min(PICTOGRAM_KEEP * roomy.pictogram, PICTOGRAM_MIN * narrow.side)
    if narrow.lw > roomy.lw and narrow.pictogram >= small:
        yield from ((st, narrow) for st in _STYLES if st.narrow)


def _fit_on(d: LabelData, sz: LabelSize, vol: LabelSize) -> _Plan | None:
    """The first layout on ``sz`` that holds every field uncut, or None: largest text first,
    roomiest style first, never below the minimum text height of the container's band."""
    layouts: dict[tuple[float, float], list[_Para]] = {}  # the lead styles share a frame
    for text_mm in _text_heights(sz, vol):
        for style, fr in _styles(d, sz, text_mm):
            for scale in FIELD_SCALES:
                fs = fr.f * scale
                paras = layouts.get((fs, fr.lw))
                if paras is None:
                    paras = layouts[fs, fr.lw] = _layout_fields(d, fs, fr.lw)
                if _n_lines(paras) <= _max_lines(fr.mid_top - fr.mid_bottom, fs, style.lead):
                    return _Plan(sz, fr, fs, style.lead, tuple(paras), ())
    return None


def _plan(d: LabelData) -> _Plan:
    """The smallest size allowed for the volume on which every field fits; failing that the
    largest size at the minimum text height in the most compact style, with fields cut."""
    _font()  # measuring needs the font's metrics, with or without a canvas
    vol = size_for_volume(d.container_litres)
    sizes = [s for s in SIZE_TABLE if s.side_mm >= vol.side_mm]
    for sz in sizes:
        plan = _fit_on(d, sz, vol)
        if plan is not None:
            return plan
    style, fr = list(_styles(d, sizes[-1], vol.min_text_mm))[-1]
    paras = _layout_fields(d, fr.f, fr.lw)
    cut = _cut_to(paras, _max_lines(fr.mid_top - fr.mid_bottom, fr.f, style.lead), fr.f, fr.lw)
    return _Plan(sizes[-1], fr, fr.f, style.lead, tuple(paras), cut)


class LabelFit(NamedTuple):
    """The label size chosen for a container, the fields that had to be cut, how many labels
    the container gets (by volume: ``size.copies`` is the size row's, not the lot's), and the
    characters printed as □ because the font cannot draw them."""

    size: LabelSize
    cut: tuple[str, ...]  # LabelData attribute names, e.g. ("precautions",); () = all complete
    copies: int
    unprintable: dict[str, str] = {}  # LabelData attribute -> its characters printed as □


def label_fit(d: LabelData) -> LabelFit:
    """Which size ``render_label`` will print ``d`` on, and what it cannot print in full.

    The size is the smallest HJ 1276 size allowed for the container volume on which every
    field fits at (or above) the volume's minimum text height; ``cut`` is empty unless even
    200 mm cannot hold the text, so that callers can warn that the label is incomplete.
    """
    gone = unprintable(d)
    plan = _plan(_printable_data(d, gone))
    return LabelFit(plan.size, plan.cut, label_pages(d), gone)


QrDrawer = Callable[[Canvas, str, float, float, float], None]


def _draw_title(c: Canvas, fr: _Frame) -> None:
    """Orange ground, border and the 危险废物 / HAZARDOUS WASTE band with its rule."""
    c.setFillColorRGB(*ORANGE)
    c.rect(0, 0, fr.side, fr.side, stroke=0, fill=1)
    c.setStrokeColorRGB(*BLACK)
    c.setLineWidth(BORDER_WIDTH_MM * MM)
    inset = (BORDER_MARGIN_MM + BORDER_WIDTH_MM / 2) * MM
    c.rect(inset, inset, fr.side - 2 * inset, fr.side - 2 * inset, stroke=1, fill=0)
    x0, w, f, ft = fr.x0, fr.w, fr.f, fr.title_size
    top = x0 + w
    c.setFillColorRGB(*BLACK)
    _bold(c, x0 + w / 2, top - ft * 0.86, TITLE, ft, center=True)
    c.setFont(FONT_NAME, f)
    if fr.english_beside:  # saves a text line for the fields
        ex = x0 + w / 2 + _width(TITLE, ft) / 2 + f * 0.5
        c.drawString(ex, top - ft * 0.5 + f * 0.1, "HAZARDOUS")
        c.drawString(ex, top - ft * 0.5 - f * 1.0, "WASTE")
    else:
        c.drawCentredString(x0 + w / 2, top - ft * 1.05 - f * 0.86, "HAZARDOUS WASTE")
    c.setLineWidth(0.4 * MM)
    c.line(x0, fr.title_bottom, x0 + w, fr.title_bottom)


def _draw_id_band(c: Canvas, fr: _Frame, did: str) -> None:
    """The digital ID as text and as Code 128 along the bottom."""
    x0, w, f = fr.x0, fr.w, fr.f
    c.setFillColorRGB(*BLACK)
    c.setFont(FONT_NAME, f)
    if fr.id_one_line:
        x = x0 + (w - _width(ID_CAPTION, f) - _width(did, f)) / 2
        c.drawString(x, x0 + f * 0.2, ID_CAPTION + did)
    else:
        c.drawCentredString(x0 + w / 2, x0 + f * 0.2, _fit_line(did, f, w))
    y = x0 + f * LEAD
    _draw_code128(c, did, x0, y, w, fr.bar_h)
    if not fr.id_one_line:
        c.setFillColorRGB(*BLACK)
        c.setFont(FONT_NAME, f)
        c.drawString(x0, y + fr.bar_h + f * 0.25 + f * 0.2, "数字识别码 Digital ID")


def _draw_right_column(c: Canvas, fr: _Frame, d: LabelData, qr_drawer: QrDrawer) -> None:
    """危险特性 pictograms (centred in the space over the QR code) and the QR code."""
    rx, rw, f = fr.rx, fr.rw, fr.f
    line_h = f * LEAD
    gap_x = (fr.x0 + fr.lw + rx) / 2  # a rule between the columns: no line reads across
    c.setLineWidth(0.25 * MM)
    c.line(gap_x, fr.mid_bottom, gap_x, fr.title_bottom)
    qr_drawer(c, d.digital_id, rx + (rw - fr.qr) / 2, fr.mid_bottom, fr.qr)
    c.setFillColorRGB(*BLACK)
    c.setFont(FONT_NAME, f)
    c.drawCentredString(rx + rw / 2, fr.mid_top - f * 0.86, HAZARD_CAPTION)
    hz = [h for h in HAZARD_CODES if h in d.hazards]
    s, cols = fr.pictogram, fr.pictogram_cols
    p_top = fr.mid_top - line_h
    p_h = p_top - (fr.mid_bottom + fr.qr) - f * 0.3
    cell_w = rw / cols
    cell_h = s + line_h
    by = p_top - (p_h - math.ceil(len(hz) / cols) * cell_h) / 2
    for i, code in enumerate(hz):
        r, col = divmod(i, cols)
        n_in_row = min(cols, len(hz) - r * cols)
        cx = rx + (rw - n_in_row * cell_w) / 2 + col * cell_w + cell_w / 2
        cy_top = by - r * cell_h
        draw_pictogram(c, code, cx - s / 2, cy_top - s, s)
        c.setFillColorRGB(*BLACK)
        c.setFont(FONT_NAME, f)
        c.drawCentredString(cx, cy_top - s - f * 0.95, PICTOGRAM_CAPTIONS[code])


def _draw_fields(c: Canvas, plan: _Plan) -> None:
    fr, fs = plan.frame, plan.font
    c.setFillColorRGB(*BLACK)
    c.setFont(FONT_NAME, fs)
    y = fr.mid_top - fs * 0.86
    for p in plan.paras:
        for i, line in enumerate(p.lines):
            if i == 0:
                c.drawString(fr.x0, y, p.caption + line)
            else:
                c.drawString(fr.x0 + p.indent, y, line)
            y -= fs * plan.lead


def _draw_label(
    c: Canvas, d: LabelData, plan: _Plan, ox: float, oy: float, qr_drawer: QrDrawer = _draw_qr
) -> None:
    """Paint ``plan`` (from ``_plan(d)``) with the label's lower-left corner at (ox, oy)."""
    c.saveState()
    if ox or oy:
        c.translate(ox, oy)
    _draw_title(c, plan.frame)
    _draw_id_band(c, plan.frame, d.digital_id)
    _draw_right_column(c, plan.frame, d, qr_drawer)
    _draw_fields(c, plan)
    c.restoreState()


def label_pages(d: LabelData) -> int:
    """How many labels (roll-mode pages) this container needs: 2 above 450 L, by volume alone
    (a label stepped up to 200 mm for its text is still one label on a small container)."""
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
    """Many labels in one PDF, each on the size ``label_fit`` chooses.

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
    for item in items:
        d = _printable_data(item)  # what the font cannot draw shows as □, measured as such
        plan = _plan(d)
        side = plan.size.side_pt
        for _ in range(label_pages(d)):
            if mode == "roll":
                if any_page:
                    c.showPage()
                c.setPageSize((side, side))
                _draw_label(c, d, plan, 0.0, 0.0, qr_drawer)
                any_page = True
                continue
            if side != cur_side:
                if any_page:
                    c.showPage()
                cur_side = side
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
            _draw_label(c, d, plan, x, y, qr_drawer)
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
