"""Scanning, label / code / sign files and reprints through the API, on both databases."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote
from uuid import uuid4

import pypdfium2 as pdfium
import zxingcpp
from PIL import Image

from tests.support.client import Api

# ---------------------------------------------------------------- helpers


def _pages(pdf: bytes) -> list[pdfium.PdfPage]:
    doc = pdfium.PdfDocument(pdf)
    return [doc[i] for i in range(len(doc))]


def _codes(page: pdfium.PdfPage, dpi: int = 300) -> dict[str, str]:
    img = page.render(scale=dpi / 72).to_pil().convert("L")
    return {r.format.name: r.text for r in zxingcpp.read_barcodes(img)}


def _text(page: pdfium.PdfPage) -> str:
    return str(page.get_textpage().get_text_range())


def _labelled(api: Api, **overrides: Any) -> dict[str, Any]:
    op = api.as_("operator")
    return op.step(op.generate(**overrides), "label")


# ---------------------------------------------------------------- scanning


def test_scan_by_digital_id_and_messy_scanner_input(api: Api) -> None:
    op = api.as_("operator")
    lot = op.generate()
    did = lot["digital_id"]
    messy = (did, f"{did}\r", f"  {did.lower()}\r\n", f"]Q1{did}", f"]C0{did}\n", f"\x02{did}\x03")
    for raw in (*messy, f"{did[:18]}\x1d{did[18:]}\x00"):  # STX/ETX frame, GS, NUL: cleaned
        r = op.get(f"/api/v1/lots/by-code/{quote(raw, safe='')}")
        assert r.status_code == 200, (raw, r.text)
        assert r.json()["lot_id"] == lot["lot_id"]


def test_scan_errors(api: Api) -> None:
    op = api.as_("operator")
    lot = op.generate()
    did: str = lot["digital_id"]
    r = op.get("/api/v1/lots/by-code/NOT-A-LOT-ID")
    assert r.status_code == 422
    assert r.json()["reasons"] and "37 characters" in r.json()["reasons"][0]
    bad_check = did[:17] + ("0" if did[17] != "0" else "1") + did[18:]
    r = op.get(f"/api/v1/lots/by-code/{bad_check}")
    assert r.status_code == 422 and any("USCC" in x for x in r.json()["reasons"])
    unknown = did[:-3] + "999"
    assert op.get(f"/api/v1/lots/by-code/{unknown}").status_code == 404
    # scoped like GET /lots/{id}: a lot at site A is not found for an operator of site B
    assert api.as_("operator_b").get(f"/api/v1/lots/by-code/{did}").status_code == 404
    assert api.as_("auditor").get(f"/api/v1/lots/by-code/{did}").status_code == 200


# ---------------------------------------------------------------- files


def test_label_pdf_round_trips(api: Api) -> None:
    lot = _labelled(api, name="废活性炭（含苯系物）")
    r = api.as_("operator").get(f"/api/v1/lots/{lot['lot_id']}/label.pdf")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["content-disposition"] == f'inline; filename="label-{lot["digital_id"]}.pdf"'
    pages = _pages(r.content)
    assert len(pages) == 1  # 200 L bag: one 150 mm label
    assert round(pages[0].get_size()[0] / 72 * 25.4) == 150
    codes = _codes(pages[0])
    assert codes.get("QRCode") == lot["digital_id"]
    assert codes.get("Code128") == lot["digital_id"]
    text = _text(pages[0])
    assert "废活性炭（含苯系物）" in text
    for value in ("HW49", "900-039-49", "测试化工有限公司", "固态", lot["digital_id"]):
        assert value in text, value


def test_label_pdf_a4_and_large_container(api: Api) -> None:
    lot = _labelled(api, container={"type": "ibc", "volume_l": "1000"})
    op = api.as_("operator")
    roll = op.get(f"/api/v1/lots/{lot['lot_id']}/label.pdf")
    assert roll.status_code == 200 and len(_pages(roll.content)) == 2  # two opposite sides
    a4 = op.get(f"/api/v1/lots/{lot['lot_id']}/label.pdf", params={"layout": "a4"})
    assert a4.status_code == 200 and a4.headers["content-type"] == "application/pdf"
    w, h = _pages(a4.content)[0].get_size()
    assert (round(w), round(h)) == (595, 842)
    bad = op.get(f"/api/v1/lots/{lot['lot_id']}/label.pdf", params={"layout": "sheet"})
    assert bad.status_code == 422


def test_labelling_warns_when_the_label_can_only_print_a_field_cut(api: Api) -> None:
    """An IBC (6 mm text) with 500-character precautions and remarks: even the 200 mm label
    cannot hold them, so the label step is let through with an R10 warning naming the
    fields printed cut short; a lot with ordinary text gets no such warning."""
    op = api.as_("operator")
    long_lot = op.generate(
        container={"type": "ibc", "volume_l": "1000"},
        precautions="远离火源，密闭贮存，防止泄漏。" * 33,
        remarks="批次说明。" * 100,
    )
    r = op.act(long_lot, "label")
    assert r.status_code == 200, r.text
    (f,) = [f for f in r.json()["event"]["findings"] if f["rule_id"] == "R10"]
    assert f["severity"] == "warn" and "remarks" in f["values"]["cut"]
    assert "截断" in f["message_zh"] and f["citation"]["document"].startswith("HJ 1276")
    events = op.get(f"/api/v1/lots/{long_lot['lot_id']}/events").json()
    assert [x["rule_id"] for x in events[-1]["findings"]] == ["R10"]  # recorded with the step
    plain = op.act(op.generate(container={"type": "ibc", "volume_l": "1000"}), "label")
    assert [x for x in plain.json()["event"]["findings"] if x["rule_id"] == "R10"] == []


def test_a_character_the_font_cannot_draw_is_marked_on_the_label_and_the_manifest(
    api: Api,
) -> None:
    """A waste name typed on a phone with an emoji, or a contact with a rare CJK character
    (Extension B): the label step warns (R10) naming them, the label and the manifest print □
    where they stand instead of leaving them out without a trace."""
    from tests.manifests.support import draft, setup_parties

    op = api.as_("operator")
    lot = op.generate(name="废活性炭🧪", precautions="远离火源𠀀")
    r = op.act(lot, "label")
    assert r.status_code == 200, r.text
    (f,) = [f for f in r.json()["event"]["findings"] if f["rule_id"] == "R10"]
    assert f["severity"] == "warn"
    assert f["values"]["unprintable"] == {"name": "🧪", "precautions": "𠀀"}
    assert "废物名称（🧪）" in f["message_zh"]
    label = op.get(f"/api/v1/lots/{lot['lot_id']}/label.pdf")
    assert "废活性炭□" in _text(_pages(label.content)[0]).replace("\r\n", "")
    setup_parties(api)
    stored = op.step(r.json()["lot"], "store", zone_id=str(api.world.zones["A1"]))
    m = draft(api, [stored])
    pdf = api.as_("ehs_manager").get(f"/api/v1/manifests/{m['manifest_id']}.pdf")
    assert pdf.status_code == 200
    assert any("废活性炭□" in _text(p).replace("\r\n", "") for p in _pages(pdf.content))


def test_qr_png_and_barcode_svg(api: Api) -> None:
    op = api.as_("operator")
    lot = op.generate()
    r = op.get(f"/api/v1/lots/{lot['lot_id']}/qr.png")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    assert r.content.startswith(b"\x89PNG")
    import io

    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(r.content)).convert("L"))
    assert [c.text for c in found] == [lot["digital_id"]]
    r = op.get(f"/api/v1/lots/{lot['lot_id']}/barcode.svg")
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg+xml")
    assert b"<svg" in r.content and lot["digital_id"].encode() in r.content


def test_files_are_scoped_and_permissioned(api: Api) -> None:
    lot = api.as_("operator").generate()
    for path in ("label.pdf", "qr.png", "barcode.svg"):
        url = f"/api/v1/lots/{lot['lot_id']}/{path}"
        assert api.as_("operator_b").get(url).status_code == 404
        assert api.as_("handler").get(url).status_code == 403
    assert api.as_("operator").get(f"/api/v1/lots/{uuid4()}/label.pdf").status_code == 404


def test_general_waste_has_no_hazardous_label(api: Api) -> None:
    lot = api.as_("operator").generate(
        kind="general", waste_code=None, general_class="I", general_category="SW59", name="废纸"
    )
    r = api.as_("operator").get(f"/api/v1/lots/{lot['lot_id']}/label.pdf")
    assert r.status_code == 409
    assert api.as_("operator").get(f"/api/v1/lots/{lot['lot_id']}/qr.png").status_code == 200


def test_batch_roll_and_a4(api: Api) -> None:
    op = api.as_("operator")
    small = op.generate(container={"type": "drum", "volume_l": "20"})
    mid = op.generate()
    big = op.generate(container={"type": "ibc", "volume_l": "1000"})
    ids = [small["lot_id"], mid["lot_id"], big["lot_id"]]
    r = op.post("/api/v1/labels/batch", {"lot_ids": ids, "mode": "roll"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["content-disposition"].startswith('inline; filename="labels-3-roll.pdf"')
    pages = _pages(r.content)
    assert [round(p.get_size()[0] / 72 * 25.4) for p in pages] == [100, 150, 200, 200]
    assert _codes(pages[0]).get("QRCode") == small["digital_id"]
    r = op.post("/api/v1/labels/batch", {"lot_ids": ids, "mode": "a4"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert all(
        (round(w), round(h)) == (595, 842) for w, h in (p.get_size() for p in _pages(r.content))
    )


def test_batch_limits_and_errors(api: Api) -> None:
    op = api.as_("operator")
    lot = op.generate()
    too_many = [str(uuid4()) for _ in range(501)]
    assert op.post("/api/v1/labels/batch", {"lot_ids": too_many}).status_code == 422
    assert op.post("/api/v1/labels/batch", {"lot_ids": []}).status_code == 422
    r = op.post("/api/v1/labels/batch", {"lot_ids": [lot["lot_id"]], "mode": "sheet"})
    assert r.status_code == 422
    r = op.post("/api/v1/labels/batch", {"lot_ids": [lot["lot_id"], str(uuid4())]})
    assert r.status_code == 404
    other_site = api.as_("operator_b").post("/api/v1/labels/batch", {"lot_ids": [lot["lot_id"]]})
    assert other_site.status_code == 404


def test_zone_sign(api: Api) -> None:
    op = api.as_("operator")
    a1 = str(api.world.zones["A1"])
    lot = op.step(op.step(op.generate(), "label"), "store", zone_id=a1)
    assert lot["zone_code"] == "A1"
    r = op.get(f"/api/v1/zones/{a1}/sign.pdf")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["content-disposition"] == 'inline; filename="zone-sign-A1.pdf"'
    page = _pages(r.content)[0]
    codes = _codes(page)
    assert codes.get("QRCode") == "A1" and codes.get("Code128") == "A1"
    text = _text(page)
    for value in ("A1 区", "危险废物", "HW49", "其他废物", "苏州厂区", "A2"):
        assert value in text, value
    empty = op.get(f"/api/v1/zones/{api.world.zones['A2']}/sign.pdf", params={"size": "A5"})
    assert empty.status_code == 200
    assert "当前无贮存" in _text(_pages(empty.content)[0])
    assert op.get(f"/api/v1/zones/{api.world.zones['B1']}/sign.pdf").status_code == 404
    assert api.as_("handler").get(f"/api/v1/zones/{a1}/sign.pdf").status_code == 403


def test_facility_sign(api: Api) -> None:
    r = api.as_("ehs_manager").post(
        "/api/v1/facilities",
        {
            "event_id": str(uuid4()),
            "site_id": str(api.world.site_a),
            "code": "WH1",
            "name": "1号危废库",
            "type": "storage_warehouse",
        },
    )
    assert r.status_code == 201, r.text
    facility_id = r.json()["facility_id"]
    op = api.as_("operator")
    sign = op.get(f"/api/v1/facilities/{facility_id}/sign.pdf", params={"size": "A5"})
    assert sign.status_code == 200, sign.text
    assert sign.headers["content-disposition"] == 'inline; filename="facility-sign-WH1.pdf"'
    text = _text(_pages(sign.content)[0])
    # the unit, the facility, and the site's contact (not the enterprise's)
    for value in (
        "危险废物贮存设施",
        "测试化工有限公司",
        "SZ01-WH1 1号危废库",
        "王敏",
        "0512-62880000",
    ):
        assert value in text, (value, text)
    assert (
        api.as_("operator_b").get(f"/api/v1/facilities/{facility_id}/sign.pdf").status_code == 404
    )
    assert api.as_("handler").get(f"/api/v1/facilities/{facility_id}/sign.pdf").status_code == 403
    assert op.get(f"/api/v1/facilities/{uuid4()}/sign.pdf").status_code == 404


# ---------------------------------------------------------------- reprint


def test_reprint_records_the_reason(api: Api) -> None:
    op = api.as_("operator")
    lot = _labelled(api)
    assert lot["label_prints"] == 1
    r = op.act(lot, "label/reprint", reason="标签被雨水浸湿", copies=2)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["event"]["type"] == "lot.label_reprinted"
    assert body["event"]["payload"]["reason"] == "标签被雨水浸湿"
    assert body["lot"]["label_prints"] == 3
    events = op.get(f"/api/v1/lots/{lot['lot_id']}/events").json()
    assert [e["type"] for e in events][-1] == "lot.label_reprinted"


def test_reprint_needs_a_reason_and_a_label(api: Api) -> None:
    op = api.as_("operator")
    lot = _labelled(api)
    assert op.act(lot, "label/reprint").status_code == 422  # no reason
    assert op.act(lot, "label/reprint", reason="").status_code == 422
    r = op.act(lot, "label/reprint", reason="   ")
    assert r.status_code == 422  # whitespace only: stripped to empty
    unlabelled = op.generate()
    r = op.act(unlabelled, "label/reprint", reason="丢失")
    assert r.status_code == 409 and "label it first" in r.json()["detail"]
    assert api.as_("auditor").act(lot, "label/reprint", reason="丢失").status_code == 403
