"""The waste lot aggregate: state, `evolve` (fold events) and `decide` (commands -> events).

State machine (GB 18597 / 转移管理办法 custody chain):

    generated -> labelled -> stored (moves between zones) -> allocated (to a manifest)
      -> shipped -> received (accepted / partly accepted) -> disposed | utilised
                 -> rejected -> returned to the consignor's inventory (labelled, not in a zone)

Weighing, inspection and repacking happen along the way without changing the status, and so
does an approval to store a lot beyond the one-year limit (`lot.storage_extended`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.domain import events as ev
from app.domain.errors import InvalidInput, InvalidTransition
from app.domain.values import (
    GENERAL_CATEGORIES,
    HAZARD_ORDER,
    Container,
    ContainerCondition,
    GeneralClass,
    PhysicalForm,
    ReceiptOutcome,
    WasteKind,
    china_date,
)
from app.domain.waste_codes import Catalogue, code_format_problem, normalise_code


class LotStatus(StrEnum):
    generated = "generated"
    labelled = "labelled"
    stored = "stored"
    allocated = "allocated"
    shipped = "shipped"
    received = "received"
    rejected = "rejected"
    disposed = "disposed"
    utilised = "utilised"
    discarded = "discarded"  # exempt (豁免管理清单 #24): went out with the household waste


TERMINAL = {LotStatus.disposed, LotStatus.utilised, LotStatus.discarded}
ON_SITE = {LotStatus.generated, LotStatus.labelled, LotStatus.stored, LotStatus.allocated}
IN_STORAGE = {LotStatus.stored, LotStatus.allocated}  # in a zone: the storage limit runs
# Disposal/utilisation method codes (HJ 1033 App. F via regulations.md §7.4).
UTILISATION_CODES = {f"R{i}" for i in (1, 2, 3, 4, 5, 6, 7, 8, 9, 15)} | {"C1", "C2", "C3"}
DISPOSAL_CODES = {"D1", "D9", "D10", "D16"}
# 名录 豁免管理清单 #24 (R61): 900-041-49 rags and PPE collected unsorted with household
# waste are not managed as hazardous waste at any step (no label, storage, manifest or
# ledger). Segregated, they are hazardous waste again: storing one in a zone ends it.
EXEMPT_UNSORTED_CODE = "900-041-49"


def exempt_unsorted(waste_code: str | None, collected_unsorted: bool) -> bool:
    """Whether a lot generated with this code and collection is exempt (豁免管理清单 #24)."""
    return (
        collected_unsorted
        and waste_code is not None
        and normalise_code(waste_code) == EXEMPT_UNSORTED_CODE
    )


@dataclass(frozen=True, slots=True)
class LotState:
    lot_id: UUID
    site_id: UUID
    kind: WasteKind
    name: str
    category: str
    waste_code: str | None
    general_class: GeneralClass | None
    hazard_characteristics: tuple[str, ...]
    physical_form: PhysicalForm
    container: Container
    weight_kg: Decimal
    generated_at: datetime
    status: LotStatus = LotStatus.generated
    version: int = 1
    digital_id: str | None = None
    main_components: str | None = None
    harmful_components: str | None = None
    precautions: str | None = None
    remarks: str | None = None
    labelled_at: datetime | None = None
    label_prints: int = 0
    zone_id: UUID | None = None
    stored_at: datetime | None = None
    condition: ContainerCondition = ContainerCondition.intact
    inspected_at: datetime | None = None
    manifest_id: UUID | None = None
    shipped_at: datetime | None = None
    received_at: datetime | None = None
    receipt_outcome: ReceiptOutcome | None = None
    accepted_weight_kg: Decimal | None = None
    method_code: str | None = None
    completed_on: date | None = None
    properties: tuple[str, ...] = ()
    headspace_mm: Decimal | None = None
    organic_matter_pct: Decimal | None = None
    soluble_salts_pct: Decimal | None = None
    # the current approval to store beyond the one-year limit (固废法 Art. 81 ¶3), if any
    storage_extended_until: date | None = None
    storage_extension_approval_no: str | None = None
    # exempt under 豁免管理清单 #24 (R61) until it is stored in a zone (segregated)
    exempt: bool = False

    @property
    def needs_repack(self) -> bool:
        return self.condition is not ContainerCondition.intact


# ---------------------------------------------------------------- evolve


def evolve(state: LotState | None, event: ev.Event, at: datetime, lot_id: UUID) -> LotState:
    """Fold one event into the state. Never raises for events already in the log."""
    if isinstance(event, ev.LotGenerated):
        return LotState(
            lot_id=lot_id,
            site_id=event.site_id,
            kind=event.kind,
            name=event.name,
            category=event.category,
            waste_code=event.waste_code,
            general_class=event.general_class,
            hazard_characteristics=tuple(event.hazard_characteristics),
            physical_form=event.physical_form,
            container=event.container,
            weight_kg=event.weight_kg,
            generated_at=at,
            digital_id=event.digital_id,
            main_components=event.main_components,
            harmful_components=event.harmful_components,
            precautions=event.precautions,
            remarks=event.remarks,
            properties=tuple(event.properties),
            headspace_mm=event.headspace_mm,
            organic_matter_pct=event.organic_matter_pct,
            soluble_salts_pct=event.soluble_salts_pct,
            exempt=exempt_unsorted(event.waste_code, event.collected_unsorted),
        )
    if state is None:
        raise ValueError(f"{event.TYPE} before lot.generated")
    s = replace(state, version=state.version + 1)
    match event:
        case ev.LotLabelled():
            return replace(
                s,
                status=LotStatus.labelled if s.status is LotStatus.generated else s.status,
                digital_id=event.digital_id or s.digital_id,
                labelled_at=s.labelled_at or at,
                label_prints=s.label_prints + event.copies,
            )
        case ev.LotLabelReprinted():
            return replace(s, label_prints=s.label_prints + event.copies)
        case ev.LotWeighed():
            return replace(s, weight_kg=event.weight_kg)
        case ev.LotStored():
            # stored in a zone, it is segregated: hazardous waste again (R61)
            return replace(
                s,
                status=LotStatus.stored,
                zone_id=event.zone_id,
                stored_at=s.stored_at or at,
                exempt=False,
            )
        case ev.LotMoved():
            return replace(s, zone_id=event.to_zone_id)
        case ev.LotInspected():
            return replace(s, condition=event.condition, inspected_at=at)
        case ev.LotRepacked():
            return replace(
                s,
                container=event.container,
                condition=ContainerCondition.intact,
                weight_kg=event.weight_kg if event.weight_kg is not None else s.weight_kg,
            )
        case ev.LotAllocated():
            return replace(s, status=LotStatus.allocated, manifest_id=event.manifest_id)
        case ev.LotDeallocated():
            return replace(s, status=LotStatus.stored, manifest_id=None)
        case ev.LotLoaded() | ev.LotArrivalChecked():
            return s
        case ev.LotShipped():
            return replace(s, status=LotStatus.shipped, zone_id=None, shipped_at=at)
        case ev.LotReceived():
            rejected = event.outcome is ReceiptOutcome.rejected
            return replace(
                s,
                status=LotStatus.rejected if rejected else LotStatus.received,
                received_at=at,
                receipt_outcome=event.outcome,
                accepted_weight_kg=event.accepted_weight_kg,
            )
        case ev.LotReturned():
            return replace(
                s,
                status=LotStatus.labelled,
                manifest_id=None,
                stored_at=None,
                receipt_outcome=None,
                accepted_weight_kg=None,
                received_at=None,
                shipped_at=None,
                # its storage starts afresh when it is stored again: so does the limit
                storage_extended_until=None,
                storage_extension_approval_no=None,
            )
        case ev.LotDisposed():
            return replace(
                s,
                status=LotStatus.disposed,
                method_code=event.method_code,
                completed_on=event.completed_on,
            )
        case ev.LotUtilised():
            return replace(
                s,
                status=LotStatus.utilised,
                method_code=event.method_code,
                completed_on=event.completed_on,
            )
        case ev.LotDiscarded():
            return replace(s, status=LotStatus.discarded, completed_on=event.completed_on)
        case ev.LotRuleOverridden():
            return s
        case ev.LotStorageExtended():
            return replace(
                s,
                storage_extended_until=event.extended_until,
                storage_extension_approval_no=event.approval_no,
            )
        case ev.LotCorrected():
            return replace(s, **{k: v for k, v in event.changes.items() if k in CORRECTABLE})
    raise ValueError(f"lot cannot fold {event.TYPE}")


def fold(items: Iterable[tuple[ev.Event, datetime]], lot_id: UUID) -> LotState | None:
    state: LotState | None = None
    for event, at in items:
        state = evolve(state, event, at, lot_id)
    return state


# ---------------------------------------------------------------- commands


class Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LotProperty(StrEnum):
    oxidiser = "oxidiser"
    hypochlorite = "hypochlorite"
    ammonium = "ammonium"
    oxidising_acid = "oxidising_acid"
    unstable = "unstable"  # explosive, flammable or toxic-gas-emitting at NTP (GB 18597 4.9)
    stabilised = "stabilised"  # pre-treated to stability
    voc_prone = "voc_prone"  # gives off VOCs, acid mist or odour


class GenerateLot(Command):
    site_id: UUID
    kind: WasteKind = WasteKind.hazardous
    name: str = Field(min_length=1, max_length=200)
    waste_code: str | None = Field(default=None, max_length=12)
    general_class: GeneralClass | None = None
    general_category: str | None = Field(default=None, max_length=8)
    hazard_characteristics: list[str] | None = None
    physical_form: PhysicalForm
    container: Container
    weight_kg: Decimal = Field(ge=0, le=1_000_000, decimal_places=3)
    main_components: str | None = Field(default=None, max_length=500)
    harmful_components: str | None = Field(default=None, max_length=500)
    precautions: str | None = Field(default=None, max_length=500)
    source: str | None = Field(default=None, max_length=200)
    remarks: str | None = Field(default=None, max_length=500)
    properties: list[LotProperty] = Field(
        default=[],
        description="handling properties the storage rules read (incompatibility, "
        "stability): oxidiser, hypochlorite, ammonium, oxidising_acid, unstable, stabilised",
    )
    headspace_mm: Decimal | None = Field(
        default=None,
        ge=0,
        le=10_000,
        decimal_places=1,
        description="liquids/semi-solids: free space to the lid",
    )
    organic_matter_pct: Decimal | None = Field(default=None, ge=0, le=100, decimal_places=2)
    soluble_salts_pct: Decimal | None = Field(default=None, ge=0, le=100, decimal_places=2)
    identification_report: str | None = Field(
        default=None, max_length=200, description="鉴别报告 number, for 900-000-xx codes"
    )
    collected_unsorted: bool = Field(
        default=False, description="900-041-49 collected mixed with ordinary waste (exempt)"
    )

    @model_validator(mode="after")
    def _kind_fields(self) -> GenerateLot:
        if self.kind is WasteKind.hazardous:
            if not self.waste_code:
                raise ValueError("a hazardous lot needs waste_code (名录 code, e.g. 900-041-49)")
            if self.general_class or self.general_category:
                raise ValueError("general_class/general_category apply only to general waste")
        else:
            if self.waste_code:
                raise ValueError("a general-waste lot has no 名录 waste_code")
            if not self.general_class or not self.general_category:
                raise ValueError(
                    "a general-waste lot needs general_class (I/II) and general_category"
                )
        return self


@dataclass(frozen=True)
class LotContext:
    catalogue: Catalogue
    today: date


def generate(cmd: GenerateLot, ctx: LotContext, digital_id: str | None = None) -> ev.LotGenerated:
    hazards: list[str] = []
    edition = None
    if cmd.kind is WasteKind.hazardous:
        assert cmd.waste_code is not None
        code = normalise_code(cmd.waste_code)
        problem = code_format_problem(code)
        if problem:
            raise InvalidInput(problem, field="waste_code")
        edition = ctx.catalogue.edition_for(ctx.today)
        entry = ctx.catalogue.get(code, edition)
        if entry is None and code.startswith("900-000-"):
            # 名录 Art. 6: identified HW with no listed code; R02 demands the 鉴别 report.
            category = f"HW{code[-2:]}"
            hazards = _ordered_hazards(cmd.hazard_characteristics or [])
            if not hazards:
                raise InvalidInput(
                    "a 900-000-xx lot needs its hazard characteristics",
                    field="hazard_characteristics",
                )
        elif entry is None:
            raise InvalidInput(
                f"waste code {code} is not in the 国家危险废物名录 ({edition} edition)",
                field="waste_code",
                value=code,
            )
        else:
            category = entry.category
            requested = cmd.hazard_characteristics
            hazards = _ordered_hazards(requested if requested else entry.hazard_set)
    else:
        assert cmd.general_category is not None
        code = None
        category = cmd.general_category.upper()
        if category not in GENERAL_CATEGORIES:
            raise InvalidInput(
                f"unknown general-waste category {category}; expected one of "
                + ", ".join(GENERAL_CATEGORIES),
                field="general_category",
            )
        if cmd.hazard_characteristics:
            raise InvalidInput(
                "general industrial solid waste has no hazard characteristics",
                field="hazard_characteristics",
            )
    return ev.LotGenerated(
        site_id=cmd.site_id,
        kind=cmd.kind,
        name=cmd.name.strip(),
        category=category,
        waste_code=code,
        catalogue_edition=edition,
        general_class=cmd.general_class,
        hazard_characteristics=hazards,
        physical_form=cmd.physical_form,
        container=cmd.container,
        weight_kg=cmd.weight_kg,
        main_components=cmd.main_components,
        harmful_components=cmd.harmful_components,
        precautions=cmd.precautions,
        source=cmd.source,
        remarks=cmd.remarks,
        digital_id=digital_id,
        properties=sorted({p.value for p in cmd.properties}),
        headspace_mm=cmd.headspace_mm,
        organic_matter_pct=cmd.organic_matter_pct,
        soluble_salts_pct=cmd.soluble_salts_pct,
        identification_report=cmd.identification_report,
        collected_unsorted=cmd.collected_unsorted,
    )


def _ordered_hazards(values: Iterable[str]) -> list[str]:
    out = []
    for v in values:
        if v not in HAZARD_ORDER:
            raise InvalidInput(
                f"unknown hazard characteristic {v!r}; expected T, C, I, R or In",
                field="hazard_characteristics",
            )
        out.append(v)
    return sorted(set(out), key=HAZARD_ORDER.index)


CORRECTABLE = {"name", "main_components", "harmful_components", "precautions", "remarks"}


def _require(state: LotState, allowed: set[LotStatus], action: str) -> None:
    if state.status not in allowed:
        names = ", ".join(sorted(s.value for s in allowed))
        raise InvalidTransition(
            f"cannot {action} a lot that is {state.status.value} (allowed when: {names})",
            status=state.status.value,
            action=action,
        )


def label(
    state: LotState,
    digital_id: str | None = None,
    label_size_mm: int | None = None,
    copies: int = 1,
) -> ev.LotLabelled:
    _require(state, {LotStatus.generated}, "label")
    return ev.LotLabelled(digital_id=digital_id, label_size_mm=label_size_mm, copies=copies)


def reprint_label(state: LotState, reason: str, copies: int = 1) -> ev.LotLabelReprinted:
    if state.status is LotStatus.generated:
        raise InvalidTransition(
            "the lot has no label yet: label it first", status=state.status.value
        )
    _require(state, set(LotStatus) - TERMINAL, "reprint the label of")
    if not reason.strip():
        raise InvalidInput("a reprint needs a reason", field="reason")
    return ev.LotLabelReprinted(reason=reason.strip(), copies=copies)


def weigh(state: LotState, weight_kg: Decimal, scale_id: str | None = None) -> ev.LotWeighed:
    _require(state, ON_SITE, "weigh")
    if weight_kg < 0:
        raise InvalidInput("weight must not be negative", field="weight_kg")
    return ev.LotWeighed(weight_kg=weight_kg, scale_id=scale_id)


def store(state: LotState, zone_id: UUID) -> ev.LotStored:
    _require(state, {LotStatus.labelled}, "store")
    if state.needs_repack:
        raise InvalidTransition(
            f"the container is {state.condition.value}: repack it before storage",
            condition=state.condition.value,
        )
    return ev.LotStored(zone_id=zone_id)


def move(state: LotState, to_zone_id: UUID) -> ev.LotMoved:
    _require(state, {LotStatus.stored}, "move")
    assert state.zone_id is not None
    if state.zone_id == to_zone_id:
        raise InvalidTransition("the lot is already in that zone", zone_id=str(to_zone_id))
    if state.needs_repack:
        raise InvalidTransition(
            f"the container is {state.condition.value}: repack it before moving the lot",
            condition=state.condition.value,
        )
    return ev.LotMoved(from_zone_id=state.zone_id, to_zone_id=to_zone_id)


def inspect(
    state: LotState, condition: ContainerCondition, notes: str | None = None
) -> ev.LotInspected:
    _require(state, ON_SITE | {LotStatus.rejected}, "inspect")
    return ev.LotInspected(condition=condition, notes=notes)


def repack(
    state: LotState, container: Container, reason: str, weight_kg: Decimal | None = None
) -> ev.LotRepacked:
    _require(
        state,
        {
            LotStatus.generated,
            LotStatus.labelled,
            LotStatus.stored,
            LotStatus.allocated,
            LotStatus.rejected,
        },
        "repack",
    )
    if not reason.strip():
        raise InvalidInput("a repack needs a reason", field="reason")
    if (
        state.status is LotStatus.allocated
        and weight_kg is not None
        and weight_kg != state.weight_kg
    ):
        # the manifest declared the allocated weight: overpack (套桶) as it is, or release
        # the lot from its manifest to reweigh it
        raise InvalidTransition(
            f"the lot's manifest declares {state.weight_kg} kg: repack it without a new weight,"
            " or release it from the manifest first",
            manifest_id=str(state.manifest_id),
        )
    return ev.LotRepacked(container=container, reason=reason.strip(), weight_kg=weight_kg)


def allocate(state: LotState, manifest_id: UUID) -> ev.LotAllocated:
    _require(state, {LotStatus.stored}, "allocate to a manifest")
    if state.needs_repack:
        raise InvalidTransition("a damaged or leaking container must be repacked before shipping")
    return ev.LotAllocated(manifest_id=manifest_id)


def deallocate(state: LotState, reason: str) -> ev.LotDeallocated:
    _require(state, {LotStatus.allocated}, "release from its manifest")
    assert state.manifest_id is not None
    return ev.LotDeallocated(manifest_id=state.manifest_id, reason=reason)


def _on_manifest(state: LotState, manifest_id: UUID, allowed: LotStatus, action: str) -> None:
    _require(state, {allowed}, action)
    if state.manifest_id != manifest_id:
        raise InvalidTransition(
            "the lot is on a different manifest", manifest_id=str(state.manifest_id)
        )


def load(state: LotState, manifest_id: UUID, vehicle_plate: str | None = None) -> ev.LotLoaded:
    """The loading scan of one lot at the vehicle of its manifest."""
    _on_manifest(state, manifest_id, LotStatus.allocated, "load onto a vehicle")
    _require_sound(state)
    plate = vehicle_plate.strip().upper() if vehicle_plate and vehicle_plate.strip() else None
    return ev.LotLoaded(manifest_id=manifest_id, vehicle_plate=plate)


def check_in(
    state: LotState,
    manifest_id: UUID,
    outcome: ReceiptOutcome,
    received_weight_kg: Decimal,
    accepted_weight_kg: Decimal | None = None,
) -> ev.LotArrivalChecked:
    """The receiving facility's scan and weighing of one lot, with the handler's proposed
    outcome (the same weight rules as the receipt itself)."""
    _on_manifest(state, manifest_id, LotStatus.shipped, "check in at the receiving facility")
    r = receive(state, outcome, received_weight_kg, accepted_weight_kg)
    return ev.LotArrivalChecked(
        manifest_id=manifest_id,
        received_weight_kg=r.received_weight_kg,
        outcome=r.outcome,
        accepted_weight_kg=r.accepted_weight_kg,
    )


def ship(state: LotState, manifest_id: UUID) -> ev.LotShipped:
    _require(state, {LotStatus.allocated}, "ship")
    if state.manifest_id != manifest_id:
        raise InvalidTransition(
            "the lot is allocated to a different manifest", manifest_id=str(state.manifest_id)
        )
    _require_sound(state)
    return ev.LotShipped(manifest_id=manifest_id)


def _require_sound(state: LotState) -> None:
    """A container found damaged or leaking after it joined a manifest is repacked before it
    leaves (GB 18597 8.2.2: broken or leaking containers are replaced)."""
    if state.needs_repack:
        raise InvalidTransition(
            f"the container is {state.condition.value}: repack it before it is loaded or shipped",
            condition=state.condition.value,
        )


def receive(
    state: LotState,
    outcome: ReceiptOutcome,
    received_weight_kg: Decimal,
    accepted_weight_kg: Decimal | None = None,
) -> ev.LotReceived:
    _require(state, {LotStatus.shipped}, "receive")
    assert state.manifest_id is not None
    if accepted_weight_kg is None:
        accepted_weight_kg = (
            Decimal(0) if outcome is ReceiptOutcome.rejected else received_weight_kg
        )
    if received_weight_kg < 0 or accepted_weight_kg < 0:
        raise InvalidInput("weights must not be negative")
    if accepted_weight_kg > received_weight_kg:
        raise InvalidInput("accepted weight exceeds received weight", field="accepted_weight_kg")
    if outcome is ReceiptOutcome.rejected and accepted_weight_kg != 0:
        raise InvalidInput("a rejected lot has no accepted weight", field="accepted_weight_kg")
    if outcome is ReceiptOutcome.accepted and accepted_weight_kg != received_weight_kg:
        raise InvalidInput(
            "use partly_accepted when less than the received weight is accepted", field="outcome"
        )
    if (
        outcome is ReceiptOutcome.partly_accepted
        and not 0 < accepted_weight_kg < received_weight_kg
    ):
        raise InvalidInput(
            "partly_accepted needs 0 < accepted weight < received weight",
            field="accepted_weight_kg",
        )
    return ev.LotReceived(
        manifest_id=state.manifest_id,
        outcome=outcome,
        received_weight_kg=received_weight_kg,
        accepted_weight_kg=accepted_weight_kg,
    )


def return_to_consignor(state: LotState, reason: str) -> ev.LotReturned:
    _require(state, {LotStatus.rejected}, "return to the consignor")
    assert state.manifest_id is not None
    return ev.LotReturned(manifest_id=state.manifest_id, reason=reason)


def complete(
    state: LotState, method_code: str, completed_on: date
) -> ev.LotDisposed | ev.LotUtilised:
    _require(state, {LotStatus.received}, "record disposal/utilisation of")
    code = method_code.strip().upper()
    if code in UTILISATION_CODES:
        return ev.LotUtilised(method_code=code, completed_on=completed_on)
    if code in DISPOSAL_CODES:
        return ev.LotDisposed(method_code=code, completed_on=completed_on)
    raise InvalidInput(
        f"unknown method code {method_code!r}; expected R1-R9, R15, D1, D9, D10, D16 or C1-C3",
        field="method_code",
    )


class ExtendStorage(Command):
    """An approval to store the lot beyond the one-year limit (延期贮存批准)."""

    approval_no: str = Field(min_length=1, max_length=64, description="批准文号")
    authority: str = Field(
        min_length=1, max_length=100, description="批准机关: the EEB that issued the licence"
    )
    approved_on: date = Field(description="批准日期")
    extended_until: date = Field(
        description="延期至: storage may run through this day; after the one-year limit"
    )
    note: str | None = Field(default=None, max_length=500)


class DiscardLot(Command):
    """An exempt lot (豁免管理清单 #24) went out with the household waste (随生活垃圾清运)."""

    discarded_on: date = Field(description="清运日期 (China date)")
    note: str | None = Field(default=None, max_length=500)


def discard(state: LotState, cmd: DiscardLot, *, today: date) -> ev.LotDiscarded:
    """End an exempt lot's custody at the site: it went out with the household waste. Only a
    900-041-49 lot collected unsorted (R61) and never stored in a zone may; hazardous waste
    leaves on a transfer manifest."""
    if not state.exempt:
        raise InvalidInput(
            "only a lot exempt under 豁免管理清单 #24 (900-041-49 collected unsorted with "
            "household waste, never stored in a zone) leaves with the household waste; this "
            "one leaves on a transfer manifest",
            field="lot_id",
            rule_id="R61",
        )
    _require(state, {LotStatus.generated, LotStatus.labelled}, "discard")
    if cmd.discarded_on > today:
        raise InvalidInput("discarded_on is in the future", field="discarded_on")
    if cmd.discarded_on < china_date(state.generated_at):
        raise InvalidInput("discarded_on is before the lot was generated", field="discarded_on")
    return ev.LotDiscarded(completed_on=cmd.discarded_on, note=cmd.note)


def storage_clock_start(state: LotState, *, licensed_operator: bool) -> datetime | None:
    """When the one-year storage limit (固废法 Art. 81) starts to run for the lot, as the rule
    catalogue reads it: at storage-in for a licence holder (R32), at generation for a generator
    (R33). None for general industrial solid waste, which has no such limit, for a lot exempt
    under 豁免管理清单 #24 (R61: not managed as hazardous waste), for a lot that has left the
    site, and for a licence holder's lot not (or no longer) in storage."""
    if state.kind is not WasteKind.hazardous or state.exempt or state.status not in ON_SITE:
        return None
    return state.stored_at if licensed_operator else state.generated_at


def one_year_limit(state: LotState, limit_days: int, *, licensed_operator: bool) -> date | None:
    """The last day (China time) of the lot's storage limit, counted from where R32/R33 count
    it (`storage_clock_start`), or None when no limit runs."""
    start = storage_clock_start(state, licensed_operator=licensed_operator)
    return None if start is None else china_date(start + timedelta(days=limit_days))


def extend_storage(
    state: LotState,
    cmd: ExtendStorage,
    *,
    today: date,
    licensed_operator: bool,
    limit_days: int = 365,
) -> ev.LotStorageExtended:
    """Record an approval to store the lot beyond the limit (固废法 Art. 81 ¶3). Only a hazardous
    lot in storage has a limit to extend, counted as R32/R33 count it for the site; a later
    approval replaces an earlier one."""
    if state.status not in IN_STORAGE or state.stored_at is None:
        raise InvalidTransition(
            f"only a lot in storage can have its storage extended: this one is "
            f"{state.status.value} (allowed when: allocated, stored)",
            status=state.status.value,
            action="extend storage",
        )
    approval_no, authority = cmd.approval_no.strip(), cmd.authority.strip()
    if not approval_no:
        raise InvalidInput("the approval needs its number (批准文号)", field="approval_no")
    if not authority:
        raise InvalidInput("the approval needs its issuing authority (批准机关)", field="authority")
    if cmd.approved_on > today:
        raise InvalidInput(
            f"the approval date {cmd.approved_on} is after the day it is recorded ({today})",
            field="approved_on",
        )
    if cmd.extended_until <= cmd.approved_on:
        raise InvalidInput(
            f"extended_until {cmd.extended_until} must be after the approval date "
            f"{cmd.approved_on}",
            field="extended_until",
        )
    limit = one_year_limit(state, limit_days, licensed_operator=licensed_operator)
    if limit is None:
        raise InvalidInput(
            "general industrial solid waste has no one-year storage limit to extend "
            "(固废法 Art. 81 limits hazardous waste)",
            kind=state.kind.value,
        )
    if cmd.extended_until <= limit:
        raise InvalidInput(
            f"extended_until {cmd.extended_until} does not extend anything: the lot may be "
            f"stored until {limit} without an approval",
            field="extended_until",
            limit=str(limit),
        )
    note = cmd.note.strip() if cmd.note and cmd.note.strip() else None
    return ev.LotStorageExtended(
        approval_no=approval_no,
        authority=authority,
        approved_on=cmd.approved_on,
        extended_until=cmd.extended_until,
        note=note,
    )


def override(
    state: LotState, step: str, findings: list[dict[str, Any]], reason: str
) -> ev.LotRuleOverridden:
    """Record that blocking findings were overridden, with the written reason. Who may
    override is the service's business (EHS managers); the domain only needs a reason."""
    if len(reason.strip()) < 5:
        raise InvalidInput(
            "an override needs a written reason (at least 5 characters)", field="override_reason"
        )
    blocking = [f for f in findings if f.get("severity") == "block"]
    if not blocking:
        raise InvalidInput("nothing to override: no blocking finding", field="override_reason")
    return ev.LotRuleOverridden(
        step=step,
        rule_ids=sorted({f["rule_id"] for f in blocking}),
        reason=reason.strip(),
        findings=blocking,
    )


def correct(
    state: LotState, corrects_event_id: UUID, changes: dict[str, str | None], reason: str
) -> ev.LotCorrected:
    bad = sorted(set(changes) - CORRECTABLE)
    if bad:
        raise InvalidInput(
            f"cannot correct {', '.join(bad)}: only {', '.join(sorted(CORRECTABLE))} are "
            "descriptive; weights, codes and custody steps change through their own events",
            field="changes",
        )
    if not changes:
        raise InvalidInput("a correction needs at least one change", field="changes")
    if not reason.strip():
        raise InvalidInput("a correction needs a reason", field="reason")
    return ev.LotCorrected(corrects_event_id=corrects_event_id, changes=changes, reason=reason)
