"""The one write path: append events to the log and update the inline projections, in the
caller's transaction. Every use case that records something goes through `Recorder`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID, uuid5

from sqlmodel import Session

from app.context import AppContext
from app.domain.events import Event
from app.eventstore.models import EventRecord
from app.eventstore.store import DuplicateEvent, EventStore, NewEvent
from app.identity.permissions import Principal
from app.projections.base import project


@dataclass(frozen=True)
class Recorded:
    rows: list[EventRecord]
    replayed: bool  # True when the event id was already in the log (idempotent replay)


class Recorder:
    def __init__(self, session: Session, ctx: AppContext) -> None:
        self.session = session
        self.ctx = ctx
        self.store = EventStore(
            session,
            clock=ctx.clock,
            keys=ctx.keys,
            checkpoint_every=ctx.settings.ledger.checkpoint_every,
        )

    def record(
        self,
        *,
        actor: Principal | None,
        site_id: UUID,
        stream_type: str,
        stream_id: UUID,
        expected_version: int,
        event_id: UUID,
        occurred_at: datetime,
        events: Sequence[Event],
        findings: list[dict[str, Any]] | None = None,
        rule_set_version: str | None = None,
    ) -> Recorded:
        """Append `events` (the first carries the client's `event_id`; later ones get ids
        derived from it) and project them. A repeated `event_id` returns the original rows."""
        new = [
            NewEvent(
                event_id=event_id if i == 0 else uuid5(event_id, str(i)),
                event=e,
                occurred_at=occurred_at,
                actor_id=actor.user_id if actor else None,
                device_id=actor.device_id if actor else None,
                findings=findings or [],
                rule_set_version=rule_set_version,
                causation_id=event_id if i else None,
            )
            for i, e in enumerate(events)
        ]
        try:
            rows = self.store.append(
                site_id=site_id,
                stream_type=stream_type,
                stream_id=stream_id,
                expected_version=expected_version,
                events=new,
            )
        except DuplicateEvent as dup:
            return Recorded(rows=[dup.existing], replayed=True)
        project(self.session, rows)
        return Recorded(rows=rows, replayed=False)
