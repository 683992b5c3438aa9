"""Label rendering throughput: our renderer vs the same labels with reportlab's QR widget.

Run: ``python -m benchmarks.labels [n]`` (default 500 labels, roll mode, one PDF).
Both variants share the layout, the embedded CJK font, pictograms and the Code 128 path; the
only difference is how the QR code is drawn: one vector path of modules (ours) versus
``reportlab.graphics.barcode.qr.QrCodeWidget`` rendered through ``renderPDF``.
"""

from __future__ import annotations

import datetime as dt
import random
import sys
import time
from typing import Any

from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.pdfgen.canvas import Canvas

from app.domain.uscc import uscc_with_check
from labels import codes, render
from labels.data import LabelData
from labels.ids import format_digital_id

_WASTES = [
    ("废有机溶剂（二氯甲烷）", "HW06", "900-401-06", "液态", ("T", "I")),
    ("废非卤化有机溶剂", "HW06", "900-402-06", "液态", ("T", "I", "R")),
    ("原料药合成蒸馏残渣", "HW02", "271-001-02", "半固态", ("T",)),
    ("废母液", "HW02", "271-002-02", "液态", ("T",)),
    ("废活性炭（脱色过滤）", "HW02", "271-003-02", "固态", ("T",)),
    ("废矿物油", "HW08", "900-249-08", "液态", ("T", "I")),
    ("废酸（硫酸、盐酸）", "HW34", "900-300-34", "液态", ("C",)),
    ("含有害物质的废包装物", "HW49", "900-041-49", "固态", ("T", "In")),
]
_UNITS = ["福州某某制药有限公司", "苏州某某化工股份有限公司原料药分厂", "浙江某某药业有限公司"]
_VOLUMES = [20.0, 50.0, 200.0, 200.0, 1000.0]


def make_labels(n: int, seed: int = 7) -> list[LabelData]:
    """``n`` realistic, varied labels (different digital IDs)."""
    rnd = random.Random(seed)
    out: list[LabelData] = []
    for i in range(n):
        name, cat, code, form, hz = _WASTES[i % len(_WASTES)]
        uscc = uscc_with_check(f"913{rnd.randrange(10**5):05d}MA{rnd.randrange(10**7):07d}")
        day = dt.date(2024, 1, 1) + dt.timedelta(days=rnd.randrange(365))
        out.append(
            LabelData(
                waste_name=name,
                category=cat,
                waste_code=code,
                form=form,
                hazards=hz,
                main_components=f"有机物 {rnd.randrange(30, 90)}%，水 {rnd.randrange(5, 30)}%",
                harmful_components="二氯甲烷、甲苯" if cat == "HW06" else "有机污染物",
                precautions="远离火源，密闭贮存，防止泄漏。",
                digital_id=format_digital_id(uscc, code, day, 1 + i % 999),
                unit_name=_UNITS[i % len(_UNITS)],
                contact_person="张三",
                phone=f"1380000{rnd.randrange(10**4):04d}",
                generation_date=day,
                weight_kg=round(rnd.uniform(5, 900), 1),
                container_litres=_VOLUMES[i % len(_VOLUMES)],
                remarks=f"批号 B{i:05d}",
            )
        )
    return out


def _widget_qr(c: Canvas, data: str, x: float, y: float, size: float) -> None:
    w = QrCodeWidget(data, barLevel="M")
    x1, y1, x2, y2 = w.getBounds()
    d = Drawing(size, size, transform=[size / (x2 - x1), 0, 0, size / (y2 - y1), 0, 0])
    d.add(w)
    renderPDF.draw(d, c, x, y)


def _clear_caches() -> None:
    codes.qr_matrix.cache_clear()
    codes.qr_path_code.cache_clear()
    codes.code128_modules.cache_clear()
    codes.code128_path_code.cache_clear()
    render._width.cache_clear()


def _time(fn: Any, *args: Any) -> tuple[float, int]:
    _clear_caches()
    t0 = time.perf_counter()
    pdf = fn(*args)
    return time.perf_counter() - t0, len(pdf)


def run(n: int = 500, repeats: int = 3) -> dict[str, float]:
    """Render ``n`` labels both ways (best of ``repeats``, caches cleared before every run);
    labels per second, PDF sizes and the speed-up."""
    items = make_labels(n)
    render.render_label(items[0])  # warm-up: font registration and parsing
    ours_s, ours_bytes = min(_time(render.render_labels, items, "roll") for _ in range(repeats))
    widget_s, widget_bytes = min(
        _time(render._render_labels, items, "roll", _widget_qr) for _ in range(repeats)
    )
    return {
        "labels": float(n),
        "ours_labels_per_s": n / ours_s,
        "widget_labels_per_s": n / widget_s,
        "speedup": widget_s / ours_s,
        "ours_pdf_kb": ours_bytes / 1024,
        "widget_pdf_kb": widget_bytes / 1024,
    }


if __name__ == "__main__":
    result = run(int(sys.argv[1]) if len(sys.argv) > 1 else 500)
    for key, value in result.items():
        print(f"{key:>22}: {value:,.1f}")
