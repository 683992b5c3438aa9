"""The console's storage-extension form (延期贮存批准) on the lot page, on both databases: an EHS
manager records the approval, the lot page, the lot list and the dashboard stop reporting the
lot as past the limit; an operator gets no form and is refused."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import uuid4

from app.domain.values import china_date
from tests.web.support import Web

NOW = datetime.now(UTC)
TODAY = china_date(NOW)
APPROVAL = "苏环危延〔2026〕7号"


def _stored_since(api: Any, days: int) -> dict[str, Any]:
    op = api.as_("operator")
    lot = op.generate(occurred_at=(NOW - timedelta(days=days + 2)).isoformat())
    lot = op.step(lot, "label", occurred_at=(NOW - timedelta(days=days + 1)).isoformat())
    at = (NOW - timedelta(days=days)).isoformat()
    return op.step(lot, "store", zone_id=str(api.world.zones["A1"]), occurred_at=at)


def _form(lot: dict[str, Any], **kw: str) -> dict[str, str]:
    body = {
        "action": "extend",
        "event_id": str(uuid4()),
        "expected_version": str(lot["version"]),
        "approval_no": APPROVAL,
        "authority": "苏州市生态环境局",
        "approved_on": str(TODAY - timedelta(days=3)),
        "extended_until": str(TODAY + timedelta(days=90)),
        "note": "处置单位检修",
    }
    body.update(kw)
    return body


def _age_cell(html: str, digital_id: str) -> str:
    row = re.search(rf"{digital_id}.*?</tr>", html, re.S)
    assert row, html[:2000]
    cells = re.findall(r'<td class="num">(.*?)</td>', row.group(0), re.S)
    return cells[-1]


def _over_limit(html: str) -> str:
    tile = re.search(r'href="/lots\?due=1"><b>\d+</b><span>(.*?)</span>', html, re.S)
    assert tile, html[:3000]
    return tile.group(1)


def test_an_ehs_manager_records_a_storage_extension_from_the_lot_page(api) -> None:  # type: ignore[no-untyped-def]
    r = api.as_("admin").patch(f"/api/v1/sites/{api.world.site_a}", {"licensed_operator": True})
    assert r.status_code == 200, r.text
    lot = _stored_since(api, 366)
    page_url = f"/lots/{lot['lot_id']}"
    limit_on = date.fromisoformat(lot["storage_limit_on"])

    # an operator sees no form and may not post one
    operator = Web(api, "operator")
    assert 'id="extension-form"' not in operator.get(page_url).text
    assert operator.post(f"{page_url}/act", _form(lot)).status_code == 403

    manager = Web(api, "ehs_manager")
    page = manager.get(page_url).text
    form = re.search(r'<form[^>]*id="extension-form".*?</form>', page, re.S)
    assert form, page
    for label in ("批准文号", "批准机关", "批准日期", "延期至", 'name="extended_until"'):
        assert label in form.group(0), label
    # the date picker starts the day after the one-year limit (a licence holder: storage-in)
    assert f'name="extended_until" required min="{limit_on + timedelta(days=1)}"' in form.group(0)
    assert "延期贮存批准" in page and 'id="storage-extension"' not in page
    english = Web(api, "ehs_manager").get(f"{page_url}?lang=en").text  # its own cookie jar
    assert "Storage extension" in english and "Approval no." in english

    # before: past the limit on the list and the dashboard
    assert 'class="bad"' in _age_cell(manager.get("/lots").text, lot["digital_id"])
    assert "1 超过一年" in _over_limit(manager.get("/dashboard").text)

    # a form the rules refuse is shown with its reason, and writes nothing
    limit = china_date(NOW - timedelta(days=366) + timedelta(days=365))
    refused = manager.post(f"{page_url}/act", _form(lot, extended_until=str(limit)))
    assert refused.status_code == 422, refused.text
    section = re.search(r'<section class="card refused".*?</section>', refused.text, re.S)
    assert section and "延期贮存批准" in section.group(0) and str(limit) in section.group(0)
    missing = manager.post(f"{page_url}/act", _form(lot, approved_on=""))
    assert missing.status_code == 422 and "approved_on" in missing.text
    assert len(api.get(f"/api/v1/lots/{lot['lot_id']}/events").json()) == 3

    # recorded: once, even when the form is sent twice
    body = _form(lot)
    done = manager.post(f"{page_url}/act", body)
    assert (done.status_code, done.headers["location"]) == (303, f"{page_url}?done=extend")
    assert manager.post(f"{page_url}/act", body).status_code == 303
    events = api.get(f"/api/v1/lots/{lot['lot_id']}/events").json()
    assert [e["type"] for e in events][-1] == "lot.storage_extended" and len(events) == 4

    page = manager.get(page_url).text
    shown = re.search(r'<dd id="storage-extension">(.*?)</dd>', page, re.S)
    assert shown and body["extended_until"] in shown.group(1) and APPROVAL in shown.group(1)
    assert "已到期" not in shown.group(1)
    timeline = re.search(
        r'<li class="ev [^"]*" data-type="lot.storage_extended">.*?</li>', page, re.S
    )
    assert timeline and APPROVAL in timeline.group(0) and "苏州市生态环境局" in timeline.group(0)

    # the list marks it as extended, not past the limit; the dashboard no longer counts it
    cell = _age_cell(manager.get("/lots").text, lot["digital_id"])
    assert 'class="bad"' not in cell and f"已延期至 {body['extended_until']}" in cell
    assert "超过一年" not in _over_limit(manager.get("/dashboard").text)


def _near_count(html: str) -> int:
    tile = re.search(r'href="/lots\?due=1"><b>(\d+)</b>', html)
    assert tile, html[:3000]
    return int(tile.group(1))


def test_an_extension_near_its_last_day_is_near_the_limit_again(api) -> None:  # type: ignore[no-untyped-def]
    manager = Web(api, "ehs_manager")
    far, ending = _stored_since(api, 380), _stored_since(api, 380)
    for lot, days in ((far, 90), (ending, 20)):
        until = str(TODAY + timedelta(days=days))
        r = manager.post(f"/lots/{lot['lot_id']}/act", _form(lot, extended_until=until))
        assert r.status_code == 303, r.text
    # the dashboard counts the one ending within 65 days (365 − 300) as near the limit
    assert _near_count(manager.get("/dashboard").text) == 1
    assert "超过一年" not in _over_limit(manager.get("/dashboard").text)
    lots = manager.get("/lots").text
    assert 'class="warn extended"' in _age_cell(lots, ending["digital_id"])
    assert 'class="muted extended"' in _age_cell(lots, far["digital_id"])
    # the lot page says how long is left, in the warning colour
    page = manager.get(f"/lots/{ending['lot_id']}").text
    shown = re.search(r'<dd id="storage-extension">(.*?)</dd>', page, re.S)
    assert shown and '<b class="warn">' in shown.group(1) and "还剩 20 天到期" in shown.group(1)
    page = manager.get(f"/lots/{far['lot_id']}").text
    shown = re.search(r'<dd id="storage-extension">(.*?)</dd>', page, re.S)
    assert shown and '<b class="">' in shown.group(1) and "天到期" not in shown.group(1)
    # the tile's list holds that one lot; the age filter both
    due = manager.get("/lots?due=1").text
    assert ending["digital_id"] in due and far["digital_id"] not in due
    aged = manager.get("/lots?min_age=300").text
    assert ending["digital_id"] in aged and far["digital_id"] in aged


def test_no_form_for_a_lot_not_in_storage(api) -> None:  # type: ignore[no-untyped-def]
    op = api.as_("operator")
    lot = op.step(op.generate(), "label")
    manager = Web(api, "ehs_manager")
    assert 'id="extension-form"' not in manager.get(f"/lots/{lot['lot_id']}").text
    # posted anyway (an old page): the state machine's refusal, shown, not a 500
    r = manager.post(f"/lots/{lot['lot_id']}/act", _form(lot))
    assert r.status_code == 409 and "only a lot in storage" in r.text


def test_no_form_for_general_waste(api) -> None:  # type: ignore[no-untyped-def]
    """General industrial solid waste has no one-year limit: nothing to extend, no form."""
    op = api.as_("operator")
    lot = op.generate(kind="general", waste_code=None, general_class="I", general_category="SW13")
    lot = op.step(op.step(lot, "label"), "store", zone_id=str(api.world.zones["G1"]))
    page = Web(api, "ehs_manager").get(f"/lots/{lot['lot_id']}").text
    assert 'id="extension-form"' not in page and 'id="storage-limit"' not in page
