"""Exempt rags (豁免管理清单 #24, R61) on the handheld, on SQLite and PostgreSQL: generated with
`collected_unsorted`, a scan shows the exemption and offers "随生活垃圾清运"; the step syncs
once however often it is sent; hazardous waste gets no such offer and is refused."""

from __future__ import annotations

from datetime import datetime

from app.domain.values import china_date
from tests.mobile.conftest import Handheld, generate_item, item
from tests.support.client import Api

RAGS = {"name": "含油抹布", "waste_code": "900-041-49", "weight_kg": "6.5"}


def test_exempt_rags_go_out_with_the_household_waste_from_the_handheld(
    api: Api, pda: Handheld
) -> None:
    r = pda.post("/mobile/v1/actions", generate_item(**RAGS, collected_unsorted=True))
    assert r.status_code == 200, r.text
    lot = r.json()["lot"]
    assert lot["exempt"] is True
    actions = {a["action"]: a for a in pda.scan(lot["digital_id"]).json()["actions"]}
    assert actions["discard"]["allowed"] and actions["discard"]["label_zh"] == "随生活垃圾清运"

    # the same rags segregated: no offer, and a queued discard is refused citing R61
    kept = pda.post("/mobile/v1/actions", generate_item(**RAGS)).json()["lot"]
    assert kept["exempt"] is False
    assert "discard" not in {a["action"] for a in pda.scan(kept["digital_id"]).json()["actions"]}

    batch = [item("discard", lot, note="随生活垃圾清运"), item("discard", kept)]
    res = pda.sync(batch).json()["results"]
    assert [x["status"] for x in res] == ["accepted", "rejected"], res
    assert (
        res[0]["lot"]["status"] == "discarded" and res[0]["lot"]["status_zh"] == "已随生活垃圾清运"
    )
    assert res[1]["error"] == "invalid_input" and "豁免管理清单 #24" in res[1]["detail"]
    # sent again (the network dropped the answer): one event, the same answer
    again = pda.sync(batch).json()["results"]
    assert [x["status"] for x in again] == ["duplicate", "rejected"]
    events = api.get(f"/api/v1/lots/{lot['lot_id']}/events").json()
    assert [e["type"] for e in events] == ["lot.generated", "lot.discarded"]
    assert events[1]["payload"]["note"] == "随生活垃圾清运"
    assert events[1]["device_id"] == str(pda.device_id)
    # the day defaults to the step's own (China) date
    day = china_date(datetime.fromisoformat(batch[0]["occurred_at"]))
    assert events[1]["payload"]["completed_on"] == str(day)
    gone = pda.scan(lot["digital_id"]).json()
    assert gone["lot"]["status"] == "discarded"
    assert not [a for a in gone["actions"] if a["allowed"]]
