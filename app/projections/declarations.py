"""Read model of declaration filings: `rm_declaration_filing`, one row per site and period (the
latest filing; a corrected declaration replaces the row, the log keeps both)."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

import sqlalchemy as sa
from sqlmodel import Field, Session, SQLModel

from app.core.db import UTCDateTime
from app.domain.declarations import DeclarationFiled
from app.eventstore.models import EventRecord
from app.eventstore.store import domain_event
from app.projections.base import projector, register_tables, upsert

STREAM = "declarations"


class DeclarationFilingRow(SQLModel, table=True):
    __tablename__ = "rm_declaration_filing"

    site_id: UUID = Field(sa_column=sa.Column(sa.Uuid(), primary_key=True))
    period: str = Field(sa_column=sa.Column(sa.String(8), primary_key=True))
    filed_on: date = Field(sa_column=sa.Column(sa.Date(), nullable=False))
    receipt_no: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    management_class: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    filings: int = Field(sa_column=sa.Column(sa.Integer(), nullable=False))
    filed_by: UUID | None = Field(default=None, sa_column=sa.Column(sa.Uuid()))
    recorded_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))


register_tables(DeclarationFilingRow.__table__)  # type: ignore[attr-defined]


@projector(STREAM)
def project_declaration(session: Session, row: EventRecord) -> None:
    event = domain_event(row)
    if not isinstance(event, DeclarationFiled):
        return
    current = session.get(DeclarationFilingRow, (row.site_id, event.period))
    upsert(
        session,
        DeclarationFilingRow,
        {"site_id": row.site_id, "period": event.period},
        current,
        {
            "filed_on": event.filed_on,
            "receipt_no": event.receipt_no,
            "management_class": event.management_class,
            "filings": (current.filings if current else 0) + 1,
            "filed_by": row.actor_id,
            "recorded_at": row.recorded_at,
        },
    )
