"""Recompute every site's chain and report the first broken link, or ok with counts.

Checks, per site, in chain order: positions are gap-free from 1; each `prev_hash` is the
previous event's `hash`; each `hash` recomputes from the row; the chain ends at the recorded
head; every signed checkpoint names a hash that is in the chain and verifies with the site's
public key. Per stream, versions are gap-free from 1.
"""

from __future__ import annotations

import contextlib
import hashlib
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import jwt
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy.engine import Connection

from app.eventstore.hashing import FIELDS, GENESIS_HASH, SCHEME
from app.eventstore.models import ChainCheckpoint, ChainHead, StoredEvent


@dataclass
class BrokenLink:
    site_id: str
    chain_position: int
    reason: str
    event_id: str | None = None
    position: int | None = None


@dataclass
class SiteReport:
    site_id: str
    events: int = 0
    head_position: int = 0
    checkpoints: int = 0
    broken: BrokenLink | None = None


@dataclass
class VerifyReport:
    ok: bool
    events: int
    sites: list[SiteReport]
    seconds: float
    first_broken: BrokenLink | None = None
    streams: int = 0
    checkpoints: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> str:
        if self.ok:
            return (
                f"ok: {self.events} events in {len(self.sites)} chains, {self.streams} "
                f"streams, {self.checkpoints} signed checkpoints verified "
                f"in {self.seconds:.2f}s"
            )
        b = self.first_broken
        assert b is not None
        return f"BROKEN: site {b.site_id} at chain position {b.chain_position}: {b.reason}"


E = StoredEvent.__table__  # type: ignore[attr-defined]
H = ChainHead.__table__  # type: ignore[attr-defined]
C = ChainCheckpoint.__table__  # type: ignore[attr-defined]


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
FROM stored_event WHERE site_id = %s ORDER BY chain_position
"""


# SQLite keeps UUIDs as 32 hex digits and timestamps as `YYYY-MM-DD HH:MM:SS.ffffff` (UTC).
# With SQLite rendering them as hashed (hyphenated, ISO 8601) by substr/replace, verification
# ran at 65,000-88,000 events/s; with Python assembling the text from the stored values,
# 153,000-164,000 (docs/benchmarks.md).
_SQLITE_ROWS = """
SELECT position, event_id, chain_position, stream_id, version, prev_hash, hash, stream_type,
       type, schema_version, occurred_at, recorded_at, actor_id, device_id, rule_set_version,
       findings, payload
FROM stored_event WHERE site_id = ? ORDER BY chain_position
"""


def _sqlite_material(chunks: Iterable[list[Any]], site_id: UUID) -> Iterator[tuple[Any, ...]]:
    """SQLite rows as `_PG_ROWS` gives them: position, event id, chain position, stream id,
    version, prev_hash, hash and the hash material (`hashing.event_hash`'s text)."""
    site = str(site_id)
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


def _rows(
    conn: Connection, site_id: UUID, batch: int, prefetch: bool = True
) -> Iterator[tuple[Any, ...]]:
    """Stream one site's chain as plain tuples from the driver (server-side cursor on PG).

    On PostgreSQL a thread fetches the next chunk while the caller hashes this one. The driver
    waits on the server without the GIL, so PostgreSQL builds the rows' hash material on one
    core while Python hashes on the other (1.5x the rate of fetching in turn). On SQLite the
    same thread measured slower (0.94x), so SQLite fetches in turn (docs/benchmarks.md).
    """
    raw = conn.connection.dbapi_connection
    assert raw is not None
    if conn.dialect.name == "postgresql":
        cur = raw.cursor(name=f"verify_{site_id.hex}")
        cur.itersize = batch
        cur.execute(_PG_ROWS, (site_id,))
    else:
        cur = raw.cursor()
        cur.execute(_SQLITE_ROWS, (site_id.hex,))
    if conn.dialect.name != "postgresql":
        try:
            yield from _sqlite_material(iter(lambda: cur.fetchmany(batch), []), site_id)
        finally:
            cur.close()
        return
    if not prefetch:  # fetch and hash in turn
        try:
            while chunk := cur.fetchmany(batch):
                yield from chunk
        finally:
            cur.close()
        return
    chunks: queue.Queue[list[Any] | BaseException] = queue.Queue(maxsize=2)
    stop = threading.Event()

    def fetch() -> None:
        try:
            while not stop.is_set():
                chunk = cur.fetchmany(batch)
                chunks.put(chunk)
                if not chunk:
                    return
        except BaseException as exc:  # handed to the reader, which re-raises it
            chunks.put(exc)

    fetcher = threading.Thread(target=fetch, name=f"verify-{site_id}", daemon=True)
    fetcher.start()
    try:
        while True:
            chunk = chunks.get()
            if isinstance(chunk, BaseException):
                raise chunk
            if not chunk:
                return
            yield from chunk
    finally:
        stop.set()  # the reader stopped early (a broken link) or finished
        while fetcher.is_alive():  # unblock a fetcher waiting for room in the queue
            with contextlib.suppress(queue.Empty):
                chunks.get(timeout=0.05)
        fetcher.join()
        cur.close()


def verify_chains(
    conn: Connection,
    public_key: Callable[[UUID], Ed25519PublicKey],
    site_ids: Iterable[UUID] | None = None,
    progress: Callable[[int], None] | None = None,
    batch: int = 2_000,
    prefetch: bool = True,
) -> VerifyReport:
    started = time.perf_counter()
    heads = {row.site_id: row for row in conn.execute(sa.select(H))}
    chain_sites = set(heads) | {r[0] for r in conn.execute(sa.select(E.c.site_id).distinct())}
    wanted = sorted(chain_sites if site_ids is None else set(site_ids) & chain_sites, key=str)
    reports: list[SiteReport] = []
    stream_versions: dict[UUID, int] = {}
    total = 0
    first: BrokenLink | None = None
    n_checkpoints = 0
    for site_id in wanted:
        rep = SiteReport(site_id=str(site_id))
        reports.append(rep)
        hashes_at_checkpoints: dict[int, str] = {}
        cps = list(
            conn.execute(sa.select(C).where(C.c.site_id == site_id).order_by(C.c.chain_position))
        )
        wanted_positions = {cp.chain_position for cp in cps}
        expected_pos, prev = 1, GENESIS_HASH
        site = str(site_id)
        stream_versions_get = stream_versions.get
        sha256 = hashlib.sha256
        newlines = FIELDS - 1
        for (
            position,
            event_id,
            chain_position,
            stream_id,
            version,
            prev_hash,
            hash_,
            material,
        ) in _rows(conn, site_id, batch, prefetch):
            broken = None
            if chain_position != expected_pos:
                broken = (
                    f"expected chain position {expected_pos}, found {chain_position}: "
                    f"{'events missing' if chain_position > expected_pos else 'duplicate'}"
                )
            elif prev_hash != prev:
                broken = "prev_hash does not match the previous event's hash"
            elif (
                material.count("\n") != newlines
                or sha256(material.encode("utf-8")).hexdigest() != hash_
            ):
                broken = "hash does not match the event's content (the row was altered)"
            elif version != stream_versions_get(stream_id, 0) + 1:
                broken = (
                    f"stream {stream_id} jumps from version "
                    f"{stream_versions_get(stream_id, 0)} to {version}"
                )
            if broken:
                rep.broken = BrokenLink(site, chain_position, broken, event_id, position)
                break
            stream_versions[stream_id] = version
            if chain_position in wanted_positions:
                hashes_at_checkpoints[chain_position] = hash_
            prev = hash_
            expected_pos += 1
            rep.events += 1
            total += 1
            if progress and total % batch == 0:
                progress(batch)
        rep.head_position = expected_pos - 1
        if rep.broken is None:
            head = heads.get(site_id)
            if head is None:
                rep.broken = BrokenLink(site, 0, "events exist but the site has no chain head")
            elif head.chain_position != rep.head_position or head.hash != prev:
                rep.broken = BrokenLink(
                    site,
                    min(head.chain_position, rep.head_position) + 1,
                    f"the chain ends at position {rep.head_position} but the recorded head "
                    f"is at {head.chain_position}: events were removed or added outside the "
                    "application",
                )
        if rep.broken is None:
            key = public_key(site_id)
            for cp in cps:
                problem = _checkpoint_problem(cp, key, hashes_at_checkpoints)
                if problem:
                    rep.broken = BrokenLink(site, cp.chain_position, problem)
                    break
                rep.checkpoints += 1
            n_checkpoints += rep.checkpoints
        if rep.broken and first is None:
            first = rep.broken
    return VerifyReport(
        ok=first is None,
        events=total,
        sites=reports,
        seconds=time.perf_counter() - started,
        first_broken=first,
        streams=len(stream_versions),
        checkpoints=n_checkpoints,
    )


def _checkpoint_problem(cp: Any, key: Ed25519PublicKey, hashes: dict[int, str]) -> str | None:
    try:
        claims = jwt.decode(cp.jws, key, algorithms=["EdDSA"])
    except jwt.PyJWTError as exc:
        return f"signed checkpoint does not verify with the site's public key ({exc})"
    if claims.get("chain_position") != cp.chain_position or claims.get("hash") != cp.hash:
        return "signed checkpoint content differs from its stored position/hash"
    if hashes.get(cp.chain_position) != cp.hash:
        return (
            "the chain's hash at this position differs from the signed checkpoint: "
            "history before the checkpoint was rewritten"
        )
    return None
