"""Digital ID allocation at generation, on both databases."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from app.core.db import make_engine
from labels.ids import parse_digital_id, parse_general_waste_id
from tests.support.client import Api, lot_body

PLANT_USCC = "91320594MA1N2B3C4R"  # uscc_with_check("91320594MA1N2B3C4"), see tests.support.world

# 2026-03-15 23:30 in China is still 2026-03-15 15:30 UTC; 2026-03-16 00:30 China is 03-15 UTC.
LATE_EVENING = "2026-03-15T15:30:00+00:00"
AFTER_MIDNIGHT_CN = "2026-03-15T16:30:00+00:00"


def _seq_row(api: Api, code: str, day: dt.date) -> int | None:
    eng = make_engine(api.url)
    with eng.connect() as c:
        got = c.execute(
            sa.text("SELECT last_seq FROM digital_id_sequence WHERE code = :c AND day = :d"),
            {"c": code, "d": day},
        ).scalar()
    eng.dispose()
    return None if got is None else int(got)


def test_generation_assigns_distinct_valid_ids(api: Api) -> None:
    op = api.as_("operator")
    lots = [op.generate(occurred_at=LATE_EVENING) for _ in range(3)]
    ids = [lot["digital_id"] for lot in lots]
    assert len(set(ids)) == 3
    for n, text in enumerate(ids, start=1):
        assert len(text) == 37
        did = parse_digital_id(text)
        assert did.unit_code == PLANT_USCC
        assert did.waste_code == "900-039-49"
        assert did.date == dt.date(2026, 3, 15)
        assert did.seq == n
    # the generated event carries the ID; labelling records the same ID
    lot = op.step(lots[0], "label")
    assert lot["digital_id"] == ids[0]
    events = op.get(f"/api/v1/lots/{lot['lot_id']}/events").json()
    assert events[0]["payload"]["digital_id"] == ids[0]
    assert events[1]["type"] == "lot.labelled" and events[1]["payload"]["digital_id"] == ids[0]


def test_date_segment_is_the_china_date(api: Api) -> None:
    op = api.as_("operator")
    utc_same_day = op.generate(occurred_at=AFTER_MIDNIGHT_CN)  # 2026-03-15 UTC, 03-16 in China
    assert parse_digital_id(utc_same_day["digital_id"]).date == dt.date(2026, 3, 16)
    assert parse_digital_id(utc_same_day["digital_id"]).seq == 1
    device_tz = op.generate(occurred_at="2026-03-16T07:00:00+08:00")
    assert parse_digital_id(device_tz["digital_id"]).date == dt.date(2026, 3, 16)
    assert parse_digital_id(device_tz["digital_id"]).seq == 2


def test_sequence_per_unit_code_and_day(api: Api) -> None:
    op, admin = api.as_("operator"), api.as_("admin")
    a1 = op.generate(occurred_at=LATE_EVENING)
    # the other site of the same enterprise shares the unit code, hence the counter
    b1 = admin.generate(site=api.world.site_b, occurred_at=LATE_EVENING)
    other_code = op.generate(
        occurred_at=LATE_EVENING, waste_code="900-349-34", name="废酸", physical_form="liquid"
    )
    next_day = op.generate(occurred_at=AFTER_MIDNIGHT_CN)
    a2 = op.generate(occurred_at=LATE_EVENING)
    p = {
        name: parse_digital_id(lot["digital_id"])
        for name, lot in [
            ("a1", a1),
            ("b1", b1),
            ("other_code", other_code),
            ("next_day", next_day),
            ("a2", a2),
        ]
    }
    assert (p["a1"].seq, p["b1"].seq, p["a2"].seq) == (1, 2, 3)
    assert p["b1"].unit_code == p["a1"].unit_code == PLANT_USCC
    assert (p["other_code"].seq, p["other_code"].waste_code) == (1, "900-349-34")
    assert (p["next_day"].seq, p["next_day"].date) == (1, dt.date(2026, 3, 16))
    assert _seq_row(api, "90003949", dt.date(2026, 3, 15)) == 3


def test_general_waste_gets_the_general_waste_id(api: Api) -> None:
    lot = api.as_("operator").generate(
        kind="general",
        waste_code=None,
        general_class="I",
        general_category="SW59",
        name="废包装材料",
        occurred_at=LATE_EVENING,
    )
    gid = parse_general_waste_id(lot["digital_id"])
    assert (gid.unit_code, gid.category, gid.date, gid.seq) == (
        PLANT_USCC,
        "SW59",
        dt.date(2026, 3, 15),
        1,
    )


def test_replay_does_not_allocate_again(api: Api) -> None:
    op = api.as_("operator")
    body = lot_body(api.world.site_a, occurred_at=LATE_EVENING)
    first = op.post("/api/v1/lots", body)
    again = op.post("/api/v1/lots", body)
    assert first.status_code == again.status_code == 201
    assert first.json()["lot"]["digital_id"] == again.json()["lot"]["digital_id"]
    assert _seq_row(api, "90003949", dt.date(2026, 3, 15)) == 1
    assert parse_digital_id(op.generate(occurred_at=LATE_EVENING)["digital_id"]).seq == 2


def test_invalid_generation_takes_no_number(api: Api) -> None:
    op = api.as_("operator")
    r = op.post("/api/v1/lots", lot_body(api.world.site_a, waste_code="999-999-49"))
    assert r.status_code == 422
    r = op.post("/api/v1/lots", lot_body(api.world.site_a, occurred_at="2099-01-01T00:00:00+08:00"))
    assert r.status_code == 422  # future: refused by the store after allocation, rolled back
    assert _seq_row(api, "90003949", dt.date(2099, 1, 1)) is None


def test_the_1000th_allocation_of_a_key_is_a_409(api: Api) -> None:
    eng = make_engine(api.url)
    with eng.begin() as c:
        c.execute(
            sa.text(
                "INSERT INTO digital_id_sequence (unit_code, code, day, last_seq) "
                "VALUES (:u, '90003949', :d, 998)"
            ),
            {"u": PLANT_USCC, "d": dt.date(2026, 3, 15)},
        )
    eng.dispose()
    op = api.as_("operator")
    last = op.generate(occurred_at=LATE_EVENING)
    assert last["digital_id"].endswith("20260315999")
    r = op.post("/api/v1/lots", lot_body(api.world.site_a, occurred_at=LATE_EVENING))
    assert r.status_code == 409, r.text
    body = r.json()
    assert body["error"] == "conflict"
    assert "序列号已用尽" in body["detail"] and "sequence exhausted" in body["detail"]
    assert body["reasons"]
    assert _seq_row(api, "90003949", dt.date(2026, 3, 15)) == 999  # the failed bump rolled back
    # other codes and days are unaffected
    assert op.generate(occurred_at=AFTER_MIDNIGHT_CN)["digital_id"].endswith("001")
