"""Devices: enrolment, sign-in on the device, revocation, token types."""

from __future__ import annotations

from tests.mobile.conftest import Handheld, item
from tests.support.client import Api
from tests.support.world import PASSWORD


def test_enrol_sign_in_and_context(api: Api, pda: Handheld) -> None:
    s = pda.session
    assert s["user"]["username"] == "operator" and s["site"]["code"] == "SZ01"
    assert [z["code"] for z in s["zones"]] == ["A1", "A2", "G1"]
    assert s["device"]["device_id"] == str(pda.device_id)
    r = pda.get("/mobile/v1/context")
    assert r.status_code == 200 and r.json()["user"]["role"] == "operator"
    listed = api.as_("admin").get("/mobile/v1/devices").json()
    assert [d["device_id"] for d in listed] == [str(pda.device_id)]


def test_only_admins_enrol(api: Api) -> None:
    body = {"site_id": str(api.world.site_a), "name": "PDA"}
    assert api.as_("operator").post("/mobile/v1/devices", body).status_code == 403
    assert api.as_("ehs_manager").post("/mobile/v1/devices", body).status_code == 403


def test_sign_in_needs_the_site_and_a_password(api: Api, pda: Handheld) -> None:
    h = {"Authorization": f"Bearer {pda.device_token}"}
    r = api.client.post(
        "/mobile/v1/auth/sign-in", json={"username": "operator", "password": "x"}, headers=h
    )
    assert r.status_code == 401
    r = api.client.post(
        "/mobile/v1/auth/sign-in",
        json={"username": "operator_b", "password": PASSWORD},
        headers=h,
    )
    assert r.status_code == 403  # operator_b works at TZ02, the device is at SZ01
    # the enrolment token alone does not act: an operator must sign in
    r = api.client.get("/mobile/v1/context", headers=h)
    assert r.status_code == 401 and "sign in" in r.json()["detail"]


def test_revoked_device_gets_401_at_once(api: Api, pda: Handheld) -> None:
    assert pda.get("/mobile/v1/context").status_code == 200
    r = api.as_("admin").post(f"/mobile/v1/devices/{pda.device_id}/revoke")
    assert r.status_code == 200 and r.json()["revoked_at"]
    for resp in (
        pda.get("/mobile/v1/context"),
        pda.scan("A1"),
        pda.sync([item("weigh", {"lot_id": str(pda.device_id), "version": 1}, weight_kg="1")]),
        api.client.post(
            "/mobile/v1/auth/sign-in",
            json={"username": "operator", "password": PASSWORD},
            headers={"Authorization": f"Bearer {pda.device_token}"},
        ),
    ):
        assert resp.status_code == 401 and "revoked" in resp.json()["detail"], resp.text


def test_token_types_do_not_cross(api: Api, pda: Handheld) -> None:
    # a device token on a user-only route
    for token in (pda.token, pda.device_token):
        r = api.client.get("/api/v1/lots", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401 and "user token is required" in r.json()["detail"]
    # a user token on a device route
    r = api.as_("operator").get("/mobile/v1/scan/A1")
    assert r.status_code == 401 and "device token is required" in r.json()["detail"]
    assert api.client.get("/mobile/v1/scan/A1").status_code == 401


def test_auditor_on_a_device_reads_but_does_not_act(api: Api) -> None:
    aud = Handheld(api, api.world.site_a, "auditor")
    r = aud.scan("A1")
    assert r.status_code == 200 and r.json()["actions"] == []
    assert (
        aud.sync([item("weigh", {"lot_id": str(aud.device_id), "version": 1})]).status_code == 403
    )


def test_a_disabled_operator_or_one_moved_off_the_site_is_refused_at_once(
    api: Api, pda: Handheld
) -> None:
    """The device, the user and the user's sites are read on every request (one query)."""
    operator = api.world.users["operator"]
    admin = api.as_("admin")
    assert pda.scan("A1").status_code == 200
    # moved to the other site only: the device's site is out of reach
    r = admin.patch(
        f"/api/v1/users/{operator}", {"all_sites": False, "site_ids": [str(api.world.site_b)]}
    )
    assert r.status_code == 200, r.text
    r = pda.scan("A1")
    assert r.status_code == 401 and "no longer act" in r.json()["detail"], r.text
    # every site of the enterprise, present and future: back in reach
    assert admin.patch(f"/api/v1/users/{operator}", {"all_sites": True}).status_code == 200
    assert pda.scan("A1").status_code == 200
    # disabled
    assert admin.patch(f"/api/v1/users/{operator}", {"is_active": False}).status_code == 200
    r = pda.scan("A1")
    assert r.status_code == 401 and "disabled" in r.json()["detail"], r.text
