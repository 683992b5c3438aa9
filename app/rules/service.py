"""Checking steps against the storage rules: build the situation from the projections, run
the rules, and turn blocking findings into a refusal (or an ehs_manager's override).

Rules never read the log: the lot comes from `rm_lot`, the target zone from `rm_zone` and
`rm_facility`, what the zone holds from `rm_zone_inventory` (a few rows per zone) plus one
index lookup for its largest liquid container, the site profile from `site`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlmodel import Session, select

from app.context import AppContext
from app.domain import lot as lot_domain
from app.domain.errors import InvalidInput, PermissionDenied, RuleViolation
from app.domain.events import Event
from app.domain.lot import GenerateLot, LotState
from app.domain.rules.base import (
    FacilityView,
    Finding,
    Mix,
    SiteProfile,
    Situation,
    Step,
    ZoneContents,
    ZoneView,
)
from app.domain.rules.data import RuleData, load_rule_data
from app.domain.rules.registry import all_rules, blocking, evaluate, rules_by_id
from app.domain.values import Role
from app.domain.zone import FacilityState, FacilityType, ZoneState
from app.identity.models import Site
from app.identity.permissions import Principal
from app.projections.lots import LotRow, ZoneInventoryRow
from app.projections.lots import state_of as lot_state_of
from app.projections.zones import FacilityRow, ZoneRow, facility_state
from app.projections.zones import state_of as zone_state_of
from labels.ids import normalise_scan
from labels.render import label_fit

OVERRIDABLE = {Step.storage_in, Step.labelling}  # not generation, repack or inspection
OVERRIDE_ROLES = {Role.ehs_manager, Role.admin}


def rule_data(ctx: AppContext) -> RuleData:
    return load_rule_data()


@dataclass(frozen=True)
class Verdict:
    """The findings of a step and, if an authorised user overrode a block, the override
    event to record before the step's own event."""

    findings: list[Finding]
    rule_set_version: str
    override: Event | None = None

    @property
    def recorded(self) -> list[dict[str, Any]]:
        return [f.model_dump(mode="json") for f in self.findings]


# ---------------------------------------------------------------- situations


def site_profile(session: Session, site_id: UUID) -> SiteProfile:
    site = session.get(Site, site_id)
    if site is None:
        raise InvalidInput("unknown site", site_id=str(site_id))
    return SiteProfile(
        site_id=site.id,
        province_code=site.division_code[:2],
        licensed_operator=site.licensed_operator,
        spot_max_days=site.spot_max_days,
    )


def licensed_operator_sites(session: Session, site_ids: Iterable[UUID]) -> frozenset[UUID]:
    """Of these sites, those holding a 经营许可证: R32 counts their storage time from
    storage-in, R33 a generator's from generation (`storage_age_start` in SQL)."""
    ids = list(site_ids)
    if not ids:
        return frozenset()
    q = select(Site.id).where(Site.id.in_(ids), Site.licensed_operator)  # type: ignore[attr-defined,arg-type]
    return frozenset(session.exec(q))


def facility_view(f: FacilityState | None) -> FacilityView | None:
    if f is None:
        return None
    return FacilityView(
        facility_id=f.facility_id,
        code=f.code,
        name=f.name,
        type=f.type.value,
        surface_antiseepage=f.surface_antiseepage,
        direct_ground_contact=f.direct_ground_contact,
        base_liner=f.base_liner,
        liner_thickness_mm=f.liner_thickness_mm,
        liner_permeability_cm_s=f.liner_permeability_cm_s,
    )


def zone_view(session: Session, z: ZoneState) -> ZoneView:
    facility = None
    if z.facility_id is not None:
        row = session.get(FacilityRow, z.facility_id)
        facility = facility_state(row) if row else None
    return ZoneView(
        zone_id=z.zone_id,
        code=z.code,
        name=z.name,
        kind=z.kind.value,
        facility=facility_view(facility),
        capacity_kg=z.capacity_kg,
        capacity_l=z.capacity_l,
        allowed_categories=z.allowed_categories,
        allowed_codes=z.allowed_codes,
        containment_l=z.containment_l,
        gas_collection=z.gas_collection,
        explosion_rated=z.explosion_rated,
        inspection_interval_days=z.inspection_interval_days,
    )


def zone_contents(session: Session, zone_id: UUID, exclude: LotState | None = None) -> ZoneContents:
    """What the zone holds, from its inventory rows (not its lots), minus `exclude`."""
    mixes = []
    rows = session.exec(
        select(ZoneInventoryRow).where(
            ZoneInventoryRow.zone_id == zone_id, ZoneInventoryRow.lot_count > 0
        )
    )  # type: ignore[arg-type]
    for r in rows:
        count, kg, litres = r.lot_count, r.weight_kg, r.volume_l
        if (
            exclude is not None
            and exclude.zone_id == zone_id
            and r.category == exclude.category
            and r.hazards == ",".join(exclude.hazard_characteristics)
            and r.properties == ",".join(exclude.properties)
            and r.physical_form == exclude.physical_form.value
        ):
            count, kg, litres = (
                count - 1,
                kg - exclude.weight_kg,
                litres - exclude.container.volume_l,
            )
            if count <= 0:
                continue
        mixes.append(
            Mix(
                category=r.category,
                hazards=frozenset(h for h in r.hazards.split(",") if h),
                properties=frozenset(p for p in r.properties.split(",") if p),
                form=r.physical_form,
                lot_count=count,
                weight_kg=kg,
                volume_l=litres,
            )
        )
    largest = session.exec(
        select(sa.func.max(LotRow.container_volume_l)).where(
            LotRow.zone_id == zone_id,
            LotRow.physical_form == "liquid",
            LotRow.lot_id != (exclude.lot_id if exclude else None),  # type: ignore[arg-type]
        )
    ).one()
    return ZoneContents(mixes=tuple(mixes), max_liquid_container_l=Decimal(largest or 0))


def facility_stock(session: Session, facility_id: UUID, exclude: LotState | None) -> Decimal:
    """Weight in every zone of a facility, without `exclude` (a lot moving within it): what
    a storage spot's limit (R29) counts. Read for spots only, off every other storage-in."""
    inv, zone = ZoneInventoryRow, ZoneRow
    kg = session.execute(
        sa.select(sa.func.coalesce(sa.func.sum(inv.weight_kg), 0))
        .join(zone, zone.zone_id == inv.zone_id)  # type: ignore[arg-type]
        .where(zone.facility_id == facility_id)  # type: ignore[arg-type]
    ).scalar_one()
    total = Decimal(kg)
    if exclude is not None and exclude.zone_id is not None:
        held = session.get(ZoneRow, exclude.zone_id)
        if held is not None and held.facility_id == facility_id:
            total -= exclude.weight_kg
    return total


def storage_situation(
    session: Session,
    ctx: AppContext,
    lot: LotState,
    zone_id: UUID,
    scanned_code: str | None = None,
    now: datetime | None = None,
) -> Situation:
    row = session.get(ZoneRow, zone_id)
    if row is None or row.site_id != lot.site_id:
        raise InvalidInput("no such zone at this lot's site", field="zone_id", zone_id=str(zone_id))
    view = zone_view(session, zone_state_of(row))
    contents = zone_contents(session, zone_id, exclude=lot)
    if row.facility_id is not None and view.facility_type == FacilityType.storage_spot.value:
        contents = replace(contents, facility_kg=facility_stock(session, row.facility_id, lot))
    return Situation(
        step=Step.storage_in,
        lot=lot,
        now=now or ctx.clock.now(),
        site=site_profile(session, lot.site_id),
        catalogue=ctx.catalogue,
        data=rule_data(ctx),
        zone=view,
        contents=contents,
        scanned_code=normalise_scan(scanned_code) if scanned_code else None,
    )


# ---------------------------------------------------------------- checks of each step


def check_generation(
    *, session: Session, ctx: AppContext, cmd: GenerateLot, at: datetime
) -> list[Finding]:
    s = Situation(
        step=Step.generation,
        lot=None,
        now=at,
        site=site_profile(session, cmd.site_id),
        catalogue=ctx.catalogue,
        data=rule_data(ctx),
        proposal=cmd,
    )
    return evaluate(s)


def check_labelling(
    *, session: Session, ctx: AppContext, lot: LotState, label_fields: dict[str, Any], at: datetime
) -> list[Finding]:
    taken = False
    if lot.digital_id:
        taken = (
            session.exec(
                select(LotRow.lot_id).where(
                    LotRow.digital_id == lot.digital_id, LotRow.lot_id != lot.lot_id
                )
            ).first()
            is not None
        )
    s = Situation(
        step=Step.labelling,
        lot=lot,
        now=at,
        site=site_profile(session, lot.site_id),
        catalogue=ctx.catalogue,
        data=rule_data(ctx),
        label_fields=label_fields,
        digital_id_taken=taken,
    )
    return evaluate(s)


def check_storage(
    *,
    session: Session,
    ctx: AppContext,
    lot: LotState,
    zone_id: UUID,
    scanned_code: str | None = None,
    at: datetime | None = None,
) -> list[Finding]:
    return evaluate(storage_situation(session, ctx, lot, zone_id, scanned_code, at))


def check_repack(
    *, session: Session, ctx: AppContext, lot: LotState, container: Any, at: datetime
) -> list[Finding]:
    """The new container is checked like a container at storage-in (R23 material, R24)."""
    after = replace(lot, container=container)
    zone = None
    if lot.zone_id is not None and (row := session.get(ZoneRow, lot.zone_id)) is not None:
        zone = zone_view(session, zone_state_of(row))
    return evaluate(
        Situation(
            step=Step.repack,
            lot=after,
            now=at,
            site=site_profile(session, lot.site_id),
            catalogue=ctx.catalogue,
            data=rule_data(ctx),
            zone=zone,
        )
    )


def check_inspection(
    *, session: Session, ctx: AppContext, lot: LotState, condition: Any, at: datetime
) -> list[Finding]:
    """What an inspection's finding means for the lot (R25: repack before it moves on)."""
    return evaluate(
        Situation(
            step=Step.inspection,
            lot=replace(lot, condition=condition),
            now=at,
            site=site_profile(session, lot.site_id),
            catalogue=ctx.catalogue,
            data=rule_data(ctx),
        )
    )


# LabelData attributes (what `label_fit` names when it cuts) -> R10's field keys
_LABEL_KEYS = {
    "waste_name": "name",
    "category": "category",
    "waste_code": "code",
    "form": "form",
    "main_components": "main_components",
    "harmful_components": "harmful_components",
    "precautions": "precautions",
    "unit_name": "unit",
    "contact_person": "contact",
    "phone": "phone",
    "generation_date": "date",
    "weight_kg": "weight",
    "remarks": "remarks",
}


def label_fields(data: Any) -> dict[str, Any]:
    """What an HJ 1276 label would carry (R10 checks every field is there), under `cut` the
    fields that even the largest label can only print cut short, and under `unprintable` the
    characters per field that the label's font cannot draw (printed as □)."""
    if data is None:
        return {}
    fit = label_fit(data)
    return {
        "cut": [_LABEL_KEYS.get(k, k) for k in fit.cut],
        "unprintable": {_LABEL_KEYS.get(k, k): chars for k, chars in fit.unprintable.items()},
        "name": data.waste_name,
        "category": data.category,
        "code": data.waste_code,
        "form": data.form,
        "hazards": list(data.hazards),
        "main_components": data.main_components,
        "harmful_components": data.harmful_components,
        "precautions": data.precautions,
        "digital_id": data.digital_id,
        "unit": data.unit_name,
        "contact": data.contact_person,
        "phone": data.phone,
        "date": str(data.generation_date),
        "weight": str(data.weight_kg) if data.weight_kg is not None else None,
    }


def facility_audit(*, ctx: AppContext, facility: FacilityState) -> list[Finding]:
    """The anti-seepage audit of a facility (R22) without a lot: warnings to show."""
    rule = rules_by_id()["R22"]
    zone = ZoneView(
        zone_id=None,
        code=facility.code,
        name=facility.name,
        kind=facility.kind.value,
        facility=facility_view(facility),
    )
    s = Situation(
        step=Step.storage_in,
        lot=None,
        now=ctx.clock.now(),
        site=SiteProfile(site_id=facility.site_id, province_code=""),
        catalogue=ctx.catalogue,
        data=rule_data(ctx),
        zone=zone,
    )
    return list(rule.check(s, rule))


# ---------------------------------------------------------------- verdicts


def verdict(
    *,
    ctx: AppContext,
    actor: Principal,
    step: Step,
    lot: LotState | None,
    findings: Sequence[Finding],
    override_reason: str | None,
) -> Verdict:
    """Refuse the step on blocking findings, unless an ehs_manager overrides with a reason.
    Operators (and everyone else) get 403 for trying; warnings always pass and are recorded."""
    version = rule_data(ctx).version
    blocks = blocking(list(findings))
    if override_reason is not None and actor.role not in OVERRIDE_ROLES:
        raise PermissionDenied(
            "only an EHS manager may override a rule finding", role=actor.role.value
        )
    if not blocks:
        return Verdict(findings=list(findings), rule_set_version=version)
    payload = [f.model_dump(mode="json") for f in findings]
    if override_reason is None or step not in OVERRIDABLE or lot is None:
        first = blocks[0]
        raise RuleViolation(
            f"{first.message_zh} — {first.message_en} ({first.citation['document']} "
            f"{first.citation['clause']})"
            + (f"; and {len(blocks) - 1} more" if len(blocks) > 1 else ""),
            payload,
            step=step.value,
            rule_set_version=version,
        )
    override = lot_domain.override(lot, step.value, payload, override_reason)
    return Verdict(findings=list(findings), rule_set_version=version, override=override)


# ---------------------------------------------------------------- API answers


def catalogue(*, ctx: AppContext) -> dict[str, Any]:
    data = rule_data(ctx)
    return {
        "rule_set_version": data.version,
        "rules": [
            {
                "id": r.id,
                "title_zh": r.title_zh,
                "title_en": r.title_en,
                "citation": r.citation.as_dict(),
                "steps": sorted(s.value for s in r.steps),
                "severity": r.severity.value,
            }
            for r in all_rules()
        ],
        "parameters": {
            "storage": data.storage,
            "generator": data.generator,
            "gis": data.gis,
            "voc_prone": data.voc_prone,
        },
    }


def what_if(
    *,
    session: Session,
    ctx: AppContext,
    actor: Principal,
    action: str,
    lot_id: UUID | None,
    zone_id: UUID | None,
    scanned_code: str | None,
    proposal: GenerateLot | None,
    at: datetime | None,
) -> dict[str, Any]:
    """The findings a step would get now, without writing anything."""
    now = at or ctx.clock.now()
    step = {"generate": Step.generation, "label": Step.labelling}.get(action, Step.storage_in)
    if action == "generate":
        assert proposal is not None
        actor.require_site(proposal.site_id, hide=False)
        findings = check_generation(session=session, ctx=ctx, cmd=proposal, at=now)
    else:
        row = session.get(LotRow, lot_id)
        if row is None:
            raise InvalidInput("no such lot", field="lot_id")
        actor.require_site(row.site_id)
        lot = lot_state_of(row)
        if action == "label":
            findings = check_labelling(session=session, ctx=ctx, lot=lot, label_fields={}, at=now)
            findings = [f for f in findings if f.rule_id != "R10"]  # needs the rendered label
        else:
            assert zone_id is not None
            findings = check_storage(
                session=session,
                ctx=ctx,
                lot=lot,
                zone_id=zone_id,
                scanned_code=scanned_code,
                at=now,
            )
    blocks = blocking(findings)
    return {
        "allowed": not blocks,
        "overridable": bool(blocks) and step in OVERRIDABLE,
        "rule_set_version": rule_data(ctx).version,
        "findings": [f.model_dump(mode="json") for f in findings],
    }
