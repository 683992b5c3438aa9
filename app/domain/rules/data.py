"""Load the versioned rule data (thresholds, groups, incompatibility and material tables)."""

from __future__ import annotations

import csv
import hashlib
import tomllib
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).resolve().parent / "data"


@dataclass(frozen=True)
class Group:
    name: str
    match: str  # category | hazard | property | code
    value: str
    label_zh: str
    label_en: str


@dataclass(frozen=True)
class Incompatibility:
    a: str
    b: str  # a group name, or "*" for any other group / any lot not in `a`
    result_zh: str
    result_en: str


@dataclass(frozen=True)
class MaterialRule:
    group: str
    material: str
    result_zh: str
    result_en: str


@dataclass(frozen=True)
class RuleData:
    version: str
    storage: dict[str, Any]
    generator: dict[str, Any]
    gis: dict[str, Any]
    voc_prone: dict[str, Any]
    provinces: dict[str, Any]
    groups: tuple[Group, ...]
    incompatible: tuple[Incompatibility, ...]
    materials: tuple[MaterialRule, ...]

    def param(self, section: str, key: str) -> Any:
        return getattr(self, section)[key]

    def storage_days(self) -> tuple[int, int]:
        """R32/R33's storage-age marks: (the warning day, the limit), in days."""
        return (
            int(self.storage["duration_warn_days"]),
            int(self.storage["duration_limit_days"]),
        )

    def dec(self, section: str, key: str) -> Decimal:
        return Decimal(str(getattr(self, section)[key]))

    def province(self, code: str) -> dict[str, Any]:
        merged = dict(self.provinces.get("default", {}))
        merged.update(self.provinces.get("profiles", {}).get(code, {}))
        return merged

    def groups_of(
        self,
        category: str,
        hazards: frozenset[str],
        properties: frozenset[str],
        code: str | None = None,
    ) -> frozenset[str]:
        out = set()
        for g in self.groups:
            if (
                (g.match == "category" and g.value == category)
                or (g.match == "hazard" and g.value in hazards)
                or (g.match == "property" and g.value in properties)
                or (g.match == "code" and g.value == code)
            ):
                out.add(g.name)
        return frozenset(out)

    def group_label(self, name: str) -> tuple[str, str]:
        for g in self.groups:
            if g.name == name:
                return g.label_zh, g.label_en
        return name, name

    def with_overrides(self, **sections: dict[str, Any]) -> RuleData:
        """A copy with some parameters replaced (site configuration, tests)."""
        values = {f: getattr(self, f) for f in self.__dataclass_fields__}
        for section, updates in sections.items():
            values[section] = {**values[section], **updates}
        return RuleData(**values)


def _csv(name: str) -> list[dict[str, str]]:
    with (DATA_DIR / name).open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@cache
def load_rule_data(directory: Path = DATA_DIR) -> RuleData:
    ruleset = tomllib.loads((directory / "ruleset.toml").read_text(encoding="utf-8"))
    provinces = tomllib.loads((directory / "provinces.toml").read_text(encoding="utf-8"))
    digest = hashlib.sha256()
    for path in sorted(directory.iterdir()):
        if path.is_file():
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return RuleData(
        version=f"{ruleset['version']}+{digest.hexdigest()[:8]}",
        storage=ruleset["storage"],
        generator=ruleset["generator"],
        gis=ruleset["gis"],
        voc_prone=ruleset["voc_prone"],
        provinces=provinces,
        groups=tuple(Group(**r) for r in _csv("groups.csv")),
        incompatible=tuple(Incompatibility(**r) for r in _csv("incompatibility.csv")),
        materials=tuple(MaterialRule(**r) for r in _csv("materials.csv")),
    )
