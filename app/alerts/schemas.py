"""Alert responses."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import computed_field

from app.core.schemas import Schema


class AlertRead(Schema):
    key: str
    site_id: UUID
    kind: str
    rule_id: str
    severity: str
    subject_type: str
    subject_id: UUID
    zone_id: UUID | None
    lot_ids: list[UUID]
    message_zh: str
    message_en: str
    citation: dict[str, Any]
    values: dict[str, Any]
    raised_at: datetime
    cleared_at: datetime | None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def lots_url(self) -> str | None:
        """The lots behind a zone's alert (capacity, overdue inspection): the zone's lots, listed
        by `GET /api/v1/lots` rather than copied into the alert, as a zone may hold thousands.
        A lot's alert names its lot in `lot_ids`."""
        if self.subject_type == "zone":
            return f"/api/v1/lots?zone_id={self.subject_id}"
        return None


class AlertPage(Schema):
    items: list[AlertRead]
    total: int


class SweepRead(Schema):
    raised: int
    cleared: int
    open: int
