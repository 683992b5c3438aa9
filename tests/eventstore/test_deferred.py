"""`EventStore.deferred_writes` (a handheld sync batch): appends kept in memory, read back
through the store, written in one insert with the chain head once; a rollback within refuses
to write anything. SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest
import sqlalchemy as sa

from app.eventstore.store import DeferredWritesLost, EventStore
from app.eventstore.verify import verify_chains
from app.identity.service import principal_for
from app.lots import schemas
from app.lots import service as lot_service
from tests.support.client import Api


def _weigh(s: Any, api: Api, lot_id: UUID, version: int, kg: str, event_id: UUID) -> Any:
    actor = principal_for(session=s, user_id=api.world.users["operator"])
    cmd = schemas.LotWeigh(event_id=event_id, expected_version=version, weight_kg=Decimal(kg))
    return lot_service.weigh_lot(session=s, ctx=api.ctx, actor=actor, lot_id=lot_id, cmd=cmd)


def _inserts(s: Any) -> list[str]:
    seen: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO STORED_EVENT"):
            seen.append(statement)

    sa.event.listen(s.connection(), "before_cursor_execute", count)
    return seen


def _chain_ok(api: Api) -> bool:
    with api.ctx.db.engine.connect() as c:
        return verify_chains(c, api.ctx.keys.public_key, site_ids=[api.world.site_a]).ok


def _labelled(api: Api) -> tuple[dict[str, Any], UUID]:
    op = api.as_("operator")
    lot = op.step(op.generate(), "label")
    return lot, UUID(lot["lot_id"])


def test_kept_appends_are_read_back_then_written_once(api: Api) -> None:
    op, ctx = api.as_("operator"), api.ctx
    lot, lot_id = _labelled(api)
    with ctx.db.session() as s:
        store = EventStore(s, clock=ctx.clock, keys=ctx.keys)
        ids = [uuid4() for _ in range(3)]
        # as a sync batch does: its ids and stream looked up under the chain lock
        store.prefetch(ids, site_id=api.world.site_a, stream_ids=[lot_id])
        inserts = _inserts(s)
        with store.deferred_writes(3):
            first = _weigh(s, api, lot_id, 2, "11", ids[0])
            second = _weigh(s, api, lot_id, 3, "12", ids[1])
            assert inserts == [] and store.deferred_appends == 2
            # a read of the log through the store writes what was kept first
            assert [r.version for r in store.load_stream(lot_id)] == [1, 2, 3, 4]
            assert len(inserts) == 1
            third = _weigh(s, api, lot_id, 4, "13", ids[2])
        assert len(inserts) == 2
    events = op.get(f"/api/v1/lots/{lot_id}/events").json()
    assert [e["version"] for e in events] == [1, 2, 3, 4, 5]
    # the positions answered while kept are the ones in the log
    assert [e["position"] for e in events[2:]] == [r.event.position for r in (first, second, third)]
    assert op.get(f"/api/v1/lots/{lot_id}").json()["weight_kg"] == "13.000"
    assert _chain_ok(api)
    op.step({**lot, "version": 5}, "weigh", weight_kg="14")  # the head row moved on too
    assert _chain_ok(api)


def test_a_rollback_within_refuses_to_write_anything(api: Api) -> None:
    op, ctx = api.as_("operator"), api.ctx
    lot, lot_id = _labelled(api)
    with ctx.db.session() as s:
        store = EventStore(s, clock=ctx.clock, keys=ctx.keys)
        with pytest.raises(DeferredWritesLost), store.deferred_writes(2):
            _weigh(s, api, lot_id, 2, "11", uuid4())
            s.begin_nested().rollback()  # e.g. a step's own savepoint, undone
        s.rollback()
    assert [e["version"] for e in op.get(f"/api/v1/lots/{lot_id}/events").json()] == [1, 2]
    assert _chain_ok(api)
    op.step(lot, "weigh", weight_kg="15")
    assert _chain_ok(api)
