"""The change trail's hash chain (`party_change.prev_hash` → `hash`), on both databases: rows
chain in `id` order as they are written, concurrent writers included; every verification
recomputes the chain; a row altered, removed or slipped in by someone who dropped the
append-only triggers, or rows cut from the end after a run saw them, make the verification
fail and say where; the migration chains existing rows exactly as the writer does. The head is
signed (`change_trail_checkpoint`): a trail rewritten whole, hashes recomputed, or cut below a
signed head, shows against the signature, which the database owner cannot make."""

from __future__ import annotations

import json
import threading
from typing import Any
from uuid import uuid4

import sqlalchemy as sa
from typer.testing import CliRunner

from app.audit import jobs
from app.audit import service as audit_service
from app.audit.changes import GENESIS_HASH, change_hash, record_change, sign_trail_head
from app.cli import cli
from app.migrate import downgrade, upgrade
from app.parties.models import PartyChange
from tests.audit.test_change_trail import new_user
from tests.support.client import Api


def _rows(api: Api) -> list[Any]:
    with api.ctx.db.engine.connect() as c:
        return list(c.execute(sa.text("SELECT * FROM party_change ORDER BY id")).mappings())


def _tamper(
    api: Api, backend: str, statement: str, table: str = "party_change", **params: Any
) -> None:
    """What a database owner could do: drop a table's append-only triggers, then edit."""
    with api.ctx.db.engine.begin() as c:
        if backend == "postgresql":
            c.execute(sa.text(f"DROP TRIGGER {table}_append_only ON {table}"))
        else:
            c.execute(sa.text(f"DROP TRIGGER {table}_no_update"))
            c.execute(sa.text(f"DROP TRIGGER {table}_no_delete"))
        c.execute(sa.text(statement), params)


def _some_changes(api: Api) -> None:
    for name in ("chain_a", "chain_b", "chain_c"):
        new_user(api, name, api.world.plant)


def _verify(api: Api) -> dict[str, Any]:
    """A recorded run, as the CLI and the schedule make them (no cool-down), as JSON."""
    report, run = jobs.verify_and_record(api.ctx, trigger="cli")
    result = audit_service.report_read(report).model_dump(mode="json")
    assert run.ok is (result["status"] == "ok")
    return result


def test_rows_chain_in_order_and_verify(api: Api) -> None:
    _some_changes(api)
    rows = _rows(api)
    assert len(rows) >= 3
    prev = GENESIS_HASH
    for row in rows:
        assert row["prev_hash"] == prev
        prev = row["hash"]
    r = api.as_("admin").post("/api/v1/audit/verifications", {})
    assert r.status_code == 201, r.text
    result = r.json()["result"]
    assert result["status"] == "ok"
    trail = result["change_trail"]
    assert trail == {
        "status": "ok",
        "rows": len(rows),
        "head_hash": rows[-1]["hash"],
        "broken_id": None,
        "reason": None,
        "checkpoints": 0,
    }
    assert (
        result["summary"].startswith("ok: ")
        and f"change trail ok: {len(rows)} rows" in (result["summary"])
    )
    # the trail spans every organisation: an auditor's answer leaves it out
    mine = api.as_("auditor").get("/api/v1/audit/verify").json()
    assert mine["status"] == "ok" and mine["change_trail"] is None
    assert api.as_("admin").get("/api/v1/audit/verify").json()["change_trail"]["rows"] == len(rows)


def test_an_altered_row_breaks_the_chain_there(api: Api, backend: str) -> None:
    _some_changes(api)
    victim = _rows(api)[1]
    _tamper(
        api,
        backend,
        "UPDATE party_change SET data = :d WHERE id = :i",
        d='{"username": "someone_else"}',
        i=victim["id"],
    )
    result = _verify(api)
    assert result["status"] == "broken"
    assert result["first_broken"] is None  # the custody log itself is intact
    trail = result["change_trail"]
    assert (trail["status"], trail["broken_id"], trail["rows"]) == ("broken", victim["id"], 1)
    assert "altered" in trail["reason"]
    assert result["summary"].startswith(f"BROKEN: change trail broken at row {victim['id']}")
    # the CLI says so and fails
    out = CliRunner().invoke(cli, ["verify", "--workers", "1"], env={"DATABASE_URL": api.url})
    assert out.exit_code == 1, out.output
    assert "change trail broken" in out.output


def test_a_removed_row_breaks_the_chain_at_the_next(api: Api, backend: str) -> None:
    _some_changes(api)
    rows = _rows(api)
    _tamper(api, backend, "DELETE FROM party_change WHERE id = :i", i=rows[1]["id"])
    trail = _verify(api)["change_trail"]
    assert (trail["status"], trail["broken_id"]) == ("broken", rows[2]["id"])
    assert "removed or inserted" in trail["reason"]


def test_rows_cut_from_the_end_after_a_run_saw_them_show(api: Api, backend: str) -> None:
    _some_changes(api)
    rows = _rows(api)
    assert _verify(api)["change_trail"]["rows"] == len(rows)
    # the last row cut off: what is left still links up, but the run before saw more
    _tamper(api, backend, "DELETE FROM party_change WHERE id = :i", i=rows[-1]["id"])
    trail = _verify(api)["change_trail"]
    assert trail["status"] == "broken" and trail["rows"] == len(rows) - 1
    assert f"where an earlier verification saw {len(rows)}: rows removed" in trail["reason"]


def test_a_rewritten_tail_shows_against_the_head_a_run_saw(api: Api, backend: str) -> None:
    """The last row replaced by a forged one with a correct hash over the row before: the chain
    links up, but no longer holds the head the earlier run recorded."""
    _some_changes(api)
    rows = _rows(api)
    assert _verify(api)["status"] == "ok"
    last = _orm_row(api, rows[-1]["id"])
    forged = {"username": "forged"}
    new_hash = change_hash(
        prev_hash=last.prev_hash,
        entity=last.entity,
        entity_id=last.entity_id,
        action=last.action,
        actor_id=last.actor_id,
        at=last.at,
        data=forged,
    )
    _tamper(
        api,
        backend,
        "UPDATE party_change SET data = :d, hash = :h WHERE id = :i",
        d='{"username":"forged"}',
        h=new_hash,
        i=last.id,
    )
    trail = _verify(api)["change_trail"]
    assert (trail["status"], trail["broken_id"]) == ("broken", last.id)
    assert "not the head an earlier verification saw" in trail["reason"]


def _orm_row(api: Api, row_id: int) -> PartyChange:
    """A row as the ORM reads it (UUIDs and aware UTC times on both databases)."""
    with api.ctx.db.session(write=False) as s:
        row = s.get(PartyChange, row_id)
        assert row is not None
        s.expunge(row)
        return row


def test_concurrent_writers_chain_without_a_fork(api: Api) -> None:
    """Eight writers at once, each in its own transaction: one chain, no two rows on one link
    (SQLite serialises on BEGIN IMMEDIATE, PostgreSQL on the trail's advisory lock)."""
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def write(i: int) -> None:
        try:
            start.wait()
            with api.ctx.db.session() as s:
                for k in range(3):
                    record_change(
                        s,
                        entity="site",
                        entity_id=uuid4(),
                        action="updated",
                        actor=None,
                        at=api.ctx.clock.now(),
                        data={"writer": i, "k": k},
                        via="cli",
                    )
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    rows = _rows(api)
    assert len({r["prev_hash"] for r in rows}) == len(rows)  # no fork
    report, _ = jobs.verify(api.ctx, workers=1)
    assert report.ok and report.extra["change_trail"].rows == len(rows)


def test_the_migration_chains_existing_rows_as_the_writer_does(api: Api) -> None:
    _some_changes(api)
    before = [(r["id"], r["prev_hash"], r["hash"]) for r in _rows(api)]
    downgrade(api.url, "f3c5a7e9b214")
    with api.ctx.db.engine.connect() as c:
        cols = {col["name"] for col in sa.inspect(c).get_columns("party_change")}
    assert "hash" not in cols
    upgrade(api.url)
    assert [(r["id"], r["prev_hash"], r["hash"]) for r in _rows(api)] == before
    # and the triggers are back
    with api.ctx.db.engine.connect() as c:
        try:
            c.execute(sa.text("DELETE FROM party_change"))
        except sa.exc.DatabaseError as exc:
            assert "append-only" in str(exc)
        else:
            raise AssertionError("the trail took a DELETE after the migration")


def test_the_audit_page_shows_the_trail(api: Api, backend: str) -> None:
    from tests.web.support import Web

    _some_changes(api)
    _verify(api)
    page = Web(api, "admin").get("/audit").text
    shown = page[page.index('id="change-trail"') :].split("</p>")[0]
    assert f"主数据变更记录：{len(_rows(api))} 条，哈希链完整" in shown
    victim = _rows(api)[0]
    _tamper(
        api, backend, "UPDATE party_change SET action = 'deleted' WHERE id = :i", i=victim["id"]
    )
    _verify(api)
    page = Web(api, "admin").get("/audit").text
    shown = page[page.index('id="change-trail"') :].split("</p>")[0]
    assert f"主数据变更记录的哈希链在第 {victim['id']} 条处断开" in shown and "altered" in shown
    # an auditor's page shows the chains of their sites, not the cross-organisation trail
    assert 'id="change-trail"' not in Web(api, "auditor").get("/audit").text


def test_a_broken_trail_is_an_alert_at_the_sweep(api: Api, backend: str) -> None:
    from app.alerts import service as alert_service
    from tests.web.support import Web

    _some_changes(api)
    victim = _rows(api)[2]
    _tamper(api, backend, "DELETE FROM party_change WHERE id = :i", i=victim["id"])
    _verify(api)
    with api.ctx.db.session() as s:
        alert_service.sweep(session=s, ctx=api.ctx)
    alerts = api.as_("ehs_manager").get("/api/v1/alerts").json()["items"]
    h03 = [a for a in alerts if a["rule_id"] == "H03"]
    assert h03 and {a["severity"] for a in h03} == {"block"}
    assert (
        "主数据变更记录" in h03[0]["message_zh"] and "removed or inserted" in h03[0]["message_zh"]
    )
    assert h03[0]["values"]["row_id"] == _rows(api)[2]["id"]  # the row after the removed one
    dashboard = Web(api, "ehs_manager").get("/dashboard").text
    assert "H03" in dashboard and 'href="/audit#verify"' in dashboard


def _forget_runs(api: Api, backend: str) -> None:
    """No earlier run to compare with (a fresh database, or the records of runs deleted too):
    what is left to tell is the signature."""
    _tamper(api, backend, "DELETE FROM verification_run", table="verification_run")


def _sign_head(api: Api) -> int:
    """`hazchain checkpoint`'s signing of the trail's head; the rows it covers."""
    with api.ctx.db.session() as s:
        cp = sign_trail_head(s, api.ctx.keys, api.ctx.clock.now())
        assert cp is not None
        return cp.rows


def _rewrite_from(api: Api, backend: str, row_id: int) -> None:
    """What a database owner without the signing key can do at most: alter a row and
    recompute every hash from there on, so that the chain links up again."""
    rows = [r for r in (_orm_row(api, r["id"]) for r in _rows(api)) if r.id >= row_id]
    prev = _orm_row(api, row_id).prev_hash
    fixes = []
    for i, row in enumerate(rows):
        data = {"username": "forged"} if i == 0 else row.data
        h = change_hash(
            prev_hash=prev,
            entity=row.entity,
            entity_id=row.entity_id,
            action=row.action,
            actor_id=row.actor_id,
            at=row.at,
            data=data,
        )
        fixes.append((row.id, data, prev, h))
        prev = h
    first, *rest = fixes
    _tamper(
        api,
        backend,
        "UPDATE party_change SET data = :d, prev_hash = :p, hash = :h WHERE id = :i",
        d=json.dumps(first[1]),
        p=first[2],
        h=first[3],
        i=first[0],
    )
    with api.ctx.db.engine.begin() as c:  # the triggers are gone already
        for row_id_, _data, p, h in rest:
            c.execute(
                sa.text("UPDATE party_change SET prev_hash = :p, hash = :h WHERE id = :i"),
                {"p": p, "h": h, "i": row_id_},
            )


def test_a_trail_rewritten_whole_shows_against_its_signed_head(api: Api, backend: str) -> None:
    _some_changes(api)
    rows = _rows(api)
    signed = _sign_head(api)
    assert signed == len(rows)
    result = _verify(api)
    assert result["status"] == "ok" and result["change_trail"]["checkpoints"] == 1
    assert f"change trail ok: {len(rows)} rows, 1 signed checkpoint" in result["summary"]
    _forget_runs(api, backend)
    _rewrite_from(api, backend, rows[1]["id"])
    trail = _verify(api)["change_trail"]
    assert (trail["status"], trail["broken_id"]) == ("broken", rows[-1]["id"]), trail
    assert "not the head the signed checkpoint names" in trail["reason"]


def test_rows_cut_below_a_signed_head_show(api: Api, backend: str) -> None:
    _some_changes(api)
    rows = _rows(api)
    _sign_head(api)
    _forget_runs(api, backend)
    _tamper(api, backend, "DELETE FROM party_change WHERE id = :i", i=rows[-1]["id"])
    trail = _verify(api)["change_trail"]
    assert trail["status"] == "broken" and trail["rows"] == len(rows) - 1
    assert f"a signed checkpoint covers {len(rows)}: rows removed" in trail["reason"]


def test_a_forged_checkpoint_does_not_verify(api: Api, backend: str) -> None:
    _some_changes(api)
    _sign_head(api)
    statement = "UPDATE change_trail_checkpoint SET hash = :h"
    _tamper(api, backend, statement, table="change_trail_checkpoint", h="0" * 64)
    trail = _verify(api)["change_trail"]
    assert trail["status"] == "broken" and "differs from what was signed" in trail["reason"]


def test_the_schedule_signs_the_trail_when_it_moved(api: Api) -> None:
    from datetime import timedelta

    from sqlmodel import select

    from app.audit.models import TrailCheckpoint

    def signed() -> list[int]:
        with api.ctx.db.session(write=False) as s:
            q = select(TrailCheckpoint).order_by(TrailCheckpoint.rows)  # type: ignore[arg-type]
            return [cp.rows for cp in s.exec(q)]

    _some_changes(api)
    n = len(_rows(api))
    jobs.sign_checkpoints_if_due(api.ctx, timedelta(0))
    assert signed() == [n]
    jobs.sign_checkpoints_if_due(api.ctx, timedelta(0))  # nothing new: nothing signed
    assert signed() == [n]
    new_user(api, "chain_d", api.world.plant)
    jobs.sign_checkpoints_if_due(api.ctx, timedelta(hours=24))  # moved, but signed just now
    assert signed() == [n]
    jobs.sign_checkpoints_if_due(api.ctx, timedelta(0))
    assert signed() == [n, len(_rows(api))]
