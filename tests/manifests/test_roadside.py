"""The roadside check (路检核验): the manifest PDF's second QR code opens, without an account,
what the system holds now about the manifest; a made-up or altered link shows nothing; a
handheld that scans the link lands on the manifest (tests/mobile/test_manifest_steps.py).
SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import pypdfium2 as pdfium
import pytest
import zxingcpp
from pydantic import ValidationError

from app.config import Settings
from app.core.keys import KeyRing
from app.domain.rules.transfer import load_transfer_data
from app.manifests import service as manifest_service
from app.web import routes_manifests
from tests.manifests.support import (
    Parties,
    draft,
    load_body,
    ok,
    setup_parties,
    step,
    stored_lot,
    to_received,
)
from tests.support.client import Api


@pytest.fixture
def parties(api: Api) -> Parties:
    return setup_parties(api)


def _check_path(api: Api, m: dict[str, Any]) -> str:
    token = manifest_service.roadside_token(api.ctx, m["number"], m["manifest_id"])
    return f"/check/{token}"


def _anonymous(api: Api, path: str) -> Any:
    return api.client.get(path)  # no token, no session cookie


def test_the_pdf_links_a_check_that_needs_no_account(api: Api, parties: Parties) -> None:
    m = to_received(api, parties, draft(api, [stored_lot(api), stored_lot(api)]))
    r = api.as_("ehs_manager").get(f"/api/v1/manifests/{m['manifest_id']}.pdf")
    assert r.status_code == 200, r.text
    page = pdfium.PdfDocument(r.content)[0]
    img = page.render(scale=300 / 72).to_pil().convert("L")
    found = {b.text for b in zxingcpp.read_barcodes(img)}
    # the number's own QR code is still there, for handhelds and the national system
    assert m["number"] in found
    (url,) = [text for text in found if text != m["number"]]
    assert url.startswith(f"http://testserver/check/{m['number']}-"), url
    assert "路检核验" in page.get_textpage().get_text_range()

    r = _anonymous(api, urlsplit(url).path)
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["x-robots-tag"] == "noindex"
    assert r.headers["referrer-policy"] == "no-referrer"
    html = r.text
    assert m["number"] in html and 'data-status="received"' in html
    assert "运输已结束" in html and "verdict-bad" in html  # a lorry carrying it now is not covered
    assert "苏E·D1234" in html  # the plate to hold against the vehicle
    assert "900-039-49" in html  # what the load should be
    for lot in m["lots"]:
        assert lot["digital_id"] in html  # each drum's label can be checked against the list
    assert 'id="nav"' not in html  # no console navigation for an anonymous visitor


def test_the_verdict_follows_the_manifest(
    api: Api, parties: Parties, monkeypatch: pytest.MonkeyPatch
) -> None:
    m = draft(api, [stored_lot(api)])
    path = _check_path(api, m)
    r = _anonymous(api, path)
    assert r.status_code == 200 and "verdict-bad" in r.text and "草稿" in r.text

    m = step(api, "ehs_manager", m, "submit")
    r = _anonymous(api, path)  # the same printed link shows the new state
    assert 'data-status="submitted"' in r.text and "verdict-warn" in r.text

    m = step(api, "operator", m, "load", **load_body(parties, m))
    assert "verdict-ok" in _anonymous(api, path).text
    code = ok(
        api.as_("transporter").post(
            f"/api/v1/manifests/{m['manifest_id']}/challenges", {"step": "dispatch"}
        ),
        201,
    )
    step(api, "operator", m, "dispatch", counterpart_code=code["qr_payload"])
    r = _anonymous(api, f"{path}?lang=en")
    assert 'data-status="in_transit"' in r.text and "verdict-ok" in r.text
    assert "In transit: this manifest covers the load below" in r.text
    assert 'id="check-overdue"' not in r.text  # it just left
    # past `[track] overdue_hours` (R49) the inspector is told how long it has been on the road
    quick = replace(load_transfer_data(), transit_overdue_hours=0)
    monkeypatch.setattr(routes_manifests, "load_transfer_data", lambda: quick)
    r = _anonymous(api, f"{path}?lang=zh")  # the English visit left its cookie
    assert "启运已 0 小时仍未到达接受人（超过 0 小时）" in r.text


def test_a_cancelled_manifest_says_so(api: Api, parties: Parties) -> None:
    m = step(api, "ehs_manager", draft(api, [stored_lot(api)]), "cancel", reason="计划变更")
    r = _anonymous(api, _check_path(api, m))
    assert 'data-status="cancelled"' in r.text and "已作废" in r.text and "计划变更" in r.text


def test_a_made_up_or_altered_link_shows_nothing(api: Api, parties: Parties) -> None:
    a = draft(api, [stored_lot(api)])
    b = draft(api, [stored_lot(api)])
    good = _check_path(api, a)
    mac = good.rsplit("-", 1)[1]
    flipped = ("b" if mac[0] == "a" else "a") + mac[1:]
    bad = [
        f"/check/{a['number']}-{flipped}",  # one character of the MAC changed
        f"/check/{b['number']}-{mac}",  # a's MAC on b's number
        f"/check/{a['number'][:-1]}9-{mac}",  # a number nobody issued
        f"/check/{a['number']}",  # the number alone
        "/check/not-a-token",
    ]
    for path in bad:
        r = _anonymous(api, path)
        assert r.status_code == 404, (path, r.status_code)
        assert "核验链接无效" in r.text, path
        assert 'id="check-vehicle"' not in r.text and "苏E·D1234" not in r.text, path
    # the token is case-blind (a phone may upper-case what it read)
    r = _anonymous(api, "/check/" + good.rsplit("/", 1)[1].upper())
    assert r.status_code == 200 and a["number"] in r.text


def test_another_signing_seed_makes_other_links() -> None:
    one, two = KeyRing(bytes(32)), KeyRing(bytes([1]) * 32)
    assert one.mac("roadside-check-v1", b"x") != two.mac("roadside-check-v1", b"x")
    assert one.mac("roadside-check-v1", b"x") != one.mac("another purpose", b"x")
    assert one.mac("roadside-check-v1", b"x") == KeyRing(bytes(32)).mac("roadside-check-v1", b"x")


def test_public_url_sets_where_the_printed_link_points() -> None:
    number, manifest_id = "20263205000137", "9f1c1f5e-0000-4000-8000-000000000001"
    keys = KeyRing(bytes(32))
    here = SimpleNamespace(settings=Settings(public_url=""), keys=keys)
    there = SimpleNamespace(settings=Settings(public_url="https://hz.example.cn/plant/"), keys=keys)
    local = manifest_service.roadside_url(here, "http://10.0.0.5:8000/", number, manifest_id)  # type: ignore[arg-type]
    public = manifest_service.roadside_url(there, "http://10.0.0.5:8000/", number, manifest_id)  # type: ignore[arg-type]
    token = manifest_service.roadside_token(here, number, manifest_id)  # type: ignore[arg-type]
    assert local == f"http://10.0.0.5:8000/check/{token}"
    assert public == f"https://hz.example.cn/plant/check/{token}"
    assert manifest_service.roadside_number(public.upper()) == number
    for wrong in ("hz.example.cn", "ftp://hz.example.cn", "https://hz.example.cn/?a=1"):
        with pytest.raises(ValidationError):
            Settings(public_url=wrong)
