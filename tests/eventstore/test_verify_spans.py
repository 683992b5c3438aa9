"""A chain checked in spans (by worker processes) finds what one pass finds: the same first
broken link, the same counts. In memory over synthetic chains, every tampering at every
position against every way of cutting the chain; then through real worker processes on both
databases."""

from __future__ import annotations

import contextlib
import hashlib
import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from app.eventstore import verify
from app.eventstore.hashing import GENESIS_HASH, SCHEME
from app.eventstore.verify_span import OPEN, Span, check_span
from tests.support.client import Api

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
    "nothing": lambda rows, i: rows,
}


def _spans(rows: list[Row], cuts: list[int]) -> list[Span]:
    """Check `rows` in spans cut after the given chain positions, as the workers read them."""
    los: list[int | None] = [OPEN, *(c + 1 for c in cuts)]
    his: list[int | None] = [*cuts, OPEN]
    out = []
    for lo, hi in zip(los, his, strict=True):
        inside = [r for r in rows if (lo is None or r[2] >= lo) and (hi is None or r[2] <= hi)]
        out.append(check_span(sorted(inside, key=lambda r: r[2]), lo, hi, frozenset({4, 9})))
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
        single = _outcome([check_span(rows, OPEN, OPEN, frozenset({4, 9}))])
        if kind != "nothing":
            assert single[2] is not None, (kind, i)  # every tampering is caught
        for cuts in ([1], [5], [6], [11], [3, 7], [1, 2, 3], [i], [i + 1], [i, i + 1]):
            cuts = sorted({c for c in cuts if 0 < c < n})
            assert _outcome(_spans(rows, cuts)) == single, (kind, i, cuts)


def test_a_version_skipped_across_spans_is_named_where_a_single_pass_names_it() -> None:
    rows = _rechain([(cp, "s") for cp in range(1, 9)], bump={6: 1})
    single = _outcome([check_span(rows)])
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
    assert verify._plan(per * 2, 4) == [(OPEN, per), (per + 1, OPEN)]
    plan = verify._plan(per * 10 + 7, 3)
    assert len(plan) == 3 and plan[0][0] is OPEN and plan[-1][1] is OPEN
    for (_, hi), (lo, _) in itertools.pairwise(plan):
        assert lo == hi + 1


# ---------------------------------------------------------------- worker processes, real DBs


def _lots(api: Api, n: int) -> None:
    op = api.as_("operator")
    for _ in range(n):
        op.step(op.step(op.generate(), "label"), "store", zone_id=str(api.world.zones["A1"]))


def _both(api: Api) -> tuple[verify.VerifyReport, ...]:
    """The chain verified in one pass, then in three spans, two of them in worker processes."""
    assert verify.EVENTS_PER_WORKER == 4  # set by the test, so a short chain is split
    out = []
    for workers in (1, 3):
        with api.ctx.db.session(write=False) as session:
            out.append(
                verify.verify_chains(session.connection(), api.ctx.keys.public_key, workers=workers)
            )
    return tuple(out)


def _view(r: verify.VerifyReport) -> tuple[Any, ...]:
    sites = [(s.site_id, s.events, s.head_position, s.checkpoints, s.broken) for s in r.sites]
    return r.ok, r.events, r.streams, r.checkpoints, r.first_broken, sites


def test_worker_processes_verify_as_one_pass_does(
    api: Api, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(verify, "EVENTS_PER_WORKER", 4)
    _lots(api, 4)
    assert api.as_("admin").post("/api/v1/audit/checkpoints", {}).status_code == 201
    _lots(api, 2)
    one, spread = _both(api)
    assert one.ok and one.checkpoints == 2 and one.events > 18
    assert _view(spread) == _view(one)


def test_worker_processes_name_a_deleted_row_as_one_pass_does(
    api: Api, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The row deleted is the last of a worker's span: the next span, in another process,
    starts as if nothing were missing; joining the spans finds the gap."""
    monkeypatch.setattr(verify, "EVENTS_PER_WORKER", 4)
    _lots(api, 4)
    site = api.world.site_a
    eng = sa.create_engine(api.url)
    with eng.begin() as c:
        if backend == "postgresql":
            c.exec_driver_sql("DROP TRIGGER stored_event_append_only ON stored_event")
        else:
            c.exec_driver_sql("DROP TRIGGER stored_event_no_delete")
        head = c.execute(
            sa.text("SELECT chain_position FROM chain_head WHERE site_id = :s"),
            {"s": site if backend == "postgresql" else site.hex},
        ).scalar_one()
        cut = verify._plan(head, 3)[0][1]  # the first worker span's last position
        c.execute(
            sa.text("DELETE FROM stored_event WHERE site_id = :s AND chain_position = :cp"),
            {"s": site if backend == "postgresql" else site.hex, "cp": cut},
        )
    eng.dispose()
    one, spread = _both(api)
    assert _view(spread) == _view(one)
    assert one.first_broken is not None
    assert one.first_broken.chain_position == cut + 1
    assert f"expected chain position {cut}, found {cut + 1}" in one.first_broken.reason


def test_a_worker_that_fails_says_why(tmp_path: Path) -> None:
    with contextlib.ExitStack() as stack:
        missing = str(tmp_path / "missing.db")
        proc = verify._start_span(stack, "sqlite", missing, "site", OPEN, 5, frozenset())
        with pytest.raises(RuntimeError, match=r"verification worker failed(.|\n)*unable to open"):
            verify._span_of(proc)
