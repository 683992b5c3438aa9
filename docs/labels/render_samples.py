"""Regenerate the sample PNGs in docs/labels (needs pdftoppm from poppler-utils).

Run from the repository root: ``python docs/labels/render_samples.py``.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from labels.data import (
    AllowedWaste,
    FacilitySignData,
    LabelData,
    ZoneInfo,
    ZoneSignData,
)
from labels.ids import format_digital_id
from labels.render import render_facility_sign, render_label, render_zone_sign

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
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in.pdf"
        src.write_bytes(pdf)
        subprocess.run(
            [
                "pdftoppm",
                "-r",
                "100",
                "-png",
                "-singlefile",
                "-f",
                "1",
                "-l",
                "1",
                str(src),
                str(OUT / name),
            ],
            check=True,
        )


if __name__ == "__main__":
    png(render_label(label(20, ("T", "I", "R"), 1)), "label-100mm")
    png(render_label(label(200, ("T", "C", "I", "R", "In"), 2)), "label-150mm")
    png(render_label(label(1000, ("T", "I"), 3)), "label-200mm")
    png(render_zone_sign(zone()), "zone-sign")
    png(
        render_facility_sign(
            FacilitySignData("贮存", "福州某某制药有限公司", "FZ-HW-001", "李四", "13800000000")
        ),
        "facility-sign",
    )
