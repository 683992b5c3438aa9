"""A chain checked in spans (by worker processes) finds what one pass finds: the same first
broken link, the same counts. In memory over synthetic chains, every tampering at every
position against every way of cutting the chain; then through real worker processes on both
databases."""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from app.eventstore import verify
from app.eventstore.hashing import GENESIS_HASH, SCHEME
from app.eventstore.models import StoredEvent
from app.eventstore.verify_span import OPEN, Span, check_span
from tests.support.client import Api
from tests.support.tamper import drop_log_triggers

Row = tuple[Any, ...]  # position, event id, chain position, stream, version, prev, hash, material


def _material(prev: str, cp: int, stream: str, version: int, body: str = "{}") -> str:
    fields = [SCHEME, prev, "site", str(cp), f"e{cp}", "lot", stream, str(version), "lot.x", "1"]
    return "\n".join([*fields, "t", "t", "", "", "", "[]", body])


def _chain(n: int, streams: int = 3) -> list[Row]:
    """`n` events over `streams` streams, hashed and linked as the store does."""
    return _rechain([(cp, f"s{cp % streams}") for cp in range(1, n + 1)])


def _rechain(events: list[tuple[int, str]], bump: dict[int, int] | None = None) -> list[Row]:
    """Hash and link `events` (original position, stream) at positions 1, 2, … as an insider
    with the algorithm would; `bump`: extra versions to skip at some positions."""
    rows, prev, versions = [], GENESIS_HASH, dict[str, int]()
    for cp, (pos, stream) in enumerate(events, start=1):
        versions[stream] = versions.get(stream, 0) + 1 + (bump or {}).get(cp, 0)
        m = _material(prev, cp, stream, versions[stream])
        h = hashlib.sha256(m.encode()).hexdigest()
        rows.append((pos, f"e{pos}", cp, stream, versions[stream], prev, h, m))
        prev = h
    return rows


def _set(row: Row, i: int, value: Any) -> Row:
    return (*row[:i], value, *row[i + 1 :])


TAMPERINGS: dict[str, Callable[[list[Row], int], list[Row]]] = {
    "payload altered": lambda rows, i: [
        _set(r, 7, r[7].replace("{}", '{"kg":1}')) if k == i else r for k, r in enumerate(rows)
    ],
    "row deleted": lambda rows, i: rows[:i] + rows[i + 1 :],
    "row doubled": lambda rows, i: rows[: i + 1] + rows[i:],
    "prev_hash altered": lambda rows, i: [
        _set(r, 5, "f" * 64) if k == i else r for k, r in enumerate(rows)
    ],
    "row deleted, chain rehashed": lambda rows, i: _rechain(
        [(r[0], r[3]) for k, r in enumerate(rows) if k != i]
    ),
    "version skipped, chain rehashed": lambda rows, i: _rechain(
        [(r[0], r[3]) for r in rows], bump={i + 1: 1}
    ),
    "row inserted at a half position": lambda rows, i: [  # SQLite takes 5.5 in an integer column
        *rows[: i + 1],
        _set(rows[i], 2, rows[i][2] + 0.5),
        *rows[i + 1 :],
    ],
    "nothing": lambda rows, i: rows,
}


def _reference(rows: list[Row], at: frozenset[int] = frozenset({4, 9})) -> tuple[Any, ...]:
    """One pass, written out plainly (as `verify_chains` checked before spans): the answer the
    spans must give."""
    expected, prev, n = 1, GENESIS_HASH, 0
    streams: dict[str, int] = {}
    hashes: dict[int, str] = {}
    for position, event_id, cp, stream, version, prev_hash, h, material in rows:
        reason, where = None, cp
        if cp != expected:
            gap = "events missing" if cp > expected else "duplicate"
            reason = f"expected chain position {expected}, found {cp}: {gap}"
            where = cp if isinstance(cp, int) else expected  # 5.5 names the position expected
        elif prev_hash != prev:
            reason = "prev_hash does not match the previous event's hash"
        elif hashlib.sha256(material.encode()).hexdigest() != h:
            reason = "hash does not match the event's content (the row was altered)"
        elif version != streams.get(stream, 0) + 1:
            reason = f"stream {stream} jumps from version {streams.get(stream, 0)} to {version}"
        if reason:
            broken = verify.BrokenLink("site", where, reason, event_id, position)
            return n, expected - 1, broken, len(streams)
        streams[stream] = version
        if cp in at:
            hashes[cp] = h
        prev, expected, n = h, expected + 1, n + 1
    return n, expected - 1, prev, hashes, streams


def _spans(rows: list[Row], cuts: list[int]) -> list[Span]:
    """Check `rows` in spans cut after the given chain positions, as the workers read them:
    (after, upto], ordered by chain position."""
    out = []
    for after, upto in zip([OPEN, *cuts], [*cuts, OPEN], strict=True):
        inside = [
            r for r in rows if (after is None or r[2] > after) and (upto is None or r[2] <= upto)
        ]
        out.append(check_span(sorted(inside, key=lambda r: r[2]), after, upto, frozenset({4, 9})))
    return out


def _outcome(spans: list[Span]) -> tuple[Any, ...]:
    streams: dict[Any, int] = {}
    events, head, last_hash, hashes, broken = verify._join("site", spans, streams)
    if broken:  # the checkpoints are not checked on a broken chain
        return events, head, broken, len(streams)
    return events, head, last_hash, hashes, streams


@pytest.mark.parametrize("kind", sorted(TAMPERINGS))
def test_spans_find_the_first_broken_link_a_single_pass_finds(kind: str) -> None:
    tamper = TAMPERINGS[kind]
    n = 12
    for i in range(n):
        rows = tamper(_chain(n), i)
        single = _reference(rows)
        assert _outcome([check_span(rows, OPEN, OPEN, frozenset({4, 9}))]) == single, (kind, i)
        if kind != "nothing":
            assert single[2] is not None, (kind, i)  # every tampering is caught
        for cuts in ([1], [5], [6], [11], [3, 7], [1, 2, 3], [i], [i + 1], [i, i + 1]):
            cuts = sorted({c for c in cuts if 0 < c < n})
            assert _outcome(_spans(rows, cuts)) == single, (kind, i, cuts)


def test_a_version_skipped_across_spans_is_named_where_a_single_pass_names_it() -> None:
    rows = _rechain([(cp, "s") for cp in range(1, 9)], bump={6: 1})
    single = _reference(rows)
    spread = _outcome(_spans(rows, [5]))
    assert spread == single
    broken = single[2]
    assert broken.chain_position == 6
    assert broken.reason == "stream s jumps from version 5 to 7"


def test_the_plan_covers_every_position_once() -> None:
    assert verify._plan(0, 4) == [(OPEN, OPEN)]
    per = verify.EVENTS_PER_WORKER
    assert verify._plan(per * 2 - 1, 4) == [(OPEN, OPEN)]
    assert verify._plan(per * 2, 1) == [(OPEN, OPEN)]
    assert verify._plan(per * 2, 4) == [(OPEN, per), (per, OPEN)]  # (after, upto]
    plan = verify._plan(per * 10 + 7, 3)
    assert len(plan) == 3 and plan[0][0] is OPEN and plan[-1][1] is OPEN
    for (_, upto), (after, _) in itertools.pairwise(plan):
        assert after == upto  # nothing falls between two spans


# ---------------------------------------------------------------- worker processes, real DBs


def _lots(api: Api, n: int) -> None:
    op = api.as_("operator")
    for _ in range(n):
        op.step(op.step(op.generate(), "label"), "store", zone_id=str(api.world.zones["A1"]))


def _both(api: Api, monkeypatch: pytest.MonkeyPatch) -> tuple[verify.VerifyReport, ...]:
    """The chain verified in one pass, then in three spans, two of them in worker processes."""
    monkeypatch.setattr(verify, "EVENTS_PER_WORKER", 4)  # so a short chain is split
    started = []
    start = verify._start_span
    monkeypatch.setattr(verify, "_start_span", lambda *a: started.append(a) or start(*a))
    out = []
    for workers in (1, 3):
        with api.ctx.db.session(write=False) as session:
            out.append(
                verify.verify_chains(session.connection(), api.ctx.keys.public_key, workers=workers)
            )
    assert len(started) >= 2, "two worker processes checked spans"
    return tuple(out)


def _view(r: verify.VerifyReport) -> tuple[Any, ...]:
    sites = [(s.site_id, s.events, s.head_position, s.checkpoints, s.broken) for s in r.sites]
    return r.ok, r.events, r.streams, r.checkpoints, r.first_broken, sites


def test_worker_processes_verify_as_one_pass_does(
    api: Api, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _lots(api, 4)
    assert api.as_("admin").post("/api/v1/audit/checkpoints", {}).status_code == 201
    _lots(api, 2)
    one, spread = _both(api, monkeypatch)
    assert one.ok and one.checkpoints == 2 and one.events > 18
    assert _view(spread) == _view(one)


def test_worker_processes_name_a_deleted_row_as_one_pass_does(
    api: Api, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The row deleted is the last of a worker's span: the next span, in another process,
    starts as if nothing were missing; joining the spans finds the gap."""
    _lots(api, 4)
    site = api.world.site_a
    eng = drop_log_triggers(api, backend)
    with eng.begin() as c:
        head = c.execute(
            sa.text("SELECT chain_position FROM chain_head WHERE site_id = :s"),
            {"s": site if backend == "postgresql" else site.hex},
        ).scalar_one()
        cut = _first_cut(head)
        c.execute(
            sa.text("DELETE FROM stored_event WHERE site_id = :s AND chain_position = :cp"),
            {"s": site if backend == "postgresql" else site.hex, "cp": cut},
        )
    eng.dispose()
    one, spread = _both(api, monkeypatch)
    assert _view(spread) == _view(one)
    assert one.first_broken is not None
    assert one.first_broken.chain_position == cut + 1
    assert f"expected chain position {cut}, found {cut + 1}" in one.first_broken.reason


@pytest.mark.parametrize("backend", ["sqlite"])  # PostgreSQL refuses 5.5 in a bigint column
def test_a_row_between_two_spans_is_read_by_one_of_them(
    api: Api, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite keeps 5.5 in an integer column. A forged row at the first worker span's last
    position plus a half is neither at or below that position nor at or above the next: each
    span after the first starts strictly above the one before, so it is read, and named."""
    _lots(api, 4)
    eng = sa.create_engine(api.url)
    with eng.begin() as c:
        head = c.execute(
            sa.text("SELECT chain_position FROM chain_head WHERE site_id = :s"),
            {"s": api.world.site_a.hex},
        ).scalar_one()
        cut = _first_cut(head)
        cols = [col.name for col in StoredEvent.__table__.columns if col.name != "position"]  # type: ignore[attr-defined]
        c.execute(
            sa.text(
                f"INSERT INTO stored_event ({', '.join(cols)}) SELECT "
                + ", ".join(
                    {
                        "event_id": ":e",
                        "chain_position": "chain_position + 0.5",
                        "version": "999",
                    }.get(col, col)
                    for col in cols
                )
                + " FROM stored_event WHERE site_id = :s AND chain_position = :cp"
            ),
            {"e": uuid.uuid4().hex, "s": api.world.site_a.hex, "cp": cut},
        )
    eng.dispose()
    one, spread = _both(api, monkeypatch)
    assert _view(spread) == _view(one)
    assert one.first_broken is not None and one.first_broken.chain_position == cut + 1
    reason = f"expected chain position {cut + 1}, found {cut + 0.5}: duplicate"
    assert reason in one.first_broken.reason
    answer = api.as_("admin").get("/api/v1/audit/verify")  # the API names it too (no 500)
    assert answer.status_code == 200 and answer.json()["first_broken"]["chain_position"] == cut + 1


def _first_cut(head: int) -> int:
    """The last position of the first worker span `_both` plans."""
    with pytest.MonkeyPatch.context() as m:
        m.setattr(verify, "EVENTS_PER_WORKER", 4)
        upto = verify._plan(head, 3)[0][1]
    assert upto is not None
    return upto


def test_a_failed_worker_s_span_is_checked_in_the_caller(
    api: Api, backend: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Workers that cannot reach the database (here: pointed at nothing) fail; their spans
    are checked in the calling process instead, and the answer is the same."""
    _lots(api, 4)
    monkeypatch.setattr(
        verify,
        "_worker_target",
        lambda conn: "/nonexistent/hazchain.db" if backend == "sqlite" else "postgresql://x@/nodb",
    )
    one, spread = _both(api, monkeypatch)
    assert one.ok and _view(spread) == _view(one)
    assert "a verification worker failed" in caplog.text


def test_a_worker_that_fails_says_why(tmp_path: Path) -> None:
    with contextlib.ExitStack() as stack:
        missing = str(tmp_path / "missing.db")
        proc = verify._start_span(stack, "sqlite", missing, "site", OPEN, 5, frozenset())
        with pytest.raises(
            verify.WorkerFailed, match=r"verification worker failed(.|\n)*unable to open"
        ):
            verify._span_of(proc)
