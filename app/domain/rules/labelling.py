"""Rules checked when a lot is labelled (HJ 1276)."""

from __future__ import annotations

from collections.abc import Iterator

from app.domain.rules.base import Finding, Rule, Severity, Situation, Step
from app.domain.rules.common import (
    HJ1276,
    P3,
    is_hazardous,
    rule,
)

# ---------------------------------------------------------------- labelling

LABEL_FIELDS = {
    "name": "废物名称",
    "category": "废物类别",
    "code": "废物代码",
    "form": "废物形态",
    "hazards": "危险特性",
    "main_components": "主要成分",
    "harmful_components": "有害成分",
    "precautions": "注意事项",
    "digital_id": "数字识别码",
    "unit": "产生单位",
    "contact": "联系人",
    "phone": "联系方式",
    "date": "产生日期",
    "weight": "废物重量",
}


@rule(
    "R10",
    "标签内容完整",
    "the label carries every mandatory field",
    HJ1276,
    "标签样式与内容",
    P3,
    [Step.labelling],
    Severity.block,
)
def r10(s: Situation, r: Rule) -> Iterator[Finding]:
    if not is_hazardous(s):
        return
    missing = [k for k in LABEL_FIELDS if s.label_fields.get(k) in (None, "", [], ())]
    if missing:
        yield r.finding(
            s,
            "标签缺少：" + "、".join(LABEL_FIELDS[k] for k in missing),
            "the label lacks: " + ", ".join(missing),
            missing=missing,
        )
    cut = list(s.label_fields.get("cut") or ())
    if cut:
        names = {**LABEL_FIELDS, "remarks": "备注"}
        yield r.finding(
            s,
            "标签内容过长，最大尺寸（200 mm）也只能截断打印："
            + "、".join(names.get(k, k) for k in cut)
            + "；请精简该批次的文字",
            "the text is too long even for the largest (200 mm) label, so it is printed cut "
            "short: " + ", ".join(cut) + "; shorten the lot's text",
            severity=Severity.warn,
            cut=cut,
        )
    unprintable: dict[str, str] = dict(s.label_fields.get("unprintable") or {})
    if unprintable:
        names = {**LABEL_FIELDS, "remarks": "备注"}
        yield r.finding(
            s,
            "标签字体无法打印以下字符，标签上印为□："
            + "；".join(f"{names.get(k, k)}（{chars}）" for k, chars in unprintable.items())
            + "；请改用常用字后更正批次信息",
            "the label's font cannot draw these characters, so the label prints □ for them: "
            + "; ".join(f"{k} ({chars})" for k, chars in unprintable.items())
            + "; correct the lot's text with common characters",
            severity=Severity.warn,
            unprintable=unprintable,
        )


@rule(
    "R11",
    "数字识别码为37位且唯一",
    "the digital ID has 37 characters and is unique",
    HJ1276,
    "数字识别码",
    P3,
    [Step.labelling],
    Severity.block,
)
def r11(s: Situation, r: Rule) -> Iterator[Finding]:
    if not is_hazardous(s):
        return
    did = s.the_lot.digital_id or ""
    if len(did) != 37:
        yield r.finding(
            s,
            f"数字识别码应为37位，实际 {len(did)} 位",
            f"the digital ID has {len(did)} characters, not 37",
            digital_id=did,
        )
    elif s.digital_id_taken:
        yield r.finding(
            s,
            f"数字识别码 {did} 已被其他批次使用",
            f"digital ID {did} is already carried by another lot",
            digital_id=did,
        )
