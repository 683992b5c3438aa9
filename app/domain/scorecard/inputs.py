"""What the EHS manager enters per site and year, and the events that record it.

Inputs are events on the site's `scorecard` stream (one stream per site), so every figure
that moved a score is in the hash-chained log with who entered it and when, is covered by the
site's signed checkpoints and travels in the regulator's log export. A later entry for the
same year overrides field by field; nothing is ever rewritten.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Any
from uuid import UUID, uuid5

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.domain import events as ev

SCORECARD_NAMESPACE = UUID("6c1f7a52-3b7e-4b0e-9a51-1f8e2d7c9a10")
STREAM_TYPE = "scorecard"


def stream_id_for(site_id: UUID) -> UUID:
    return uuid5(SCORECARD_NAMESPACE, str(site_id))


class Route(StrEnum):
    synthesis = "synthesis"  # 化学合成法
    fermentation = "fermentation"  # 微生物发酵法
    formulation = "formulation"  # 制剂


Money = Field(default=None, ge=0, le=Decimal("1e12"), decimal_places=3)
Tonnes = Field(default=None, ge=0, le=Decimal("1e9"), decimal_places=3)


class PeriodInputs(BaseModel):
    """The I inputs of one site and year. Every field is optional: a missing figure makes
    the criteria that need it `missing_input` (0 points, named in the report)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    output_value_10k_cny: Decimal | None = Field(
        default=None, ge=0, le=Decimal("1e12"), description="工业总产值, 10⁴ CNY"
    )
    product_t: dict[Route, Decimal] = Field(
        default={}, description="product tonnes per route (化学合成 / 发酵 / 制剂)"
    )
    waste_share_pct: dict[Route, Decimal] = Field(
        default={},
        description="share of the site's solid waste per route, when it has several routes",
    )
    base_year: int | None = Field(default=None, ge=2000, le=2100)
    base_output_value_10k_cny: Decimal | None = Field(default=None, ge=0, le=Decimal("1e12"))
    base_general_t: Decimal | None = Field(default=None, ge=0, le=Decimal("1e9"))
    base_hazardous_t: Decimal | None = Field(default=None, ge=0, le=Decimal("1e9"))
    base_disposed_t: Decimal | None = Field(default=None, ge=0, le=Decimal("1e9"))
    industry_avg_hazardous_kg_t: Decimal | None = Field(
        default=None, ge=0, le=Decimal("1e7"), description="formulation: industry average"
    )
    industry_avg_solid_kg_t: Decimal | None = Field(default=None, ge=0, le=Decimal("1e7"))
    industry_top20_solid_kg_t: Decimal | None = Field(default=None, ge=0, le=Decimal("1e7"))
    paper_manifests: int | None = Field(
        default=None,
        ge=0,
        le=1_000_000,
        description="manifests done on paper and not back-entered in hazchain (back-entered "
        "ones are counted from the log)",
    )
    general_utilised_t_offlog: Decimal | None = Field(
        default=None,
        ge=0,
        le=Decimal("1e9"),
        description="general waste sent to utilisation outside the log (general waste does "
        "not travel on manifests yet)",
    )
    own_disposal_facility: bool | None = None
    holds_operating_licence: bool | None = None

    @model_validator(mode="after")
    def _shares(self) -> PeriodInputs:
        if self.waste_share_pct and sum(self.waste_share_pct.values()) != 100:
            raise ValueError("waste_share_pct must add up to 100")
        for route, t in self.product_t.items():
            if t < 0:
                raise ValueError(f"product_t[{route.value}] must not be negative")
        return self

    def merged(self, changes: dict[str, Any]) -> PeriodInputs:
        data = self.model_dump(mode="json", exclude_none=True)
        data.update({k: v for k, v in changes.items()})
        return PeriodInputs.model_validate({k: v for k, v in data.items() if v is not None})


SelfValue = bool | Decimal


@ev.register
class ScorecardInputsRecorded(ev.Event):
    """Period inputs and self-assessed values for a year (merged over earlier entries)."""

    TYPE = "scorecard.inputs_recorded"

    year: int
    values: dict[str, Any] = {}
    self_assessed: dict[str, SelfValue | None] = {}
    note: str | None = None


@ev.register
class ScorecardEvidenceAttached(ev.Event):
    """A file backing a self-assessed criterion, stored by its SHA-256."""

    TYPE = "scorecard.evidence_attached"

    year: int
    criterion: str
    sha256: str
    filename: str
    content_type: str
    size: int
    description: str | None = None
