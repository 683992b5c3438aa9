"""Manifest numbering and handover challenges (not events: a counter and one-time secrets)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.core.db import UTCDateTime


class ManifestSequence(SQLModel, table=True):
    """The last serial issued per (year, origin province+city): bumped with
    ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING`` in the drafting transaction."""

    __tablename__ = "manifest_sequence"

    year: int = Field(sa_column=sa.Column(sa.Integer(), primary_key=True))
    division: str = Field(sa_column=sa.Column(sa.String(4), primary_key=True))
    last_seq: int = Field(sa_column=sa.Column(sa.Integer(), nullable=False))


class HandoverChallenge(SQLModel, table=True):
    """A one-time code issued to one party for one handover of one manifest. Only a hash of
    the code is kept; it is used once and expires."""

    __tablename__ = "handover_challenge"

    id: UUID = Field(sa_column=sa.Column(sa.Uuid(), primary_key=True))
    manifest_id: UUID = Field(sa_column=sa.Column(sa.Uuid(), nullable=False, index=True))
    step: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    party: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    code_hash: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    issued_by: UUID = Field(sa_column=sa.Column(sa.Uuid(), nullable=False))
    issued_by_name: str = Field(sa_column=sa.Column(sa.String(100), nullable=False))
    issued_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    expires_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    used_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime()))
    attempts: int = Field(sa_column=sa.Column(sa.Integer(), nullable=False))
