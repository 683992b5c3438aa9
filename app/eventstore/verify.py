"""Recompute every site's chain and report the first broken link, or ok with counts.

Checks, per site, in chain order: positions are gap-free from 1; each `prev_hash` is the
previous event's `hash`; each `hash` recomputes from the row; the chain ends at the recorded
head; every signed checkpoint names a hash that is in the chain and verifies with the site's
public key. Per stream, versions are gap-free from 1.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import jwt
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy.engine import Connection

from app.eventstore.hashing import GENESIS_HASH, event_hash, ts
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

_COLUMNS = [
    E.c.position,
    E.c.event_id,
    E.c.chain_position,
    E.c.stream_type,
    E.c.stream_id,
    E.c.version,
    E.c.type,
    E.c.schema_version,
    E.c.occurred_at,
    E.c.recorded_at,
    E.c.actor_id,
    E.c.device_id,
    E.c.rule_set_version,
    sa.cast(E.c.findings, sa.Text).label("findings"),
    sa.cast(E.c.payload, sa.Text).label("payload"),
    E.c.prev_hash,
    E.c.hash,
]


def verify_chains(
    conn: Connection,
    public_key: Callable[[UUID], Ed25519PublicKey],
    site_ids: Iterable[UUID] | None = None,
    progress: Callable[[int], None] | None = None,
    batch: int = 20_000,
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
        result = conn.execution_options(stream_results=True, yield_per=batch).execute(
            sa.select(*_COLUMNS).where(E.c.site_id == site_id).order_by(E.c.chain_position)
        )
        for r in result:
            broken = None
            if r.chain_position != expected_pos:
                broken = (
                    f"expected chain position {expected_pos}, found {r.chain_position}: "
                    f"{'events missing' if r.chain_position > expected_pos else 'duplicate'}"
                )
            elif r.prev_hash != prev:
                broken = "prev_hash does not match the previous event's hash"
            else:
                h = event_hash(
                    prev_hash=r.prev_hash,
                    site_id=site,
                    chain_position=r.chain_position,
                    event_id=r.event_id,
                    stream_type=r.stream_type,
                    stream_id=r.stream_id,
                    version=r.version,
                    type=r.type,
                    schema_version=r.schema_version,
                    occurred_at=ts(r.occurred_at),
                    recorded_at=ts(r.recorded_at),
                    actor_id=r.actor_id,
                    device_id=r.device_id,
                    rule_set_version=r.rule_set_version,
                    findings_json=r.findings,
                    payload_json=r.payload,
                )
                if h != r.hash:
                    broken = "hash does not match the event's content (the row was altered)"
                else:
                    last_v = stream_versions.get(r.stream_id, 0)
                    if r.version != last_v + 1:
                        broken = f"stream {r.stream_id} jumps from version {last_v} to {r.version}"
            if broken:
                rep.broken = BrokenLink(site, r.chain_position, broken, str(r.event_id), r.position)
                break
            stream_versions[r.stream_id] = r.version
            if r.chain_position in wanted_positions:
                hashes_at_checkpoints[r.chain_position] = r.hash
            prev = r.hash
            expected_pos += 1
            rep.events += 1
            total += 1
            if progress and total % batch == 0:
                progress(batch)
        result.close()
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
