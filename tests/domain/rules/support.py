"""Builders for rule tests: a lot, a zone, its contents and a situation. No database."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import uuid4

from app.context import load_catalogue
from app.domain.lot import GenerateLot, LotState, LotStatus
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
from app.domain.rules.data import load_rule_data
from app.domain.rules.registry import evaluate
from app.domain.values import Container, PhysicalForm, WasteKind

NOW = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)
SITE = uuid4()


def lot(**kw: Any) -> LotState:
    base = LotState(
        lot_id=uuid4(),
        site_id=SITE,
        kind=WasteKind.hazardous,
        name="废酸",
        category="HW34",
        waste_code="900-349-34",
        general_class=None,
        hazard_characteristics=("T", "C"),
        physical_form=PhysicalForm.solid,
        container=Container(type="drum", volume_l=Decimal(200), material="HDPE"),  # type: ignore[arg-type]
        weight_kg=Decimal(180),
        generated_at=NOW,
        status=LotStatus.labelled,
        digital_id="X" * 37,
        labelled_at=NOW,
    )
    if "container" in kw and isinstance(kw["container"], dict):
        kw["container"] = Container(**kw["container"])
    if isinstance(kw.get("physical_form"), str):
        kw["physical_form"] = PhysicalForm(kw["physical_form"])
    return replace(base, **kw)


def facility(type_: str = "storage_warehouse", **kw: Any) -> FacilityView:
    return FacilityView(facility_id=uuid4(), code="F1", name="贮存库", type=type_, **kw)


def zone(
    kind: str = "hazardous", facility_type: str | None = "storage_warehouse", **kw: Any
) -> ZoneView:
    return ZoneView(
        zone_id=uuid4(),
        code="Z1",
        name="Z1",
        kind=kind,
        facility=facility(facility_type) if facility_type else None,
        **kw,
    )


def mix(
    category: str,
    hazards: str = "T",
    form: str = "solid",
    count: int = 1,
    kg: str = "100",
    litres: str = "200",
    properties: str = "",
) -> Mix:
    return Mix(
        category=category,
        hazards=frozenset(h for h in hazards.split(",") if h),
        properties=frozenset(p for p in properties.split(",") if p),
        form=form,
        lot_count=count,
        weight_kg=Decimal(kg),
        volume_l=Decimal(litres),
    )


def situation(
    step: Step = Step.storage_in,
    the_lot: LotState | None = None,
    contents: list[Mix] | None = None,
    max_liquid: str = "0",
    now: datetime = NOW,
    site: SiteProfile | None = None,
    data: Any = None,
    **kw: Any,
) -> Situation:
    return Situation(
        step=step,
        lot=the_lot if the_lot is not None else (lot() if step is not Step.generation else None),
        now=now,
        site=site or SiteProfile(site_id=SITE, province_code="32"),
        catalogue=load_catalogue(),
        data=data or load_rule_data(),
        contents=ZoneContents(
            mixes=tuple(contents or ()), max_liquid_container_l=Decimal(max_liquid)
        ),
        **kw,
    )


def proposal(**kw: Any) -> GenerateLot:
    base: dict[str, Any] = dict(
        site_id=SITE,
        name="废酸",
        waste_code="900-349-34",
        physical_form="liquid",
        container={"type": "drum", "volume_l": "200"},
        weight_kg="100",
    )
    base.update(kw)
    return GenerateLot.model_validate(base)


def findings_of(s: Situation, rule_id: str) -> list[Finding]:
    return [f for f in evaluate(s) if f.rule_id == rule_id]
