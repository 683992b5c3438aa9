"""The change trail of identity and access (`party_change`, read at `GET /api/v1/audit/changes`):
every change of a user, site, enterprise or handheld leaves exactly one record with its actor,
never a secret; auditors read their own enterprise's, operators none; the CLI's changes are
recorded as such; the parties' own trail (`/parties/changes`) is unchanged."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from app.audit.changes import record_change
from app.backup import export_db, import_db
from app.cli import cli
from app.domain.uscc import uscc_with_check
from app.migrate import upgrade
from tests.support.client import Api
from tests.support.world import JWT_SECRET, PASSWORD, SIGNING_SEED
from tests.web.support import Web

NEW_PASSWORD = "a brand new passphrase"


def changes(api: Api, **params: Any) -> dict[str, Any]:
    r = api.get("/api/v1/audit/changes", params=params)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def of(api: Api, entity_id: UUID | str, role: str = "admin") -> list[dict[str, Any]]:
    """The changes of one record as `role` reads them, newest first."""
    return changes(api.as_(role), entity_id=str(entity_id), limit=500)["items"]  # type: ignore[no-any-return]


def new_user(api: Api, username: str, enterprise: UUID, role: str = "operator", **kw: Any) -> str:
    r = api.as_("admin").post(
        "/api/v1/users",
        {
            "username": username,
            "display_name": username,
            "password": PASSWORD,
            "role": role,
            "enterprise_id": str(enterprise),
            **kw,
        },
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def raw_rows(api: Api) -> list[tuple[str, str, str]]:
    """Every change row as stored: entity, action and the data column's own text."""
    with api.ctx.db.engine.connect() as c:
        return [
            (r[0], r[1], r[2])
            for r in c.execute(
                sa.text("SELECT entity, action, CAST(data AS TEXT) FROM party_change")
            )
        ]


def test_creating_a_user_leaves_one_change_naming_the_admin(api: Api) -> None:
    w = api.world
    uid = new_user(api, "op.zhao", w.plant, site_ids=[str(w.site_a)])
    (c,) = of(api, uid)
    assert (c["entity"], c["action"]) == ("user", "created")
    assert c["actor_id"] == str(w.users["admin"]) and c["actor"] == "admin"
    assert abs(datetime.fromisoformat(c["at"]) - datetime.now(UTC)) < timedelta(minutes=5)
    d = c["data"]
    assert (d["username"], d["role"], d["is_active"], d["all_sites"]) == (
        "op.zhao",
        "operator",
        True,
        False,
    )
    assert d["site_ids"] == [str(w.site_a)] and d["enterprise_id"] == str(w.plant)
    assert "via" not in d and "changed" not in d


def test_role_and_sites_change_is_one_update_with_before_and_after(api: Api) -> None:
    w = api.world
    uid = new_user(api, "op.qian", w.plant, site_ids=[str(w.site_a)])
    r = api.patch(
        f"/api/v1/users/{uid}", {"role": "ehs_manager", "site_ids": [str(w.site_a), str(w.site_b)]}
    )
    assert r.status_code == 200, r.text
    latest, created = of(api, uid)
    assert created["action"] == "created"
    assert (latest["action"], latest["actor"]) == ("updated", "admin")
    assert latest["data"]["changed"] == {
        "role": {"before": "operator", "after": "ehs_manager"},
        "site_ids": {
            "before": [str(w.site_a)],
            "after": sorted([str(w.site_a), str(w.site_b)]),
        },
    }
    assert latest["data"]["role"] == "ehs_manager"  # the values after
    # the same values again change nothing, and leave no record
    again = api.patch(f"/api/v1/users/{uid}", {"role": "ehs_manager"})
    assert again.status_code == 200
    assert len(of(api, uid)) == 2


def test_deactivating_a_user_is_recorded(api: Api) -> None:
    op = api.world.users["operator"]
    assert api.patch(f"/api/v1/users/{op}", {"is_active": False}).status_code == 200
    (c,) = [c for c in of(api, op) if c["action"] != "created"]
    assert c["action"] == "updated" and c["actor_id"] == str(api.world.users["admin"])
    assert c["data"]["changed"] == {"is_active": {"before": True, "after": False}}


def test_a_password_reset_is_one_change_without_the_password(api: Api) -> None:
    op = api.world.users["operator"]
    with api.ctx.db.engine.connect() as conn:
        old_hash = conn.execute(
            sa.text("SELECT password_hash FROM app_user WHERE username = 'operator'")
        ).scalar_one()
    assert api.patch(f"/api/v1/users/{op}", {"password": NEW_PASSWORD}).status_code == 200
    (c,) = [c for c in of(api, op) if c["action"] != "created"]
    assert (c["action"], c["actor"]) == ("password_reset", "admin")
    assert c["data"]["username"] == "operator" and "changed" not in c["data"]
    with api.ctx.db.engine.connect() as conn:
        new_hash = conn.execute(
            sa.text("SELECT password_hash FROM app_user WHERE username = 'operator'")
        ).scalar_one()
    assert new_hash != old_hash
    text = " ".join(t for _, _, t in raw_rows(api))
    for secret in (NEW_PASSWORD, PASSWORD, old_hash, new_hash):
        assert secret not in text
    assert "password" not in text


def test_enterprises_and_sites_created_and_changed_are_recorded(api: Api) -> None:
    uscc = uscc_with_check("91350100M000100Y4")
    r = api.post(
        "/api/v1/enterprises",
        {"name": "福州新厂", "uscc": uscc, "kind": "plant", "division_code": "350100"},
    )
    assert r.status_code == 201, r.text
    ent = r.json()["id"]
    r = api.post(
        "/api/v1/sites",
        {"enterprise_id": ent, "code": "FZ01", "name": "福州基地", "division_code": "350104"},
    )
    assert r.status_code == 201, r.text
    site = r.json()["id"]
    patch = {"spot_max_days": 30, "contact_name": "陈工"}
    assert api.patch(f"/api/v1/sites/{site}", patch).status_code == 200
    assert api.patch(f"/api/v1/sites/{site}", patch).status_code == 200  # no change: no record
    (e,) = of(api, ent)
    assert (e["action"], e["actor"], e["data"]["uscc"]) == ("created", "admin", uscc)
    updated, created = of(api, site)
    assert (created["action"], created["data"]["code"]) == ("created", "FZ01")
    assert (updated["action"], updated["actor"]) == ("updated", "admin")
    assert updated["data"]["changed"] == {
        "contact_name": {"before": None, "after": "陈工"},
        "spot_max_days": {"before": None, "after": 30},
    }


def test_enrolling_and_revoking_a_handheld_are_recorded_once(api: Api) -> None:
    w = api.world
    admin = api.as_("admin")
    r = admin.post("/mobile/v1/devices", {"site_id": str(w.site_a), "name": "PDA-07"})
    assert r.status_code == 201, r.text
    device, token = r.json()["device_id"], r.json()["device_token"]
    (enrolled,) = of(api, device)
    assert (enrolled["entity"], enrolled["action"], enrolled["actor"]) == (
        "device",
        "created",
        "admin",
    )
    assert enrolled["data"]["name"] == "PDA-07" and enrolled["data"]["site_id"] == str(w.site_a)
    for _ in range(2):  # revoking twice revokes once
        assert admin.post(f"/mobile/v1/devices/{device}/revoke").status_code == 200
    revoked, _ = of(api, device)
    assert revoked["action"] == "revoked" and revoked["actor_id"] == str(w.users["admin"])
    assert revoked["data"]["changed"]["revoked_by"] == {
        "before": None,
        "after": str(w.users["admin"]),
    }
    assert revoked["data"]["changed"]["revoked_at"]["before"] is None
    assert token not in " ".join(t for _, _, t in raw_rows(api))


def test_no_change_row_holds_a_secret(api: Api) -> None:
    """Whatever was done — users created with passwords, a password reset, a device enrolled
    with its token, sites and enterprises — no row holds a password, hash, token or secret."""
    w = api.world
    uid = new_user(api, "op.sun", w.plant)
    assert api.patch(f"/api/v1/users/{uid}", {"password": NEW_PASSWORD}).status_code == 200
    r = api.as_("admin").post("/mobile/v1/devices", {"site_id": str(w.site_a), "name": "PDA-08"})
    token = r.json()["device_token"]
    with api.ctx.db.engine.connect() as conn:
        hashes = list(conn.execute(sa.text("SELECT password_hash FROM app_user")).scalars())
    rows = raw_rows(api)
    assert {e for e, _, _ in rows} >= {"enterprise", "site", "user", "device"}
    text = "\n".join(t for _, _, t in rows)
    for secret in [PASSWORD, NEW_PASSWORD, token, JWT_SECRET, SIGNING_SEED, *hashes]:
        assert secret not in text
    for word in ("password", "token", "secret"):
        assert word not in text.lower()
    # and the writer refuses a secret that would slip into the data
    with api.ctx.db.session() as s, pytest.raises(ValueError, match="password_hash"):
        record_change(
            s,
            entity="user",
            entity_id=UUID(uid),
            action="updated",
            actor=None,
            at=datetime.now(UTC),
            data={"changed": {"password_hash": {"before": "x", "after": "y"}}},
        )


def test_a_refused_change_records_nothing(api: Api) -> None:
    """The record is written in the change's own transaction: refused, neither is kept."""
    w = api.world
    op = w.users["operator"]
    before = changes(api)["total"]
    foreign = api.post(
        "/api/v1/sites",
        {
            "enterprise_id": str(w.handler_org),
            "code": "HD01",
            "name": "处置厂",
            "division_code": "320506",
        },
    )
    assert foreign.status_code == 201
    before += 1
    # the role is set, then the site check refuses: nothing is kept, no change recorded
    r = api.patch(
        f"/api/v1/users/{op}", {"role": "ehs_manager", "site_ids": [foreign.json()["id"]]}
    )
    assert r.status_code == 422, r.text
    assert api.patch(f"/api/v1/users/{w.users['admin']}", {"is_active": False}).status_code == 409
    assert changes(api)["total"] == before
    assert api.get(f"/api/v1/users/{op}").json()["role"] == "operator"
    # an explicit null for a field that always has a value: 422 naming it, nothing written
    site = f"/api/v1/sites/{w.site_a}"
    r = api.patch(site, {"contact_name": "陈工", "licensed_operator": None})
    assert r.status_code == 422 and r.json()["field"] == "licensed_operator", r.text
    assert api.get(site).json()["contact_name"] == "王敏"  # as the world made it
    vehicle = api.post(
        "/api/v1/parties/vehicles",
        {
            "enterprise_id": str(w.carrier_org),
            "plate": "苏E·N0001",
            "transport_cert_no": "苏交运管苏字320500088888号",
            "vehicle_type": "dg_van",
            "dg_classes": ["3"],
            "valid_to": str((datetime.now(UTC) + timedelta(days=300)).date()),
        },
    ).json()["id"]
    parties = len(api.get("/api/v1/parties/changes").json())
    r = api.patch(f"/api/v1/parties/vehicles/{vehicle}", {"transport_cert_no": None})
    assert r.status_code == 422 and r.json()["field"] == "transport_cert_no", r.text
    assert len(api.get("/api/v1/parties/changes").json()) == parties


def test_auditors_read_their_enterprise_and_operators_are_refused(api: Api) -> None:
    w = api.world
    reg = new_user(api, "reg.li", w.regulator, role="auditor")
    plant_op = new_user(api, "op.zhou", w.plant)
    auditor = changes(api.as_("auditor"), limit=500)["items"]
    ids = {c["entity_id"] for c in auditor}
    assert reg in ids and plant_op not in ids
    (mine,) = [c for c in auditor if c["entity_id"] == reg]
    # made by the plant's admin: the id is shown, the name only within the admin's organisation
    assert mine["actor_id"] == str(w.users["admin"]) and mine["actor"] is None
    # the world's regulator (its enterprise, its auditor) are the auditor's; the plant's are not
    assert str(w.regulator) in ids and str(w.users["auditor"]) in ids
    assert not ids & {str(w.plant), str(w.site_a), str(w.users["operator"])}
    for role in ("operator", "operator_b", "handler", "transporter"):
        r = api.as_(role).get("/api/v1/audit/changes")
        assert r.status_code == 403 and r.json()["error"] == "permission_denied", role


def test_another_enterprises_changes_are_not_visible(api: Api) -> None:
    w = api.world
    ehs = changes(api.as_("ehs_manager"), entity="user", limit=500)["items"]
    ids = {c["entity_id"] for c in ehs}
    # the plant's users are the EHS manager's; the handlers' and the regulator's are not
    assert {str(w.users[u]) for u in ("admin", "operator", "operator_b")} <= ids
    assert not ids & {str(w.users[u]) for u in ("handler", "handler2", "transporter", "auditor")}
    assert of(api, w.users["handler2"], role="ehs_manager") == []
    assert len(of(api, w.users["handler2"], role="admin")) == 1  # an admin reads every one
    # a change the plant's admin makes is the plant's too, and the handler's it concerns
    h2 = new_user(api, "h2.wu", w.handler2_org, role="handler")  # type: ignore[arg-type]
    (seen,) = of(api, h2, role="ehs_manager")
    assert seen["actor"] == "admin"
    assert of(api, h2, role="auditor") == []


def test_cli_created_enterprises_sites_and_users_are_recorded(api: Api, tmp_path: Path) -> None:
    env = {
        "APP_ENV": "testing",
        "DATABASE_URL": api.url,
        "JWT_SECRET": JWT_SECRET,
        "SITE_SIGNING_SEED": SIGNING_SEED,
        "VAR_DIR": str(tmp_path),
        "COLUMNS": "200",
    }
    uscc = uscc_with_check("91320583MA1Q9Y8X7")
    runner = CliRunner()
    create_enterprise = [
        "create-enterprise",
        "--uscc",
        uscc,
        "--name",
        "昆山新厂",
        "--site-name",
        "昆山厂区",
    ]
    create_user = ["create-user", "ks.admin", "--role", "admin", "--enterprise-uscc", uscc]
    for args in (
        [*create_enterprise, "--division-code", "320583", "--site-code", "KS01"],
        [*create_user, "--password", NEW_PASSWORD, "--all-sites"],
    ):
        out = runner.invoke(cli, args, env=env)
        assert out.exit_code == 0, out.output
    got = changes(api, limit=3)["items"]  # newest first
    assert [(c["entity"], c["action"]) for c in got] == [
        ("user", "created"),
        ("site", "created"),
        ("enterprise", "created"),
    ]
    for c in got:
        assert c["actor_id"] is None and c["actor"] is None and c["data"]["via"] == "cli"
    user, site, ent = (c["data"] for c in got)
    assert (user["username"], user["role"], user["all_sites"]) == ("ks.admin", "admin", True)
    assert (site["code"], ent["uscc"]) == ("KS01", uscc)
    assert NEW_PASSWORD not in " ".join(t for _, _, t in raw_rows(api))


def test_paging_filters_and_order(api: Api) -> None:
    w = api.world
    uid = new_user(api, "op.feng", w.plant)
    api.patch(f"/api/v1/users/{uid}", {"display_name": "冯"})
    page = changes(api, limit=2)
    assert page["limit"] == 2 and page["offset"] == 0 and len(page["items"]) == 2
    assert page["total"] >= 17  # the world's 15, and these two
    first, second = page["items"]
    assert (first["entity_id"], first["action"]) == (uid, "updated")
    assert (second["entity_id"], second["action"]) == (uid, "created")
    assert changes(api, limit=1, offset=1)["items"] == [second]
    every = changes(api, limit=500)["items"]
    ats = [datetime.fromisoformat(c["at"]) for c in every]
    assert ats == sorted(ats, reverse=True) and len(every) == page["total"]
    sites = changes(api, entity="site", limit=500)
    assert {c["entity"] for c in sites["items"]} == {"site"} and sites["total"] == 2
    assert changes(api, entity="user", entity_id=uid)["total"] == 2
    for bad in ({"limit": 0}, {"limit": 501}, {"offset": -1}, {"entity": "password"}):
        r = api.get("/api/v1/audit/changes", params=bad)
        assert r.status_code == 422, (bad, r.text)
    assert "unknown entity" in api.get("/api/v1/audit/changes?entity=lot").json()["detail"]


def test_parties_trail_is_unchanged_and_read_here_too(api: Api) -> None:
    w = api.world
    new_user(api, "op.chen", w.plant)
    r = api.post(
        "/api/v1/parties/vehicles",
        {
            "enterprise_id": str(w.carrier_org),
            "plate": "苏E·T0001",
            "transport_cert_no": "苏交运管苏字320500099999号",
            "vehicle_type": "dg_van",
            "dg_classes": ["3"],
            "valid_to": str((datetime.now(UTC) + timedelta(days=300)).date()),
        },
    )
    assert r.status_code == 201, r.text
    vehicle = r.json()["id"]
    (party,) = api.get("/api/v1/parties/changes").json()  # the parties' only, as before
    assert (party["entity"], party["entity_id"], party["action"]) == ("vehicle", vehicle, "created")
    assert set(party) == {"id", "entity", "entity_id", "action", "actor_id", "at", "data"}
    assert party["data"]["plate"] == "苏E·T0001"
    # the plant's EHS manager reads it (the plant's admin made it), the regulator's auditor not
    (seen,) = of(api, vehicle, role="ehs_manager")
    assert seen["data"] == party["data"] and seen["actor"] == "admin"
    assert of(api, vehicle, role="auditor") == []


def test_the_parties_trail_pages_oldest_first(api: Api) -> None:
    """It used to stop at its first 1,000 rows, dropping the newest; it now pages."""
    w = api.world
    valid_to = str((datetime.now(UTC) + timedelta(days=300)).date())
    made = []
    for i in range(5):
        r = api.post(
            "/api/v1/parties/vehicles",
            {
                "enterprise_id": str(w.carrier_org),
                "plate": f"苏E·T100{i}",
                "transport_cert_no": f"苏交运管苏字32050009990{i}号",
                "vehicle_type": "dg_van",
                "dg_classes": ["3"],
                "valid_to": valid_to,
            },
        )
        assert r.status_code == 201, r.text
        made.append(r.json()["id"])
    pages = [
        api.get("/api/v1/parties/changes", params={"limit": 2, "offset": o}).json()
        for o in (0, 2, 4, 6)
    ]
    assert [len(p) for p in pages] == [2, 2, 1, 0]
    assert [c["entity_id"] for p in pages for c in p] == made
    assert [c["entity_id"] for c in api.get("/api/v1/parties/changes").json()] == made
    for bad in ({"limit": 0}, {"limit": 1001}, {"offset": -1}):
        r = api.get("/api/v1/parties/changes", params=bad)
        assert r.status_code == 422 and r.json()["error"] == "validation_error", (bad, r.text)


def test_the_changes_survive_a_backup_and_restore(api: Api, tmp_path: Path) -> None:
    new_user(api, "op.he", api.world.plant)
    dump = io.StringIO()
    with api.ctx.db.session(write=False) as session:
        exported = export_db(session.connection(), dump)
    assert exported["party_change"] == changes(api)["total"] == 16
    target = f"sqlite:///{tmp_path / 'restored.db'}"
    upgrade(target)
    dump.seek(0)
    eng = sa.create_engine(target)
    try:
        with eng.begin() as conn:
            import_db(conn, dump)
        with eng.connect() as conn:
            got = conn.execute(
                sa.text("SELECT entity, action, actor_id FROM party_change ORDER BY id")
            ).all()
    finally:
        eng.dispose()
    assert len(got) == 16 and got[-1][:2] == ("user", "created") and got[-1][2] is not None


def test_the_console_audit_page_lists_identity_changes(api: Api) -> None:
    w = api.world
    uid = new_user(api, "op.lin", w.plant)
    assert api.patch(f"/api/v1/users/{uid}", {"role": "ehs_manager"}).status_code == 200
    page = Web(api, "ehs_manager").get("/audit")
    assert page.status_code == 200
    html = page.text
    section = html[html.index('id="changes"') :].split("</section>")[0]
    assert "身份与权限变更" in section and "操作人" in section
    assert section.index("op.lin") < section.index("operator_b")  # newest first
    assert "修改" in section and "角色" in section and "EHS 经理" in section
    english = Web(api, "auditor").get("/audit?lang=en").text
    changes_en = english[english.index('id="changes"') :].split("</section>")[0]
    assert "Identity and access changes" in changes_en and "op.lin" not in changes_en


def test_the_trail_can_be_neither_changed_nor_removed(api: Api, backend: str) -> None:
    """The database itself refuses an edit or a removal of a recorded change (a correction is a
    new change), and on PostgreSQL a TRUNCATE; the trail reads the same afterwards."""
    new_user(api, "trail_guard", api.world.plant)
    before = raw_rows(api)
    assert before
    statements = [
        "UPDATE party_change SET action = 'created'",
        "UPDATE party_change SET data = '{}'",
        "DELETE FROM party_change",
    ]
    if backend == "postgresql":  # SQLite has no TRUNCATE
        statements.append("TRUNCATE party_change")
    for statement in statements:
        with (
            pytest.raises(sa.exc.DatabaseError, match="append-only"),
            api.ctx.db.engine.begin() as c,
        ):
            c.execute(sa.text(statement))
        assert raw_rows(api) == before, statement
