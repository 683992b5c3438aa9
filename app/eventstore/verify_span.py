"""Check one span of a site's chain: the rows, their hashes and their links, standard library
only, so a worker process that checks a span starts in milliseconds (`verify.verify_chains`).

A span is the rows of one site with chain positions above `after` (exclusive: a row between two
spans' bounds, a position of 5.5 on SQLite say, still lands in one) up to `upto`. Its
rows are checked in chain order: each row's hash recomputes from its content; after the first
row, positions follow on by one and each `prev_hash` is the hash of the row before; a stream
met earlier in the span goes on at the next version. What a span cannot know, the caller
checks when it joins the spans in order: the first row's position and `prev_hash` against the
span before, and the first version of each stream met in the span against the spans before.
Those are exactly the checks of a single pass over the chain, so the first broken link found
is the one a single pass finds.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import pickle
import queue
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.eventstore.hashing import FIELDS, SCHEME

# The database assembles each row's hash material exactly as `hashing.event_hash` does
# (fields joined by newlines, absent values empty), so Python only hashes and compares.
_PG_MATERIAL = r"""
'hazchain-chain-v1' || E'\n' || prev_hash || E'\n' || site_id::text || E'\n' ||
chain_position::text || E'\n' || event_id::text || E'\n' || stream_type || E'\n' ||
stream_id::text || E'\n' || version::text || E'\n' || type || E'\n' ||
schema_version::text || E'\n' ||
to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"') || E'\n' ||
to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"') || E'\n' ||
coalesce(actor_id::text, '') || E'\n' || coalesce(device_id::text, '') || E'\n' ||
coalesce(rule_set_version, '') || E'\n' || findings::text || E'\n' || payload::text
"""
_PG_ROWS = f"""
SELECT position, event_id::text, chain_position, stream_id::text, version, prev_hash, hash,
       {_PG_MATERIAL}
FROM stored_event WHERE site_id = %s{{bounds}} ORDER BY chain_position
"""

# SQLite keeps UUIDs as 32 hex digits and timestamps as `YYYY-MM-DD HH:MM:SS.ffffff` (UTC).
# With SQLite rendering them as hashed (hyphenated, ISO 8601) by substr/replace, verification
# ran at 65,000-88,000 events/s; with Python assembling the text from the stored values,
# 153,000-164,000 (docs/benchmarks.md).
_SQLITE_ROWS = """
SELECT position, event_id, chain_position, stream_id, version, prev_hash, hash, stream_type,
       type, schema_version, occurred_at, recorded_at, actor_id, device_id, rule_set_version,
       findings, payload
FROM stored_event WHERE site_id = ?{bounds} ORDER BY chain_position
"""

# `after` of the first span and `upto` of the last: no bound, so a row of any position (or, on
# SQLite, of any type) is read and judged by the pass.
OPEN = None


def _query(template: str, mark: str, after: int | None, upto: int | None) -> tuple[str, list[int]]:
    bounds, args = "", []
    if after is not OPEN:
        bounds, args = f" AND chain_position > {mark}", [after]
    if upto is not OPEN:
        bounds, args = f"{bounds} AND chain_position <= {mark}", [*args, upto]
    return template.replace("{bounds}", bounds), args


@dataclass
class Break:
    """The first broken link inside a span: the row and the reason. `index`: rows of the span
    checked before it."""

    chain_position: int
    reason: str
    event_id: str | None
    position: int | None
    index: int


@dataclass
class Span:
    """What a pass over one span found (see the module docstring)."""

    after: int | None
    upto: int | None
    events: int = 0
    first: tuple[int, str, str, int] | None = None  # chain position, prev_hash, event id, position
    last: tuple[int, str] | None = None  # chain position, hash
    broken: Break | None = None
    # per stream met in the span: its first event there (version, chain position, event id,
    # position, index in the span) and its last version there
    stream_first: dict[str, tuple[int, int, str, int, int]] = field(default_factory=dict)
    stream_last: dict[str, int] = field(default_factory=dict)
    checkpoint_hashes: dict[int, str] = field(default_factory=dict)


def position_break(found: Any, expected: int) -> tuple[int, str]:
    """The row after position `expected - 1` carries `found`: the position to name (the row's
    own when it is a whole number, else the one expected: SQLite takes 5.5 or text in an
    integer column) and the reason."""
    if isinstance(found, int | float) and not isinstance(found, bool):
        gap = "events missing" if found > expected else "duplicate"
    else:
        gap = "not a chain position"
    at = found if isinstance(found, int) else expected
    return at, f"expected chain position {expected}, found {found}: {gap}"


def check_span(
    rows: Iterable[tuple[Any, ...]],
    after: int | None = OPEN,
    upto: int | None = OPEN,
    checkpoints: frozenset[int] = frozenset(),
    progress: Callable[[int], None] | None = None,
    every: int = 2_000,
) -> Span:
    """Check the rows of a span (position, event id, chain position, stream id, version,
    prev_hash, hash, hash material), stopping at the first broken link inside it."""
    span = Span(after, upto)
    firsts = span.stream_first
    lasts = span.stream_last
    lasts_get = lasts.get
    sha256 = hashlib.sha256
    newlines = FIELDS - 1
    n = 0
    expected_pos, prev = -1, ""
    for position, event_id, chain_position, stream_id, version, prev_hash, hash_, material in rows:
        broken = None
        if n == 0:
            span.first = (chain_position, prev_hash, event_id, position)
        elif chain_position != expected_pos:
            chain_position, broken = position_break(chain_position, expected_pos)
        elif prev_hash != prev:
            broken = "prev_hash does not match the previous event's hash"
        if broken is None and (
            material.count("\n") != newlines
            or sha256(material.encode("utf-8")).hexdigest() != hash_
        ):
            broken = "hash does not match the event's content (the row was altered)"
        if broken is None:
            last = lasts_get(stream_id)
            if last is None:
                firsts[stream_id] = (version, chain_position, event_id, position, n)
            elif version != last + 1:
                broken = f"stream {stream_id} jumps from version {last} to {version}"
        if broken:
            span.broken = Break(chain_position, broken, event_id, position, n)
            break
        lasts[stream_id] = version
        if chain_position in checkpoints:
            span.checkpoint_hashes[chain_position] = hash_
        prev = hash_
        expected_pos = chain_position + 1
        n += 1
        if progress and n % every == 0:
            progress(every)
    if progress and n % every:
        progress(n % every)
    span.events = n
    if n:
        span.last = (expected_pos - 1, prev)
    return span


def sqlite_material(chunks: Iterable[list[Any]], site: str) -> Iterator[tuple[Any, ...]]:
    """SQLite rows as `_PG_ROWS` gives them: position, event id, chain position, stream id,
    version, prev_hash, hash and the hash material (`hashing.event_hash`'s text)."""
    ids: dict[Any, str] = {None: ""}  # actors and devices: few, each rendered once

    def uuid_text(h: Any) -> str:
        if h not in ids:
            ids[h] = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
        return ids[h]

    for chunk in chunks:
        for (
            pos,
            eid,
            cp,
            sid,
            ver,
            prev,
            hash_,
            st,
            ty,
            sv,
            occ,
            rec,
            actor,
            device,
            rsv,
            fi,
            pa,
        ) in chunk:
            try:
                event_id = f"{eid[:8]}-{eid[8:12]}-{eid[12:16]}-{eid[16:20]}-{eid[20:]}"
                stream_id = f"{sid[:8]}-{sid[8:12]}-{sid[12:16]}-{sid[16:20]}-{sid[20:]}"
                material = "\n".join(
                    (
                        SCHEME,
                        prev,
                        site,
                        str(cp),
                        event_id,
                        st,
                        stream_id,
                        str(ver),
                        ty,
                        str(sv),
                        occ.replace(" ", "T") + "+00:00",
                        rec.replace(" ", "T") + "+00:00",
                        uuid_text(actor),
                        uuid_text(device),
                        rsv or "",
                        fi,
                        pa,
                    )
                )
            except (TypeError, AttributeError):  # a value of the wrong type written outside us
                event_id, stream_id, material = str(eid), str(sid), ""  # fails the hash check
            yield pos, event_id, cp, stream_id, ver, prev, hash_, material


@contextlib.contextmanager
def span_rows(
    raw: Any,
    dialect: str,
    site: str,
    after: int | None = OPEN,
    upto: int | None = OPEN,
    batch: int = 2_000,
    prefetch: bool = True,
) -> Iterator[Iterator[tuple[Any, ...]]]:
    """The rows of a span from a DBAPI connection (a server-side cursor on PostgreSQL).

    On PostgreSQL a thread fetches the next chunk while the caller hashes this one. The driver
    waits on the server without the GIL, so PostgreSQL builds the rows' hash material on one
    core while Python hashes on the other (1.5x the rate of fetching in turn). On SQLite the
    same thread measured slower (0.94x), so SQLite fetches in turn (docs/benchmarks.md).
    """
    if dialect == "postgresql":
        sql, args = _query(_PG_ROWS, "%s", after, upto)
        cur = raw.cursor(name=f"verify_{site.replace('-', '')}_{after or 0}")
        cur.itersize = batch
        cur.execute(sql, (site, *args))
    else:
        sql, args = _query(_SQLITE_ROWS, "?", after, upto)
        cur = raw.cursor()
        cur.execute(sql, (site.replace("-", ""), *args))
    chunks: Iterator[list[Any]] = iter(lambda: cur.fetchmany(batch), [])
    try:
        if dialect != "postgresql":
            yield sqlite_material(chunks, site)
        elif not prefetch:  # fetch and hash in turn
            yield (row for chunk in chunks for row in chunk)
        else:
            with _prefetched(chunks, site) as ahead:
                yield (row for chunk in ahead for row in chunk)
    finally:
        cur.close()


@contextlib.contextmanager
def _prefetched(chunks: Iterator[list[Any]], name: str) -> Iterator[Iterator[list[Any]]]:
    """`chunks`, fetched one ahead by a thread; stopping early drains and joins it."""
    ahead: queue.Queue[list[Any] | BaseException] = queue.Queue(maxsize=2)
    stop = threading.Event()

    def fetch() -> None:
        try:
            for chunk in chunks:
                ahead.put(chunk)
                if stop.is_set():
                    break
            ahead.put([])
        except BaseException as exc:  # handed to the reader, which re-raises it
            ahead.put(exc)

    def read() -> Iterator[list[Any]]:
        while True:
            chunk = ahead.get()
            if isinstance(chunk, BaseException):
                raise chunk
            if not chunk:
                return
            yield chunk

    fetcher = threading.Thread(target=fetch, name=f"verify-{name}", daemon=True)
    fetcher.start()
    try:
        yield read()
    finally:
        stop.set()  # the reader stopped early (a broken link) or finished
        while fetcher.is_alive():  # unblock a fetcher waiting for room in the queue
            with contextlib.suppress(queue.Empty):
                ahead.get(timeout=0.05)
        fetcher.join()


def check_span_at(
    dialect: str,
    target: str,
    site: str,
    after: int | None,
    upto: int | None,
    checkpoints: frozenset[int],
) -> Span:
    """A worker's task: connect read-only, check the span, disconnect. `target`: the SQLite
    file, or PostgreSQL's connection URI."""
    raw: Any
    if dialect == "postgresql":
        import psycopg

        raw = psycopg.connect(target)
        raw.read_only = True
    else:
        import sqlite3

        raw = sqlite3.connect(f"{Path(target).resolve().as_uri()}?mode=ro", uri=True)
    try:
        with span_rows(raw, dialect, site, after, upto) as rows:
            return check_span(rows, after, upto, checkpoints)
    finally:
        raw.close()


def main() -> None:
    """`python -m app.eventstore.verify_span`: the task as JSON on stdin (not on the command
    line, where the database password would show), the `Span` pickled on stdout."""
    dialect, target, site, after, upto, checkpoints = json.load(sys.stdin)
    span = check_span_at(dialect, target, site, after, upto, frozenset(checkpoints))
    sys.stdout.buffer.write(pickle.dumps(span, protocol=pickle.HIGHEST_PROTOCOL))


if __name__ == "__main__":
    from app.eventstore import verify_span  # by its name, so a `Span` pickles as the caller's

    verify_span.main()
