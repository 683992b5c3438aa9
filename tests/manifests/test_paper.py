"""Back-entry of a transfer run on a paper manifest (R53, 转移管理办法 Art. 20 ¶2)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pypdfium2 as pdfium

from tests.manifests.support import TODAY, act, draft, ok, setup_parties, stored_lot
from tests.web.support import Web


def _paper(days_ago: int) -> dict[str, Any]:
    return {
        "paper_number": "苏-2026-000123",
        "completed_on": str(TODAY - timedelta(days=days_ago)),
        "reason": "全国系统停机维护",
    }


def _alerts(api: Any) -> list[dict[str, Any]]:
    return [
        a
        for a in ok(api.as_("ehs_manager").get("/api/v1/manifests/alerts"))
        if a["rule_id"] == "R53"
    ]


def test_a_late_back_entry_is_warned_at_submit_and_alerted_while_in_draft(api) -> None:  # type: ignore[no-untyped-def]
    setup_parties(api)
    when = (datetime.now(UTC) - timedelta(days=30)).isoformat()
    m = draft(api, [stored_lot(api)], paper=_paper(30), occurred_at=when)
    assert m["paper"]["paper_number"] == "苏-2026-000123"
    (alert,) = _alerts(api)
    assert alert["severity"] == "warn" and alert["number"] == m["number"]
    assert "补录未完成" in alert["message_zh"] and alert["due_on"] < str(TODAY)
    assert alert["citation"]["clause"] == "Art. 20 ¶2", alert
    r = ok(act(api, "ehs_manager", m, "submit", occurred_at=when))
    assert r["manifest"]["status"] == "submitted"
    assert r["manifest"]["submitted_at"].startswith(when[:10])  # the step keeps its paper date
    (f,) = [f for f in r["findings"] if f["rule_id"] == "R53"]
    assert f["severity"] == "warn" and f["values"]["working_days"] > 10
    assert _alerts(api) == []  # filed: nothing left to enter
    # the form and the console say it is a back-entered paper manifest
    pdf = api.as_("ehs_manager").get(f"/api/v1/manifests/{m['manifest_id']}.pdf")
    doc = pdfium.PdfDocument(pdf.content)
    text = doc[0].get_textpage().get_text_range().replace("\r\n", "")
    doc.close()
    assert "纸质联单补录：苏-2026-000123" in text and "全国系统停机维护" in text
    page = Web(api, "ehs_manager").get(f"/manifests/{m['manifest_id']}").text
    assert re.search(r'id="paper">苏-2026-000123 · 纸质转移完成于', page)


def test_a_timely_back_entry_passes_and_a_future_paper_date_is_refused(api) -> None:  # type: ignore[no-untyped-def]
    setup_parties(api)
    m = draft(api, [stored_lot(api)], paper=_paper(0))
    (alert,) = _alerts(api)
    assert alert["severity"] == "info"
    r = ok(act(api, "ehs_manager", m, "submit"))
    assert [f for f in r["findings"] if f["rule_id"] == "R53"] == []
    body = {
        "event_id": "5a0c1b8e-2f7e-4c53-9a59-6f1f3f1d9a01",
        "site_id": str(api.world.site_a),
        "handler_enterprise_id": str(api.world.handler_org),
        "carrier_enterprise_id": str(api.world.carrier_org),
        "planned_date": str(TODAY),
        "emergency_measures": "围堵、吸附",
        "lines": [
            {
                "waste_code": "900-039-49",
                "lot_ids": [stored_lot(api)["lot_id"]],
                "planned_method": "D10",
            }
        ],
        "paper": _paper(-2),
    }
    r = api.as_("ehs_manager").post("/api/v1/manifests", body)
    assert r.status_code == 422 and "future" in r.json()["detail"], r.text
    body["paper"] = {**_paper(0), "reason": ""}
    assert api.as_("ehs_manager").post("/api/v1/manifests", body).status_code == 422
