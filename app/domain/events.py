"""Domain events: frozen payload models with stable dotted names and schema versions.

The store keeps `type` (e.g. "lot.stored") and `schema_version`, never a Python path.
Old payloads are upgraded by upcasters registered per (type, from_version).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, ClassVar, TypeVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from app.domain.values import (
    Container,
    ContainerCondition,
    GeneralClass,
    PhysicalForm,
    Quantity,
    ReceiptOutcome,
    WasteKind,
)


class Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    TYPE: ClassVar[str]
    SCHEMA_VERSION: ClassVar[int] = 1

    def payload(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


_REGISTRY: dict[str, type[Event]] = {}
_UPCASTERS: dict[tuple[str, int], Callable[[dict[str, Any]], dict[str, Any]]] = {}

E = TypeVar("E", bound=type[Event])


def register(cls: E) -> E:
    if cls.TYPE in _REGISTRY:
        raise ValueError(f"event type {cls.TYPE} registered twice")
    _REGISTRY[cls.TYPE] = cls
    return cls


def upcaster(
    type_: str, from_version: int
) -> Callable[
    [Callable[[dict[str, Any]], dict[str, Any]]], Callable[[dict[str, Any]], dict[str, Any]]
]:
    def deco(
        fn: Callable[[dict[str, Any]], dict[str, Any]],
    ) -> Callable[[dict[str, Any]], dict[str, Any]]:
        _UPCASTERS[(type_, from_version)] = fn
        return fn

    return deco


def event_class(type_: str) -> type[Event]:
    try:
        return _REGISTRY[type_]
    except KeyError as exc:
        raise KeyError(f"unknown event type {type_!r}") from exc


def known_event_types() -> list[str]:
    return sorted(_REGISTRY)


def load_event(type_: str, schema_version: int, payload: dict[str, Any]) -> Event:
    cls = event_class(type_)
    version = schema_version
    data = dict(payload)
    while version < cls.SCHEMA_VERSION:
        data = _UPCASTERS[(type_, version)](data)
        version += 1
    return cls.model_validate(data)


# ---------------------------------------------------------------- lot events


@register
class LotGenerated(Event):
    TYPE = "lot.generated"
    SCHEMA_VERSION = 2

    site_id: UUID
    kind: WasteKind
    name: str
    category: str  # HWxx for hazardous lots, SWxx for general waste
    waste_code: str | None = None  # 名录 code (hazardous only)
    catalogue_edition: str | None = None
    general_class: GeneralClass | None = None  # GB 18599 I / II (general only)
    hazard_characteristics: list[str] = []
    physical_form: PhysicalForm
    container: Container
    weight_kg: Quantity
    main_components: str | None = None
    harmful_components: str | None = None
    precautions: str | None = None
    source: str | None = None  # generating process / facility code (HJ 1259 6.3.1)
    remarks: str | None = None
    digital_id: str | None = None
    # v2: what the storage rules read
    properties: list[str] = []  # oxidiser, hypochlorite, ammonium, oxidising_acid, unstable, ...
    headspace_mm: Quantity | None = None  # liquids / semi-solids (GB 18597 7.x)
    organic_matter_pct: Quantity | None = None  # general waste (GB 18599 6.1 / 6.2)
    soluble_salts_pct: Quantity | None = None
    identification_report: str | None = None  # 鉴别报告 for 900-000-xx codes (名录 Art. 6)
    collected_unsorted: bool = False  # 900-041-49 mixed with ordinary waste (豁免清单 #24)


@upcaster("lot.generated", 1)
def _lot_generated_v1(data: dict[str, Any]) -> dict[str, Any]:
    """v1 (before the rule engine) had none of the rule inputs: they were unknown."""
    return {**data, "properties": [], "collected_unsorted": False}


@register
class LotLabelled(Event):
    TYPE = "lot.labelled"

    digital_id: str | None = None
    label_size_mm: int | None = None
    copies: int = 1


@register
class LotLabelReprinted(Event):
    TYPE = "lot.label_reprinted"

    reason: str
    copies: int = 1


@register
class LotWeighed(Event):
    TYPE = "lot.weighed"

    weight_kg: Quantity
    scale_id: str | None = None


@register
class LotStored(Event):
    TYPE = "lot.stored"

    zone_id: UUID


@register
class LotMoved(Event):
    TYPE = "lot.moved"

    from_zone_id: UUID
    to_zone_id: UUID


@register
class LotInspected(Event):
    TYPE = "lot.inspected"

    condition: ContainerCondition
    notes: str | None = None


@register
class LotRepacked(Event):
    TYPE = "lot.repacked"

    container: Container
    reason: str
    weight_kg: Quantity | None = None


@register
class LotAllocated(Event):
    TYPE = "lot.allocated"

    manifest_id: UUID


@register
class LotDeallocated(Event):
    TYPE = "lot.deallocated"

    manifest_id: UUID
    reason: str


@register
class LotShipped(Event):
    TYPE = "lot.shipped"

    manifest_id: UUID


@register
class LotLoaded(Event):
    """The lot was scanned at the vehicle of its manifest (a handheld's per-lot loading scan).
    Its status stays allocated until the manifest is dispatched."""

    TYPE = "lot.loaded"

    manifest_id: UUID
    vehicle_plate: str | None = None


@register
class LotArrivalChecked(Event):
    """The receiving facility scanned and weighed the lot on arrival (a handheld's per-lot
    receipt). The handler's decision on it follows when the receipt is confirmed."""

    TYPE = "lot.arrival_checked"

    manifest_id: UUID
    received_weight_kg: Quantity
    outcome: ReceiptOutcome
    accepted_weight_kg: Quantity


@register
class LotReceived(Event):
    TYPE = "lot.received"

    manifest_id: UUID
    outcome: ReceiptOutcome
    received_weight_kg: Quantity
    accepted_weight_kg: Quantity


@register
class LotReturned(Event):
    TYPE = "lot.returned"

    manifest_id: UUID
    reason: str


@register
class LotDisposed(Event):
    TYPE = "lot.disposed"

    method_code: str
    completed_on: date


@register
class LotUtilised(Event):
    TYPE = "lot.utilised"

    method_code: str
    completed_on: date


@register
class LotDiscarded(Event):
    """A lot exempt under 豁免管理清单 #24 (900-041-49 collected unsorted with household
    waste) went out with the household waste (随生活垃圾清运): the site's custody ends."""

    TYPE = "lot.discarded"

    completed_on: date  # 清运日期 (China date)
    note: str | None = None


@register
class LotRuleOverridden(Event):
    """An ehs_manager let a blocked step through, with a written reason. The step's own event
    follows in the same append and carries the findings."""

    TYPE = "lot.rule_overridden"

    step: str
    rule_ids: list[str]
    reason: str
    findings: list[dict[str, Any]]


@register
class LotCorrected(Event):
    """A correction of descriptive fields; the original event stays in the log."""

    TYPE = "lot.corrected"

    corrects_event_id: UUID
    changes: dict[str, str | None]
    reason: str


@register
class LotStorageExtended(Event):
    """The ecology and environment bureau that issued the licence approved storing the lot
    beyond the one-year limit (延期贮存批准, 固废法 Art. 81 ¶3). A later one replaces it: a
    further extension, or a correction of this one."""

    TYPE = "lot.storage_extended"

    approval_no: str  # 批准文号
    authority: str  # 批准机关
    approved_on: date
    extended_until: date  # storage may run through this day (China time)
    note: str | None = None


# ---------------------------------------------------------------- facility and zone events


@register
class FacilityRegistered(Event):
    TYPE = "facility.registered"

    site_id: UUID
    code: str
    name: str
    type: str  # FacilityType
    surface_antiseepage: bool | None = None
    direct_ground_contact: bool | None = None
    base_liner: str | None = None
    liner_thickness_mm: Quantity | None = None
    liner_permeability_cm_s: float | None = None


@register
class FacilityConfigured(Event):
    """New audit properties of a facility (GB 18597 6.1.4); fields left out stay unchanged."""

    TYPE = "facility.configured"

    name: str | None = None
    surface_antiseepage: bool | None = None
    direct_ground_contact: bool | None = None
    base_liner: str | None = None
    liner_thickness_mm: Quantity | None = None
    liner_permeability_cm_s: float | None = None


@register
class ZoneRegistered(Event):
    TYPE = "zone.registered"
    SCHEMA_VERSION = 2

    site_id: UUID
    code: str
    name: str
    kind: WasteKind  # hazardous-waste zone (GB 18597) or general-waste (GB 18599)
    capacity_kg: Quantity | None = None
    capacity_l: Quantity | None = None
    # v2: what the storage rules read
    facility_id: UUID | None = None
    allowed_categories: list[str] = []
    allowed_codes: list[str] = []
    containment_l: Quantity | None = None
    gas_collection: bool = False
    explosion_rated: bool = False
    inspection_interval_days: int | None = None


@upcaster("zone.registered", 1)
def _zone_registered_v1(data: dict[str, Any]) -> dict[str, Any]:
    """v1 zones had no facility and no storage properties."""
    return {**data, "allowed_categories": [], "allowed_codes": []}


@register
class ZoneConfigured(Event):
    """New storage properties of a zone; fields left out stay unchanged."""

    TYPE = "zone.configured"

    name: str | None = None
    capacity_kg: Quantity | None = None
    capacity_l: Quantity | None = None
    facility_id: UUID | None = None
    allowed_categories: list[str] | None = None
    allowed_codes: list[str] | None = None
    containment_l: Quantity | None = None
    gas_collection: bool | None = None
    explosion_rated: bool | None = None
    inspection_interval_days: int | None = None


@register
class ZoneInspected(Event):
    """A zone inspection (GB 18597 8.2.2): the condition of each container seen."""

    TYPE = "zone.inspected"

    results: list[dict[str, str | None]]  # lot_id, condition, notes
    notes: str | None = None
