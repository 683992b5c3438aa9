"""Recompute every site's chain and report the first broken link, or ok with counts.

Checks, per site, in chain order: positions are gap-free from 1; each `prev_hash` is the
previous event's `hash`; each `hash` recomputes from the row; the chain ends at the recorded
head; every signed checkpoint names a hash that is in the chain and verifies with the site's
public key. Per stream, versions are gap-free from 1.

A long chain can be checked in spans by several processes (`hazchain verify` uses one per
core): each span is checked on its own (`verify_span`) and the spans are joined in order with
the checks that cross them, so the answer is the one a single pass gives.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import pickle
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import jwt
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy.engine import Connection

from app.eventstore.hashing import GENESIS_HASH
from app.eventstore.models import ChainCheckpoint, ChainHead, StoredEvent
from app.eventstore.verify_span import OPEN, Span, check_span, position_break, span_rows


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
    streams: int = 0


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
        return summary(
            self.first_broken,
            self.events,
            len(self.sites),
            self.streams,
            self.checkpoints,
            self.seconds,
        )


def summary(
    broken: Any, events: int, chains: int, streams: int, checkpoints: int, seconds: float
) -> str:
    """The one-line answer: `ok: …` with counts, or `BROKEN: …` naming the first broken link."""
    if broken is None:
        return (
            f"ok: {events} events in {chains} chains, {streams} streams, {checkpoints} "
            f"signed checkpoints verified in {seconds:.2f}s"
        )
    return (
        f"BROKEN: site {broken.site_id} at chain position {broken.chain_position}: {broken.reason}"
    )


E = StoredEvent.__table__  # type: ignore[attr-defined]
H = ChainHead.__table__  # type: ignore[attr-defined]
C = ChainCheckpoint.__table__  # type: ignore[attr-defined]

log = logging.getLogger("hazchain.verify")

# A chain shorter than this per process is checked in one pass: a worker process takes 0.1 to
# 0.2 s to start and connect, and one pass checks 100,000 events in about half a second.
EVENTS_PER_WORKER = 100_000


# Each worker on PostgreSQL holds a connection of its own: a few, whatever the host's cores.
MAX_WORKERS = 8


def default_workers() -> int:
    """The processes `hazchain verify` checks a chain with: one per core it may run on, at most
    `MAX_WORKERS`."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(MAX_WORKERS, cores or 1))


def _plan(head_position: int, workers: int) -> list[tuple[int | None, int | None]]:
    """Spans of about equal length, (after, upto], that cover every position; the first and
    the last open."""
    n = max(1, min(workers, head_position // EVENTS_PER_WORKER))
    cuts: list[int | None] = [head_position * i // n for i in range(1, n)]
    return list(zip([OPEN, *cuts], [*cuts, OPEN], strict=True))


def _worker_target(conn: Connection) -> str | None:
    """Where a worker process finds the database, or None when it cannot (in-memory SQLite)."""
    url = conn.engine.url
    if conn.dialect.name == "postgresql":
        return url.set(drivername="postgresql").render_as_string(hide_password=False)
    if url.database in (None, "", ":memory:") or url.database.startswith("file:"):
        return None
    return url.database


def _start_span(
    stack: contextlib.ExitStack,
    dialect: str,
    target: str,
    site: str,
    after: int | None,
    upto: int | None,
    checkpoints: frozenset[int],
) -> subprocess.Popen[bytes]:
    """A worker process checking one span: a fresh interpreter running `verify_span`, which
    imports little, inherits none of our connections and needs nothing of the caller's own
    main module (which `multiprocessing`'s spawn would import again)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.eventstore.verify_span"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    stack.callback(_stop, proc)
    assert proc.stdin is not None
    task = json.dumps([dialect, target, site, after, upto, sorted(checkpoints)]).encode()
    with contextlib.suppress(BrokenPipeError):  # it died at once: `_span_of` says why
        proc.stdin.write(task)
        proc.stdin.close()
    proc.stdin = None  # sent in full: `communicate()` has nothing to write
    return proc


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:  # left running by an error here
        proc.kill()
        proc.wait()


class WorkerFailed(RuntimeError):
    """A worker process did not answer with its span (it could not connect, say)."""


def _span_of(proc: subprocess.Popen[bytes]) -> Span:
    out, err = proc.communicate()
    if proc.returncode:
        raise WorkerFailed(f"a verification worker failed: {err.decode(errors='replace')[-2000:]}")
    try:
        span = pickle.loads(out)  # from the process we started, running our own code
    except (pickle.UnpicklingError, EOFError) as exc:
        raise WorkerFailed(f"a verification worker answered nothing usable ({exc})") from exc
    if not isinstance(span, Span):
        raise WorkerFailed(f"a verification worker answered a {type(span).__name__}")
    return span


def _join(
    site: str, spans: list[Span], stream_versions: dict[Any, int]
) -> tuple[int, int, str, dict[int, str], BrokenLink | None]:
    """Join the spans in chain order with the checks a span cannot make itself (see
    `verify_span`): events checked, last position and hash, hashes at checkpoint positions,
    and the first broken link, the one a single pass meets first."""
    expected, prev, events = 1, GENESIS_HASH, 0
    hashes: dict[int, str] = {}
    for span in spans:
        found: list[tuple[int, int, int, str, str | None, int | None]] = []  # index, rank, …
        if span.first is not None:
            cp, prev_hash, event_id, position = span.first
            if cp != expected:
                at, reason = position_break(cp, expected)
                found.append((0, 0, at, reason, event_id, position))
            elif prev_hash != prev:
                reason = "prev_hash does not match the previous event's hash"
                found.append((0, 0, cp, reason, event_id, position))
        if span.broken is not None:
            b = span.broken
            found.append((b.index, 1, b.chain_position, b.reason, b.event_id, b.position))
        for stream_id, (version, cp, event_id, position, index) in span.stream_first.items():
            before = stream_versions.get(stream_id, 0)
            if version != before + 1:
                reason = f"stream {stream_id} jumps from version {before} to {version}"
                found.append((index, 2, cp, reason, event_id, position))
        if found:
            index, _, cp, reason, event_id, position = min(found)
            # the streams met before the break count, as in a single pass
            stream_versions.update((s, f[0]) for s, f in span.stream_first.items() if f[4] < index)
            last_good = span.first[0] + index - 1 if span.first and index else expected - 1
            broken = BrokenLink(site, cp, reason, event_id, position)
            return events + index, last_good, prev, hashes, broken
        stream_versions.update(span.stream_last)
        hashes.update(span.checkpoint_hashes)
        events += span.events
        if span.last is not None:
            expected, prev = span.last[0] + 1, span.last[1]
    return events, expected - 1, prev, hashes, None


def verify_chains(
    conn: Connection,
    public_key: Callable[[UUID], Ed25519PublicKey],
    site_ids: Iterable[UUID] | None = None,
    progress: Callable[[int], None] | None = None,
    batch: int = 2_000,
    prefetch: bool = True,
    workers: int = 1,
) -> VerifyReport:
    """Verify the chains of `site_ids` (every site by default) on `conn`, which should read one
    snapshot (a read session). With `workers` > 1, a chain of more than `EVENTS_PER_WORKER`
    events per worker is checked in spans, all but the last by worker processes on their own
    connections: they read only positions up to the head read here, which no writer can
    change, and the last span, which runs on to the end of the chain, is read here."""
    started = time.perf_counter()
    heads = {row.site_id: row for row in conn.execute(sa.select(H))}
    chain_sites = set(heads) | {r[0] for r in conn.execute(sa.select(E.c.site_id).distinct())}
    wanted = sorted(chain_sites if site_ids is None else set(site_ids) & chain_sites, key=str)
    target = _worker_target(conn) if workers > 1 else None
    raw = conn.connection.dbapi_connection
    assert raw is not None
    reports: list[SiteReport] = []
    stream_versions: dict[Any, int] = {}
    total = 0
    first: BrokenLink | None = None
    n_checkpoints = 0
    with contextlib.ExitStack() as stack:
        for site_id in wanted:
            rep = SiteReport(site_id=str(site_id))
            reports.append(rep)
            site = str(site_id)
            cps = list(
                conn.execute(
                    sa.select(C).where(C.c.site_id == site_id).order_by(C.c.chain_position)
                )
            )
            at = frozenset(cp.chain_position for cp in cps)
            head = heads.get(site_id)
            plan = _plan(head.chain_position if head else 0, workers if target else 1)
            assert target is not None or len(plan) == 1
            started_spans = [
                _start_span(stack, conn.dialect.name, str(target), site, after, upto, at)
                for after, upto in plan[:-1]
            ]
            after, upto = plan[-1]
            with span_rows(raw, conn.dialect.name, site, after, upto, batch, prefetch) as rows:
                last = check_span(rows, after, upto, at, progress, batch)
            spans = []
            for (after, upto), proc in zip(plan[:-1], started_spans, strict=True):
                try:
                    spans.append(_span_of(proc))
                except WorkerFailed as exc:  # the span is checked here instead, more slowly
                    log.warning("%s; checking its span in this process", exc)
                    with span_rows(raw, conn.dialect.name, site, after, upto, batch) as rows:
                        spans.append(check_span(rows, after, upto, at))
                if progress:
                    progress(spans[-1].events)
            streams_before = len(stream_versions)
            events, rep.head_position, last_hash, hashes, rep.broken = _join(
                site, [*spans, last], stream_versions
            )
            rep.streams = len(stream_versions) - streams_before  # a stream is of one site
            rep.events = events
            total += events
            if rep.broken is None:
                if head is None:
                    rep.broken = BrokenLink(site, 0, "events exist but the site has no chain head")
                elif head.chain_position != rep.head_position or head.hash != last_hash:
                    rep.broken = BrokenLink(
                        site,
                        min(head.chain_position, rep.head_position) + 1,
                        f"the chain ends at position {rep.head_position} but the recorded head "
                        f"is at {head.chain_position}: events were removed or added outside "
                        "the application",
                    )
            if rep.broken is None:
                key = public_key(site_id)
                for cp in cps:
                    problem = _checkpoint_problem(cp, key, hashes)
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
        # a signed statement, not a session: the signer's clock running ahead of this one
        # (another app server, a fast clock) is no sign of tampering
        claims = jwt.decode(cp.jws, key, algorithms=["EdDSA"], options={"verify_iat": False})
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
