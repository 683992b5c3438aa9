"""Alert responses."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

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


class AlertPage(Schema):
    items: list[AlertRead]
    total: int


class SweepRead(Schema):
    raised: int
    cleared: int
    open: int
