"""Alerts: conditions that need someone's attention, raised and cleared as events.

An alert is identified by its key (kind, subject, level), so a sweep that finds the same
condition again raises nothing new, and a condition that went away is cleared.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from app.domain import events as ev


@dataclass(frozen=True)
class Alert:
    key: str
    kind: str  # storage_duration | spot_clearance | inspection_overdue | zone_capacity | ...
    rule_id: str
    severity: str  # block | warn
    subject_type: str  # lot | zone
    subject_id: UUID
    message_zh: str
    message_en: str
    citation: dict[str, str] = field(default_factory=dict)
    zone_id: UUID | None = None
    lot_ids: tuple[UUID, ...] = ()
    values: dict[str, Any] = field(default_factory=dict)


@ev.register
class AlertRaised(ev.Event):
    TYPE = "alert.raised"

    key: str
    kind: str
    rule_id: str
    severity: str
    subject_type: str
    subject_id: UUID
    message_zh: str
    message_en: str
    citation: dict[str, str] = {}
    zone_id: UUID | None = None
    lot_ids: list[UUID] = []
    values: dict[str, Any] = {}


@ev.register
class AlertCleared(ev.Event):
    TYPE = "alert.cleared"

    key: str


def changes(current: list[Alert], open_keys: set[str]) -> list[ev.Event]:
    """The events that bring the open alerts in line with what the sweep found now."""
    found = {a.key: a for a in current}
    raised: list[ev.Event] = [
        AlertRaised(
            key=a.key,
            kind=a.kind,
            rule_id=a.rule_id,
            severity=a.severity,
            subject_type=a.subject_type,
            subject_id=a.subject_id,
            message_zh=a.message_zh,
            message_en=a.message_en,
            citation=a.citation,
            zone_id=a.zone_id,
            lot_ids=list(a.lot_ids),
            values=a.values,
        )
        for k, a in sorted(found.items())
        if k not in open_keys
    ]
    cleared: list[ev.Event] = [AlertCleared(key=k) for k in sorted(open_keys - set(found))]
    return raised + cleared
