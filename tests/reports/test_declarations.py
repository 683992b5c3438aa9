"""Declaration filings and R60 alerts over the API, on a frozen clock, on both databases."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import uuid4

import sqlalchemy as sa

from app.alerts import service as alert_service
from app.core.clock import FrozenClock
from app.domain.values import CHINA_TZ
from tests.support.client import Api


def at(api: Api, day: date) -> None:
    """Freeze the clock at 10:00 China time on `day` and sweep."""
    api.ctx.clock = FrozenClock(datetime(day.year, day.month, day.day, 2, tzinfo=UTC))
    with api.ctx.db.session() as s:
        alert_service.sweep(session=s, ctx=api.ctx)


def r60(api: Api) -> dict[str, str]:
    """Site A's open R60 alerts: period -> level (site B, also new today, has its own)."""
    params = {"site_id": str(api.world.site_a)}
    items = api.as_("ehs_manager").get("/api/v1/alerts", params=params).json()["items"]
    return {a["values"]["period"]: a["values"]["level"] for a in items if a["rule_id"] == "R60"}


def calendar(api: Api, who: str = "ehs_manager") -> dict[str, Any]:
    r = api.as_(who).get(
        "/api/v1/exports/declaration/filings", params={"site_id": str(api.world.site_a)}
    )
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def file(api: Api, period: str, filed_on: date, who: str = "ehs_manager", **kw: Any) -> Any:
    body = {
        "event_id": str(kw.pop("event_id", uuid4())),
        "site_id": str(api.world.site_a),
        "period": period,
        "filed_on": str(filed_on),
        "receipt_no": kw.pop("receipt_no", f"SB-{period}-001"),
    }
    return api.as_(who).post("/api/v1/exports/declaration/filings", body)


def test_the_annual_declaration_is_alerted_filed_and_cleared(api: Api) -> None:
    started = datetime.now(CHINA_TZ).date()  # the test site starts today
    year = started.year
    at(api, date(year + 1, 3, 23))  # eight days before 31 March: nothing yet
    assert r60(api) == {}
    cal = calendar(api)
    assert cal["management_class"] == "registration" and cal["required_cycle"] == "yearly"
    assert [(p["period"], p["status"]) for p in cal["periods"]] == [(str(year), "open")]
    at(api, date(year + 1, 3, 24))  # seven days before: due
    assert r60(api) == {str(year): "due"}
    at(api, date(year + 1, 4, 2))  # overdue: the 'due' alert gives way to a 'past' one
    assert r60(api) == {str(year): "past"}
    (p,) = calendar(api)["periods"]
    assert p["status"] == "overdue" and p["due_on"] == f"{year + 1}-03-31"

    # refusals: a period not over, a future or premature filing date, the wrong cycle, roles
    for period, filed_on, why in [
        (str(year + 1), date(year + 1, 4, 1), "has not ended"),
        (str(year), date(year + 1, 4, 3), "future"),
        (str(year), date(year, 12, 31), "before period"),
        (f"{year}-12", date(year + 1, 1, 10), "declares yearly"),
        (f"{year}Q9", date(year + 1, 1, 10), "period is"),
    ]:
        r = file(api, period, filed_on)
        assert r.status_code == 422 and why in r.json()["detail"], (period, r.text)
    assert file(api, str(year), date(year + 1, 4, 1), who="operator").status_code == 403
    assert file(api, str(year), date(year + 1, 4, 1), who="auditor").status_code == 403
    assert calendar(api, "auditor")["periods"][0]["status"] == "overdue"

    eid = uuid4()
    r = file(api, str(year), date(year + 1, 4, 1), event_id=eid)
    assert r.status_code == 201, r.text
    (p,) = r.json()["periods"]
    assert p["status"] == "filed" and p["receipt_no"] == f"SB-{year}-001" and p["filings"] == 1
    assert r60(api) == {}  # cleared at once, not at the next sweep
    again = file(api, str(year), date(year + 1, 4, 1), event_id=eid, receipt_no="other")
    assert again.status_code == 201 and again.json() == r.json()  # an idempotent replay
    other_site = {
        "event_id": str(eid),
        "site_id": str(api.world.site_b),
        "period": str(year),
        "filed_on": str(date(year + 1, 4, 1)),
        "receipt_no": "SB-B",
    }
    reused = api.as_("admin").post("/api/v1/exports/declaration/filings", other_site)
    assert reused.status_code == 409, reused.text  # the id names site A's filing
    corrected = file(api, str(year), date(year + 1, 4, 2), receipt_no="SB-更正-002")
    (p,) = corrected.json()["periods"]
    assert p["filings"] == 2 and p["receipt_no"] == "SB-更正-002"
    events = api.as_("admin").get("/api/v1/audit/verify").json()
    assert events["status"] == "ok"
    # the read model is a projection: a replay of the log gives the same rows
    from app.projections.base import rebuild

    def filings() -> list[tuple[Any, ...]]:
        with api.ctx.db.session(write=False) as s:
            rows = s.execute(sa.text("SELECT * FROM rm_declaration_filing ORDER BY period"))
            return [tuple(r) for r in rows]

    before = filings()
    assert len(before) == 1 and before[0][-3] == 2  # one period, filed twice
    with api.ctx.db.session() as s:
        rebuild(s)
    assert filings() == before


def test_a_key_unit_declares_monthly(api: Api) -> None:
    r = api.patch(f"/api/v1/sites/{api.world.site_a}", {"licensed_operator": True})
    assert r.status_code == 200, r.text
    started = datetime.now(CHINA_TZ).date()
    first = (started.replace(day=1) + timedelta(days=32)).replace(day=1)  # next month's 1st
    at(api, first + timedelta(days=9))  # the 10th: this month's report is due on the 15th
    label = f"{started.year}-{started.month:02d}"
    assert r60(api) == {label: "due"}
    cal = calendar(api)
    assert cal["management_class"] == "key" and cal["required_cycle"] == "monthly"
    assert cal["periods"][0]["period"] == label and cal["periods"][0]["cycle"] == "monthly"
    assert file(api, str(started.year), first, receipt_no="x").status_code == 422  # not over
    assert file(api, label, first + timedelta(days=3)).status_code == 201
    assert r60(api) == {}


def test_an_own_disposal_facility_makes_a_key_unit_whatever_its_tonnage(api: Api) -> None:
    """HJ 1259 4.2.1: a plant with its own incinerator declares monthly though it generates
    next to nothing; the calendar, the declaration and the scorecard say so and why."""
    site = str(api.world.site_a)
    assert calendar(api)["management_class"] == "registration"
    r = api.as_("admin").patch(f"/api/v1/sites/{site}", {"own_disposal_facility": True})
    assert r.status_code == 200 and r.json()["own_disposal_facility"] is True, r.text
    assert r.json()["licensed_operator"] is False
    cal = calendar(api)
    assert (cal["management_class"], cal["required_cycle"]) == ("key", "monthly")
    assert cal["management_class_reasons"] == ["自建利用/处置设施"]
    prev = datetime.now(CHINA_TZ).date().replace(day=1) - timedelta(days=1)
    r = api.as_("ehs_manager").get(
        "/api/v1/exports/declaration", params={"site_id": site, "period": f"{prev:%Y-%m}"}
    )
    assert r.status_code == 200, r.text  # a monthly declaration: the key unit's cycle
    assert r.json()["management_class_reasons"] == ["自建利用/处置设施"]
    year = datetime.now(CHINA_TZ).year
    card = (
        api.as_("ehs_manager")
        .get("/api/v1/scorecard", params={"year": year, "site_id": site})
        .json()
    )
    assert card["management_class"]["class"] == "key", card["management_class"]
    assert "自建利用/处置设施" in card["management_class"]["reasons"]
    # the flag is master data: its change is on the change trail, with before and after
    trail = api.as_("admin").get("/api/v1/audit/changes", params={"entity_id": site}).json()
    (change,) = [c for c in trail["items"] if c["action"] == "updated"]
    assert change["data"]["changed"] == {"own_disposal_facility": {"before": False, "after": True}}
    # the console says why: on the calendar, and as the scorecard inputs' empty choice
    from tests.web.support import Web

    web = Web(api, "ehs_manager")
    page = web.get(f"/exports?site={site}").text
    assert re.search(r'id="calendar-class-reasons">（自建利用/处置设施）', page), page
    page = web.get(f"/scorecard?site={site}&year={year}").text
    own = re.search(r'<select id="in_own_disposal_facility".*?</select>', page, re.S)
    lic = re.search(r'<select id="in_holds_operating_licence".*?</select>', page, re.S)
    assert own and '<option value="">— 按站点档案：是</option>' in own.group(0)
    assert lic and '<option value="">— 按站点档案：否</option>' in lic.group(0)
    # a null is refused, not written into a NOT NULL column
    for field in ("own_disposal_facility", "licensed_operator"):
        r = api.as_("admin").patch(f"/api/v1/sites/{site}", {field: None})
        assert r.status_code == 422, (field, r.status_code, r.text)


def test_the_exports_page_lists_the_calendar_and_records_a_filing(api: Api) -> None:
    from tests.web.support import Web

    year = datetime.now(CHINA_TZ).date().year
    web = Web(api, "ehs_manager")  # signed in on today's clock (tokens carry real times)
    auditor = Web(api, "auditor")
    at(api, date(year + 1, 4, 2))
    site = str(api.world.site_a)
    page = web.get(f"/exports?site={site}").text
    row = re.search(rf'<tr id="period-{year}">.*?</tr>', page, re.S)
    assert row and "逾期未报" in row.group(0) and "登记已申报" in row.group(0)
    form = {"site": site, "period": str(year), "event_id": str(uuid4())}
    bad = web.post(
        "/exports/declaration/filings", {**form, "filed_on": f"{year}-12-01", "receipt_no": "SB-1"}
    )
    assert bad.status_code == 422 and 'id="filing-error"' in bad.text
    r = web.post(
        "/exports/declaration/filings",
        {**form, "filed_on": f"{year + 1}-04-01", "receipt_no": "SB-网报-0001"},
    )
    assert r.status_code == 303 and r.headers["location"].endswith("#calendar"), r.text
    row = re.search(rf'<tr id="period-{year}">.*?</tr>', web.get(r.headers["location"]).text, re.S)
    assert row and "已申报" in row.group(0) and "SB-网报-0001" in row.group(0)
    assert r60(api) == {}
    # the auditor reads the calendar but has no form
    page = auditor.get(f"/exports?site={site}").text
    assert f'<tr id="period-{year}">' in page and "登记更正申报" not in page
