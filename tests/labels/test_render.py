import datetime as dt
import importlib.util
from pathlib import Path

import pypdfium2 as pdfium
import pytest
import zxingcpp
from PIL import ImageChops

from labels.data import AllowedWaste, FacilitySignData, LabelData, ZoneInfo, ZoneSignData
from labels.ids import format_digital_id
from labels.layout import MM, SIZE_TABLE, size_for_volume
from labels.render import (
    MISSING_MARK,
    label_fit,
    render_facility_sign,
    render_label,
    render_labels,
    render_zone_sign,
)

USCC = "91350100M000100Y43"


def make_label(litres: float, seq: int = 1, **kw: object) -> LabelData:
    base: dict[str, object] = dict(
        waste_name="废有机溶剂（二氯甲烷、甲苯混合物）",
        category="HW06",
        waste_code="900-402-06",
        form="液态",
        hazards=("T", "I", "R"),
        main_components="二氯甲烷 60%，甲苯 30%，水 10%",
        harmful_components="二氯甲烷、甲苯",
        precautions="远离火源，密闭贮存。",
        digital_id=format_digital_id(USCC, "900-402-06", dt.date(2024, 3, 15), seq),
        unit_name="福州某某制药有限公司",
        contact_person="张三",
        phone="0591-88888888",
        generation_date=dt.date(2024, 3, 15),
        weight_kg=185.5,
        container_litres=litres,
        remarks="",
    )
    base.update(kw)
    return LabelData(**base)  # type: ignore[arg-type]


def pages(pdf: bytes) -> list[pdfium.PdfPage]:
    doc = pdfium.PdfDocument(pdf)
    return [doc[i] for i in range(len(doc))]


def decode(page: pdfium.PdfPage, dpi: int = 300) -> dict[str, str]:
    img = page.render(scale=dpi / 72).to_pil().convert("L")
    out: dict[str, str] = {}
    for r in zxingcpp.read_barcodes(img):
        out[r.format.name] = r.text
    return out


def page_text(page: pdfium.PdfPage) -> str:
    tp = page.get_textpage()
    return tp.get_text_range()


def test_size_table() -> None:
    assert [(s.side_mm, s.min_text_mm, s.copies) for s in SIZE_TABLE] == [
        (100, 3, 1),
        (150, 5, 1),
        (200, 6, 2),
    ]
    assert size_for_volume(50).side_mm == 100
    assert size_for_volume(50.01).side_mm == 150
    assert size_for_volume(450).side_mm == 150
    assert size_for_volume(451).side_mm == 200
    with pytest.raises(ValueError):
        size_for_volume(0)


@pytest.mark.parametrize("litres", [20, 50, 200, 1000])
def test_label_round_trip(litres: float) -> None:
    d = make_label(litres)
    pdf = render_label(d)
    sz = size_for_volume(litres)
    ps = pages(pdf)
    assert len(ps) == sz.copies
    for p in ps:
        w, h = p.get_size()
        assert w == pytest.approx(sz.side_mm * MM, abs=0.01)
        assert h == pytest.approx(sz.side_mm * MM, abs=0.01)
        codes = decode(p)
        assert codes.get("QRCode") == d.digital_id
        assert codes.get("Code128") == d.digital_id
        text = page_text(p)
        for value in ("危险废物", "HW06", "900-402-06", "废物代码", "张三", "2024-03-15", "液态"):
            assert value in text, value
        assert "废有机溶剂" in text
        assert d.digital_id in text


def test_font_is_embedded() -> None:
    pdf = render_label(make_label(20))
    assert b"/FontFile2" in pdf  # embedded TrueType program
    assert b"/BaseFont /Helvetica" not in pdf


def _squash(text: str) -> str:
    """Text without whitespace: a value wrapped over lines (or at a space) still matches."""
    return "".join(text.split())


def field_values(d: LabelData) -> dict[str, str]:
    return {
        "waste_name": d.waste_name,
        "category": d.category,
        "waste_code": d.waste_code,
        "form": d.form,
        "main_components": d.main_components,
        "harmful_components": d.harmful_components,
        "precautions": d.precautions,
        "unit_name": d.unit_name,
        "contact_person": d.contact_person,
        "phone": d.phone,
        "generation_date": f"{d.generation_date:%Y-%m-%d}",
        "weight_kg": "待称重" if d.weight_kg is None else f"{d.weight_kg:g} kg",
        "remarks": d.remarks,
    }


def assert_complete(d: LabelData, page: pdfium.PdfPage) -> None:
    text = _squash(page_text(page))
    assert "…" not in text
    for key, value in field_values(d).items():
        assert _squash(value) in text, key
    assert d.digital_id in text


def _samples() -> dict[str, LabelData]:
    path = Path(__file__).resolve().parents[2] / "docs" / "labels" / "render_samples.py"
    spec = importlib.util.spec_from_file_location("render_samples", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return dict(module.LABELS)


SAMPLES = _samples()


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_sample_labels_print_every_field_in_full(name: str) -> None:
    d = SAMPLES[name]
    fit = label_fit(d)
    assert fit.cut == ()
    assert fit.size.side_mm >= size_for_volume(d.container_litres).side_mm
    ps = pages(render_label(d))
    assert len(ps) == fit.copies == size_for_volume(d.container_litres).copies
    for p in ps:
        assert p.get_size()[0] == pytest.approx(fit.size.side_pt, abs=0.01)
        assert_complete(d, p)


def test_sample_sizes() -> None:
    """What the docs show: realistic text fits the volume's size, except a 200 L drum with all
    five pictograms, which steps up to 200 mm (one label: copies go by volume)."""
    sides = {name: label_fit(d).size.side_mm for name, d in SAMPLES.items()}
    assert sides == {
        "label-100mm": 100,
        "label-150mm": 150,
        "label-200mm": 200,
        "label-stepped-up": 200,
    }
    assert label_fit(SAMPLES["label-stepped-up"]).copies == 1


LONG_PRECAUTIONS = "远离火源，密闭贮存，防止泄漏；搬运时佩戴防护手套和护目镜。泄漏时用沙土吸附，收集后按危险废物处置。"


def test_small_container_steps_up_to_150_mm_when_its_text_does_not_fit() -> None:
    assert label_fit(make_label(20)).size.side_mm == 100
    d = make_label(20, precautions=LONG_PRECAUTIONS, unit_name="福州某某制药有限公司原料药车间")
    fit = label_fit(d)
    assert (fit.size.side_mm, fit.cut, fit.copies) == (150, (), 1)
    ps = pages(render_label(d))
    assert len(ps) == 1
    w, h = ps[0].get_size()
    assert w == pytest.approx(150 * MM, abs=0.01)
    assert h == pytest.approx(150 * MM, abs=0.01)
    codes = decode(ps[0])
    assert codes.get("QRCode") == d.digital_id
    assert codes.get("Code128") == d.digital_id
    assert_complete(d, ps[0])


def test_absurd_text_is_cut_at_200_mm_and_reported() -> None:
    unit = "福州某某制药有限公司原料药车间危险废物暂存间（二号楼东侧）"
    d = make_label(
        20,
        precautions="远离火源，密闭贮存。" * 300,
        remarks="备注很长的说明文字。" * 40,
        unit_name=unit,
    )
    fit = label_fit(d)
    assert fit.size.side_mm == 200
    assert fit.copies == 1  # a 20 L container still gets one label
    assert fit.cut == ("remarks", "precautions")  # lowest priority first
    ps = pages(render_label(d))
    assert len(ps) == 1
    assert ps[0].get_size()[0] == pytest.approx(200 * MM, abs=0.01)
    text = _squash(page_text(ps[0]))
    assert "…" in text
    for value in (d.waste_name, d.category, d.waste_code, unit, d.main_components, d.phone):
        assert _squash(value) in text, value
    codes = decode(ps[0])  # the cut text was not drawn over the codes
    assert codes.get("QRCode") == d.digital_id
    assert codes.get("Code128") == d.digital_id


def test_characters_the_font_cannot_draw_print_as_a_mark_and_are_reported() -> None:
    """An emoji or a CJK Extension B character has no glyph in the embedded font: reportlab
    would draw a blank and the character would vanish from the label. It prints as □, and
    `label_fit` names it per field (R10 warns with it)."""
    d = make_label(
        200,
        waste_name="废液🧪𠀀",
        precautions="☢\ufe0f远离火源\u202e",  # a variation selector and a format mark need none
        contact_person="王𪚥",
    )
    fit = label_fit(d)
    assert fit.unprintable == {"waste_name": "🧪𠀀", "precautions": "☢", "contact_person": "𪚥"}
    assert label_fit(make_label(200)).unprintable == {}
    text = _squash(page_text(pages(render_label(d))[0]))
    assert f"废液{MISSING_MARK}{MISSING_MARK}" in text and f"王{MISSING_MARK}" in text
    assert f"{MISSING_MARK}远离火源" in text


def test_name_and_unit_are_cut_only_when_nothing_else_can_give() -> None:
    d = make_label(
        1000,
        waste_name="很长的废物名称" * 60,
        unit_name="很长的单位名称" * 60,
        precautions="远离火源，密闭贮存。" * 100,
    )
    fit = label_fit(d)
    assert fit.size.side_mm == 200
    # precautions first; name and unit (reported) only once nothing else has a line to give
    assert fit.cut == ("precautions", "waste_name", "unit_name")
    text = _squash(page_text(pages(render_label(d))[0]))
    assert "HW06" in text and "900-402-06" in text


def _orange_box_mm(page: pdfium.PdfPage, dpi: int = 100) -> tuple[float, ...]:
    """Bounding box (left, top, right, bottom in mm from the top-left) of the orange ground."""
    img = page.render(scale=dpi / 72).to_pil().convert("RGB")
    r, g, b = img.split()
    mask = ImageChops.multiply(
        ImageChops.multiply(
            r.point(lambda v: 255 if v > 230 else 0), g.point(lambda v: 255 if 120 < v < 180 else 0)
        ),
        b.point(lambda v: 255 if v < 60 else 0),
    )
    box = mask.getbbox()
    assert box is not None
    return tuple(v / dpi * 25.4 for v in box)


def test_a4_places_a_stepped_up_label_on_the_150_mm_grid() -> None:
    long = make_label(
        20, 2, precautions=LONG_PRECAUTIONS, unit_name="福州某某制药有限公司原料药车间"
    )
    items = [make_label(20, 1), long, make_label(20, 3)]
    ps = pages(render_labels(items, mode="a4"))
    assert len(ps) == 3  # a change of size starts a new sheet
    # 100 mm: 2 x 2 grid, first slot top left; 150 mm: one label, centred on A4
    expected = [(3.0, 46.5, 103.0, 146.5), (30.0, 73.5, 180.0, 223.5), (3.0, 46.5, 103.0, 146.5)]
    for p, box in zip(ps, expected, strict=True):
        assert _orange_box_mm(p) == pytest.approx(box, abs=0.6)
    codes = decode(ps[1], dpi=200)
    assert codes.get("QRCode") == long.digital_id
    assert_complete(long, ps[1])


def test_all_five_pictograms_and_no_weight() -> None:
    d = make_label(200, hazards=("T", "C", "I", "R", "In"), weight_kg=None)
    text = page_text(pages(render_label(d))[0])
    for cap in ("毒性", "腐蚀性", "易燃性", "反应性", "感染性", "待称重"):
        assert cap in text


def test_roll_batch_page_count() -> None:
    items = [make_label(20, 1), make_label(200, 2), make_label(1000, 3)]
    ps = pages(render_labels(items, mode="roll"))
    assert len(ps) == 4  # the 1000 L lot gets two labels
    assert [round(p.get_size()[0] / MM) for p in ps] == [100, 150, 200, 200]


@pytest.mark.parametrize(
    ("litres", "n", "expected"), [(20, 9, 3), (20, 4, 1), (200, 3, 3), (1000, 2, 4)]
)
def test_a4_batch_page_count(litres: float, n: int, expected: int) -> None:
    items = [make_label(litres, i + 1) for i in range(n)]
    ps = pages(render_labels(items, mode="a4"))
    assert len(ps) == expected
    w, h = ps[0].get_size()
    assert (round(w), round(h)) == (595, 842)


def test_a4_batch_decodes_every_label() -> None:
    items = [make_label(20, i + 1) for i in range(4)]
    p = pages(render_labels(items, mode="a4"))[0]
    img = p.render(scale=300 / 72).to_pil().convert("L")
    found = {r.text for r in zxingcpp.read_barcodes(img)}
    assert {d.digital_id for d in items} <= found


def test_render_labels_rejects_bad_mode_and_empty() -> None:
    with pytest.raises(ValueError):
        render_labels([make_label(20)], mode="sheet")
    with pytest.raises(ValueError):
        render_labels([])


def zone(page_size: str = "A4") -> ZoneSignData:
    return ZoneSignData(
        facility_name="危废贮存库1号",
        facility_code="FZ-HW-001",
        zone_code="Z-A01",
        zone_name="A区 有机溶剂",
        allowed=(
            AllowedWaste("HW06", "废有机溶剂与含有机溶剂废物"),
            AllowedWaste("900-402-06", "废非卤化有机溶剂"),
        ),
        all_zones=(
            ZoneInfo("Z-A01", "A区 有机溶剂", ("HW06",)),
            ZoneInfo("Z-A02", "B区 医药废物", ("HW02",)),
        ),
        page_size=page_size,
    )


@pytest.mark.parametrize(("size", "dims"), [("A4", (595, 842)), ("A5", (420, 595))])
def test_zone_sign_round_trip(size: str, dims: tuple[int, int]) -> None:
    z = zone(size)
    p = pages(render_zone_sign(z))[0]
    w, h = p.get_size()
    assert (round(w), round(h)) == dims
    codes = decode(p, dpi=200)
    assert codes.get("QRCode") == "Z-A01"
    assert codes.get("Code128") == "Z-A01"
    text = page_text(p)
    for value in (
        "危废贮存库1号",
        "A区 有机溶剂",
        "废有机溶剂与含有机溶剂废物",
        "900-402-06",
        "您在此处",
    ):
        assert value in text, value


def test_facility_sign() -> None:
    d = FacilitySignData("贮存", "福州某某制药有限公司", "FZ-HW-001", "李四", "13800000000")
    text = page_text(pages(render_facility_sign(d))[0])
    for value in ("危险废物贮存设施", "福州某某制药有限公司", "FZ-HW-001", "李四", "13800000000"):
        assert value in text
    with pytest.raises(ValueError):
        FacilitySignData("仓库", "x", "y", "z", "1")
