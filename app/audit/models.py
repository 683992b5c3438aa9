"""Verification runs: each recomputation of the chains, when and by whom, and what it found.

Append-only like the log it checks (database triggers refuse UPDATE and DELETE): the record that
the log was checked, and found intact or not, is itself kept whole. Not part of the hash chain:
a run reads the chain and adds nothing to it.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.core.db import BigIntPK, UTCDateTime


class VerificationRun(SQLModel, table=True):
    __tablename__ = "verification_run"

    id: UUID = Field(sa_column=sa.Column(sa.Uuid(), primary_key=True))
    started_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False, index=True))
    seconds: float = Field(sa_column=sa.Column(sa.Float(), nullable=False))
    # who asked: cli, console, api or schedule
    trigger: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    actor_id: UUID | None = Field(
        default=None, sa_column=sa.Column(sa.Uuid(), sa.ForeignKey("app_user.id"))
    )
    ok: bool = Field(sa_column=sa.Column(sa.Boolean(), nullable=False))
    events: int = Field(
        sa_column=sa.Column(sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False)
    )
    # the full answer (`audit.schemas.VerifyRead` as JSON): per site, and the first broken link
    report: str = Field(sa_column=sa.Column(sa.Text(), nullable=False))


class TrailCheckpoint(SQLModel, table=True):
    """A signed statement "the change trail's head had this hash after this many rows" (JWS,
    EdDSA, with the trail's own key, derived like the sites' from SITE_SIGNING_SEED): what the
    hash chain alone cannot show, a trail rewritten whole by someone holding the database but
    not the key. Append-only by trigger, like the chain's checkpoints."""

    __tablename__ = "change_trail_checkpoint"

    id: int | None = Field(
        default=None,
        sa_column=sa.Column(BigIntPK, primary_key=True, autoincrement=True),
    )
    rows: int = Field(sa_column=sa.Column(sa.BigInteger(), nullable=False, unique=True))
    hash: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    key_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    jws: str = Field(sa_column=sa.Column(sa.Text(), nullable=False))
    created_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
