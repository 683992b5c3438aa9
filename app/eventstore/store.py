"""Append, load and read the log. The store exposes no update or delete.

`append` serialises writers per site on the `chain_head` row (`SELECT … FOR UPDATE` on
PostgreSQL; the write transaction's `BEGIN IMMEDIATE` on SQLite), then checks idempotency
(`event_id`) and the stream's version under that lock. `UNIQUE(stream_id, version)` and
`UNIQUE(event_id)` remain the backstop: a violation there is reported as a conflict, never
as a second event.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import jwt
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app.core.clock import Clock
from app.core.db import canonical_json
from app.core.keys import KeyRing
from app.domain.errors import ConcurrencyConflict, Conflict, InvalidInput, NotFound
from app.domain.events import Event, load_event
from app.eventstore.hashing import GENESIS_HASH, event_hash, ts
from app.eventstore.models import ChainCheckpoint, ChainHead, StoredEvent

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

    def __init__(self, existing: StoredEvent) -> None:
        super().__init__(str(existing.event_id))
        self.existing = existing


def domain_event(row: StoredEvent) -> Event:
    return load_event(row.type, row.schema_version, row.payload)


class EventStore:
    def __init__(
        self, session: Session, *, clock: Clock, keys: KeyRing, checkpoint_every: int = 1000
    ) -> None:
        self.session = session
        self.clock = clock
        self.keys = keys
        self.checkpoint_every = checkpoint_every

    # ------------------------------------------------------------ reads

    def get(self, event_id: UUID) -> StoredEvent | None:
        return self.session.exec(
            select(StoredEvent).where(StoredEvent.event_id == event_id)
        ).first()

    def load_stream(self, stream_id: UUID, up_to_version: int | None = None) -> list[StoredEvent]:
        q = select(StoredEvent).where(StoredEvent.stream_id == stream_id)
        if up_to_version is not None:
            q = q.where(StoredEvent.version <= up_to_version)
        return list(self.session.exec(q.order_by(StoredEvent.version)))

    def stream_version(self, stream_id: UUID) -> int:
        v = self.session.exec(
            select(sa.func.max(StoredEvent.version)).where(StoredEvent.stream_id == stream_id)
        ).one()
        return int(v or 0)

    def read_all(self, after_position: int = 0, batch: int = 5000) -> Any:
        q = (
            select(StoredEvent)
            .where(StoredEvent.position > after_position)  # type: ignore[operator]
            .order_by(StoredEvent.position)  # type: ignore[arg-type]
            .execution_options(yield_per=batch)
        )
        return self.session.exec(q)

    # ------------------------------------------------------------ chain

    def init_chain(self, site_id: UUID) -> None:
        if self.session.get(ChainHead, site_id) is None:
            self.session.add(ChainHead(site_id=site_id, chain_position=0, hash=GENESIS_HASH))
            self.session.flush()

    def _lock_head(self, site_id: UUID) -> ChainHead:
        q = select(ChainHead).where(ChainHead.site_id == site_id).with_for_update()
        head = self.session.exec(q).first()
        if head is None:
            raise NotFound(
                f"site {site_id} has no event chain (unknown site)", site_id=str(site_id)
            )
        return head

    # ------------------------------------------------------------ append

    def append(
        self,
        *,
        site_id: UUID,
        stream_type: str,
        stream_id: UUID,
        expected_version: int,
        events: Sequence[NewEvent],
    ) -> list[StoredEvent]:
        if not events:
            return []
        first = self.get(events[0].event_id)
        if first is not None:
            raise DuplicateEvent(first)
        now = self.clock.now()
        for e in events:
            if e.occurred_at.tzinfo is None:
                raise InvalidInput("occurred_at must carry a time zone", field="occurred_at")
            if e.occurred_at > now + CLOCK_SKEW:
                raise InvalidInput(
                    f"occurred_at {ts(e.occurred_at)} is in the future (server time {ts(now)})",
                    field="occurred_at",
                )
        head = self._lock_head(site_id)
        # Under the lock: a concurrent twin of this request may have landed meanwhile.
        first = self.get(events[0].event_id)
        if first is not None:
            raise DuplicateEvent(first)
        current = self.stream_version(stream_id)
        if current != expected_version:
            raise ConcurrencyConflict(str(stream_id), expected_version, current)
        rows: list[StoredEvent] = []
        prev_hash, position = head.hash, head.chain_position
        for i, e in enumerate(events, start=1):
            payload = e.event.payload()
            findings_json = canonical_json(e.findings)
            payload_json = canonical_json(payload)
            position += 1
            row = StoredEvent(
                event_id=e.event_id,
                site_id=site_id,
                chain_position=position,
                stream_type=stream_type,
                stream_id=stream_id,
                version=expected_version + i,
                type=e.event.TYPE,
                schema_version=e.event.SCHEMA_VERSION,
                payload=payload,
                findings=e.findings,
                rule_set_version=e.rule_set_version,
                actor_id=e.actor_id,
                device_id=e.device_id,
                correlation_id=e.correlation_id,
                causation_id=e.causation_id,
                occurred_at=e.occurred_at,
                recorded_at=now,
                prev_hash=prev_hash,
                hash="",
            )
            row.hash = event_hash(
                prev_hash=prev_hash,
                site_id=site_id,
                chain_position=position,
                event_id=e.event_id,
                stream_type=stream_type,
                stream_id=stream_id,
                version=row.version,
                type=row.type,
                schema_version=row.schema_version,
                occurred_at=e.occurred_at,
                recorded_at=now,
                actor_id=e.actor_id,
                device_id=e.device_id,
                rule_set_version=e.rule_set_version,
                findings_json=findings_json,
                payload_json=payload_json,
            )
            prev_hash = row.hash
            rows.append(row)
        crossed = position // self.checkpoint_every > head.chain_position // self.checkpoint_every
        head.chain_position, head.hash = position, prev_hash
        self.session.add_all(rows)
        self.session.add(head)
        try:
            self.session.flush()
        except IntegrityError as exc:
            # Backstop: the unique keys saw a concurrent writer the lock did not.
            raise Conflict(
                "the event could not be appended because a concurrent write got there first: "
                "reload and retry",
                stream_id=str(stream_id),
            ) from exc
        if crossed:
            self.checkpoint(site_id, head)
        return rows

    # ------------------------------------------------------------ checkpoints

    def checkpoint(self, site_id: UUID, head: ChainHead | None = None) -> ChainCheckpoint | None:
        """Sign the current head of a site's chain (no-op if already signed at this position)."""
        head = head or self._lock_head(site_id)
        if head.chain_position == 0:
            return None
        existing = self.session.exec(
            select(ChainCheckpoint).where(
                ChainCheckpoint.site_id == site_id,
                ChainCheckpoint.chain_position == head.chain_position,
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
            "chain_position": head.chain_position,
            "hash": head.hash,
            "iat": int(now.timestamp()),
        }
        token = jwt.encode(
            claims, self.keys.private_key(site_id), algorithm="EdDSA", headers={"kid": kid}
        )
        cp = ChainCheckpoint(
            site_id=site_id,
            chain_position=head.chain_position,
            hash=head.hash,
            key_id=kid,
            jws=token,
            created_at=now,
        )
        self.session.add(cp)
        self.session.flush()
        return cp
