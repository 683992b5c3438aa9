"""The log on both databases: append-only triggers, tamper detection, signed checkpoints."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from app.core.db import make_engine
from tests.support.client import Api
from tests.support.tamper import drop_log_triggers


def _engine(api: Api) -> sa.Engine:
    return make_engine(api.url)


def _verify(api: Api) -> dict:  # type: ignore[type-arg]
    r = api.get("/api/v1/audit/verify")
    assert r.status_code == 200, r.text
    return r.json()


def _history(api: Api, lots: int = 3) -> list[dict]:  # type: ignore[type-arg]
    op = api.as_("operator")
    out = []
    for _ in range(lots):
        lot = op.step(op.generate(), "label")
        out.append(op.step(lot, "store", zone_id=str(api.world.zones["A1"])))
    return out


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE stored_event SET type = 'lot.disposed'",
        "DELETE FROM stored_event",
        "UPDATE chain_checkpoint SET hash = 'x'",
        "DELETE FROM chain_checkpoint",
    ],
)
def test_raw_update_and_delete_fail_at_the_database(api: Api, statement: str) -> None:
    _history(api, 1)
    api.post("/api/v1/audit/checkpoints")
    eng = _engine(api)
    with pytest.raises(sa.exc.DatabaseError, match="append-only"), eng.begin() as c:
        c.exec_driver_sql(statement)
    eng.dispose()
    assert _verify(api)["status"] == "ok"


def test_truncate_fails_on_postgresql(api: Api, backend: str) -> None:
    if backend != "postgresql":
        pytest.skip("SQLite has no TRUNCATE")
    eng = _engine(api)
    with pytest.raises(sa.exc.DatabaseError, match="append-only"), eng.begin() as c:
        c.exec_driver_sql("TRUNCATE stored_event")
    eng.dispose()


def _row(eng: sa.Engine, chain_position: int) -> sa.Row:  # type: ignore[type-arg]
    with eng.connect() as c:
        return c.execute(
            sa.text(
                "SELECT position, event_id, CAST(payload AS TEXT) AS payload, site_id FROM stored_event "
                "WHERE chain_position = :p ORDER BY position LIMIT 1"
            ),
            {"p": chain_position},
        ).one()


def test_one_changed_payload_byte_is_named(api: Api, backend: str) -> None:
    _history(api)
    before = _verify(api)
    assert before["status"] == "ok" and before["events"] >= 9
    eng = drop_log_triggers(api, backend)
    row = _row(eng, 5)
    # change the last digit (inside a number or a string, so the JSON stays valid)
    i = max(i for i, ch in enumerate(row.payload) if ch.isdigit())
    tampered = row.payload[:i] + ("1" if row.payload[i] != "1" else "2") + row.payload[i + 1 :]
    with eng.begin() as c:
        c.execute(
            sa.text("UPDATE stored_event SET payload = :p WHERE position = :pos"),
            {"p": tampered, "pos": row.position},
        )
    eng.dispose()
    after = _verify(api)
    assert after["status"] == "broken"
    assert after["first_broken"]["chain_position"] == 5
    assert "hash does not match" in after["first_broken"]["reason"]
    assert after["first_broken"]["event_id"] == str(uuid.UUID(str(row.event_id)))


@pytest.mark.parametrize("backend", ["sqlite"])  # PostgreSQL refuses such values itself
@pytest.mark.parametrize(
    "column, value",
    [
        ("occurred_at", "2020-01-01 00:00:00.000000"),  # a back-dated step
        ("occurred_at", 12345),  # SQLite takes a number in a text column
        ("findings", b"[]"),  # a blob where text belongs
        ("event_id", 7),
    ],
)
def test_an_altered_column_of_any_type_is_named_on_sqlite(
    api: Api, backend: str, column: str, value: object
) -> None:
    """SQLite types values per row, so a hand-edited one may not even be text: the verifier
    names the row instead of failing, and a blob where the store writes text is an alteration
    even when its bytes are the same."""
    _history(api)
    eng = drop_log_triggers(api, backend)
    row = _row(eng, 4)
    with eng.begin() as c:
        c.execute(
            sa.text(f"UPDATE stored_event SET {column} = :v WHERE position = :pos"),
            {"v": value, "pos": row.position},
        )
    eng.dispose()
    after = _verify(api)
    assert after["status"] == "broken"
    assert after["first_broken"]["chain_position"] == 4
    assert "hash does not match" in after["first_broken"]["reason"]


def test_a_break_in_an_early_chunk_stops_the_prefetching_reader(api: Api, backend: str) -> None:
    """Chunks of two rows: the break is found while the fetcher still has chunks to hand over.
    The verification returns (the fetcher is drained, not left blocked) and the connection is
    free for the next statement."""
    from app.eventstore.verify import verify_chains

    _history(api)
    eng = drop_log_triggers(api, backend)
    row = _row(eng, 3)
    with eng.begin() as c:
        c.execute(
            sa.text("UPDATE stored_event SET payload = :p WHERE position = :pos"),
            {"p": row.payload.replace("}", ', "x": 1}', 1), "pos": row.position},
        )
    with eng.connect() as c:
        report = verify_chains(c, api.ctx.keys.public_key, site_ids=[api.world.site_a], batch=2)
        assert c.execute(sa.text("SELECT count(*) FROM stored_event")).scalar_one() >= 9
    eng.dispose()
    assert report.first_broken is not None
    assert report.first_broken.chain_position == 3
    assert report.events == 2


def test_one_deleted_row_is_named(api: Api, backend: str) -> None:
    _history(api)
    eng = drop_log_triggers(api, backend)
    row = _row(eng, 6)
    with eng.begin() as c:
        c.execute(sa.text("DELETE FROM stored_event WHERE position = :pos"), {"pos": row.position})
    eng.dispose()
    broken = _verify(api)["first_broken"]
    assert broken["chain_position"] == 7
    assert "expected chain position 6, found 7" in broken["reason"]


def test_one_inserted_row_is_named(api: Api, backend: str) -> None:
    """A forged event appended with a correct-looking hash is caught by the chain head."""
    from app.eventstore.hashing import event_hash

    _history(api)
    eng = _engine(api)
    with eng.connect() as c:
        last = (
            c.execute(
                sa.text(
                    "SELECT * FROM stored_event WHERE site_id = :s ORDER BY chain_position DESC LIMIT 1"
                ),
                {"s": api.world.site_a if backend == "postgresql" else api.world.site_a.hex},
            )
            .mappings()
            .one()
        )
    from datetime import UTC, datetime

    forged_id = uuid.uuid4()
    now = datetime.now(UTC)
    payload = '{"weight_kg":"1.000"}'
    h = event_hash(
        prev_hash=last["hash"],
        site_id=api.world.site_a,
        chain_position=last["chain_position"] + 1,
        event_id=forged_id,
        stream_type="lot",
        stream_id=uuid.UUID(str(last["stream_id"]))
        if backend == "postgresql"
        else uuid.UUID(hex=last["stream_id"]),
        version=last["version"] + 1,
        type="lot.weighed",
        schema_version=1,
        occurred_at=now,
        recorded_at=now,
        actor_id=None,
        device_id=None,
        rule_set_version=None,
        findings_json="[]",
        payload_json=payload,
    )
    with eng.begin() as c:
        c.execute(
            sa.text(
                "INSERT INTO stored_event (event_id, site_id, chain_position, stream_type, stream_id, "
                "version, type, schema_version, payload, findings, occurred_at, recorded_at, prev_hash, "
                "hash) VALUES (:e, :s, :cp, 'lot', :st, :v, 'lot.weighed', 1, :p, '[]', :t, :t, :ph, :h)"
            ),
            {
                "e": forged_id if backend == "postgresql" else forged_id.hex,
                "s": last["site_id"],
                "cp": last["chain_position"] + 1,
                "st": last["stream_id"],
                "v": last["version"] + 1,
                "p": payload,
                "t": now if backend == "postgresql" else now.replace(tzinfo=None).isoformat(" "),
                "ph": last["hash"],
                "h": h,
            },
        )
    eng.dispose()
    broken = _verify(api)["first_broken"]
    assert broken["chain_position"] == last["chain_position"] + 1
    assert "recorded head" in broken["reason"]


def test_signed_checkpoint_catches_a_rewritten_history(api: Api, backend: str) -> None:
    """Rewriting the whole chain after a checkpoint (recomputing every hash and the head)
    still fails: the signed checkpoint names the old hash."""
    _history(api, 1)
    cps = api.post("/api/v1/audit/checkpoints")
    assert cps.status_code == 201
    assert {c["site_id"] for c in cps.json()} == {str(api.world.site_a), str(api.world.site_b)}
    assert _verify(api)["checkpoints"] >= 1
    eng = drop_log_triggers(api, backend)
    # Rewrite event 1's payload and re-chain every hash, as an insider with the algorithm would.
    from app.eventstore.hashing import GENESIS_HASH, event_hash, ts
    from app.eventstore.verify import verify_chains

    with eng.begin() as c:
        rows = (
            c.execute(
                sa.text(
                    "SELECT position, event_id, site_id, chain_position, stream_type, stream_id, version, "
                    "type, schema_version, occurred_at, recorded_at, actor_id, device_id, "
                    "rule_set_version, CAST(findings AS TEXT) AS findings, CAST(payload AS TEXT) AS payload "
                    "FROM stored_event WHERE site_id = :s ORDER BY chain_position"
                ),
                {"s": api.world.site_a if backend == "postgresql" else api.world.site_a.hex},
            )
            .mappings()
            .all()
        )
        prev = GENESIS_HASH
        from app.eventstore.models import StoredEvent

        table = StoredEvent.__table__  # type: ignore[attr-defined]
        typed = {r.position: r for r in c.execute(sa.select(table)).all()}
        for r in rows:
            t = typed[r["position"]]
            payload = r["payload"].replace("废活性炭", "普通垃圾")
            h = event_hash(
                prev_hash=prev,
                site_id=t.site_id,
                chain_position=t.chain_position,
                event_id=t.event_id,
                stream_type=t.stream_type,
                stream_id=t.stream_id,
                version=t.version,
                type=t.type,
                schema_version=t.schema_version,
                occurred_at=ts(t.occurred_at),
                recorded_at=ts(t.recorded_at),
                actor_id=t.actor_id,
                device_id=t.device_id,
                rule_set_version=t.rule_set_version,
                findings_json=r["findings"],
                payload_json=payload,
            )
            c.execute(
                sa.text(
                    "UPDATE stored_event SET payload = :p, prev_hash = :ph, hash = :h "
                    "WHERE position = :pos"
                ),
                {"p": payload, "ph": prev, "h": h, "pos": r["position"]},
            )
            prev = h
        c.execute(
            sa.text("UPDATE chain_head SET hash = :h WHERE site_id = :s"),
            {"h": prev, "s": api.world.site_a if backend == "postgresql" else api.world.site_a.hex},
        )
    with eng.connect() as c:
        report = verify_chains(c, api.ctx.keys.public_key, site_ids=[api.world.site_a])
    eng.dispose()
    assert not report.ok
    assert "differs from the signed checkpoint" in report.first_broken.reason  # type: ignore[union-attr]


def test_verification_reads_one_snapshot_while_the_plant_keeps_working(
    api: Api, backend: str
) -> None:
    """`hazchain verify` reads the heads first and each site's chain after the one before it.
    Events appended to a site meanwhile (handhelds keep working) are not in the snapshot it
    verifies, so they are neither counted nor taken for rows added outside the application."""
    from app.eventstore.verify import verify_chains

    a, b = api.world.site_a, api.world.site_b
    _history(api, 2)
    op_b = api.as_("operator_b")
    op_b.generate(b)
    before = _verify(api)["events"]
    second = max(a, b, key=str)  # the site verified second
    appended: list[dict] = []  # type: ignore[type-arg]

    def meanwhile(_n: int) -> None:  # called while the first site's chain is read
        if not appended:
            (op_b if second == b else api.as_("operator")).generate(second)
            appended.append({})

    with api.ctx.db.session(write=False) as session:
        report = verify_chains(
            session.connection(), api.ctx.keys.public_key, progress=meanwhile, batch=1
        )
    assert appended, "the append ran during verification"
    assert report.ok, report.summary()
    assert report.events == before
    after = _verify(api)
    assert after["status"] == "ok" and after["events"] == report.events + 1
