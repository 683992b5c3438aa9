"""Inline projections equal a full replay of the log."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

from app.projections.base import rebuild, tables
from tests.support.client import Api


def _snapshot(api: Api) -> dict[str, list[tuple]]:  # type: ignore[type-arg]
    out = {}
    with api.ctx.db.session(write=False) as s:
        for t in tables():
            key = list(t.primary_key.columns)
            rows = s.execute(sa.select(t).order_by(*key)).all()
            out[t.name] = [tuple(r) for r in rows]
    return out


def test_inline_equals_replay(api: Api) -> None:
    op = api.as_("operator")
    a1, a2, g1 = (str(api.world.zones[z]) for z in ("A1", "A2", "G1"))
    for i in range(6):
        lot = op.step(op.generate(weight_kg=str(100 + i)), "label")
        if i % 2 == 0:
            lot = op.step(lot, "store", zone_id=a1)
        if i % 3 == 0:
            lot = op.step(lot, "move", zone_id=a2) if lot["status"] == "stored" else lot
            lot = op.step(lot, "inspect", condition="damaged")
            lot = op.step(
                lot, "repack", container={"type": "drum", "volume_l": "50"}, reason="破损"
            )
    gis = op.generate(
        kind="general", waste_code=None, general_class="II", general_category="SW59", name="废渣"
    )
    op.step(op.step(gis, "label"), "store", zone_id=g1)
    inline = _snapshot(api)
    assert inline["rm_lot"] and inline["rm_zone_inventory"] and inline["rm_zone"]
    with api.ctx.db.session() as s:
        logged = s.execute(sa.text("SELECT count(*) FROM stored_event")).scalar_one()
        n = rebuild(s, batch=7)  # small batches exercise the batching
    assert n == logged and logged > 20
    assert _snapshot(api) == inline


def test_rebuild_command_restores_a_damaged_read_model(api: Api, tmp_path: Path) -> None:
    op = api.as_("operator")
    lot = op.step(op.step(op.generate(), "label"), "store", zone_id=str(api.world.zones["A1"]))
    with api.ctx.db.session() as s:
        s.execute(sa.text("UPDATE rm_zone_inventory SET weight_kg = 0"))
        s.execute(sa.text("DELETE FROM rm_lot"))
    assert api.get(f"/api/v1/lots/{lot['lot_id']}").status_code == 404
    with api.ctx.db.session() as s:
        rebuild(s)
    assert api.get(f"/api/v1/lots/{lot['lot_id']}").json()["status"] == "stored"
    zone = api.get(f"/api/v1/zones/{api.world.zones['A1']}").json()
    assert Decimal(zone["weight_kg"]) == Decimal("125.5")
