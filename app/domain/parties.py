"""The parties of a transfer as the rules see them: handler licences (危险废物经营许可证),
carriers' road transport licences, vehicles, crew, contracts, cross-province approvals and the
site's management plan. Plain frozen values: the service maps its tables onto them.

Sources: regulations.md §6 (转移管理办法), §8 (许可证办法), §9 (DG road transport), §5.2 (plan).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any
from uuid import UUID

from app.domain.geo import distance_m


class LicenceKind(StrEnum):
    comprehensive = "comprehensive"  # 收集、贮存、处置综合经营许可证
    collection = "collection"  # 收集经营许可证: vehicle-repair oil, household Cd-Ni batteries


class VehicleType(StrEnum):
    dg_van = "dg_van"  # 厢式危险货物运输车
    dg_truck = "dg_truck"
    dg_tanker = "dg_tanker"
    passenger = "passenger"  # never allowed (固废法 Art. 83)
    other = "other"


class CrewRole(StrEnum):
    driver = "driver"
    escort = "escort"  # 押运人员


class ContractKind(StrEnum):
    handler = "handler"
    carrier = "carrier"


@dataclass(frozen=True)
class LicenceItem:
    """One approved item: a category, optionally narrowed to codes, its methods and capacity."""

    category: str  # HWxx
    waste_codes: tuple[str, ...] = ()  # empty: every code of the category
    methods: tuple[str, ...] = ()  # R/D/C codes
    annual_capacity_t: Decimal = Decimal(0)

    def covers(self, waste_code: str, category: str) -> bool:
        if category != self.category:
            return False
        return not self.waste_codes or waste_code in self.waste_codes

    def as_dict(self) -> dict[str, Any]:
        return {
            "category": self.category,
            "waste_codes": list(self.waste_codes),
            "methods": list(self.methods),
            "annual_capacity_t": str(self.annual_capacity_t),
        }


@dataclass(frozen=True)
class HandlerLicence:
    licence_id: UUID
    enterprise_id: UUID
    licence_no: str
    holder_name: str
    holder_uscc: str
    kind: LicenceKind
    division_code: str  # facility location (GB/T 2260)
    valid_from: date
    valid_to: date
    items: tuple[LicenceItem, ...]
    facility_address: str | None = None
    revoked: bool = False
    facility_lat: Decimal | None = None  # WGS-84, for the arrival geofence of R49
    facility_lon: Decimal | None = None

    def facility_distance_m(self, lat: Decimal, lon: Decimal) -> float | None:
        """Metres from a GPS fix to the licensed facility; None when its coordinates are not
        recorded."""
        if self.facility_lat is None or self.facility_lon is None:
            return None
        return distance_m(lat, lon, self.facility_lat, self.facility_lon)

    @property
    def province_code(self) -> str:
        return self.division_code[:2]

    def valid_on(self, day: date) -> bool:
        return not self.revoked and self.valid_from <= day <= self.valid_to

    def item_for(self, waste_code: str, category: str) -> LicenceItem | None:
        for item in self.items:
            if item.covers(waste_code, category):
                return item
        return None


@dataclass(frozen=True)
class CarrierLicence:
    licence_id: UUID
    enterprise_id: UUID
    licence_no: str  # 道路运输经营许可证号
    dg_classes: tuple[str, ...]
    valid_from: date
    valid_to: date

    def valid_on(self, day: date) -> bool:
        return self.valid_from <= day <= self.valid_to


@dataclass(frozen=True)
class Vehicle:
    vehicle_id: UUID
    enterprise_id: UUID
    plate: str
    transport_cert_no: str  # 道路运输证号 (营运证件号)
    vehicle_type: VehicleType
    dg_classes: tuple[str, ...]
    valid_to: date
    gps_terminal_id: str | None = None


@dataclass(frozen=True)
class CrewMember:
    crew_id: UUID
    enterprise_id: UUID
    name: str
    role: CrewRole
    qualification_no: str  # 从业资格证号
    valid_to: date


@dataclass(frozen=True)
class Contract:
    contract_id: UUID
    consignor_enterprise_id: UUID
    counterparty_enterprise_id: UUID
    kind: ContractKind
    contract_no: str
    valid_from: date
    valid_to: date

    def valid_on(self, day: date) -> bool:
        return self.valid_from <= day <= self.valid_to


@dataclass(frozen=True)
class TransferApproval:
    """A cross-province transfer approval (转移管理办法 Art. 21, 27)."""

    approval_id: UUID
    approval_no: str
    consignor_enterprise_id: UUID
    receiver_enterprise_id: UUID
    waste_codes: tuple[str, ...]
    methods: tuple[str, ...]
    quantity_t: Decimal
    approved_on: date
    requested_to: date

    def last_day(self, licence_valid_to: date | None) -> date:
        """Valid 12 months, never beyond the requested window or the receiver's licence."""
        try:
            twelve = self.approved_on.replace(year=self.approved_on.year + 1)
        except ValueError:  # 29 February
            twelve = self.approved_on.replace(year=self.approved_on.year + 1, day=28)
        ends = [twelve, self.requested_to]
        if licence_valid_to is not None:
            ends.append(licence_valid_to)
        return min(ends)


@dataclass(frozen=True)
class PlanItem:
    waste_code: str
    handler_enterprise_id: UUID | None
    method: str | None
    planned_t: Decimal


@dataclass(frozen=True)
class ManagementPlan:
    site_id: UUID
    year: int
    filing_no: str | None
    filed_on: date | None
    items: tuple[PlanItem, ...] = field(default_factory=tuple)

    def lists(self, waste_code: str, handler_enterprise_id: UUID) -> bool:
        return any(
            i.waste_code == waste_code
            and (
                i.handler_enterprise_id is None or i.handler_enterprise_id == handler_enterprise_id
            )
            for i in self.items
        )


def dg_covers(permitted: tuple[str, ...], dg_class: str) -> bool:
    """Does a permit listing classes/divisions cover `dg_class`? "6" covers "6.1"."""
    if not dg_class:
        return False
    return dg_class in permitted or dg_class.split(".")[0] in permitted
