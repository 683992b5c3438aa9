"""Append, load and read the log. The store exposes no update or delete.

`append` serialises writers per site on the `chain_head` row (`SELECT … FOR UPDATE` on
PostgreSQL; the write transaction's `BEGIN IMMEDIATE` on SQLite), then checks idempotency
(`event_id`) and the stream's version under that lock. `UNIQUE(stream_id, version)` and
`UNIQUE(event_id)` remain the backstop: a violation there is reported as a conflict, never
as a second event.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app.core.clock import Clock
from app.core.db import canonical_json
from app.core.keys import KeyRing
from app.domain.errors import ConcurrencyConflict, Conflict, InvalidInput, NotFound
from app.domain.events import Event, load_event
from app.eventstore.hashing import GENESIS_HASH, event_hash, ts
from app.eventstore.models import (
    RECORD_FIELDS,
    ChainCheckpoint,
    ChainHead,
    EventRecord,
    StoredEvent,
)

# A device clock may run this far ahead of the server before `occurred_at` counts as future.
CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class NewEvent:
    event_id: UUID
    event: Event
    occurred_at: datetime
    actor_id: UUID | None = None
    device_id: UUID | None = None
    findings: list[dict[str, Any]] = field(default_factory=list)
    rule_set_version: str | None = None
    correlation_id: UUID | None = None
    causation_id: UUID | None = None


class DuplicateEvent(Exception):
    """The event id is already in the log: the caller replays the original result."""

    def __init__(self, existing: EventRecord) -> None:
        super().__init__(str(existing.event_id))
        self.existing = existing


@dataclass
class _Held:
    """What a transaction knows while it holds sites' chain locks: each head, the version of
    each stream it has read or written, and whether the batch's absent event ids were looked
    up under the lock. Nobody else can append to a locked chain, so this stays true until a
    rollback (of the transaction or of any savepoint in it) or the transaction's end."""

    heads: dict[UUID, list[Any]] = field(default_factory=dict)
    versions: dict[UUID, int] = field(default_factory=dict)
    absent_locked: set[UUID] = field(default_factory=set)  # sites locked before the lookup


@dataclass
class _Deferred:
    """The appends of a batch not yet written (see `EventStore.deferred_writes`)."""

    size: int  # positions taken from the sequence at a time
    sqlite: bool  # positions counted on from the last one instead (under its write lock)
    rows: list[dict[str, Any]] = field(default_factory=list)
    moved: set[UUID] = field(default_factory=set)  # chain heads moved in memory only
    positions: list[int] = field(default_factory=list)  # taken, not yet used (reversed)
    next_position: int | None = None  # SQLite: the next free position
    lost: bool = False  # a rollback or a failed write within: apply the batch another way
    appended: int = 0  # appends kept so far (written or not)


class DeferredWritesLost(Exception):
    """A savepoint was rolled back, or a write failed, while appends were deferred: what was
    kept no longer matches the database, so the caller rolls back and applies its batch
    another way."""


def domain_event(row: EventRecord) -> Event:
    return load_event(row.type, row.schema_version, row.payload)


EVENT = StoredEvent.__table__  # type: ignore[attr-defined]
HEAD = ChainHead.__table__  # type: ignore[attr-defined]
_EVENT_COLUMNS = [EVENT.c[name] for name in RECORD_FIELDS]
_HELD_KEY = "hazchain_chain_locks"
_ABSENT_KEY = "hazchain_absent_event_ids"
_FOUND_KEY = "hazchain_found_events"
_STREAMS_KEY = "hazchain_found_streams"
_DEFERRED_KEY = "hazchain_deferred_appends"

# The append path's statements, built once (building them per call cost more than running them).
_CHECK = sa.select(
    sa.select(EVENT.c.position)
    .where(EVENT.c.event_id == sa.bindparam("event_id"))
    .scalar_subquery(),
    sa.select(sa.func.max(EVENT.c.version))
    .where(EVENT.c.stream_id == sa.bindparam("stream_id"))
    .scalar_subquery(),
)
_INSERT = EVENT.insert().returning(EVENT.c.position, sort_by_parameter_order=True)
_INSERT_MANY = EVENT.insert()
# PostgreSQL: take n positions from the log's sequence in one round trip.
_TAKE_POSITIONS = sa.text(
    "SELECT nextval(pg_get_serial_sequence('stored_event', 'position')) FROM generate_series(1, :n)"
)
_MOVE_HEAD = (
    HEAD.update()
    .where(HEAD.c.site_id == sa.bindparam("head_site"))
    .values(chain_position=sa.bindparam("head_position"), hash=sa.bindparam("head_hash"))
)
_LOCK_HEAD = (
    sa.select(HEAD.c.chain_position, HEAD.c.hash)
    .where(HEAD.c.site_id == sa.bindparam("site_id"))
    .with_for_update()
)


def _record(row: Any) -> EventRecord:
    return EventRecord(*row)


def read_batch(conn: sa.Connection, after_position: int, limit: int) -> list[EventRecord]:
    """The next `limit` events after a global position, in log order."""
    q = (
        sa.select(*_EVENT_COLUMNS)
        .where(EVENT.c.position > after_position)
        .order_by(EVENT.c.position)
        .limit(limit)
    )
    return [_record(r) for r in conn.execute(q)]


class EventStore:
    """Reads and appends go through SQLAlchemy Core on the session's connection: the log is
    the hot path, and ORM objects would cost more than the database work itself."""

    def __init__(
        self, session: Session, *, clock: Clock, keys: KeyRing, checkpoint_every: int = 1000
    ) -> None:
        self.session = session
        self.clock = clock
        self.keys = keys
        self.checkpoint_every = checkpoint_every

    @property
    def _conn(self) -> sa.Connection:
        return self.session.connection()

    # ------------------------------------------------------------ reads

    def get(self, event_id: UUID) -> EventRecord | None:
        if event_id in self.session.info.get(_ABSENT_KEY, ()):
            return None  # looked up with its batch, not appended since
        found: dict[UUID, EventRecord] | None = self.session.info.get(_FOUND_KEY)
        if found is not None and event_id in found:
            return found[event_id]  # read with its batch (the log never changes a row)
        self.write_deferred()
        row = self._conn.execute(
            sa.select(*_EVENT_COLUMNS).where(EVENT.c.event_id == event_id)
        ).first()
        return _record(row) if row else None

    def prefetch(
        self,
        event_ids: Sequence[UUID],
        *,
        site_id: UUID | None = None,
        stream_ids: Sequence[UUID] = (),
    ) -> set[UUID]:
        """Look a batch's event ids up in one query; `get` then answers without a round trip
        until the transaction ends: the events found, and None for the absent ones until they
        are appended. Returns the ids already in the log.

        Without `site_id` the append's own check under the chain lock still catches a
        concurrent twin. With it, the site's chain is locked first, so the answer (and the
        versions of `stream_ids`, read in a second query) cannot change before this
        transaction appends: the appends of the batch then skip that check."""
        if site_id is not None:
            self.lock(site_id)
        self.write_deferred()
        ids = set(event_ids)
        conn = self._conn
        found = {
            r.event_id: _record(r)
            for chunk in _chunks(sorted(ids), 500)
            for r in conn.execute(sa.select(*_EVENT_COLUMNS).where(EVENT.c.event_id.in_(chunk)))
        }
        if not sa.event.contains(self.session, "after_transaction_end", _forget_absent):
            sa.event.listen(self.session, "after_transaction_end", _forget_absent)
        self.session.info[_ABSENT_KEY] = ids - found.keys()
        self.session.info[_FOUND_KEY] = found
        # The streams of the events found, for replaying their original answers: one query
        # (`load_stream` answers from it until the stream is appended to).
        streams: dict[UUID, list[EventRecord]] = {}
        for chunk in _chunks(sorted({r.stream_id for r in found.values()}), 500):
            q = sa.select(*_EVENT_COLUMNS).where(EVENT.c.stream_id.in_(chunk))
            for r in conn.execute(q.order_by(EVENT.c.stream_id, EVENT.c.version)):
                streams.setdefault(r.stream_id, []).append(_record(r))
        self.session.info[_STREAMS_KEY] = streams
        if site_id is not None:
            held = self._held()
            wanted = sorted(set(stream_ids))
            versions = dict.fromkeys(wanted, 0)
            for chunk in _chunks(wanted, 500):
                rows = conn.execute(
                    sa.select(EVENT.c.stream_id, sa.func.max(EVENT.c.version))
                    .where(EVENT.c.stream_id.in_(chunk))
                    .group_by(EVENT.c.stream_id)
                )
                versions.update((stream, int(version)) for stream, version in rows)
            held.versions.update(versions)
            held.absent_locked.add(site_id)
        return set(found)

    def load_stream(self, stream_id: UUID, up_to_version: int | None = None) -> list[EventRecord]:
        kept: list[EventRecord] | None = self.session.info.get(_STREAMS_KEY, {}).get(stream_id)
        if kept is not None:  # read with its batch, not appended to since
            return [r for r in kept if up_to_version is None or r.version <= up_to_version]
        self.write_deferred()
        q = sa.select(*_EVENT_COLUMNS).where(EVENT.c.stream_id == stream_id)
        if up_to_version is not None:
            q = q.where(EVENT.c.version <= up_to_version)
        return [_record(r) for r in self._conn.execute(q.order_by(EVENT.c.version))]

    def stream_version(self, stream_id: UUID) -> int:
        self.write_deferred()
        v = self._conn.execute(
            sa.select(sa.func.max(EVENT.c.version)).where(EVENT.c.stream_id == stream_id)
        ).scalar()
        return int(v or 0)

    def read_batch(self, after_position: int, limit: int) -> list[EventRecord]:
        """The next `limit` events after a global position, in log order."""
        self.write_deferred()
        q = (
            sa.select(*_EVENT_COLUMNS)
            .where(EVENT.c.position > after_position)
            .order_by(EVENT.c.position)
            .limit(limit)
        )
        return [_record(r) for r in self._conn.execute(q)]

    # ------------------------------------------------------------ chain

    def init_chain(self, site_id: UUID) -> None:
        if self.session.get(ChainHead, site_id) is None:
            self.session.add(ChainHead(site_id=site_id, chain_position=0, hash=GENESIS_HASH))
            self.session.flush()

    def _held(self) -> _Held:
        held: _Held | None = self.session.info.get(_HELD_KEY)
        if held is None:
            held = self.session.info[_HELD_KEY] = _Held()
            if not sa.event.contains(self.session, "after_soft_rollback", _forget_held):
                sa.event.listen(self.session, "after_soft_rollback", _forget_held)
                sa.event.listen(self.session, "after_transaction_end", _forget_held_at_end)
        return held

    def _locked_head(self, site_id: UUID) -> list[Any]:
        """[position, hash] of the site's chain head, locked until the transaction ends.

        Locked once per transaction: later appends in the same transaction reuse the cached
        head (nobody else can move it while we hold the lock). A rollback, of a savepoint
        too, forgets it: the appends it cached may be gone, and so may the lock."""
        heads = self._held().heads
        if site_id not in heads:
            row = self._conn.execute(_LOCK_HEAD, {"site_id": site_id}).first()
            if row is None:
                raise NotFound(
                    f"site {site_id} has no event chain (unknown site)", site_id=str(site_id)
                )
            heads[site_id] = [row[0], row[1]]
        return heads[site_id]

    @contextmanager
    def deferred_writes(self, size: int) -> Iterator[None]:
        """Within: appends are decided, hashed and numbered as usual but kept in memory, and
        written on the way out in one multi-row insert, with each moved chain head written
        once, instead of two statements per append. `size`: how many appends to expect.

        Every read of the log through the store (and `write_pending`) writes them first, so
        nothing reads around them. Positions are taken from the sequence up front (on
        SQLite, counted on from the last one, under its write lock), so an appended record
        is complete at once. After a rollback of any savepoint within, or a failed write, the
        cached chain heads and the kept rows no longer match the database: the head is not
        written and `DeferredWritesLost` is raised on the way out. An exception raised within
        passes through and nothing more is written. The caller rolls back in both cases."""
        sqlite = self.session.get_bind().dialect.name == "sqlite"
        deferred = _Deferred(size=max(1, size), sqlite=sqlite)
        self.session.info[_DEFERRED_KEY] = deferred
        if not sa.event.contains(self.session, "after_soft_rollback", _lose_deferred):
            sa.event.listen(self.session, "after_soft_rollback", _lose_deferred)
        try:
            yield
            self.write_deferred()
            if deferred.lost:
                raise DeferredWritesLost("a rollback or a failed write happened within")
            held: _Held | None = self.session.info.get(_HELD_KEY)
            conn = self._conn
            for site_id in sorted(deferred.moved, key=str):
                assert held is not None  # a moved head is a held one, or `lost` is set
                position, head_hash = held.heads[site_id]
                conn.execute(
                    _MOVE_HEAD,
                    {"head_site": site_id, "head_position": position, "head_hash": head_hash},
                )
        finally:
            self.session.info.pop(_DEFERRED_KEY, None)

    @property
    def deferred_appends(self) -> int:
        """How many appends `deferred_writes` has kept so far (0 outside it)."""
        deferred: _Deferred | None = self.session.info.get(_DEFERRED_KEY)
        return deferred.appended if deferred is not None else 0

    def write_deferred(self) -> None:
        """Write the deferred appends now (no-op outside `deferred_writes`)."""
        write_pending(self.session)

    def _next_position(self, deferred: _Deferred) -> int:
        if deferred.sqlite:
            if deferred.next_position is None:
                last = self._conn.execute(sa.select(sa.func.max(EVENT.c.position))).scalar()
                deferred.next_position = int(last or 0) + 1
            position, deferred.next_position = deferred.next_position, deferred.next_position + 1
            return position
        if not deferred.positions:
            taken = self._conn.execute(_TAKE_POSITIONS, {"n": deferred.size}).scalars().all()
            deferred.positions = sorted(taken, reverse=True)
        return int(deferred.positions.pop())

    def lock(self, site_id: UUID) -> None:
        """Take the site's chain lock now (until the transaction ends): what is read after
        this cannot change under the caller before it appends."""
        self._locked_head(site_id)

    # ------------------------------------------------------------ append

    def append(
        self,
        *,
        site_id: UUID,
        stream_type: str,
        stream_id: UUID,
        expected_version: int,
        events: Sequence[NewEvent],
    ) -> list[EventRecord]:
        if not events:
            return []
        now = self.clock.now()
        for e in events:
            if e.occurred_at.tzinfo is None:
                raise InvalidInput("occurred_at must carry a time zone", field="occurred_at")
            if e.occurred_at > now + CLOCK_SKEW:
                raise InvalidInput(
                    f"occurred_at {ts(e.occurred_at)} is in the future (server time {ts(now)})",
                    field="occurred_at",
                )
        head = self._locked_head(site_id)
        held = self._held()
        conn = self._conn
        current = held.versions.get(stream_id)
        if not (
            current is not None
            and site_id in held.absent_locked
            and events[0].event_id in self.session.info.get(_ABSENT_KEY, ())
        ):
            # Under the lock, so a concurrent twin of this request that landed first is seen;
            # one round trip for the idempotency and the version checks. (Skipped when both
            # were read under this lock already: see `prefetch`.)
            self.write_deferred()
            dup, current = conn.execute(
                _CHECK, {"event_id": events[0].event_id, "stream_id": stream_id}
            ).one()
            if dup is not None:
                existing = self.get(events[0].event_id)
                assert existing is not None
                raise DuplicateEvent(existing)
            current = held.versions[stream_id] = int(current or 0)
        if current != expected_version:
            raise ConcurrencyConflict(str(stream_id), expected_version, current)
        values: list[dict[str, Any]] = []
        payloads = [e.event.payload() for e in events]
        prev_hash, position = head[1], head[0]
        for i, (e, payload) in enumerate(zip(events, payloads, strict=True), start=1):
            payload_json = canonical_json(payload)
            findings_json = canonical_json(e.findings)
            position += 1
            version = expected_version + i
            h = event_hash(
                prev_hash=prev_hash,
                site_id=site_id,
                chain_position=position,
                event_id=e.event_id,
                stream_type=stream_type,
                stream_id=stream_id,
                version=version,
                type=e.event.TYPE,
                schema_version=e.event.SCHEMA_VERSION,
                occurred_at=e.occurred_at,
                recorded_at=now,
                actor_id=e.actor_id,
                device_id=e.device_id,
                rule_set_version=e.rule_set_version,
                findings_json=findings_json,
                payload_json=payload_json,
            )
            values.append(
                {
                    "event_id": e.event_id,
                    "site_id": site_id,
                    "chain_position": position,
                    "stream_type": stream_type,
                    "stream_id": stream_id,
                    "version": version,
                    "type": e.event.TYPE,
                    "schema_version": e.event.SCHEMA_VERSION,
                    "payload": payload_json,
                    "findings": findings_json,
                    "rule_set_version": e.rule_set_version,
                    "actor_id": e.actor_id,
                    "device_id": e.device_id,
                    "correlation_id": e.correlation_id,
                    "causation_id": e.causation_id,
                    "occurred_at": e.occurred_at,
                    "recorded_at": now,
                    "prev_hash": prev_hash,
                    "hash": h,
                }
            )
            prev_hash = h
        crossed = position // self.checkpoint_every > head[0] // self.checkpoint_every
        deferred: _Deferred | None = self.session.info.get(_DEFERRED_KEY)
        try:
            if deferred is not None:
                positions = [self._next_position(deferred) for _ in values]
                for v, p in zip(values, positions, strict=True):
                    v["position"] = p
                deferred.rows.extend(values)
                deferred.moved.add(site_id)
                deferred.appended += len(values)
            else:
                positions = conn.execute(_INSERT, values).scalars().all()
                conn.execute(
                    _MOVE_HEAD,
                    {"head_site": site_id, "head_position": position, "head_hash": prev_hash},
                )
        except IntegrityError as exc:
            # Backstop: the unique keys saw a concurrent writer the lock did not.
            raise Conflict(
                "the event could not be appended because a concurrent write got there first: "
                "reload and retry",
                stream_id=str(stream_id),
            ) from exc
        head[0], head[1] = position, prev_hash
        held.versions[stream_id] = expected_version + len(events)
        absent = self.session.info.get(_ABSENT_KEY)
        if absent:
            absent.difference_update(e.event_id for e in events)
        self.session.info.get(_STREAMS_KEY, {}).pop(stream_id, None)
        skip = ("position", "payload", "findings")
        records = [
            EventRecord(
                position=p,
                payload=payload,
                findings=list(e.findings),
                **{k: v[k] for k in RECORD_FIELDS if k not in skip},
            )
            for p, v, e, payload in zip(positions, values, events, payloads, strict=True)
        ]
        if crossed:
            self.checkpoint(site_id)
        return records

    # ------------------------------------------------------------ checkpoints

    def checkpoint(self, site_id: UUID) -> ChainCheckpoint | None:
        """Sign the current head of a site's chain (no-op if already signed at this position)."""
        position, head_hash = self._locked_head(site_id)
        if position == 0:
            return None
        existing = self.session.exec(
            select(ChainCheckpoint).where(
                ChainCheckpoint.site_id == site_id,
                ChainCheckpoint.chain_position == position,
            )
        ).first()
        if existing:
            return existing
        now = self.clock.now()
        kid = self.keys.key_id(site_id)
        claims = {
            "iss": "hazchain",
            "sub": str(site_id),
            "typ": "chain-checkpoint",
            "site_id": str(site_id),
            "chain_position": position,
            "hash": head_hash,
            "iat": int(now.timestamp()),
        }
        token = self.keys.sign(site_id, claims)
        cp = ChainCheckpoint(
            site_id=site_id,
            chain_position=position,
            hash=head_hash,
            key_id=kid,
            jws=token,
            created_at=now,
        )
        self.session.add(cp)
        self.session.flush()
        return cp


def _forget_absent(session: Session, transaction: Any) -> None:
    if transaction.parent is None:  # the outer transaction, not a savepoint
        session.info.pop(_ABSENT_KEY, None)
        session.info.pop(_FOUND_KEY, None)
        session.info.pop(_STREAMS_KEY, None)


def _chunks(items: list[UUID], size: int) -> Iterator[list[UUID]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _forget_held(session: Session, previous_transaction: Any) -> None:
    session.info.pop(_HELD_KEY, None)


def _lose_deferred(session: Session, previous_transaction: Any) -> None:
    deferred: _Deferred | None = session.info.get(_DEFERRED_KEY)
    if deferred is not None:
        deferred.lost = True


def write_pending(session: Session) -> None:
    """Write the appends a batch keeps in memory (see `EventStore.deferred_writes`); call it
    before reading the log by other means than the store. No-op when there are none."""
    deferred: _Deferred | None = session.info.get(_DEFERRED_KEY)
    if deferred is None or not deferred.rows:
        return
    rows, deferred.rows = deferred.rows, []
    try:
        session.connection().execute(_INSERT_MANY, rows)
    except BaseException as exc:
        deferred.lost = True  # those rows are gone: nothing of the batch may be kept
        if isinstance(exc, IntegrityError):
            raise Conflict(
                "the events could not be appended because a concurrent write got there first: "
                "reload and retry"
            ) from exc
        raise


def _forget_held_at_end(session: Session, transaction: Any) -> None:
    if transaction.parent is None:  # the outer transaction: its locks are released
        session.info.pop(_HELD_KEY, None)
