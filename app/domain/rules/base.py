"""Rule-engine types: steps, severities, citations, findings, and the situation a rule reads.

A rule is `check(situation) -> findings`. The situation is assembled by the service from the
projections (lot state, zone, zone contents, site profile) — never from a scan of the log —
and carries the clock and the rule data, so rules are pure and testable without a database.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from app.domain.lot import GenerateLot, LotState
from app.domain.waste_codes import Catalogue


class Severity(StrEnum):
    block = "block"  # refuse the step
    warn = "warn"  # allow, record and show
    info = "info"  # derived fact, recorded


class Step(StrEnum):
    generation = "generation"
    labelling = "labelling"
    storage_in = "storage_in"  # store into a zone, or move into another zone
    inspection = "inspection"
    repack = "repack"
    storage_duration = "storage_duration"
    transfer = "transfer"  # manifest submitted (转移联单)
    loading = "loading"  # lots loaded onto the vehicle
    receipt = "receipt"  # the handler receives and confirms
    disposal = "disposal"  # utilisation / disposal recorded, manifest closed
    reporting = "reporting"  # periodic declarations (申报), checked by the sweep
    integrity = "integrity"  # the log's hash chain, as the last verification run found it


class Confidence(StrEnum):
    TEXT = "TEXT"  # read in the regulation's full text
    THIRD_PARTY = "3P"  # third-party reproduction
    RECALL = "RECALL"  # recollection, unconfirmed
    POLICY = "POLICY"  # hazchain's own operational check, not a legal requirement


@dataclass(frozen=True)
class Citation:
    document: str
    clause: str
    confidence: Confidence

    def as_dict(self) -> dict[str, str]:
        return {
            "document": self.document,
            "clause": self.clause,
            "confidence": self.confidence.value,
        }

    def __str__(self) -> str:
        return f"{self.document} {self.clause}"


class Finding(BaseModel):
    """One verdict of one rule: what failed, why, where the rule comes from."""

    model_config = ConfigDict(frozen=True)

    rule_id: str
    severity: Severity
    step: Step
    message_zh: str
    message_en: str
    citation: dict[str, str]
    values: dict[str, Any] = {}

    @property
    def blocks(self) -> bool:
        return self.severity is Severity.block


# ---------------------------------------------------------------- what rules read


@dataclass(frozen=True)
class FacilityView:
    facility_id: Any
    code: str
    name: str
    type: str  # FacilityType value
    surface_antiseepage: bool | None = None
    direct_ground_contact: bool | None = None
    base_liner: str | None = None  # clay | hdpe | other
    liner_thickness_mm: Decimal | None = None
    liner_permeability_cm_s: float | None = None


@dataclass(frozen=True)
class ZoneView:
    zone_id: Any
    code: str
    name: str
    kind: str  # hazardous | general
    facility: FacilityView | None
    capacity_kg: Decimal | None = None
    capacity_l: Decimal | None = None
    allowed_categories: tuple[str, ...] = ()
    allowed_codes: tuple[str, ...] = ()
    containment_l: Decimal | None = None
    gas_collection: bool = False
    explosion_rated: bool = False
    inspection_interval_days: int | None = None

    @property
    def facility_type(self) -> str | None:
        return self.facility.type if self.facility else None


@dataclass(frozen=True)
class Mix:
    """What a zone holds, per distinct (category, hazards, properties, form)."""

    category: str
    hazards: frozenset[str]
    properties: frozenset[str]
    form: str
    lot_count: int
    weight_kg: Decimal
    volume_l: Decimal


@dataclass(frozen=True)
class ZoneContents:
    mixes: tuple[Mix, ...] = ()
    max_liquid_container_l: Decimal = Decimal(0)
    # what the zone's whole facility holds (every zone of it), without this lot: a 贮存点's
    # 3 t limit (R29) is the spot's, however its zones divide it
    facility_kg: Decimal | None = None

    @property
    def lot_count(self) -> int:
        return sum(m.lot_count for m in self.mixes)

    @property
    def weight_kg(self) -> Decimal:
        return sum((m.weight_kg for m in self.mixes), Decimal(0))

    @property
    def volume_l(self) -> Decimal:
        return sum((m.volume_l for m in self.mixes), Decimal(0))

    @property
    def liquid_l(self) -> Decimal:
        return sum((m.volume_l for m in self.mixes if m.form == "liquid"), Decimal(0))


@dataclass(frozen=True)
class SiteProfile:
    site_id: Any
    province_code: str
    licensed_operator: bool = False  # holds an HW operating licence (固废法 Art. 81 ¶3)
    spot_max_days: int | None = None


@dataclass(frozen=True)
class Situation:
    step: Step
    lot: LotState | None  # None at generation: the lot does not exist yet, see `proposal`
    now: datetime
    site: SiteProfile
    catalogue: Catalogue
    data: Any  # RuleData (rules/data.py); typed loosely to avoid an import cycle
    zone: ZoneView | None = None  # the target zone (storage-in / move) or current zone
    contents: ZoneContents | None = None  # the target zone's contents, without this lot
    scanned_code: str | None = None  # what the operator scanned at storage-in, if anything
    label_fields: dict[str, Any] = field(default_factory=dict)  # labelling: what is printed
    digital_id_taken: bool = False  # labelling: another lot already carries this ID
    last_zone_inspection: datetime | None = None
    proposal: GenerateLot | None = None  # generation: the command being checked

    @property
    def the_lot(self) -> LotState:
        assert self.lot is not None, f"{self.step} rules need a lot"
        return self.lot


Check = Callable[[Situation, "Rule"], Iterable[Finding]]


@dataclass(frozen=True)
class Rule:
    id: str
    title_zh: str
    title_en: str
    citation: Citation
    steps: frozenset[Step]
    severity: Severity
    check: Check

    def finding(
        self, s: Situation, zh: str, en: str, severity: Severity | None = None, **values: Any
    ) -> Finding:
        return Finding(
            rule_id=self.id,
            severity=severity or self.severity,
            step=s.step,
            message_zh=zh,
            message_en=en,
            citation=self.citation.as_dict(),
            values=_plain(values),
        )


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in values.items():
        if isinstance(v, Decimal):
            out[k] = str(v)
        elif isinstance(v, frozenset | set | tuple):
            out[k] = sorted(str(x) for x in v)
        elif isinstance(v, int | float | str | bool | list | dict) or v is None:
            out[k] = v
        else:
            out[k] = str(v)
    return out
