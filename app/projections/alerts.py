"""Read model of alerts: `rm_alert` (open and cleared), from alert.raised / alert.cleared."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlmodel import Field, Session, SQLModel

from app.core.db import BigIntPK, CanonicalJSON, UTCDateTime
from app.domain.alerts import AlertCleared, AlertRaised
from app.eventstore.models import EventRecord
from app.eventstore.store import domain_event
from app.projections.base import projector, register_tables


class AlertRow(SQLModel, table=True):
    __tablename__ = "rm_alert"
    __table_args__ = (sa.Index("ix_rm_alert_site_open", "site_id", "cleared_at"),)

    id: int | None = Field(
        default=None,
        sa_column=sa.Column(BigIntPK, primary_key=True, autoincrement=True),
    )
    site_id: UUID = Field(sa_column=sa.Column(sa.Uuid(), nullable=False))
    key: str = Field(sa_column=sa.Column(sa.String(160), nullable=False, index=True))
    kind: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    rule_id: str = Field(sa_column=sa.Column(sa.String(8), nullable=False))
    severity: str = Field(sa_column=sa.Column(sa.String(8), nullable=False))
    subject_type: str = Field(sa_column=sa.Column(sa.String(8), nullable=False))
    subject_id: UUID = Field(sa_column=sa.Column(sa.Uuid(), nullable=False))
    zone_id: UUID | None = Field(default=None, sa_column=sa.Column(sa.Uuid()))
    lot_ids: list[str] = Field(sa_column=sa.Column(CanonicalJSON(), nullable=False))
    message_zh: str = Field(sa_column=sa.Column(sa.Text(), nullable=False))
    message_en: str = Field(sa_column=sa.Column(sa.Text(), nullable=False))
    citation: dict[str, Any] = Field(sa_column=sa.Column(CanonicalJSON(), nullable=False))
    values: dict[str, Any] = Field(sa_column=sa.Column(CanonicalJSON(), nullable=False))
    raised_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    cleared_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime()))


register_tables(AlertRow.__table__)  # type: ignore[attr-defined]


@projector("alerts")
def project_alert(session: Session, row: EventRecord) -> None:
    event = domain_event(row)
    if isinstance(event, AlertRaised):
        session.add(
            AlertRow(
                site_id=row.site_id,
                key=event.key,
                kind=event.kind,
                rule_id=event.rule_id,
                severity=event.severity,
                subject_type=event.subject_type,
                subject_id=event.subject_id,
                zone_id=event.zone_id,
                lot_ids=[str(i) for i in event.lot_ids],
                message_zh=event.message_zh,
                message_en=event.message_en,
                citation=event.citation,
                values=event.values,
                raised_at=row.occurred_at,
            )
        )
        session.flush()
    elif isinstance(event, AlertCleared):
        session.execute(
            sa.update(AlertRow)
            .where(
                AlertRow.site_id == row.site_id,
                AlertRow.key == event.key,  # type: ignore[arg-type]
                AlertRow.cleared_at.is_(None),
            )  # type: ignore[union-attr]
            .values(cleared_at=row.occurred_at)
        )
