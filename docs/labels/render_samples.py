"""Regenerate the sample PNGs in docs/labels (rasterised at 100 dpi with pypdfium2).

Run from the repository root: ``python docs/labels/render_samples.py [name ...]`` (default:
all).  Prints the size ``label_fit`` chose for each label and any field it had to cut.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable
from pathlib import Path

import pypdfium2 as pdfium

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from labels.data import (
    AllowedWaste,
    FacilitySignData,
    LabelData,
    ZoneInfo,
    ZoneSignData,
)
from labels.ids import format_digital_id
from labels.render import label_fit, render_facility_sign, render_label, render_zone_sign

OUT = Path(__file__).resolve().parent
USCC = "91350100M000100Y43"


def label(litres: float, hazards: tuple[str, ...], seq: int) -> LabelData:
    return LabelData(
        waste_name="废有机溶剂（二氯甲烷、甲苯）",
        category="HW06",
        waste_code="900-402-06",
        form="液态",
        hazards=hazards,
        main_components="二氯甲烷 60%，甲苯 30%，水 10%",
        harmful_components="二氯甲烷、甲苯",
        precautions="远离火源，密闭贮存，防止泄漏；搬运时佩戴防护手套和护目镜。",
        digital_id=format_digital_id(USCC, "900-402-06", dt.date(2024, 3, 15), seq),
        unit_name="福州某某制药有限公司原料药车间",
        contact_person="张三",
        phone="0591-88888888",
        generation_date=dt.date(2024, 3, 15),
        weight_kg=185.5,
        container_litres=litres,
        remarks="批号 A240315-01",
    )


def zone() -> ZoneSignData:
    return ZoneSignData(
        facility_name="危险废物贮存库 1 号",
        facility_code="FZ-HW-001",
        zone_code="Z-A01",
        zone_name="A区 有机溶剂",
        allowed=(
            AllowedWaste("HW06", "废有机溶剂与含有机溶剂废物"),
            AllowedWaste("900-401-06", "废卤化有机溶剂"),
            AllowedWaste("900-402-06", "废非卤化有机溶剂"),
        ),
        all_zones=(
            ZoneInfo("Z-A01", "A区 有机溶剂", ("HW06",)),
            ZoneInfo("Z-A02", "B区 医药废物", ("HW02",)),
            ZoneInfo("Z-A03", "C区 废酸", ("HW34",)),
            ZoneInfo("Z-A04", "D区 其他", ("HW49", "HW50")),
        ),
    )


def png(pdf: bytes, name: str) -> None:
    """First page of ``pdf`` as docs/labels/<name>.png at 100 dpi."""
    doc = pdfium.PdfDocument(pdf)
    try:
        doc[0].render(scale=100 / 72).to_pil().convert("RGB").save(OUT / f"{name}.png")
    finally:
        doc.close()


def label_png(d: LabelData, name: str) -> None:
    fit = label_fit(d)
    cut = f", cut: {', '.join(fit.cut)}" if fit.cut else ""
    sys.stdout.write(f"{name}: {d.container_litres:g} L -> {fit.size.side_mm:.0f} mm")
    sys.stdout.write(f" x {fit.copies}{cut}\n")
    png(render_label(d), name)


#: The sample labels (realistic field lengths; tests/labels checks they print in full).
LABELS: dict[str, LabelData] = {
    "label-100mm": label(20, ("T", "I", "R"), 1),
    "label-150mm": label(200, ("T", "I"), 2),
    "label-200mm": label(1000, ("T", "I"), 3),
    # 200 L like label-150mm, but all five pictograms: stepped up to 200 mm to fit the text
    "label-stepped-up": label(200, ("T", "C", "I", "R", "In"), 4),
}
SIGNS: dict[str, Callable[[], bytes]] = {
    "zone-sign": lambda: render_zone_sign(zone()),
    "facility-sign": lambda: render_facility_sign(
        FacilitySignData("贮存", "福州某某制药有限公司", "FZ-HW-001", "李四", "13800000000")
    ),
}


if __name__ == "__main__":
    for sample in sys.argv[1:] or [*LABELS, *SIGNS]:
        if sample in LABELS:
            label_png(LABELS[sample], sample)
        else:
            png(SIGNS[sample](), sample)
