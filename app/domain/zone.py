"""Storage facilities (贮存设施, GB 18597 3 / GB 18599) and their zones (贮存分区, 6.1.2).

A facility has a type and audit properties (anti-seepage, liner). A zone belongs to a facility
and carries what the storage rules read: capacity, the categories its HJ 1276 zone sign allows,
leak containment, gas collection, explosion rating and its inspection interval.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.domain import events as ev
from app.domain.errors import InvalidInput
from app.domain.values import ContainerCondition, WasteKind


class FacilityType(StrEnum):
    storage_warehouse = "storage_warehouse"  # 贮存库
    storage_yard = "storage_yard"  # 贮存场
    storage_pool = "storage_pool"  # 贮存池
    tank_farm = "tank_farm"  # 贮存罐区
    storage_spot = "storage_spot"  # 贮存点
    gis_class_i_yard = "gis_class_i_yard"  # GB 18599 I 类场
    gis_class_ii_yard = "gis_class_ii_yard"  # GB 18599 II 类场
    gis_indoor = "gis_indoor"  # 一般固废室内贮存（库房、容器）


FACILITY_TYPE_ZH = {
    "storage_warehouse": "贮存库",
    "storage_yard": "贮存场",
    "storage_pool": "贮存池",
    "tank_farm": "贮存罐区",
    "storage_spot": "贮存点",
    "gis_class_i_yard": "一般固废 I 类场",
    "gis_class_ii_yard": "一般固废 II 类场",
    "gis_indoor": "一般固废贮存库",
}
GENERAL_TYPES = {
    FacilityType.gis_class_i_yard,
    FacilityType.gis_class_ii_yard,
    FacilityType.gis_indoor,
}


class LinerType(StrEnum):
    clay = "clay"
    hdpe = "hdpe"
    other = "other"


@dataclass(frozen=True, slots=True)
class FacilityState:
    facility_id: UUID
    site_id: UUID
    code: str
    name: str
    type: FacilityType
    created_at: datetime
    surface_antiseepage: bool | None = None
    direct_ground_contact: bool | None = None
    base_liner: str | None = None
    liner_thickness_mm: Decimal | None = None
    liner_permeability_cm_s: float | None = None
    version: int = 1

    @property
    def kind(self) -> WasteKind:
        return WasteKind.general if self.type in GENERAL_TYPES else WasteKind.hazardous


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
    facility_id: UUID | None = None
    allowed_categories: tuple[str, ...] = ()
    allowed_codes: tuple[str, ...] = ()
    containment_l: Decimal | None = None
    gas_collection: bool = False
    explosion_rated: bool = False
    inspection_interval_days: int | None = None
    last_inspected_at: datetime | None = None


# ---------------------------------------------------------------- commands


class _Cmd(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FacilityAudit(_Cmd):
    surface_antiseepage: bool | None = Field(default=None, description="floor/skirting 表面防渗")
    direct_ground_contact: bool | None = Field(default=None, description="waste touches ground")
    base_liner: LinerType | None = None
    liner_thickness_mm: Decimal | None = Field(default=None, ge=0, le=100_000)
    liner_permeability_cm_s: float | None = Field(default=None, gt=0, lt=1)


class RegisterFacility(FacilityAudit):
    site_id: UUID
    code: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9\-_.]*$")
    name: str = Field(min_length=1, max_length=100)
    type: FacilityType


def categories(values: list[str] | None) -> list[str] | None:
    """Normalise HWxx / SWxx category lists (what a zone sign shows)."""
    if values is None:
        return None
    out = [c.strip().upper() for c in values]
    for c in out:
        if not (len(c) == 4 and c[:2] in {"HW", "SW"} and c[2:].isdigit()):
            raise ValueError(f"{c!r} is not a category (HWxx or SWxx)")
    return sorted(set(out))


class ZoneSettings(_Cmd):
    capacity_kg: Decimal | None = Field(default=None, ge=0)
    capacity_l: Decimal | None = Field(default=None, ge=0)
    allowed_categories: list[str] = Field(default=[], description="HWxx / SWxx on the zone sign")
    allowed_codes: list[str] = Field(default=[], description="名录 codes on the zone sign")
    containment_l: Decimal | None = Field(default=None, ge=0, description="堵截设施容积 (L)")
    gas_collection: bool = False
    explosion_rated: bool = False
    inspection_interval_days: int | None = Field(default=None, ge=1, le=366)

    @field_validator("allowed_categories")
    @classmethod
    def _categories(cls, v: list[str] | None) -> list[str] | None:
        return categories(v)


class RegisterZone(ZoneSettings):
    site_id: UUID
    code: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9\-_.]*$")
    name: str = Field(min_length=1, max_length=100)
    kind: WasteKind | None = Field(default=None, description="default: from the facility type")
    facility_id: UUID | None = None


class ConfigureZone(_Cmd):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    capacity_kg: Decimal | None = Field(default=None, ge=0)
    capacity_l: Decimal | None = Field(default=None, ge=0)
    facility_id: UUID | None = None
    allowed_categories: list[str] | None = None
    allowed_codes: list[str] | None = None
    containment_l: Decimal | None = Field(default=None, ge=0)
    gas_collection: bool | None = None
    explosion_rated: bool | None = None
    inspection_interval_days: int | None = Field(default=None, ge=1, le=366)

    @field_validator("allowed_categories")
    @classmethod
    def _categories(cls, v: list[str] | None) -> list[str] | None:
        return categories(v)


class InspectionItem(_Cmd):
    lot_id: UUID
    condition: ContainerCondition
    notes: str | None = Field(default=None, max_length=300)


# ---------------------------------------------------------------- deciders


def register_facility(cmd: RegisterFacility) -> ev.FacilityRegistered:
    return ev.FacilityRegistered(**cmd.model_dump(exclude_none=True) | {"code": cmd.code.upper()})


def configure_facility(cmd: FacilityAudit) -> ev.FacilityConfigured:
    changes = cmd.model_dump(exclude_none=True)
    if not changes:
        raise InvalidInput("nothing to change")
    return ev.FacilityConfigured(**changes)


def register(cmd: RegisterZone, facility: FacilityState | None = None) -> ev.ZoneRegistered:
    if facility is not None and facility.site_id != cmd.site_id:
        raise InvalidInput("the facility belongs to another site", field="facility_id")
    kind = cmd.kind or (facility.kind if facility else WasteKind.hazardous)
    if facility is not None and kind is not facility.kind:
        raise InvalidInput(
            f"a {kind.value} zone cannot be part of a {facility.type.value} facility",
            field="kind",
        )
    return ev.ZoneRegistered(
        site_id=cmd.site_id,
        code=cmd.code.upper(),
        name=cmd.name.strip(),
        kind=kind,
        capacity_kg=cmd.capacity_kg,
        capacity_l=cmd.capacity_l,
        facility_id=cmd.facility_id,
        allowed_categories=cmd.allowed_categories,
        allowed_codes=sorted({c.strip() for c in cmd.allowed_codes}),
        containment_l=cmd.containment_l,
        gas_collection=cmd.gas_collection,
        explosion_rated=cmd.explosion_rated,
        inspection_interval_days=cmd.inspection_interval_days,
    )


def configure(state: ZoneState, cmd: ConfigureZone) -> ev.ZoneConfigured:
    changes = cmd.model_dump(exclude_none=True)
    if not changes:
        raise InvalidInput("nothing to change")
    if "allowed_categories" in changes:
        changes["allowed_categories"] = ZoneSettings(
            allowed_categories=changes["allowed_categories"]
        ).allowed_categories
    return ev.ZoneConfigured(**changes)


def inspect(state: ZoneState, items: list[InspectionItem], notes: str | None) -> ev.ZoneInspected:
    if len({i.lot_id for i in items}) != len(items):
        raise InvalidInput("a lot appears twice in the inspection", field="items")
    return ev.ZoneInspected(
        results=[
            {"lot_id": str(i.lot_id), "condition": i.condition.value, "notes": i.notes}
            for i in items
        ],
        notes=notes,
    )


# ---------------------------------------------------------------- evolve


def evolve_facility(
    state: FacilityState | None, event: ev.Event, at: datetime, facility_id: UUID
) -> FacilityState:
    if isinstance(event, ev.FacilityRegistered):
        return FacilityState(
            facility_id=facility_id,
            site_id=event.site_id,
            code=event.code,
            name=event.name,
            type=FacilityType(event.type),
            created_at=at,
            surface_antiseepage=event.surface_antiseepage,
            direct_ground_contact=event.direct_ground_contact,
            base_liner=event.base_liner,
            liner_thickness_mm=event.liner_thickness_mm,
            liner_permeability_cm_s=event.liner_permeability_cm_s,
        )
    if state is None:
        raise ValueError(f"{event.TYPE} before facility.registered")
    if isinstance(event, ev.FacilityConfigured):
        return replace(state, version=state.version + 1, **event.model_dump(exclude_none=True))
    raise ValueError(f"facility cannot fold {event.TYPE}")


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
            facility_id=event.facility_id,
            allowed_categories=tuple(event.allowed_categories),
            allowed_codes=tuple(event.allowed_codes),
            containment_l=event.containment_l,
            gas_collection=event.gas_collection,
            explosion_rated=event.explosion_rated,
            inspection_interval_days=event.inspection_interval_days,
        )
    if state is None:
        raise ValueError(f"{event.TYPE} before zone.registered")
    s = replace(state, version=state.version + 1)
    if isinstance(event, ev.ZoneConfigured):
        changes = event.model_dump(exclude_none=True)
        for key in ("allowed_categories", "allowed_codes"):
            if key in changes:
                changes[key] = tuple(changes[key])
        return replace(s, **changes)
    if isinstance(event, ev.ZoneInspected):
        return replace(s, last_inspected_at=at)
    raise ValueError(f"zone cannot fold {event.TYPE}")
