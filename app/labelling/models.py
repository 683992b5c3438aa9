"""The digital ID counter: one row per (unit code, waste code, generation date)."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


class DigitalIdSequence(SQLModel, table=True):
    """The last sequence number issued for a unit + code + China-time generation date.

    `code` is the 8-digit 名录 code (hazardous) or the ``SWnn`` category (general waste). The
    row is bumped with ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING`` in the generating
    transaction, so concurrent allocations on one key serialise on the row and never repeat.
    """

    __tablename__ = "digital_id_sequence"

    unit_code: str = Field(sa_column=sa.Column(sa.String(18), primary_key=True))
    code: str = Field(sa_column=sa.Column(sa.String(8), primary_key=True))
    day: date = Field(sa_column=sa.Column(sa.Date(), primary_key=True))
    last_seq: int = Field(sa_column=sa.Column(sa.Integer(), nullable=False))
