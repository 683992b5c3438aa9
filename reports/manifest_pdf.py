"""The transfer manifest (危险废物转移联单) as a PDF in the layout of the national form:
title and number with a QR code of the number (and one of the roadside-check link, when the
document has one), then the three parts filled by the 移出人,
the 承运人 and the 接受人, each closing with its signature, and an annex listing every
package (lot) with its digital ID. Pure: a `ManifestDoc` in, PDF bytes out.

The MEE form's exact layout was not found (regulations.md §6.5 [RECALL]); the fields are
those of Arts. 10-13 and 18 in the order the national system shows them.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field

from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from labels.codes import qr_path_code
from labels.render import FONT_FILE, FONT_NAME, printable

MM = 72 / 25.4
PAGE_W, PAGE_H = A4
MARGIN = 12 * MM


@dataclass(frozen=True)
class DocLine:
    no: int
    name: str
    category: str
    code: str
    hazards: str
    form: str
    harmful: str
    packaging: str
    count: int
    weight_t: str
    method: str
    dg: str  # "UN1993 / 3"


@dataclass(frozen=True)
class DocLot:
    line_no: int
    digital_id: str
    name: str
    weight_kg: str
    received_kg: str = ""
    outcome: str = ""
    method: str = ""
    completed_on: str = ""


@dataclass(frozen=True)
class DocSignature:
    party: str  # 移出人 / 承运人 / 接受人
    step: str  # 交接 step, Chinese
    name: str
    method: str  # 登录签署 / 一次性验证码
    at: str


@dataclass(frozen=True)
class ManifestDoc:
    number: str
    status: str
    approval_no: str = ""
    paper: str = ""  # 纸质联单补录: the paper manifest this one enters afterwards
    # consignor
    consignor_name: str = ""
    consignor_uscc: str = ""
    consignor_address: str = ""
    consignor_contact: str = ""
    consignor_phone: str = ""
    emergency_measures: str = ""
    lines: Sequence[DocLine] = ()
    total_t: str = ""
    # carrier
    carrier_name: str = ""
    carrier_licence_no: str = ""
    vehicle_plate: str = ""
    vehicle_cert_no: str = ""
    driver: str = ""
    escort: str = ""
    start: str = ""
    route: str = ""
    end: str = ""
    waybill_no: str = ""
    track: str = ""  # the GPS track's summary (运输轨迹)
    departed_at: str = ""
    arrived_at: str = ""
    # receiver
    handler_name: str = ""
    handler_licence_no: str = ""
    received_at: str = ""
    accepted_t: str = ""
    acceptance: str = ""
    discrepancy: str = ""
    methods: str = ""
    confirmed_at: str = ""
    disposed_at: str = ""
    signatures: Sequence[DocSignature] = ()
    lots: Sequence[DocLot] = ()
    corrections: Sequence[str] = field(default_factory=tuple)
    generated_at: str = ""
    check_url: str = ""  # the roadside check (路检核验) a phone opens from the second QR code


def _font() -> str:
    if FONT_NAME not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(FONT_NAME, str(FONT_FILE), subfontIndex=0))
    return FONT_NAME


class _Pen:
    """A cursor down an A4 page that starts a new page when it runs out of room."""

    def __init__(self, c: Canvas, doc: ManifestDoc) -> None:
        self.c = c
        self.doc = doc
        self.page = 1
        self.y = PAGE_H - MARGIN

    def need(self, h: float) -> None:
        if self.y - h < MARGIN + 8 * MM:
            self.footer()
            self.c.showPage()
            self.page += 1
            self.y = PAGE_H - MARGIN
            self.c.setFont(FONT_NAME, 9)
            self.c.drawString(MARGIN, self.y - 9, f"危险废物转移联单 {self.doc.number}（续）")
            self.y -= 16

    def footer(self) -> None:
        self.c.setFont(FONT_NAME, 7)
        self.c.setFillGray(0.35)
        self.c.drawString(
            MARGIN,
            MARGIN - 2,
            f"联单编号 {self.doc.number} · 第 {self.page} 页 · hazchain 生成于 "
            f"{self.doc.generated_at} · 电子联单数据以全国固体废物管理信息系统为准",
        )
        self.c.setFillGray(0)


def _fit(text: str, size: float, width: float) -> list[str]:
    """Wrap `text` (CJK-aware: any character may break) into lines of at most `width`; a
    character the font cannot draw shows as □ (reportlab would leave a blank)."""
    lines: list[str] = []
    for para in printable(text or "").split("\n"):
        cur = ""
        for ch in para:
            if pdfmetrics.stringWidth(cur + ch, FONT_NAME, size) > width and cur:
                lines.append(cur)
                cur = ch
            else:
                cur += ch
        lines.append(cur)
    return lines or [""]


def _row(
    pen: _Pen,
    cells: Sequence[tuple[str, float]],
    size: float = 8.5,
    shade: Sequence[bool] | None = None,
    min_h: float = 6.5 * MM,
) -> None:
    """One table row: (text, width in mm) cells with borders; height grows with the text."""
    c = pen.c
    wrapped = [_fit(t, size, w * MM - 3) for t, w in cells]
    h = max(min_h, max(len(w) for w in wrapped) * (size + 2) + 5)
    pen.need(h)
    x = MARGIN
    for i, ((_, w), lines) in enumerate(zip(cells, wrapped, strict=True)):
        if shade and shade[i]:
            c.setFillGray(0.92)
            c.rect(x, pen.y - h, w * MM, h, stroke=0, fill=1)
            c.setFillGray(0)
        c.rect(x, pen.y - h, w * MM, h, stroke=1, fill=0)
        c.setFont(FONT_NAME, size)
        ty = pen.y - size - 2.5
        for line in lines:
            c.drawString(x + 1.5, ty, line)
            ty -= size + 2
        x += w * MM
    pen.y -= h


def _pairs(pen: _Pen, pairs: Sequence[tuple[str, str]], widths: tuple[float, float] = (28, 65)):
    """Label / value pairs, two pairs per row, labels shaded."""
    for i in range(0, len(pairs), 2):
        chunk = list(pairs[i : i + 2])
        cells: list[tuple[str, float]] = []
        shade: list[bool] = []
        for label, value in chunk:
            cells += [(label, widths[0]), (value, widths[1])]
            shade += [True, False]
        if len(chunk) == 1:
            cells[-1] = (cells[-1][0], widths[1] + sum(widths))
        _row(pen, cells, shade=shade)


def _section(pen: _Pen, title: str) -> None:
    pen.need(9 * MM)
    c = pen.c
    c.setFillGray(0.15)
    c.rect(MARGIN, pen.y - 6.5 * MM, PAGE_W - 2 * MARGIN, 6.5 * MM, stroke=0, fill=1)
    c.setFillGray(1)
    c.setFont(FONT_NAME, 10)
    c.drawString(MARGIN + 2 * MM, pen.y - 4.6 * MM, title)
    c.setFillGray(0)
    pen.y -= 6.5 * MM


def _signatures(pen: _Pen, doc: ManifestDoc, party: str) -> None:
    sigs = [s for s in doc.signatures if s.party == party]
    text = "；".join(f"{s.step}：{s.name}（{s.method}，{s.at}）" for s in sigs) or "（未签署）"
    _row(pen, [(f"{party}签字", 28), (text, 158)], shade=[True, False])


class _RawPath:
    """A ready-made path for ``Canvas.drawPath`` (which only needs ``getCode()``)."""

    def __init__(self, code: str) -> None:
        self.code = code

    def getCode(self) -> str:
        return self.code


def _draw_qr(c: Canvas, data: str, x: float, y: float, size: float) -> None:
    """QR of `data` with a white quiet zone in a `size` square; the modules are one path."""
    n, code = qr_path_code(data)
    quiet = 4
    mod = size / (n + 2 * quiet)
    c.saveState()
    c.setFillGray(1)
    c.rect(x, y, size, size, stroke=0, fill=1)
    c.setFillGray(0)
    c.translate(x + quiet * mod, y + size - quiet * mod)
    c.scale(mod, mod)
    c.drawPath(_RawPath(code), stroke=0, fill=1)  # type: ignore[arg-type]
    c.restoreState()


def render_manifest(doc: ManifestDoc) -> bytes:
    _font()
    buf = io.BytesIO()
    c = Canvas(buf, pagesize=A4, pageCompression=1, invariant=1, initialFontName=FONT_NAME)
    c.setTitle(f"危险废物转移联单 {doc.number}")
    c.setCreator("hazchain reports")
    pen = _Pen(c, doc)
    # header: title, number, QR of the number; left of it the roadside-check link's QR
    qr = 26 * MM
    codes = [(doc.number, ("联单编号", "Manifest No."))]
    if doc.check_url:
        codes.insert(0, (doc.check_url, ("路检核验（手机扫码）", "Roadside check")))
    c.setFont(FONT_NAME, 6.5)
    for i, (data, caption) in enumerate(reversed(codes)):
        x = PAGE_W - MARGIN - qr - i * (qr + 4 * MM)
        _draw_qr(c, data, x, PAGE_H - MARGIN - qr, qr)
        for k, text in enumerate(caption):
            c.drawCentredString(x + qr / 2, PAGE_H - MARGIN - qr - (2.2 + 2.6 * k) * MM, text)
    c.setFont(FONT_NAME, 18)
    c.drawCentredString(PAGE_W / 2 - 10 * MM, PAGE_H - MARGIN - 9 * MM, "危险废物转移联单")
    c.setFont(FONT_NAME, 8)
    c.drawCentredString(
        PAGE_W / 2 - 10 * MM, PAGE_H - MARGIN - 14 * MM, "Hazardous waste transfer manifest"
    )
    c.setFont(FONT_NAME, 10)
    c.drawString(MARGIN, PAGE_H - MARGIN - 21 * MM, f"联单编号：{doc.number}")
    c.drawString(MARGIN + 62 * MM, PAGE_H - MARGIN - 21 * MM, f"状态：{doc.status}")
    y = PAGE_H - MARGIN - 26 * MM
    room = PAGE_W - 2 * MARGIN - len(codes) * (qr + 4 * MM)  # left of the QR codes
    for text in (
        f"跨省转移批准文号：{doc.approval_no}" if doc.approval_no else "",
        f"纸质联单补录：{doc.paper}" if doc.paper else "",
    ):
        for line in _fit(text, 10, room) if text else []:
            c.drawString(MARGIN, y, line)
            y -= 4.5 * MM
    pen.y = min(PAGE_H - MARGIN - qr - 7 * MM, y + 2 * MM)

    _section(pen, "第一部分  危险废物移出信息（由移出人填写）")
    _pairs(
        pen,
        [
            ("单位名称", doc.consignor_name),
            ("统一社会信用代码", doc.consignor_uscc),
            ("单位地址", doc.consignor_address),
            ("联系人", doc.consignor_contact),
            ("应急联系电话", doc.consignor_phone),
            ("托运人", "移出人"),
        ],
    )
    head = [
        ("序号", 9),
        ("废物名称", 27),
        ("类别", 12),
        ("代码", 20),
        ("危险特性", 13),
        ("形态", 11),
        ("有害成分", 22),
        ("包装方式", 22),
        ("数量", 10),
        ("移出量(t)", 17),
        ("拟处置方式", 12),
        ("UN号/类别", 11),
    ]
    widths = [w for _, w in head]
    scale = 186 / sum(widths)
    head = [(t, w * scale) for t, w in head]
    _row(pen, head, size=7.5, shade=[True] * len(head))
    for ln in doc.lines:
        values = [
            str(ln.no),
            ln.name,
            ln.category,
            ln.code,
            ln.hazards,
            ln.form,
            ln.harmful,
            ln.packaging,
            str(ln.count),
            ln.weight_t,
            ln.method,
            ln.dg,
        ]
        _row(pen, [(v, w) for v, (_, w) in zip(values, head, strict=True)], size=7.5)
    _row(pen, [("合计", 158), (f"{doc.total_t} t", 28)], shade=[True, False])
    _row(pen, [("应急措施", 28), (doc.emergency_measures, 158)], shade=[True, False])
    _signatures(pen, doc, "移出人")

    _section(pen, "第二部分  危险废物运输信息（由承运人填写）")
    _pairs(
        pen,
        [
            ("承运人名称", doc.carrier_name),
            ("道路运输经营许可证号", doc.carrier_licence_no),
            ("车牌号", doc.vehicle_plate),
            ("道路运输证号", doc.vehicle_cert_no),
            ("驾驶员/从业资格证", doc.driver),
            ("押运员/从业资格证", doc.escort),
            ("运输起点", doc.start),
            ("经由地", doc.route),
            ("运输终点", doc.end),
            ("危险货物运单号", doc.waybill_no),
            ("启运时间", doc.departed_at),
            ("到达时间", doc.arrived_at),
            ("运输轨迹（GPS）", doc.track),  # last: an odd item spans the row
        ],
    )
    _signatures(pen, doc, "承运人")

    _section(pen, "第三部分  危险废物接受信息（由接受人填写）")
    _pairs(
        pen,
        [
            ("接受人名称", doc.handler_name),
            ("危险废物经营许可证编号", doc.handler_licence_no),
            ("接收时间", doc.received_at),
            ("接受量(t)", doc.accepted_t),
            ("是否接受", doc.acceptance),
            ("利用/处置方式代码", doc.methods),
            ("确认时间", doc.confirmed_at),
            ("利用/处置完毕", doc.disposed_at),
        ],
    )
    _row(pen, [("差异说明", 28), (doc.discrepancy or "无", 158)], shade=[True, False])
    _signatures(pen, doc, "接受人")
    if doc.corrections:
        _section(pen, "更正记录（原值保留）")
        for text in doc.corrections:
            _row(pen, [(text, 186)], size=7.5)

    _section(pen, "附：包装件清单（数字识别码）")
    cols = [
        ("行", 8),
        ("数字识别码", 62),
        ("名称", 30),
        ("移出量kg", 18),
        ("接收kg", 17),
        ("结果", 17),
        ("方式", 12),
        ("完毕日期", 22),
    ]
    _row(pen, cols, size=7.5, shade=[True] * len(cols))
    for lot in doc.lots:
        vals = [
            str(lot.line_no),
            lot.digital_id,
            lot.name,
            lot.weight_kg,
            lot.received_kg,
            lot.outcome,
            lot.method,
            lot.completed_on,
        ]
        _row(pen, [(v, w) for v, (_, w) in zip(vals, cols, strict=True)], size=7.5, min_h=5 * MM)
    pen.footer()
    c.showPage()
    c.save()
    return buf.getvalue()
