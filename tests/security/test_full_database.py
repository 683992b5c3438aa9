"""A database out of space: a write answers a clear 507 and leaves nothing behind; reads go on;
once there is room again the same request succeeds and the chains verify.

SQLite is really filled: `PRAGMA max_page_count` caps the file at its current size, so the
next page SQLite needs fails with SQLITE_FULL ("database or disk is full"). PostgreSQL's
disk cannot be filled from a test without privileges, so a trigger raises the server's own
error for it (SQLSTATE 53100 disk_full, as `could not extend file` does) at the append, inside
the request's transaction.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from app.eventstore.verify import verify_chains
from tests.support.client import Api, lot_body

PG_FULL = """
CREATE FUNCTION test_disk_full() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION USING ERRCODE = 'disk_full',
    MESSAGE = 'could not extend file "base/1/2": No space left on device';
END $$;
CREATE TRIGGER test_disk_full BEFORE INSERT ON stored_event
  FOR EACH ROW EXECUTE FUNCTION test_disk_full();
"""


def _fill(api: Api, backend: str) -> Any:
    """Make the database full; returns what undoes it."""
    engine = api.ctx.db.engine
    if backend == "postgresql":
        with engine.begin() as c:
            c.exec_driver_sql(PG_FULL)

        def undo() -> None:
            with engine.begin() as c:
                c.exec_driver_sql("DROP TRIGGER test_disk_full ON stored_event")
                c.exec_driver_sql("DROP FUNCTION test_disk_full()")

        return undo

    def cap(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        pages = cur.execute("PRAGMA page_count").fetchone()[0]
        cur.execute(f"PRAGMA max_page_count = {pages}")
        cur.close()

    api.ctx.db.dispose()  # every pooled connection is new, so every one is capped
    sa.event.listen(engine, "connect", cap)

    def undo_sqlite() -> None:
        sa.event.remove(engine, "connect", cap)
        api.ctx.db.dispose()

    return undo_sqlite


def _events(api: Api) -> int:
    with api.ctx.db.engine.connect() as c:
        return int(c.exec_driver_sql("SELECT count(*) FROM stored_event").scalar_one())


def test_a_full_database_answers_507_and_writes_nothing(api: Api, backend: str) -> None:
    op = api.as_("operator")
    lots_before = op.get("/api/v1/lots").json()["total"]
    events_before = _events(api)
    # long texts (CJK: three bytes a character) so the rows need pages SQLite does not have
    body = lot_body(api.world.site_a, precautions="防" * 500, remarks="满" * 500)
    undo = _fill(api, backend)
    try:
        r = op.post("/api/v1/lots", body)
        assert r.status_code == 507, r.text
        assert r.json() == {
            "error": "database_full",
            "detail": "the database is out of space: nothing was written",
        }
        assert op.get("/api/v1/lots").status_code == 200  # reads go on
    finally:
        undo()
    assert _events(api) == events_before
    assert op.get("/api/v1/lots").json()["total"] == lots_before
    again = op.post("/api/v1/lots", body)  # the same request, once there is room
    assert again.status_code == 201, again.text
    with api.ctx.db.engine.connect() as c:
        assert verify_chains(c, api.ctx.keys.public_key).ok
