"""The no-waste factory scorecard as a PDF report in Chinese (with charts) and as XLSX. Pure:
the scorecard document (the JSON shape of `GET /api/v1/scorecard`) in, bytes out.

The report shows raw points per item, the raw total against the table's own maximum, and the
draft's inconsistencies in a box of their own, rather than scaling anything to 110.
"""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

from reportlab.graphics.charts.barcharts import HorizontalBarChart, VerticalBarChart
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import (
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from labels.render import FONT_FILE, FONT_NAME

Doc = dict[str, Any]

STATUS_ZH = {
    "met": "达标",
    "partial": "部分",
    "not_met": "未达标",
    "not_applicable": "不适用",
    "missing_input": "缺录入",
    "no_evidence": "缺佐证",
    "not_claimed": "未自评",
}
SOURCE_ZH = {"D": "日志", "I": "录入", "S": "自评"}
LEVEL_ZH = {
    "excellent": "先进值",
    "limit": "达到限值",
    "fails": "未达限值",
    "not_computable": "无法计算",
}
GREEN = colors.HexColor("#2e7d32")
RED = colors.HexColor("#c62828")
GREY = colors.HexColor("#9e9e9e")
BLUE = colors.HexColor("#1565c0")
AMBER = colors.HexColor("#fff3e0")


def _font() -> None:
    if FONT_NAME not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(FONT_NAME, str(FONT_FILE), subfontIndex=0))


def _n(v: Any) -> str:
    if v is None or v == "":
        return "—"
    d = Decimal(str(v))
    return f"{d.normalize():f}" if d == d.to_integral() else f"{d:.2f}".rstrip("0").rstrip(".")


def _pct(v: Any) -> str:
    return "—" if v is None else f"{Decimal(str(v)) * 100:.1f}%"


def _ratio(c: Doc) -> str:
    if c.get("numerator") is None:
        return "—"
    den = c.get("denominator")
    unit = c.get("unit") or ""
    head = f"{_n(c['numerator'])}" + (f" / {_n(den)}" if den is not None else "")
    val = c.get("value")
    if val is not None and c.get("unit") in ("lots", "kg", "events", "manifests", "facilities"):
        return f"{head} {unit} = {_pct(val)}"
    if val is not None:
        return f"{head} {unit}（{_n(val)}）"
    return f"{head} {unit}"


# ---------------------------------------------------------------- PDF


def render_pdf(doc: Doc) -> bytes:
    _font()
    base = ParagraphStyle("b", fontName=FONT_NAME, fontSize=8, leading=10.5, wordWrap="CJK")
    small = ParagraphStyle("s", parent=base, fontSize=7, leading=9)
    h1 = ParagraphStyle("h1", parent=base, fontSize=15, leading=20, spaceAfter=4)
    h2 = ParagraphStyle("h2", parent=base, fontSize=11, leading=15, spaceBefore=8, spaceAfter=4)
    t = doc["totals"]
    d = doc["definition"]
    out = io.BytesIO()
    pdf = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=14 * mm,
        rightMargin=14 * mm,
        topMargin=14 * mm,
        bottomMargin=14 * mm,
        title=f"无废工厂评估 {doc['site_name']} {doc['year']}",
        author="hazchain",
    )
    story: list[Any] = [
        Paragraph(f"“无废工厂”建设评估报告 · {doc['year']} 年度", h1),
        Paragraph(
            f"{doc['site_name']}（{doc['site_code']}）　评分表：{d['title']}　"
            f"定义版本 {d['version']}　计算时间 {str(doc['computed_at'])[:19]} UTC",
            base,
        ),
        Spacer(1, 4),
    ]
    verdict = "否决（不通过）" if t["vetoed"] else ("通过" if t["passed"] else "未达及格线")
    summary = [
        [
            "原始得分（基础 + 加分）",
            f"{_n(t['raw_base'])} + {_n(t['raw_bonus'])} = {_n(t['raw_total'])}",
        ],
        [
            "表内满分（各项分值合计）",
            f"{_n(t['table_max_base'])} + {_n(t['table_max_bonus'])} = {_n(t['table_max'])}",
        ],
        [
            "正文所称满分",
            f"{_n(t['stated_base'])} + {_n(t['stated_bonus'])} = {_n(t['stated_max'])}",
        ],
        ["及格线", _n(t["pass_mark"])],
        ["否决项", "触发" if t["vetoed"] else "未触发"],
        ["结论", verdict],
    ]
    story.append(_table(summary, [60 * mm, 110 * mm], base, header=False))
    if doc["inconsistent"]:
        lines = "<br/>".join(f"• {x['message_zh']}" for x in doc["inconsistencies"])
        box = Table(
            [[Paragraph("<b>评分表自身不一致（原样呈现，未作折算）</b><br/>" + lines, base)]],
            colWidths=[182 * mm],
        )
        box.setStyle(
            TableStyle(
                [
                    ("BOX", (0, 0), (-1, -1), 1, colors.HexColor("#ef6c00")),
                    ("BACKGROUND", (0, 0), (-1, -1), AMBER),
                    ("LEFTPADDING", (0, 0), (-1, -1), 6),
                ]
            )
        )
        story += [Spacer(1, 6), box]
    story += [Paragraph("各一级指标：标题分值、各项合计与得分", h2), _section_chart(doc)]
    story += [Paragraph("各评分项得分", h2), _items_chart(doc)]
    story.append(Paragraph("否决项", h2))
    veto_rows = [["条件", "是否触发", "数量", "说明"]] + [
        [v["key"], "是" if v["triggered"] else "否", str(v["count"]), Paragraph(v["detail"], small)]
        for v in doc["veto"]
    ]
    story.append(_table(veto_rows, [40 * mm, 18 * mm, 14 * mm, 110 * mm], base))
    story.append(Paragraph("评分明细（D 日志 / I 录入 / S 自评）", h2))
    rows: list[list[Any]] = [
        ["#", "评分项 / 评估内容", "来源", "分值", "得分", "分子 / 分母", "状态"]
    ]
    styles: list[Any] = []
    for item in doc["items"]:
        rows.append(
            [
                str(item["no"]),
                Paragraph(f"<b>{item['section_name']} / {item['name']}</b>", base),
                "",
                _n(item["points"]),
                _n(item["score"]),
                "",
                "",
            ]
        )
        styles.append(
            ("BACKGROUND", (0, len(rows) - 1), (-1, len(rows) - 1), colors.HexColor("#eceff1"))
        )
        for c in item["criteria"]:
            rows.append(
                [
                    "",
                    Paragraph(c["text"], small),
                    c["source"],
                    _n(c["points"]),
                    _n(c["score"]),
                    Paragraph(_ratio(c), small),
                    STATUS_ZH.get(c["status"], c["status"]),
                ]
            )
            color = GREEN if c["status"] in ("met", "not_applicable") else RED
            styles.append(("TEXTCOLOR", (6, len(rows) - 1), (6, len(rows) - 1), color))
    detail = _table(rows, [8 * mm, 78 * mm, 12 * mm, 11 * mm, 11 * mm, 46 * mm, 16 * mm], base)
    detail.setStyle(TableStyle(styles))
    story.append(detail)
    story.append(Paragraph("HJ 1259 管理类别 · HG/T 5902 单位产品指标 · Q/CTS 废弃物回收率", h2))
    mc = doc["management_class"]
    story.append(
        Paragraph(
            f"管理类别：<b>{mc['name_zh']}</b>（危险废物年产生量 {_n(mc['hazardous_t'])} t；"
            f"{'；'.join(mc['reasons'])}；依据 {mc['basis']}）",
            base,
        )
    )
    hg = [["指标", "数值", "限值", "先进值", "评价"]]
    for r in doc["hgt5902"]:
        if r.get("status") == "missing_input" and "value" not in r:
            hg.append([Paragraph(r.get("note", ""), small), "—", "—", "—", "缺录入"])
            continue
        hg.append(
            [
                Paragraph(r["name_zh"], small),
                f"{_n(r['value'])} {r['unit']}",
                _n(r["limit"]),
                _n(r["excellent"]),
                LEVEL_ZH.get(r["level"], r["level"]),
            ]
        )
    story += [Spacer(1, 3), _table(hg, [70 * mm, 32 * mm, 26 * mm, 26 * mm, 28 * mm], base)]
    if any("value" in r for r in doc["hgt5902"]):
        story += [Spacer(1, 4), KeepTogether(_hgt_chart(doc))]
    rr = doc["recovery_rate"]
    story.append(
        Paragraph(
            f"废弃物回收率（{rr['basis']}）：{_n(rr['numerator_kg'])} kg / "
            f"{_n(rr['denominator_kg'])} kg = {_pct(rr['rate'])}",
            base,
        )
    )
    story.append(
        Paragraph(
            f"数据填报及时率窗口：{doc['timeliness_window_hours']} 小时。每个比率可在系统中下钻到"
            "其分子、分母对应的批次与事件（/api/v1/scorecard/items/{项}/lots）。",
            small,
        )
    )

    def footer(canvas: Any, _doc: Any) -> None:
        canvas.setFont(FONT_NAME, 7)
        canvas.setFillColor(GREY)
        canvas.drawString(
            14 * mm,
            8 * mm,
            f"hazchain · {doc['site_code']} · {doc['year']} · 定义 {d['key']} {d['version']}",
        )
        canvas.drawRightString(A4[0] - 14 * mm, 8 * mm, f"第 {canvas.getPageNumber()} 页")

    pdf.build(story, onFirstPage=footer, onLaterPages=footer)
    return out.getvalue()


def _table(
    rows: list[list[Any]], widths: list[float], style: ParagraphStyle, header: bool = True
) -> Table:
    tbl = Table(rows, colWidths=widths, repeatRows=1 if header else 0)
    cmds: list[Any] = [
        ("FONTNAME", (0, 0), (-1, -1), FONT_NAME),
        ("FONTSIZE", (0, 0), (-1, -1), 8),
        ("GRID", (0, 0), (-1, -1), 0.3, GREY),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
    ]
    if header:
        cmds.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#cfd8dc")))
    tbl.setStyle(TableStyle(cmds))
    return tbl


def _legend(dw: Drawing, x: float, y: float, entries: list[tuple[Any, str]]) -> None:
    from reportlab.graphics.shapes import Rect

    for color, label in entries:
        dw.add(Rect(x, y, 7, 7, fillColor=color, strokeColor=None))
        dw.add(String(x + 10, y, label, fontName=FONT_NAME, fontSize=7))
        x += 70


def _section_chart(doc: Doc) -> Drawing:
    secs = doc["sections"]
    dw = Drawing(510, 165)
    ch = VerticalBarChart()
    ch.x, ch.y, ch.width, ch.height = 40, 30, 450, 110
    ch.data = [
        [float(s["stated_points"]) for s in secs],
        [float(s["items_sum"]) for s in secs],
        [float(s["score"]) for s in secs],
    ]
    ch.categoryAxis.categoryNames = [s["name"] for s in secs]
    ch.categoryAxis.labels.fontName = FONT_NAME
    ch.categoryAxis.labels.fontSize = 7
    ch.valueAxis.labels.fontName = FONT_NAME
    ch.valueAxis.labels.fontSize = 7
    ch.valueAxis.valueMin = 0
    ch.bars[0].fillColor = GREY
    ch.bars[1].fillColor = colors.HexColor("#ef6c00")
    ch.bars[2].fillColor = BLUE
    ch.barLabelFormat = "%g"
    ch.barLabels.fontName = FONT_NAME
    ch.barLabels.fontSize = 6
    ch.barLabels.nudge = 5
    dw.add(ch)
    _legend(
        dw, 60, 152, [(GREY, "标题分值"), (colors.HexColor("#ef6c00"), "各项合计"), (BLUE, "得分")]
    )
    return dw


def _items_chart(doc: Doc) -> Drawing:
    items = list(reversed(doc["items"]))
    height = 12 * len(items) + 40
    dw = Drawing(510, height)
    ch = HorizontalBarChart()
    ch.x, ch.y, ch.width, ch.height = 150, 20, 340, height - 35
    ch.data = [[float(i["points"]) for i in items], [float(i["score"]) for i in items]]
    ch.categoryAxis.categoryNames = [f"{i['no']}. {i['name']}" for i in items]
    ch.categoryAxis.labels.fontName = FONT_NAME
    ch.categoryAxis.labels.fontSize = 7
    ch.categoryAxis.labels.boxAnchor = "e"
    ch.valueAxis.labels.fontName = FONT_NAME
    ch.valueAxis.labels.fontSize = 7
    ch.valueAxis.valueMin = 0
    ch.groupSpacing = 2
    ch.barSpacing = 0
    ch.bars[0].fillColor = colors.HexColor("#cfd8dc")
    ch.bars[1].fillColor = GREEN
    dw.add(ch)
    _legend(dw, 160, height - 10, [(colors.HexColor("#cfd8dc"), "分值"), (GREEN, "得分")])
    return dw


def _hgt_chart(doc: Doc) -> Drawing:
    rows = [r for r in doc["hgt5902"] if "value" in r and r.get("limit") is not None]
    dw = Drawing(510, 130)
    if not rows:
        return dw
    ch = VerticalBarChart()
    ch.x, ch.y, ch.width, ch.height = 40, 25, 450, 85
    ch.data = [
        [float(r["value"]) for r in rows],
        [float(r["limit"]) for r in rows],
        [float(r["excellent"] or 0) for r in rows],
    ]
    ch.categoryAxis.categoryNames = [r["name_zh"].replace("单位产品", "") for r in rows]
    ch.categoryAxis.labels.fontName = FONT_NAME
    ch.categoryAxis.labels.fontSize = 6
    ch.valueAxis.labels.fontName = FONT_NAME
    ch.valueAxis.labels.fontSize = 7
    ch.valueAxis.valueMin = 0
    ch.bars[0].fillColor = BLUE
    ch.bars[1].fillColor = RED
    ch.bars[2].fillColor = GREEN
    ch.barLabelFormat = "%.1f"
    ch.barLabels.fontName = FONT_NAME
    ch.barLabels.fontSize = 6
    ch.barLabels.nudge = 5
    dw.add(ch)
    _legend(dw, 60, 118, [(BLUE, "本期 kg/t"), (RED, "限值"), (GREEN, "先进值")])
    return dw


# ---------------------------------------------------------------- XLSX


def render_xlsx(doc: Doc) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "评分"
    t = doc["totals"]
    ws.append([f"“无废工厂”建设评估 {doc['site_name']}（{doc['site_code']}）{doc['year']} 年度"])
    ws.append(["定义", doc["definition"]["title"], "版本", doc["definition"]["version"]])
    ws.append(
        [
            "原始得分",
            float(t["raw_total"]),
            "表内满分",
            float(t["table_max"]),
            "正文满分",
            float(t["stated_max"]),
        ]
    )
    ws.append(["否决", "是" if t["vetoed"] else "否", "通过", "是" if t["passed"] else "否"])
    ws.append([])
    head = [
        "#",
        "一级指标",
        "评分项",
        "评估内容",
        "来源",
        "公式",
        "分值",
        "得分",
        "分子",
        "分母",
        "单位",
        "比率/数值",
        "阈值",
        "状态",
        "说明",
        "下钻",
    ]
    ws.append(head)
    for cell in ws[ws.max_row]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="CFD8DC")
    for item in doc["items"]:
        for c in item["criteria"]:
            ws.append(
                [
                    item["no"],
                    item["section_name"],
                    item["name"],
                    c["text"],
                    c["source"],
                    c["formula"],
                    float(c["points"]),
                    float(c["score"]),
                    None if c["numerator"] is None else float(c["numerator"]),
                    None if c["denominator"] is None else float(c["denominator"]),
                    c["unit"],
                    None if c["value"] is None else float(c["value"]),
                    c["threshold"],
                    STATUS_ZH.get(c["status"], c["status"]),
                    c["note"],
                    c["lots_url"],
                ]
            )
    for col, width in zip(
        "ABCDEFGHIJKLMNOP", [4, 16, 18, 48, 6, 22, 6, 6, 12, 12, 12, 10, 14, 8, 40, 50], strict=True
    ):
        ws.column_dimensions[col].width = width
    for row in ws.iter_rows(min_row=7, max_col=4, min_col=4):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")

    s = wb.create_sheet("一级指标")
    s.append(["一级指标", "标题分值", "各项合计", "得分", "加分项"])
    for sec in doc["sections"]:
        s.append(
            [
                sec["name"],
                float(sec["stated_points"]),
                float(sec["items_sum"]),
                float(sec["score"]),
                "是" if sec["bonus"] else "",
            ]
        )
    s.append([])
    s.append(["不一致", "正文", "实际", "说明"])
    for x in doc["inconsistencies"]:
        s.append([x["kind"], float(x["stated"]), float(x["actual"]), x["message_zh"]])
    s.column_dimensions["A"].width = 18
    s.column_dimensions["D"].width = 80

    v = wb.create_sheet("否决项")
    v.append(["条件", "触发", "数量", "说明"])
    for x in doc["veto"]:
        v.append([x["key"], "是" if x["triggered"] else "否", x["count"], x["detail"]])

    r = wb.create_sheet("单位产品指标")
    r.append(
        [
            "HJ 1259 管理类别",
            doc["management_class"]["name_zh"],
            float(doc["management_class"]["hazardous_t"]),
        ]
    )
    r.append([])
    r.append(["指标", "名称", "数值", "单位", "限值", "先进值", "评价", "分子 kg", "分母 t"])
    for x in doc["hgt5902"]:
        if "value" not in x:
            r.append([x["indicator"], x.get("note")])
            continue
        r.append(
            [
                x["indicator"],
                x["name_zh"],
                float(x["value"]),
                x["unit"],
                None if x["limit"] is None else float(x["limit"]),
                None if x["excellent"] is None else float(x["excellent"]),
                LEVEL_ZH.get(x["level"], x["level"]),
                float(x["numerator_kg"]),
                float(x["denominator_t"]),
            ]
        )
    rr = doc["recovery_rate"]
    r.append([])
    r.append(
        [
            "废弃物回收率",
            rr["basis"],
            None if rr["rate"] is None else float(rr["rate"]),
            "分子 kg",
            float(rr["numerator_kg"]),
            "分母 kg",
            float(rr["denominator_kg"]),
        ]
    )

    i = wb.create_sheet("录入")
    i.append(["字段", "值"])
    for k, val in doc["inputs"].items():
        i.append([k, str(val)])
    i.append([])
    i.append(["自评项", "值"])
    for k, val in doc["self_assessed"].items():
        i.append([k, str(val)])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
