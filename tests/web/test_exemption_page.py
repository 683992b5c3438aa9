"""The lot page of rags exempt under 豁免管理清单 #24 (R61), on both databases: it says so, and
an operator records that they went out with the household waste; the form is not offered for
hazardous waste, and a refused one shows R61's reason and writes nothing."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

from app.domain.values import china_date
from tests.web.support import Web

TODAY = china_date(datetime.now(UTC))
LABEL = {
    "main_components": "棉纱、矿物油",
    "harmful_components": "矿物油",
    "precautions": "远离火源",
}


def _rags(api: Any, unsorted: bool) -> dict[str, Any]:
    return api.as_("operator").generate(  # type: ignore[no-any-return]
        name="含油抹布",
        waste_code="900-041-49",
        collected_unsorted=unsorted,
        container={"type": "bag", "volume_l": "50"},
        weight_kg="8",
        **LABEL,
    )


def _form(lot: dict[str, Any], **kw: str) -> dict[str, str]:
    return {
        "action": "discard",
        "event_id": str(uuid4()),
        "expected_version": str(lot["version"]),
        "discarded_on": str(TODAY),
        "note": "随生活垃圾清运",
        **kw,
    }


def test_an_operator_sends_exempt_rags_out_with_the_household_waste(api) -> None:  # type: ignore[no-untyped-def]
    lot, kept = _rags(api, True), _rags(api, False)
    operator = Web(api, "operator")
    url = f"/lots/{lot['lot_id']}"
    page = operator.get(url).text
    exemption = re.search(r'<dd id="exemption">(.*?)</dd>', page, re.S)
    assert exemption and "豁免管理清单 #24" in exemption.group(1)
    assert 'id="storage-limit"' not in page  # no one-year limit runs
    form = re.search(r'<form[^>]*id="discard-form".*?</form>', page, re.S)
    assert form and "随生活垃圾清运" in form.group(0)
    assert f'max="{TODAY}"' in form.group(0)
    # the segregated rags are hazardous waste: neither the note nor the form
    other = operator.get(f"/lots/{kept['lot_id']}").text
    assert 'id="exemption"' not in other and 'id="discard-form"' not in other
    # an auditor reads the page but gets no form
    assert 'id="discard-form"' not in Web(api, "auditor").get(url).text

    # posted for the hazardous rags anyway: refused with R61's reason, nothing written
    refused = operator.post(f"/lots/{kept['lot_id']}/act", _form(kept))
    assert refused.status_code == 422, refused.text
    assert "豁免管理清单 #24" in refused.text
    assert len(api.get(f"/api/v1/lots/{kept['lot_id']}/events").json()) == 1
    future = operator.post(f"{url}/act", _form(lot, discarded_on=str(TODAY + timedelta(days=1))))
    assert future.status_code == 422 and "future" in future.text

    done = operator.post(f"{url}/act", _form(lot))
    assert (done.status_code, done.headers["location"]) == (303, f"{url}?done=discard")
    page = operator.get(url).text
    assert "已随生活垃圾清运" in page and 'id="discard-form"' not in page
    item = re.search(r'<li class="ev [^"]*" data-type="lot.discarded">.*?</li>', page, re.S)
    assert item and str(TODAY) in item.group(0) and "随生活垃圾清运" in item.group(0)
    # the lot list filters on the new status
    listed = operator.get("/lots", params={"status": "discarded"}).text
    assert lot["digital_id"] in listed and kept["digital_id"] not in listed
