"""The scorecard definition: items, points, sources, formula keys and thresholds, as data.

The draft's table does not add up (scorecard.md §1): `inconsistencies()` compares each
section's printed heading with the sum of its items, and the table's total with the stated
maximum, so the report can flag it.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent / "data"
DEFAULT = "no_waste_factory"


@dataclass(frozen=True)
class Criterion:
    key: str
    text: str
    points: Decimal
    source: str
    formula: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Item:
    no: int
    key: str
    section: str
    name: str
    points: Decimal
    criteria: tuple[Criterion, ...]


@dataclass(frozen=True)
class Section:
    key: str
    name: str
    stated_points: Decimal
    bonus: bool = False
    printed_extra: tuple[str, ...] = ()


@dataclass(frozen=True)
class Inconsistency:
    kind: str  # section_sum | placement | table_total | table_max
    section: str | None
    stated: Decimal
    actual: Decimal
    message_zh: str
    message_en: str


@dataclass(frozen=True)
class Definition:
    key: str
    version: str
    title: str
    pass_mark: Decimal
    stated_max: Decimal
    stated_base: Decimal
    stated_bonus: Decimal
    sections: tuple[Section, ...]
    items: tuple[Item, ...]
    classes: dict[str, list[str]]
    timeliness_window_hours: int
    veto_text: str
    veto_conditions: tuple[str, ...]
    hj1259: dict[str, Decimal]
    hgt5902: dict[str, Decimal]

    def section(self, key: str) -> Section:
        return next(s for s in self.sections if s.key == key)

    def item(self, key: str) -> Item | None:
        return next((i for i in self.items if i.key == key), None)

    def criterion(self, key: str) -> tuple[Item, Criterion] | None:
        for item in self.items:
            for c in item.criteria:
                if c.key == key:
                    return item, c
        return None

    def section_sum(self, key: str) -> Decimal:
        return sum((i.points for i in self.items if i.section == key), Decimal(0))

    @property
    def table_base(self) -> Decimal:
        bonus = {s.key for s in self.sections if s.bonus}
        return sum((i.points for i in self.items if i.section not in bonus), Decimal(0))

    @property
    def table_bonus(self) -> Decimal:
        bonus = {s.key for s in self.sections if s.bonus}
        return sum((i.points for i in self.items if i.section in bonus), Decimal(0))

    def inconsistencies(self) -> list[Inconsistency]:
        out: list[Inconsistency] = []
        for s in self.sections:
            actual = self.section_sum(s.key)
            if actual != s.stated_points:
                out.append(
                    Inconsistency(
                        "section_sum",
                        s.key,
                        s.stated_points,
                        actual,
                        f"“{s.name}”标题为 {_n(s.stated_points)} 分，其下各项合计 {_n(actual)} 分",
                        f"{s.key}: heading says {_n(s.stated_points)}, its items sum to "
                        f"{_n(actual)}",
                    )
                )
            for extra in s.printed_extra:
                item = self.item(extra)
                if item is not None and item.section != s.key:
                    owner = self.section(item.section)
                    parts = " + ".join(_n(i.points) for i in self.items if i.section == owner.key)
                    out.append(
                        Inconsistency(
                            "placement",
                            s.key,
                            s.stated_points,
                            s.stated_points + item.points,
                            f"“{item.name}”（{_n(item.points)} 分）印在“{s.name}”下，"
                            f"但属于“{owner.name}”（{_n(owner.stated_points)} 分 = "
                            f"{parts}）",
                            f"{item.key} ({_n(item.points)}) is printed under {s.key} but "
                            f"belongs to {owner.key}",
                        )
                    )
        if self.table_base != self.stated_base:
            out.append(
                Inconsistency(
                    "table_total",
                    None,
                    self.stated_base,
                    self.table_base,
                    f"表内基础分合计 {_n(self.table_base)} 分，正文称 {_n(self.stated_base)} 分",
                    f"base items sum to {_n(self.table_base)}, the text says "
                    f"{_n(self.stated_base)}",
                )
            )
        table_max = self.table_base + self.table_bonus
        if table_max != self.stated_max:
            out.append(
                Inconsistency(
                    "table_max",
                    None,
                    self.stated_max,
                    table_max,
                    f"表内满分 {_n(self.table_base)} + {_n(self.table_bonus)} 加分 = "
                    f"{_n(table_max)} 分，正文称满分 {_n(self.stated_max)} 分",
                    f"the table's maximum is {_n(self.table_base)} + {_n(self.table_bonus)} "
                    f"bonus = {_n(table_max)}, the text says {_n(self.stated_max)}",
                )
            )
        return out


def _n(d: Decimal) -> str:
    return f"{d.normalize():f}"


def _dec(v: Any) -> Decimal:
    return Decimal(str(v))


def parse(raw: dict[str, Any]) -> Definition:
    sections = tuple(
        Section(
            key=s["key"],
            name=s["name"],
            stated_points=_dec(s["stated_points"]),
            bonus=bool(s.get("bonus", False)),
            printed_extra=tuple(s.get("printed_extra", ())),
        )
        for s in raw["section"]
    )
    known = {s.key for s in sections}
    items = []
    seen: set[str] = set()
    for it in raw["item"]:
        if it["section"] not in known:
            raise ValueError(f"item {it['key']}: unknown section {it['section']}")
        criteria = []
        for c in it["criteria"]:
            if c["key"] in seen:
                raise ValueError(f"criterion {c['key']} defined twice")
            seen.add(c["key"])
            base = {"key", "text", "points", "source", "formula"}
            criteria.append(
                Criterion(
                    key=c["key"],
                    text=c["text"],
                    points=_dec(c["points"]),
                    source=c["source"],
                    formula=c["formula"],
                    params={k: v for k, v in c.items() if k not in base},
                )
            )
        items.append(
            Item(
                no=int(it["no"]),
                key=it["key"],
                section=it["section"],
                name=it["name"],
                points=_dec(it["points"]),
                criteria=tuple(criteria),
            )
        )
    return Definition(
        key=raw["key"],
        version=str(raw["version"]),
        title=raw["title"],
        pass_mark=_dec(raw["pass_mark"]),
        stated_max=_dec(raw["stated_max"]),
        stated_base=_dec(raw["stated_base"]),
        stated_bonus=_dec(raw["stated_bonus"]),
        sections=sections,
        items=tuple(items),
        classes={k: list(v) for k, v in raw.get("classes", {}).items()},
        timeliness_window_hours=int(raw.get("timeliness", {}).get("window_hours", 24)),
        veto_text=raw["veto"]["text"],
        veto_conditions=tuple(raw["veto"]["conditions"]),
        hj1259={k: _dec(v) for k, v in raw["hj1259"].items()},
        hgt5902={k: _dec(v) for k, v in raw["hgt5902"].items()},
    )


@cache
def load_definition(name: str = DEFAULT) -> Definition:
    with (DATA / f"{name}.toml").open("rb") as f:
        return parse(tomllib.load(f))
