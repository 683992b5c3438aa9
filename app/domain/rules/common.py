"""Shared pieces of the rule modules: the `rule` decorator, the registry list and helpers.

Each rule carries its citation (regulations.md §10 ids and confidence tags).

Rules read a `Situation` and return findings. Thresholds and tables come from `s.data`
(rules/data/*.toml, *.csv), never from constants here.
"""

from __future__ import annotations

from collections.abc import Iterable

from app.domain.lot import LotState
from app.domain.rules.base import (
    Citation,
    Confidence,
    Rule,
    Severity,
    Situation,
    Step,
)
from app.domain.values import WasteKind

T, P3, RC, POL = Confidence.TEXT, Confidence.THIRD_PARTY, Confidence.RECALL, Confidence.POLICY
GB18597 = "GB 18597-2023"
GB18599 = "GB 18599-2020"
LAW = "固废法 (2020)"
HJ1276 = "HJ 1276-2022"
MINGLU = "国家危险废物名录 (2021)"

RULES: list[Rule] = []


def rule(
    id: str,
    zh: str,
    en: str,
    doc: str,
    clause: str,
    conf: Confidence,
    steps: Iterable[Step],
    severity: Severity,
):  # type: ignore[no-untyped-def]
    def deco(fn):  # type: ignore[no-untyped-def]
        RULES.append(
            Rule(
                id=id,
                title_zh=zh,
                title_en=en,
                citation=Citation(doc, clause, conf),
                steps=frozenset(steps),
                severity=severity,
                check=fn,
            )
        )
        return fn

    return deco


STORE = [Step.storage_in]

# ---------------------------------------------------------------- helpers


def lot_groups(s: Situation, lot: LotState) -> frozenset[str]:
    return s.data.groups_of(
        lot.category,
        frozenset(lot.hazard_characteristics),
        frozenset(lot.properties),
        lot.waste_code,
    )


def is_hazardous(s: Situation) -> bool:
    return s.lot is not None and s.lot.kind is WasteKind.hazardous


def age_days(s: Situation, since: object) -> int:
    return int((s.now - since).total_seconds() // 86400)  # type: ignore[operator]


def is_voc_prone(s: Situation, lot: LotState) -> bool:
    voc = s.data.voc_prone
    return (
        lot.category in voc["categories"]
        or (lot.waste_code or "") in voc["codes"]
        or "voc_prone" in lot.properties
    )


SPOT = "storage_spot"
GIS_YARDS = {"gis_class_i_yard": "I", "gis_class_ii_yard": "II"}
LOOSE_PILE_OK = {
    "storage_warehouse",
    "storage_yard",
    "gis_class_i_yard",
    "gis_class_ii_yard",
    "gis_indoor",
}
LIQUID_HOLDERS = {"storage_pool", "tank_farm"}
