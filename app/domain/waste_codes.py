"""The 国家危险废物名录 catalogue as pure data: lookup, search and edition in force."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

CODE_RE = re.compile(r"^(\d{3})-(\d{3})-(\d{2})$")

# Editions and the first day each is in force (名录 2021: Order 15; 2025 edition from 2025-01-01).
EDITION_START: dict[str, date] = {"2021": date(2021, 1, 1), "2025": date(2025, 1, 1)}


@dataclass(frozen=True, slots=True)
class WasteCode:
    code: str  # ddd-ddd-dd
    category: str  # HWxx
    category_name: str
    hazard: str  # notation as listed: "T", "C,T", "T/C/I/R", ...
    description_en: str
    edition: str

    @property
    def hazard_set(self) -> frozenset[str]:
        return frozenset(re.split(r"[,/]", self.hazard)) if self.hazard else frozenset()

    @property
    def compact(self) -> str:
        return self.code.replace("-", "")


def code_format_problem(code: str) -> str | None:
    """名录 Art. 5(3): 8 digits ddd-ddd-dd, the last two being the HW category number."""
    m = CODE_RE.match(code)
    if not m:
        return f"waste code {code!r} must have the form ddd-ddd-dd (e.g. 900-041-49)"
    if not 1 <= int(m.group(3)) <= 50:
        return f"waste code {code!r}: last two digits must be a HW category 01-50"
    return None


def normalise_code(raw: str) -> str:
    s = raw.strip().replace(" ", "")
    if re.fullmatch(r"\d{8}", s):
        return f"{s[:3]}-{s[3:6]}-{s[6:]}"
    return s


class Catalogue:
    """All codes of all editions; `edition_for(day)` says which edition governs a date."""

    def __init__(self, codes: Iterable[WasteCode]) -> None:
        self._by_edition: dict[str, dict[str, WasteCode]] = {}
        for c in codes:
            self._by_edition.setdefault(c.edition, {})[c.code] = c
        self.editions = sorted(self._by_edition)

    @classmethod
    def from_csv(cls, path: Path) -> Catalogue:
        with path.open(encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh))
        return cls(
            WasteCode(
                code=r["code"],
                category=r["category"],
                category_name=r["category_name"],
                hazard=r["hazard"],
                description_en=r.get("description_en") or "",
                edition=r.get("edition") or "2021",
            )
            for r in rows
        )

    def edition_for(self, day: date) -> str:
        """The newest loaded edition in force on `day` (the oldest if `day` precedes all)."""
        chosen = self.editions[0]
        for ed in self.editions:
            if EDITION_START.get(ed, date.min) <= day:
                chosen = ed
        return chosen

    def get(self, code: str, edition: str | None = None) -> WasteCode | None:
        if edition is not None:
            return self._by_edition.get(edition, {}).get(code)
        for ed in reversed(self.editions):
            found = self._by_edition[ed].get(code)
            if found:
                return found
        return None

    def in_force(self, code: str, day: date) -> WasteCode | None:
        return self.get(code, self.edition_for(day))

    def all(self, edition: str | None = None) -> list[WasteCode]:
        ed = edition or self.editions[-1]
        return list(self._by_edition.get(ed, {}).values())

    def search(
        self,
        q: str | None,
        edition: str | None = None,
        category: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[int, list[WasteCode]]:
        items = self.all(edition)
        if category:
            items = [c for c in items if c.category == category.upper()]
        if q:
            needle = q.strip().lower()
            compact = needle.replace("-", "")
            items = [
                c
                for c in items
                if needle in c.code
                or (compact.isdigit() and compact in c.compact)
                or needle == c.category.lower()
                or needle in c.category_name
                or needle in c.description_en.lower()
            ]
        return len(items), items[offset : offset + limit]
