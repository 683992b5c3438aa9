"""The trip's GPS track (运输轨迹) over the API, and R49 at the receiver's gate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pypdfium2 as pdfium

from tests.manifests.support import (
    act,
    draft,
    ok,
    setup_parties,
    step,
    stored_lot,
    to_in_transit,
)

GATE = ("31.263100", "120.731400")  # the handler's facility on its licence


def _fixes(end_lat: str, minutes: int = 3) -> list[dict[str, str]]:
    """A short run north-west of the gate ending at (end_lat, gate longitude)."""
    now = datetime.now(UTC).replace(microsecond=0)
    out = [
        {
            "at": (now - timedelta(minutes=minutes - i)).isoformat(),
            "lat": f"{float(end_lat) + 0.01 * (minutes - i):.6f}",
            "lon": GATE[1],
        }
        for i in range(minutes)
    ]
    out.append({"at": now.isoformat(), "lat": end_lat, "lon": GATE[1]})
    return out


def _receive(api: Any, m: dict[str, Any]) -> dict[str, Any]:
    m = step(api, "transporter", m, "sign", step="receipt")
    lots = [{"lot_id": x["lot_id"], "received_kg": x["weight_kg"]} for x in m["lots"]]
    return ok(act(api, "handler", m, "receive", lots=lots))  # type: ignore[no-any-return]


def _r49(result: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in result["findings"] if f["rule_id"] == "R49"]


def test_a_track_ending_at_the_gate_passes_and_is_served_in_time_order(api) -> None:  # type: ignore[no-untyped-def]
    p = setup_parties(api, facility_lat=GATE[0], facility_lon=GATE[1])
    m = to_in_transit(api, p, draft(api, [stored_lot(api)]))
    fixes = _fixes("31.265000")  # 211 m north of the gate
    # two uploads (the second carries the earlier half), from the carrier's terminal
    m = step(api, "transporter", m, "track", points=fixes[2:], terminal_id=" GPS-320500-7 ")
    m = step(api, "transporter", m, "track", points=fixes[:2], terminal_id="GPS-320500-7")
    assert m["track"]["points"] == 4
    assert m["track"]["last"]["lat"] == "31.265000"
    assert m["track"]["terminal_ids"] == ["GPS-320500-7"]
    t = ok(api.as_("ehs_manager").get(f"/api/v1/manifests/{m['manifest_id']}/track"))
    assert [p["lat"] for p in t["points"]] == [f["lat"] for f in fixes]
    assert t["end_distance_m"] == 211 and t["within_geofence"] is True
    assert t["geofence_m"] == 1000
    result = _receive(api, m)
    assert result["manifest"]["status"] == "received"
    assert _r49(result) == []
    # the form's part 2 (承运人) carries the track's summary
    pdf = api.as_("handler").get(f"/api/v1/manifests/{m['manifest_id']}.pdf")
    doc = pdfium.PdfDocument(pdf.content)
    text = "".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
    text = text.replace("\r\n", "")  # the cell wraps long values
    doc.close()
    assert "运输轨迹" in text and "4 个定位点" in text
    assert "终点距接受人设施 211 m" in text and "GPS-320500-7" in text
    # the track closes with the confirmed receipt
    late = act(api, "transporter", result["manifest"], "track", points=fixes[-1:])
    assert late.status_code == 409, late.text
    assert "track is closed" in late.json()["detail"]


def test_no_track_and_a_far_end_are_warned_at_arrival_and_recorded(api) -> None:  # type: ignore[no-untyped-def]
    p = setup_parties(api, facility_lat=GATE[0], facility_lon=GATE[1])
    m = to_in_transit(api, p, draft(api, [stored_lot(api)]))
    result = _receive(api, m)
    (f,) = _r49(result)
    assert f["severity"] == "warn" and f["values"]["problem"] == "no_track"
    assert f["citation"]["clause"] == "Art. 11(3)(4)"
    events = ok(api.as_("admin").get(f"/api/v1/manifests/{m['manifest_id']}/events"))
    assert any(x["rule_id"] == "R49" for e in events for x in e["findings"])

    m2 = to_in_transit(api, p, draft(api, [stored_lot(api)]))
    m2 = step(api, "transporter", m2, "track", points=_fixes("31.300000"))  # 4.1 km north
    (f,) = _r49(_receive(api, m2))
    assert f["values"]["problem"] == "off_destination"
    assert 4000 < f["values"]["distance_m"] < 4200


def test_bad_tracks_are_refused_and_only_carrier_or_consignor_upload(api) -> None:  # type: ignore[no-untyped-def]
    p = setup_parties(api)
    m = draft(api, [stored_lot(api)])
    early = act(api, "transporter", m, "track", points=_fixes("31.27"))
    assert early.status_code == 404, early.text  # a draft: not the carrier's to see yet
    submitted = step(api, "ehs_manager", draft(api, [stored_lot(api)]), "submit")
    early = act(api, "transporter", submitted, "track", points=_fixes("31.27"))
    assert early.status_code == 409, early.text  # not loaded yet
    m = to_in_transit(api, p, m)
    future = _fixes("31.27")
    future[-1]["at"] = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    r = act(api, "transporter", m, "track", points=future)
    assert r.status_code == 422 and "future" in r.json()["detail"], r.text
    off_globe = _fixes("91.0")
    r = act(api, "transporter", m, "track", points=off_globe)
    assert r.status_code == 422, r.text
    naive = [{"at": "2026-11-21T08:00:00", "lat": "31.2", "lon": "120.7"}]
    assert act(api, "transporter", m, "track", points=naive).status_code == 422
    assert act(api, "transporter", m, "track", points=[]).status_code == 422
    assert act(api, "handler", m, "track", points=_fixes("31.27")).status_code == 403
    # the consignor may upload from the carrier's platform; without facility coordinates the
    # distance is unknown
    m = step(api, "ehs_manager", m, "track", points=_fixes("31.27"))
    t = ok(api.as_("ehs_manager").get(f"/api/v1/manifests/{m['manifest_id']}/track"))
    assert t["end_distance_m"] is None and t["within_geofence"] is None
    (f,) = _r49(_receive(api, m))
    assert f["values"]["problem"] == "no_facility_location"
    events = ok(api.as_("admin").get(f"/api/v1/manifests/{m['manifest_id']}/events"))
    assert [e["type"] for e in events].count("manifest.track_recorded") == 1


def test_a_vehicle_on_the_road_too_long_is_flagged_until_it_arrives(api) -> None:  # type: ignore[no-untyped-def]
    """R49's watch on the trip (Zhoushan's "vehicle overtime"): a manifest in transit longer
    than `[track] overdue_hours` (48) is a warning in the manifest alerts, for the consignor
    and the carrier, and the warning ends with the receipt. The alerts are read at a later
    "now" (a read: nothing is written in the future)."""
    from app.core.clock import FrozenClock
    from app.identity.service import principal_for
    from app.manifests import service as manifest_service

    p = setup_parties(api)
    m = to_in_transit(api, p, draft(api, [stored_lot(api)]))
    left = datetime.fromisoformat(m["dispatched_at"])

    def r49_after(hours: float, user: str = "ehs_manager") -> list[Any]:
        later = type("Later", (), {"clock": FrozenClock(left + timedelta(hours=hours))})()
        with api.ctx.db.session(write=False) as s:
            actor = principal_for(session=s, user_id=api.world.users[user])
            found = manifest_service.alerts(session=s, ctx=later, actor=actor)
        return [a for a in found if a.rule_id == "R49"]

    assert r49_after(47.5) == []
    (alert,) = r49_after(50)
    assert alert.number == m["number"] and alert.severity == "warn"
    assert "启运 50 小时仍未到达接受人" in alert.message_zh
    assert alert.citation is not None  # every verdict cites its clause
    assert (alert.citation["document"], alert.citation["clause"]) == (
        "危险废物转移管理办法 (2021)",
        "Art. 11(3)(4)",
    )
    # the carrier and the receiver see it too; another handler does not
    assert [a.number for a in r49_after(50, "transporter")] == [m["number"]]
    assert [a.number for a in r49_after(50, "handler")] == [m["number"]]
    assert r49_after(50, "handler2") == []
    now = ok(api.as_("ehs_manager").get("/api/v1/manifests/alerts"))
    assert [a for a in now if a["rule_id"] == "R49"] == []  # just left
    _receive(api, m)
    assert r49_after(50) == []
