"""Where the one-year storage limit counts from (regulations.md §10: R32 from storage-in at a
licence holder, R33 from generation at a generator), the same everywhere on both databases:
the sweep's alert, the API's lot and its `storage_due` filter, the dashboard's tiles and
histogram, the lot list's age column and filter, the lot page, and the extension's check.
General industrial solid waste has no such limit."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

from app.alerts import service as alert_service
from app.domain.values import china_date
from tests.support.client import Api
from tests.web.support import Web

NOW = datetime.now(UTC)
TODAY = china_date(NOW)


def _ago(days: float) -> str:
    return (NOW - timedelta(days=days)).isoformat()


def _kept(api: Api, generated: int, stored: int, **kind: Any) -> dict[str, Any]:
    """A lot generated `generated` days ago and stored `stored` days ago."""
    op = api.as_("operator")
    lot = op.generate(occurred_at=_ago(generated), **kind)
    lot = op.step(lot, "label", occurred_at=_ago(generated - 0.5))
    zone = api.world.zones["G1" if kind else "A1"]
    return op.step(lot, "store", zone_id=str(zone), occurred_at=_ago(stored))


GENERAL = dict(kind="general", waste_code=None, general_class="I", general_category="SW13")


def _tiles(html: str) -> tuple[int, str]:
    tile = re.search(r'href="/lots\?due=1"><b>(\d+)</b><span>(.*?)</span>', html, re.S)
    assert tile, html[:3000]
    return int(tile.group(1)), tile.group(2)


def _age_cell(html: str, digital_id: str) -> str:
    row = re.search(rf"{digital_id}.*?</tr>", html, re.S)
    assert row, html[:2000]
    return re.findall(r'<td class="num">(.*?)</td>', row.group(0), re.S)[-1]


def _due(api: Api) -> list[str]:
    r = api.as_("ehs_manager").get("/api/v1/lots", params={"storage_due": "true"})
    assert r.status_code == 200, r.text
    return [x["lot_id"] for x in r.json()["items"]]


def test_a_generators_year_counts_from_generation_everywhere(api: Api) -> None:
    # kept at the workshop for ten months before storage-in, five days ago
    kept = _kept(api, generated=320, stored=5)
    fresh = _kept(api, generated=6, stored=5)
    general = _kept(api, generated=402, stored=400, **GENERAL)

    # the lot: where the year counts from, and its last day (China time)
    assert kept["storage_limit_from"] is not None
    assert datetime.fromisoformat(kept["storage_limit_from"]) == datetime.fromisoformat(
        kept["generated_at"]
    )
    limit_on = china_date(datetime.fromisoformat(kept["generated_at"]) + timedelta(days=365))
    assert kept["storage_limit_on"] == str(limit_on)
    assert (general["storage_limit_from"], general["storage_limit_on"]) == (None, None)

    # the sweep warns under R33, 320 days; the due filter holds the same lot and only it
    with api.ctx.db.session() as s:
        alert_service.sweep(session=s, ctx=api.ctx)
    alerts = api.as_("ehs_manager").get("/api/v1/alerts").json()["items"]
    [r33] = [a for a in alerts if a["rule_id"] == "R33"]
    assert r33["lot_ids"] == [kept["lot_id"]] and r33["message_zh"].startswith("已贮存 320 天")
    assert _due(api) == [kept["lot_id"]]

    # the console: the tile counts it, nothing is past the year (general waste has no limit)
    manager = Web(api, "ehs_manager")
    dashboard = manager.get("/dashboard").text
    near, over = _tiles(dashboard)
    assert near == 1 and "超过一年" not in over
    # the age histogram: the hazardous lots, by where their year counts from; not the
    # general waste (400 days, no limit) in the bucket coloured as past the year
    bars = dict(re.findall(r'class="bar"><title>([^<:]+): (\d+)</title>', dashboard))
    assert (bars["0–30"], bars["270–330"], bars["≥365"]) == ("1", "1", "0"), bars
    assert "危险废物贮存时长（天）" in dashboard
    lots = manager.get("/lots").text
    assert re.fullmatch(r'<span class="warn">320</span>', _age_cell(lots, kept["digital_id"]))
    assert re.fullmatch(r'<span class="">6</span>', _age_cell(lots, fresh["digital_id"]))
    assert re.fullmatch(r'<span class="">400</span>', _age_cell(lots, general["digital_id"]))
    due_page = manager.get("/lots?due=1").text
    assert kept["digital_id"] in due_page and general["digital_id"] not in due_page
    aged = manager.get("/lots?min_age=300").text
    assert kept["digital_id"] in aged and fresh["digital_id"] not in aged
    page = manager.get(f"/lots/{kept['lot_id']}").text
    shown = re.search(r'<dd id="storage-limit">(.*?)</dd>', page, re.S)
    assert shown, page[:3000]
    assert f'<span class="warn">{limit_on}</span>' in shown.group(1)
    generated_on = china_date(datetime.fromisoformat(kept["generated_at"]))
    assert f"自 {generated_on} 起计" in shown.group(1)
    assert 'id="storage-limit"' not in manager.get(f"/lots/{general['lot_id']}").text

    # an approval past the generation year is recorded, though the storage date's year
    # would still run 300 days
    body = {
        "event_id": str(uuid4()),
        "expected_version": kept["version"],
        "approval_no": "苏环危延〔2026〕31号",
        "authority": "苏州市生态环境局",
        "approved_on": str(TODAY - timedelta(days=1)),
        "extended_until": str(limit_on + timedelta(days=120)),
    }
    url = f"/api/v1/lots/{kept['lot_id']}/storage-extension"
    r = api.as_("ehs_manager").post(url, body)
    assert r.status_code == 200, r.text
    assert _due(api) == []
    # general waste: nothing to extend, said so
    body = {**body, "event_id": str(uuid4()), "expected_version": general["version"]}
    r = api.as_("ehs_manager").post(f"/api/v1/lots/{general['lot_id']}/storage-extension", body)
    assert r.status_code == 422, r.text
    assert "general industrial solid waste" in r.json()["detail"]


def test_a_licence_holders_year_counts_from_storage_in(api: Api) -> None:
    r = api.as_("admin").patch(f"/api/v1/sites/{api.world.site_a}", {"licensed_operator": True})
    assert r.status_code == 200, r.text
    kept = _kept(api, generated=320, stored=5)
    assert datetime.fromisoformat(kept["storage_limit_from"]) == datetime.fromisoformat(
        kept["stored_at"]
    )
    with api.ctx.db.session() as s:
        alert_service.sweep(session=s, ctx=api.ctx)
    alerts = api.as_("ehs_manager").get("/api/v1/alerts").json()["items"]
    assert not [a for a in alerts if a["rule_id"] in ("R32", "R33")]
    assert _due(api) == []
    manager = Web(api, "ehs_manager")
    assert _tiles(manager.get("/dashboard").text)[0] == 0
    assert re.fullmatch(
        r'<span class="">5</span>', _age_cell(manager.get("/lots").text, kept["digital_id"])
    )


def test_the_age_filtered_lists_page_newest_first(api: Api) -> None:
    """The due list and the age filter read their matches first and order them after (the
    query shape that keeps them fast): newest generation first, pages that neither skip nor
    repeat a lot, the total of all matches."""
    due = [_kept(api, generated=d, stored=d - 1) for d in (340, 310, 355, 301)]
    _kept(api, generated=30, stored=29)  # young: in neither list
    newest_first = [x["lot_id"] for x in sorted(due, key=lambda x: x["generated_at"])[::-1]]
    manager = api.as_("ehs_manager")
    pages = []
    for offset in (0, 2, 4):
        params = {"storage_due": "true", "limit": 2, "offset": offset}
        r = manager.get("/api/v1/lots", params=params)
        assert r.status_code == 200 and r.json()["total"] == 4, r.text
        pages.append([x["lot_id"] for x in r.json()["items"]])
    assert pages == [newest_first[:2], newest_first[2:], []]
    # the console's age filter (days in storage, as the list counts them) agrees
    html = Web(api, "ehs_manager").get("/lots?min_age=300").text
    shown = [x["digital_id"] for x in sorted(due, key=lambda x: html.index(x["digital_id"]))]
    assert shown == [x["digital_id"] for x in sorted(due, key=lambda x: x["generated_at"])[::-1]]
