"""Storage zones (贮存分区, GB 18597 6.1.2): registration. Storage rules come with the rules."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from app.domain import events as ev
from app.domain.values import WasteKind


@dataclass(frozen=True, slots=True)
class ZoneState:
    zone_id: UUID
    site_id: UUID
    code: str
    name: str
    kind: WasteKind
    capacity_kg: Decimal | None
    capacity_l: Decimal | None
    created_at: datetime
    version: int = 1


class RegisterZone(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    site_id: UUID
    code: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9\-_.]*$")
    name: str = Field(min_length=1, max_length=100)
    kind: WasteKind = WasteKind.hazardous
    capacity_kg: Decimal | None = Field(default=None, ge=0)
    capacity_l: Decimal | None = Field(default=None, ge=0)


def register(cmd: RegisterZone) -> ev.ZoneRegistered:
    return ev.ZoneRegistered(
        site_id=cmd.site_id,
        code=cmd.code.upper(),
        name=cmd.name.strip(),
        kind=cmd.kind,
        capacity_kg=cmd.capacity_kg,
        capacity_l=cmd.capacity_l,
    )


def evolve(state: ZoneState | None, event: ev.Event, at: datetime, zone_id: UUID) -> ZoneState:
    if isinstance(event, ev.ZoneRegistered):
        return ZoneState(
            zone_id=zone_id,
            site_id=event.site_id,
            code=event.code,
            name=event.name,
            kind=event.kind,
            capacity_kg=event.capacity_kg,
            capacity_l=event.capacity_l,
            created_at=at,
        )
    raise ValueError(f"zone cannot fold {event.TYPE}")
