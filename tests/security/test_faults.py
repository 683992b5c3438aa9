"""Faults on PostgreSQL, against a real server process (uvicorn subprocess, loopback):

- SIGKILL in the middle of a sync batch and of a manifest receipt: nothing of the request is
  left, the chains verify, and the same request sent again succeeds (idempotent by event id);
- the server's database connection terminated mid-request (`pg_terminate_backend`): a clean
  503 and no half-write;
- the database read-only: writes answer a clear 503, reads keep working.

"Mid-request" is made deterministic with a row lock held by the test on a projection row that
the request updates after it has already appended events: the server's transaction is then
provably open, with writes in it, when the fault strikes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
import sqlalchemy as sa

from app.eventstore.verify import verify_chains
from tests.mobile.conftest import Handheld, item
from tests.security.server import Server
from tests.support.client import Api
from tests.support.world import World
from tests.web.support import Web

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_api(pg_db: tuple[str, World], tmp_path: Path) -> Iterator[Api]:
    url, world = pg_db
    api = Api.start(url, world, tmp_path)
    yield api
    api.close()


@pytest.fixture
def server(pg_api: Api, tmp_path: Path) -> Iterator[Server]:
    srv = Server(pg_api.url, tmp_path)
    yield srv
    srv.stop()


def _verify(api: Api) -> Any:
    with api.ctx.db.engine.connect() as conn:
        report = verify_chains(conn, api.ctx.keys.public_key)
    assert report.ok, report.summary()
    return report


def _events(api: Api, ids: list[str]) -> int:
    with api.ctx.db.engine.connect() as conn:
        q = sa.text("SELECT count(*) FROM stored_event WHERE event_id = ANY(:ids)")
        return int(conn.execute(q, {"ids": [UUID(i) for i in ids]}).scalar_one())


class RowLock:
    """Hold `SELECT ... FOR UPDATE` on one row from the test until released."""

    def __init__(self, api: Api, table: str, column: str, value: str) -> None:
        self.conn = sa.create_engine(api.url).connect()
        self.conn.execute(
            sa.text(f"SELECT 1 FROM {table} WHERE {column} = :v FOR UPDATE"), {"v": UUID(value)}
        )
        self.db = self.conn.exec_driver_sql("SELECT current_database()").scalar_one()

    def wait_for_blocked(self, timeout: float = 30) -> int:
        """The pid of the server backend waiting on our lock (it has written before that)."""
        q = sa.text(
            "SELECT pid FROM pg_stat_activity WHERE datname = :db AND wait_event_type = 'Lock'"
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with sa.create_engine(self.conn.engine.url).connect() as c:
                pid = c.execute(q, {"db": self.db}).scalar()
            if pid:
                return int(pid)
            time.sleep(0.05)
        raise AssertionError("the request never reached the locked row")

    def release(self) -> None:
        self.conn.rollback()
        self.conn.close()
        self.conn.engine.dispose()


def _background(fn: Any) -> tuple[threading.Thread, dict[str, Any]]:
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            out["response"] = fn()
        except Exception as exc:
            out["error"] = exc

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, out


def _wait_backends_gone(api: Api, pid: int) -> None:
    deadline = time.monotonic() + 30
    q = sa.text("SELECT count(*) FROM pg_stat_activity WHERE pid = :p")
    with sa.create_engine(api.url).connect() as c:
        while time.monotonic() < deadline:
            if not c.execute(q, {"p": pid}).scalar_one():
                return
            # pg_stat_activity is a snapshot kept for the whole transaction: end it, or a
            # backend alive at the first look stays "alive" for every later one
            c.rollback()
            time.sleep(0.05)
    raise AssertionError(f"backend {pid} still alive")


def test_sigkill_in_the_middle_of_a_sync_batch_leaves_nothing(pg_api: Api, server: Server) -> None:
    api = pg_api
    pda = Handheld(api, api.world.site_a, "operator")
    op = api.as_("operator")
    lots = [op.step(op.generate(), "label") for _ in range(12)]
    items = [item("weigh", lot, weight_kg="7") for lot in lots]
    ids = [i["event_id"] for i in items]
    before = _verify(api).events
    lock = RowLock(api, "rm_lot", "lot_id", lots[8]["lot_id"])  # items 1-8 land first
    headers = {"Authorization": f"Bearer {pda.token}"}
    t, out = _background(
        lambda: httpx.post(f"{server.base}/mobile/v1/sync", json={"items": items},
                           headers=headers, timeout=30)
    )  # fmt: skip
    pid = lock.wait_for_blocked()
    server.kill()
    lock.release()
    t.join(30)
    assert "response" not in out  # the client saw the connection drop, not an answer
    _wait_backends_gone(api, pid)
    assert _events(api, ids) == 0  # all or nothing: nothing
    assert all(api.as_("admin").get(f"/api/v1/lots/{x['lot_id']}").json()["version"]
               == x["version"] for x in lots)  # fmt: skip
    assert _verify(api).events == before
    # the handheld sends the same batch again: every item is accepted once
    res = pda.sync(items).json()["results"]
    assert [r["status"] for r in res] == ["accepted"] * len(items)
    assert _events(api, ids) == len(items)
    assert _verify(api).events == before + len(items)


def _in_transit_manifest(api: Api) -> tuple[dict[str, Any], Any]:
    from tests.manifests.support import draft, setup_parties, step, stored_lot, to_in_transit

    p = setup_parties(api)
    m = to_in_transit(api, p, draft(api, [stored_lot(api), stored_lot(api)]))
    m = step(api, "transporter", m, "sign", step="receipt")
    return m, p


def _receive_body(m: dict[str, Any]) -> dict[str, Any]:
    from tests.manifests.support import uid

    lots = [{"lot_id": x["lot_id"], "received_kg": x["weight_kg"]} for x in m["lots"]]
    return {"event_id": uid(), "expected_version": m["version"], "lots": lots}


def test_sigkill_in_the_middle_of_a_manifest_receipt_leaves_nothing(
    pg_api: Api, server: Server
) -> None:
    api = pg_api
    m, _ = _in_transit_manifest(api)
    before = _verify(api).events
    body = _receive_body(m)
    lock = RowLock(api, "rm_manifest", "manifest_id", m["manifest_id"])
    headers = {"Authorization": f"Bearer {api.token('handler')}"}
    path = f"{server.base}/api/v1/manifests/{m['manifest_id']}/receive"
    t, out = _background(lambda: httpx.post(path, json=body, headers=headers, timeout=30))
    pid = lock.wait_for_blocked()
    server.kill()
    lock.release()
    t.join(30)
    assert "response" not in out
    _wait_backends_gone(api, pid)
    assert _events(api, [body["event_id"]]) == 0
    got = api.as_("handler").get(f"/api/v1/manifests/{m['manifest_id']}").json()
    assert (got["version"], got["status"]) == (m["version"], m["status"])
    assert _verify(api).events == before
    r = api.as_("handler").post(f"/api/v1/manifests/{m['manifest_id']}/receive", body)
    assert r.status_code == 200, r.text
    assert _verify(api).events > before


def test_connection_terminated_mid_request_is_a_clean_503(pg_api: Api, server: Server) -> None:
    api = pg_api
    op = api.as_("operator")
    lot = op.step(op.generate(), "label")
    before = _verify(api).events
    lock = RowLock(api, "rm_lot", "lot_id", lot["lot_id"])
    body = {"event_id": str(UUID(int=7)), "expected_version": lot["version"], "weight_kg": "3"}
    headers = {"Authorization": f"Bearer {api.token('operator')}"}
    path = f"{server.base}/api/v1/lots/{lot['lot_id']}/weigh"
    t, out = _background(lambda: httpx.post(path, json=body, headers=headers, timeout=30))
    pid = lock.wait_for_blocked()
    with sa.create_engine(api.url).connect() as c:
        assert c.execute(sa.text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar_one()
    lock.release()
    t.join(30)
    r = out["response"]
    assert r.status_code == 503, r.text
    assert (
        r.json()["error"] == "database_unavailable" and "nothing was written" in r.json()["detail"]
    )
    assert _events(api, [body["event_id"]]) == 0
    assert _verify(api).events == before
    # the server recovers on the next request (a fresh connection)
    r = httpx.post(path, json=body, headers=headers, timeout=30)
    assert r.status_code == 200, r.text
    assert _verify(api).events == before + 1


def test_read_only_database_gives_a_clear_error(pg_api: Api, tmp_path: Path) -> None:
    api = pg_api
    lot = api.as_("operator").generate()
    db = sa.make_url(api.url).database
    admin = sa.create_engine(api.url, isolation_level="AUTOCOMMIT")
    api.ctx.db.dispose()
    with admin.connect() as c:
        c.exec_driver_sql(f'ALTER DATABASE "{db}" SET default_transaction_read_only = on')
    try:
        ro = Api.start(api.url, api.world, tmp_path / "ro")
        r = ro.post("/api/v1/lots", _lot(ro))
        assert r.status_code == 503, r.text
        assert r.json()["error"] == "database_read_only"
        assert ro.get("/api/v1/lots").status_code == 200
        # the console answers with its own error page, in Chinese, not the API's JSON
        web = Web(ro, "operator")
        form = {
            "action": "weigh",
            "event_id": str(uuid4()),
            "expected_version": str(lot["version"]),
            "weight_kg": "130",
        }
        page = web.post(f"/lots/{lot['lot_id']}/act", form)
        assert page.status_code == 503, page.text
        assert page.headers["content-type"].startswith("text/html")
        assert "数据库处于只读状态：未写入任何数据" in page.text
        assert web.get(f"/lots/{lot['lot_id']}").status_code == 200  # reads go on
        ro.close()
    finally:
        with admin.connect() as c:
            c.exec_driver_sql(f'ALTER DATABASE "{db}" SET default_transaction_read_only = off')
        admin.dispose()
    _verify(api)


def _lot(api: Api) -> dict[str, Any]:
    from tests.support.client import lot_body

    return lot_body(api.world.site_a)
