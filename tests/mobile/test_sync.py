"""`POST /mobile/v1/sync`: per-item answers, idempotent retries, savepoints, dependencies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

from tests.mobile.conftest import Handheld, generate_item, item, now_iso
from tests.support.client import Api


def _offline_batch(api: Api) -> tuple[list[dict], str]:
    """An offline session: generate a lot (client-chosen id), label, weigh, store, inspect."""
    lot_id = str(uuid4())
    v = {"lot_id": lot_id, "version": 1}
    items = [generate_item(lot_id=lot_id)]
    for n, (action, body) in enumerate(
        [
            ("label", {}),
            ("weigh", {"weight_kg": "51"}),
            ("store", {"zone_code": "A1"}),
            ("inspect", {"condition": "intact"}),
        ]
    ):
        items.append(item(action, {**v, "version": n + 1}, **body))
    return items, lot_id


def test_same_batch_three_times_gives_one_set_of_events(api: Api, pda: Handheld) -> None:
    items, lot_id = _offline_batch(api)
    first = pda.sync(items)
    assert first.status_code == 200, first.text
    assert [r["status"] for r in first.json()["results"]] == ["accepted"] * 5
    assert first.json()["accepted"] == 5
    for _ in range(2):
        again = pda.sync(items).json()
        assert [r["status"] for r in again["results"]] == ["duplicate"] * 5
        assert again["results"][-1]["lot"]["version"] == 5
        # the original answers, step by step
        assert [r["version"] for r in again["results"]] == [1, 2, 3, 4, 5]
    events = api.get(f"/api/v1/lots/{lot_id}/events").json()
    assert [e["type"] for e in events] == [
        "lot.generated",
        "lot.labelled",
        "lot.weighed",
        "lot.stored",
        "lot.inspected",
    ]
    assert {e["event_id"] for e in events} == {i["event_id"] for i in items}
    assert all(e["device_id"] == str(pda.device_id) for e in events)


def test_an_item_repeated_within_a_batch_and_a_half_applied_batch(api: Api, pda: Handheld) -> None:
    # The batch's event ids are looked up once, up front: an id first applied within the
    # batch must still be found by its repeat, and one applied by an earlier sync too.
    items, lot_id = _offline_batch(api)
    assert [r["status"] for r in pda.sync(items[:2]).json()["results"]] == ["accepted"] * 2
    again = pda.sync([*items[:3], items[2], *items[3:]]).json()["results"]
    assert [r["status"] for r in again] == [
        "duplicate",
        "duplicate",
        "accepted",
        "duplicate",
        "accepted",
        "accepted",
    ]
    assert again[2]["version"] == again[3]["version"] == 3
    events = api.get(f"/api/v1/lots/{lot_id}/events").json()
    assert [e["version"] for e in events] == [1, 2, 3, 4, 5]


def test_mixed_batch_good_bad_and_dependent_items(api: Api, pda: Handheld) -> None:
    op = api.as_("operator")
    good = op.step(op.generate(), "label")
    other = op.step(op.generate(), "label")
    stale = op.step(op.step(op.generate(), "label"), "weigh", weight_kg="9")
    stale_seen = {**stale, "version": 2}  # the device saw version 2; the lot is at 3 now
    items = [
        item("store", good, zone_code="A1"),  # ok
        item("store", other, zone_code="G1"),  # rule violation: HW into a general zone
        item("weigh", {**other, "version": 3}, weight_kg="5"),  # same lot: blocked
        item("inspect", stale_seen, condition="intact"),  # stale version: conflict
        item("weigh", {**good, "version": 3}, weight_kg="7"),  # ok, after the first
        item("weigh", good, weight_kg="1", occurred_at=now_iso(timedelta(hours=2))),  # future
    ]
    items[-1]["expected_version"] = 4
    r = pda.sync(items)
    assert r.status_code == 200, r.text
    res = r.json()["results"]
    assert [x["status"] for x in res] == [
        "accepted",
        "rejected",
        "blocked",
        "conflict",
        "accepted",
        "rejected",
    ]
    assert res[1]["error"] == "rule_violation" and res[1]["findings"]
    assert res[1]["detail_zh"] and "（" in res[1]["detail_zh"]
    assert res[2]["blocked_by"] == items[1]["event_id"]
    assert res[3]["current"]["version"] == 3 and res[3]["current"]["lot_id"] == stale["lot_id"]
    assert res[5]["error"] == "occurred_at_in_future"
    # the rejected item left no trace; the good ones landed
    assert op.get(f"/api/v1/lots/{other['lot_id']}").json()["status"] == "labelled"
    assert len(op.get(f"/api/v1/lots/{other['lot_id']}/events").json()) == 2
    g = op.get(f"/api/v1/lots/{good['lot_id']}").json()
    assert (g["status"], g["version"], g["weight_kg"]) == ("stored", 4, "7.000")
    # resend: the applied ones are duplicates, the rest answer the same way again
    again = pda.sync(items).json()["results"]
    assert [x["status"] for x in again] == [
        "duplicate",
        "rejected",
        "blocked",
        "conflict",
        "duplicate",
        "rejected",
    ]


def test_a_malformed_item_is_answered_alone(api: Api, pda: Handheld) -> None:
    """Each item is checked on its own: a malformed one is answered `rejected` with its fields
    in plain words, the good ones land once, and the items that need it are blocked."""
    op = api.as_("operator")
    a = op.step(op.generate(), "label")
    b = op.step(op.generate(), "label")
    c = op.step(op.generate(), "label")
    too_long = generate_item(waste_code="900-039-49-0001")  # longer than a waste code may be
    items: list[Any] = [
        item("weigh", a, weight_kg="11"),  # 0 ok
        # 1: a partial receipt with no accepted amount: not a decimal
        item(
            "receive", b, received_weight_kg="10", outcome="partly_accepted", accepted_weight_kg=""
        ),
        too_long,  # 2
        generate_item(),  # 3 ok: needs nothing
        item("inspect", {**b, "version": 3}, condition="intact"),  # 4: same lot as 1: blocked
        "not an action",  # 5: not even an object
        {**item("inspect", {**a, "version": 3}, condition="intact"), "event_id": "PDA-7"},  # 6
        item("inspect", {**a, "version": 4}, condition="intact"),  # 7: same lot as 6: blocked
        item("weigh", c, weight_kg="3", depends_on=[too_long["event_id"]]),  # 8: needs 2
    ]
    r = pda.sync(items)
    assert r.status_code == 200, r.text
    body = r.json()
    res = body["results"]
    assert [x["status"] for x in res] == [
        "accepted",
        "rejected",
        "rejected",
        "accepted",
        "blocked",
        "rejected",
        "rejected",
        "blocked",
        "blocked",
    ]
    assert [x["index"] for x in res] == list(range(9))
    assert [x["event_id"] for x in res] == [
        *(i["event_id"] for i in items[:5]),
        None,
        "PDA-7",
        items[7]["event_id"],
        items[8]["event_id"],
    ]
    assert (body["accepted"], body["rejected"], body["blocked"]) == (2, 4, 3)
    # the field and the reason, as a 422 would name them and in the handheld's words
    assert res[1]["error"] == "validation_error" and res[1]["action"] == "receive"
    assert [f["loc"] for f in res[1]["fields"]] == [
        ["body", "items", 1, "receive", "accepted_weight_kg"]
    ]
    assert "accepted_weight_kg" in res[1]["detail"]
    assert res[1]["detail_zh"] == "输入有误：接收量不是有效的数字"
    assert res[2]["fields"][0]["type"] == "string_too_long"
    assert res[2]["detail_zh"] == "输入有误：废物代码太长（最多 12 个字符）"
    assert res[5]["action"] == "" and "不是一条操作" in res[5]["detail_zh"]
    assert res[6]["fields"][0]["loc"][-1] == "event_id"
    assert res[6]["detail_zh"] == "输入有误：操作编号格式不对"
    assert (res[4]["blocked_by"], res[7]["blocked_by"]) == (items[1]["event_id"], None)
    assert "#6" in res[7]["detail"]
    assert res[8]["blocked_by"] == too_long["event_id"]
    # the good items are in the log once; the others left no trace
    events = {
        lot: [e["event_id"] for e in op.get(f"/api/v1/lots/{lot}/events").json()]
        for lot in (a["lot_id"], b["lot_id"], c["lot_id"], res[3]["lot"]["lot_id"])
    }
    assert events[a["lot_id"]][2:] == [items[0]["event_id"]]
    assert len(events[b["lot_id"]]) == len(events[c["lot_id"]]) == 2
    assert events[res[3]["lot"]["lot_id"]] == [items[3]["event_id"]]
    # resent: the same answers (the good ones as duplicates), nothing written twice
    again = pda.sync(items).json()["results"]
    assert [x["status"] for x in again] == [
        "duplicate" if x["status"] == "accepted" else x["status"] for x in res
    ]
    keys = ("event_id", "index", "error", "detail", "detail_zh", "fields", "blocked_by")
    assert [{k: x[k] for k in keys} for x in again if x["status"] != "duplicate"] == [
        {k: x[k] for k in keys} for x in res if x["status"] != "accepted"
    ]
    assert len(op.get(f"/api/v1/lots/{a['lot_id']}/events").json()) == 3


def test_the_batch_itself_is_still_checked_whole(api: Api, pda: Handheld) -> None:
    """A 422 for the envelope only; the documented body still lists the actions."""
    for body in ({"items": []}, {"items": {}}, {"items": [generate_item()], "extra": 1}, []):
        r = pda.post("/mobile/v1/sync", body)
        assert r.status_code == 422, r.text
        assert r.json()["error"] == "validation_error"
    schema = api.client.get("/openapi.json").json()
    request = schema["paths"]["/mobile/v1/sync"]["post"]["requestBody"]
    ref = request["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    items = schema["components"]["schemas"][ref]["properties"]["items"]["items"]
    assert items["discriminator"]["propertyName"] == "action"
    assert {"#/components/schemas/ReceiveItem", "#/components/schemas/GenerateItem"} <= {
        x["$ref"] for x in items["oneOf"]
    }


def test_rejected_generate_consumes_no_digital_id(api: Api, pda: Handheld) -> None:
    bad = generate_item(waste_code="900-040-49")  # R02: not a listed code
    ok = generate_item()
    res = pda.sync([bad, ok]).json()["results"]
    assert [x["status"] for x in res] == ["rejected", "accepted"]
    assert res[1]["lot"]["digital_id"].endswith("001")
    assert res[1]["label_url"]


def test_explicit_dependency_and_batch_limit(api: Api, pda: Handheld) -> None:
    op = api.as_("operator")
    a = op.step(op.generate(), "label")
    b = op.step(op.generate(), "label")
    first = item("store", a, zone_code="G1")  # rejected
    second = item("store", b, zone_code="A1", depends_on=[first["event_id"]])
    res = pda.sync([first, second]).json()["results"]
    assert [x["status"] for x in res] == ["rejected", "blocked"]
    api.ctx.settings.mobile.max_batch = 2
    r = pda.sync([item("weigh", a, weight_kg="1") for _ in range(3)])
    assert r.status_code == 422 and r.json()["error"] == "batch_too_large"
    r = pda.sync([])
    assert r.status_code == 422


def test_late_items_are_marked(api: Api, pda: Handheld) -> None:
    op = api.as_("operator")
    lot = op.step(op.generate(), "label")
    r = pda.sync([item("weigh", lot, weight_kg="2", occurred_at=now_iso(-timedelta(days=3)))])
    res = r.json()["results"][0]
    assert (res["status"], res["late"]) == ("accepted", True)
    ev = op.get(f"/api/v1/lots/{lot['lot_id']}/events").json()[-1]
    assert ev["occurred_at"] < ev["recorded_at"]


def test_a_device_clock_centuries_off_is_rejected_alone(api: Api, pda: Handheld) -> None:
    """A device clock reset to year 1 (at +14:00 it has no UTC time: the whole batch failed
    with a 500 before, when the event was hashed) is that item's rejection; the batch goes on."""
    op = api.as_("operator")
    lot = op.step(op.generate(), "label")
    items = [
        item("weigh", lot, weight_kg="2", occurred_at="0001-01-01T00:00:00+14:00"),
        generate_item(),
    ]
    res = pda.sync(items).json()["results"]
    assert [x["status"] for x in res] == ["rejected", "accepted"]
    assert res[0]["error"] == "validation_error"
    assert res[0]["fields"][0]["loc"][-1] == "occurred_at"
    assert "between the years 1900 and 2999" in res[0]["detail"]
    assert res[0]["detail_zh"] == "输入有误：发生时间须在 1900 年至 2999 年之间（请检查设备时钟）"
    assert len(op.get(f"/api/v1/lots/{lot['lot_id']}/events").json()) == 2


def test_a_replay_is_late_only_if_the_original_was(api: Api, pda: Handheld) -> None:
    """`late` is the original answer's: decided by the event's own times, not by the time
    of the replay. The app clock is frozen in the past, never ahead: tokens carry real times."""
    from app.core.clock import FrozenClock, SystemClock

    then = datetime.now(UTC) - timedelta(hours=3)
    api.ctx.clock = FrozenClock(then)
    try:
        op = api.as_("operator")
        lot = op.step(op.generate(), "label")
        on_time = item("weigh", lot, weight_kg="2", occurred_at=then.isoformat())
        late = item(
            "inspect",
            {**lot, "version": 3},
            condition="intact",
            occurred_at=(then - timedelta(days=1)).isoformat(),
        )
        first = pda.sync([on_time, late]).json()["results"]
    finally:
        api.ctx.clock = SystemClock()
    assert [(r["status"], r["late"]) for r in first] == [("accepted", False), ("accepted", True)]
    # three hours later: the same answers, as duplicates, by sync and online
    again = pda.sync([on_time, late]).json()["results"]
    assert [(r["status"], r["late"]) for r in again] == [("duplicate", False), ("duplicate", True)]
    online = pda.post("/mobile/v1/actions", on_time).json()
    assert (online["status"], online["late"]) == ("duplicate", False)


def test_rules_in_a_batch_see_the_batch_s_earlier_items(api: Api, pda: Handheld) -> None:
    """Projected rows are written once per batch, yet the storage rules of a later item see
    what earlier items stored: alkali then acid into one zone is refused (R17)."""
    from tests.rules.test_scenarios import ACID, ALKALI

    op = api.as_("operator")
    alkali = op.step(op.generate(**ALKALI), "label")
    acid = op.step(op.generate(**ACID), "label")
    res = pda.sync(
        [item("store", alkali, zone_code="A1"), item("store", acid, zone_code="A1")]
    ).json()["results"]
    assert [x["status"] for x in res] == ["accepted", "rejected"]
    assert [f["rule_id"] for f in res[1]["findings"] if f["severity"] == "block"] == ["R17"]
    a1 = op.get(f"/api/v1/zones/{api.world.zones['A1']}").json()
    assert a1["lot_count"] == 1


def test_an_item_failing_after_its_append_leaves_no_trace(
    api: Api, pda: Handheld, monkeypatch: Any
) -> None:
    """A batch is applied as one unit; when an item fails after it has written (here: a
    projector refuses its event), the batch is applied again with a savepoint per item. The
    answers are the same, the failed item leaves no event, and the chain verifies."""
    from app.domain.errors import InvalidInput
    from app.eventstore.verify import verify_chains
    from app.projections import base
    from mobile_api import sync

    op = api.as_("operator")
    a = op.step(op.generate(), "label")
    b = op.step(op.generate(), "label")
    items = [
        item("weigh", a, weight_kg="11"),
        item("weigh", b, weight_kg="12"),  # its event is refused by the projector below
        item("inspect", {**b, "version": 3}, condition="intact"),  # same lot: blocked
        item("inspect", {**a, "version": 3}, condition="intact"),
    ]

    weight_b = op.get(f"/api/v1/lots/{b['lot_id']}").json()["weight_kg"]
    assert weight_b != "12.000"

    def refuse(session: Any, row: Any) -> None:
        if str(row.event_id) == items[1]["event_id"]:
            raise InvalidInput("refused by a test projector after the append")

    monkeypatch.setitem(base._PROJECTORS, "lot", [*base._PROJECTORS["lot"], refuse])
    passes: list[int] = []
    apply_all = sync._apply_all
    monkeypatch.setattr(sync, "_apply_all", lambda *a, **k: passes.append(1) or apply_all(*a, **k))
    res = pda.sync(items).json()["results"]
    assert len(passes) == 2  # as one unit, then item by item
    assert [x["status"] for x in res] == ["accepted", "rejected", "blocked", "accepted"]
    assert "test projector" in res[1]["detail"]
    assert [e["type"] for e in op.get(f"/api/v1/lots/{b['lot_id']}/events").json()] == [
        "lot.generated",
        "lot.labelled",
    ]
    lot_b = op.get(f"/api/v1/lots/{b['lot_id']}").json()
    assert (lot_b["version"], lot_b["weight_kg"]) == (2, weight_b)
    lot_a = op.get(f"/api/v1/lots/{a['lot_id']}").json()
    assert (lot_a["version"], lot_a["weight_kg"]) == (4, "11.000")
    with api.ctx.db.engine.connect() as c:
        assert verify_chains(c, api.ctx.keys.public_key, site_ids=[api.world.site_a]).ok
    # without the failure, the same kind of batch goes through in one pass
    monkeypatch.setitem(base._PROJECTORS, "lot", base._PROJECTORS["lot"][:-1])
    passes.clear()
    res = pda.sync([item("weigh", {**b, "version": 2}, weight_kg="13")]).json()["results"]
    assert [x["status"] for x in res] == ["accepted"] and len(passes) == 1
