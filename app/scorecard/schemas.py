"""Request and response models of the scorecard API. Field names are the contract."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from pydantic import Field

from app.core.schemas import Schema


class CriterionRead(Schema):
    key: str
    text: str
    points: Decimal
    score: Decimal
    source: str
    formula: str
    status: str
    numerator: Decimal | None = None
    denominator: Decimal | None = None
    unit: str | None = None
    value: Decimal | None = None
    threshold: str | None = None
    note: str | None = None
    lots_url: str | None = Field(default=None, description="drill-down: the lots behind it")


class ItemRead(Schema):
    no: int
    key: str
    section: str
    section_name: str
    name: str
    points: Decimal
    score: Decimal
    criteria: list[CriterionRead]


class SectionRead(Schema):
    key: str
    name: str
    stated_points: Decimal
    items_sum: Decimal
    score: Decimal
    bonus: bool


class InconsistencyRead(Schema):
    kind: str
    section: str | None
    stated: Decimal
    actual: Decimal
    message_zh: str
    message_en: str


class VetoRead(Schema):
    key: str
    triggered: bool
    count: int
    detail: str


class TotalsRead(Schema):
    raw_base: Decimal
    raw_bonus: Decimal
    raw_total: Decimal
    table_max_base: Decimal
    table_max_bonus: Decimal
    table_max: Decimal
    stated_max: Decimal
    stated_base: Decimal
    stated_bonus: Decimal
    pass_mark: Decimal
    vetoed: bool
    passed: bool


class DefinitionRead(Schema):
    key: str
    version: str
    title: str


class ScorecardRead(Schema):
    site_id: UUID
    site_code: str
    site_name: str
    year: int
    definition: DefinitionRead
    computed_at: datetime
    timeliness_window_hours: int
    totals: TotalsRead
    inconsistent: bool = Field(description="the draft's own figures do not add up")
    inconsistencies: list[InconsistencyRead]
    sections: list[SectionRead]
    items: list[ItemRead]
    veto: list[VetoRead]
    veto_text: str
    management_class: dict[str, Any]
    hgt5902: list[dict[str, Any]]
    recovery_rate: dict[str, Any]
    inputs: dict[str, Any]
    self_assessed: dict[str, Any]
    reports: dict[str, str]


class InputsWrite(Schema):
    event_id: UUID
    site_id: UUID
    year: int = Field(ge=2000, le=2100)
    values: dict[str, Any] = Field(
        default={},
        description="period inputs to set (see PeriodInputs); null removes one",
    )
    self_assessed: dict[str, bool | Decimal | None] = Field(
        default={}, description="criterion key (s_*) -> yes/no or a value; null removes"
    )
    note: str | None = Field(default=None, max_length=500)


class EvidenceRead(Schema):
    id: UUID = Field(validation_alias="event_id")
    criterion: str
    sha256: str
    filename: str
    content_type: str
    size: int
    description: str | None
    attached_at: datetime
    download_url: str


class InputsRead(Schema):
    site_id: UUID
    year: int
    values: dict[str, Any]
    self_assessed: dict[str, Any]
    entries: int
    updated_at: datetime | None
    updated_by: UUID | None
    evidence: list[EvidenceRead]


class DrillLot(Schema):
    lot_id: UUID
    digital_id: str | None
    kind: str
    category: str
    waste_code: str | None
    name: str
    status: str
    weight_kg: Decimal
    generated_at: datetime
    labelled_at: datetime | None
    stored_at: datetime | None
    shipped_at: datetime | None
    received_at: datetime | None
    method_code: str | None
    completed_on: date | None
    in_numerator: bool
    events_url: str


class DrillPage(Schema):
    criterion: str
    year: int
    site_id: UUID
    side: str
    numerator_lots: int
    denominator_lots: int
    note: str
    total: int
    items: list[DrillLot]
