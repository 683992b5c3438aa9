"""The append-only log: one table for every stream, hash-chained per site.

UPDATE and DELETE on `stored_event` (and on `chain_checkpoint`) are refused by database
triggers created in the migration, on SQLite and on PostgreSQL alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.core.db import BigIntPK, CanonicalJSON, UTCDateTime


class StoredEvent(SQLModel, table=True):
    __tablename__ = "stored_event"
    __table_args__ = (
        sa.UniqueConstraint("stream_id", "version"),
        sa.UniqueConstraint("site_id", "chain_position"),
    )

    position: int | None = Field(
        default=None, sa_column=sa.Column(BigIntPK, primary_key=True, autoincrement=True)
    )
    event_id: UUID = Field(sa_column=sa.Column(sa.Uuid(), nullable=False, unique=True))
    site_id: UUID = Field(sa_column=sa.Column(sa.Uuid(), nullable=False))
    chain_position: int = Field(sa_column=sa.Column(sa.BigInteger(), nullable=False))
    stream_type: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    stream_id: UUID = Field(sa_column=sa.Column(sa.Uuid(), nullable=False))
    version: int = Field(sa_column=sa.Column(sa.Integer(), nullable=False))
    type: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    schema_version: int = Field(sa_column=sa.Column(sa.SmallInteger(), nullable=False))
    payload: dict[str, Any] = Field(sa_column=sa.Column(CanonicalJSON(), nullable=False))
    findings: list[dict[str, Any]] = Field(sa_column=sa.Column(CanonicalJSON(), nullable=False))
    rule_set_version: str | None = Field(default=None, sa_column=sa.Column(sa.String(32)))
    actor_id: UUID | None = Field(default=None, sa_column=sa.Column(sa.Uuid()))
    device_id: UUID | None = Field(default=None, sa_column=sa.Column(sa.Uuid()))
    correlation_id: UUID | None = Field(default=None, sa_column=sa.Column(sa.Uuid()))
    causation_id: UUID | None = Field(default=None, sa_column=sa.Column(sa.Uuid()))
    occurred_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    recorded_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    prev_hash: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    hash: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))


class ChainHead(SQLModel, table=True):
    """The head of each site's chain: appends within a site lock this row, so they serialise
    and chain positions are gap-free; sites append in parallel."""

    __tablename__ = "chain_head"

    site_id: UUID = Field(sa_column=sa.Column(sa.Uuid(), primary_key=True))
    chain_position: int = Field(sa_column=sa.Column(sa.BigInteger(), nullable=False))
    hash: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))


class ChainCheckpoint(SQLModel, table=True):
    """A signed statement "site S's chain had this hash at this position" (JWS, EdDSA)."""

    __tablename__ = "chain_checkpoint"
    __table_args__ = (sa.UniqueConstraint("site_id", "chain_position"),)

    id: int | None = Field(
        default=None, sa_column=sa.Column(BigIntPK, primary_key=True, autoincrement=True)
    )
    site_id: UUID = Field(sa_column=sa.Column(sa.Uuid(), nullable=False))
    chain_position: int = Field(sa_column=sa.Column(sa.BigInteger(), nullable=False))
    hash: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    key_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    jws: str = Field(sa_column=sa.Column(sa.Text(), nullable=False))
    created_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))


@dataclass(frozen=True, slots=True)
class EventRecord:
    """One row of the log as read or written by the store (plain data, not an ORM object)."""

    position: int
    event_id: UUID
    site_id: UUID
    chain_position: int
    stream_type: str
    stream_id: UUID
    version: int
    type: str
    schema_version: int
    payload: dict[str, Any]
    findings: list[dict[str, Any]]
    rule_set_version: str | None
    actor_id: UUID | None
    device_id: UUID | None
    correlation_id: UUID | None
    causation_id: UUID | None
    occurred_at: datetime
    recorded_at: datetime
    prev_hash: str
    hash: str


RECORD_FIELDS = tuple(EventRecord.__dataclass_fields__)
