"""Chain verification and checkpoint responses."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import Field

from app.core.schemas import Schema


class BrokenLinkRead(Schema):
    site_id: str
    chain_position: int
    reason: str
    event_id: str | None = None
    position: int | None = None


class SiteChainRead(Schema):
    site_id: str
    events: int
    head_position: int
    checkpoints: int
    broken: BrokenLinkRead | None = None
    streams: int = 0


class ChangeTrailRead(Schema):
    """The master data's change trail, its hash chain recomputed (admins and the CLI only: the
    trail spans every organisation)."""

    status: Literal["ok", "broken"]
    rows: int
    head_hash: str
    broken_id: int | None = None
    reason: str | None = None
    checkpoints: int = Field(default=0, description="signed checkpoints of the trail that held")


class VerifyRead(Schema):
    status: Literal["ok", "broken"]
    events: int
    streams: int
    checkpoints: int
    seconds: float
    first_broken: BrokenLinkRead | None
    sites: list[SiteChainRead]
    summary: str
    change_trail: ChangeTrailRead | None = None


class CheckpointRead(Schema):
    site_id: UUID
    chain_position: int
    hash: str
    key_id: str
    jws: str
    created_at: datetime


class VerificationRunRead(Schema):
    """A recorded verification run, as the reader may see it: only the reader's sites."""

    id: UUID
    started_at: datetime
    trigger: Literal["cli", "console", "api", "schedule"]
    # the user who ran it: none for the CLI and the schedule, and for a reader of another
    # organisation than the user's
    by: str | None
    result: VerifyRead


class ChangeRead(Schema):
    """One change of the master data (parties or identity): who, when, which record, what."""

    id: int
    entity: str
    entity_id: UUID
    action: str
    at: datetime
    actor_id: UUID | None
    # the actor's username: shown to a reader of the actor's organisation (or an admin)
    actor: str | None
    # the values after; for an identity update also `changed` {field: {before, after}}; `via`
    # "cli" when made on the command line
    data: dict[str, Any]


class ChangePage(Schema):
    items: list[ChangeRead]
    total: int
    limit: int
    offset: int
