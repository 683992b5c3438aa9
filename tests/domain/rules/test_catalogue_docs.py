"""The rule catalogue in the docs is the one the code runs: every rule of the registry is in
docs/rules.md or docs/manifests.md, with its severity, and in rules.md its steps, confidence
and citation (the document and clause the finding will cite). A rule whose clause, severity or
steps change without the docs fails here."""

from __future__ import annotations

import re
from pathlib import Path

from app.domain.rules.base import Rule
from app.domain.rules.registry import all_rules

DOCS = Path(__file__).resolve().parents[3] / "docs"


def _rows(name: str) -> list[list[str]]:
    lines = (DOCS / name).read_text(encoding="utf-8").splitlines()
    return [
        [c.strip() for c in line.strip().strip("|").split("|")]
        for line in lines
        if re.match(r"\| [RH]\d\d", line)
    ]


def _problems(r: Rule, cells: list[str]) -> list[str]:
    _, _, citation, confidence, steps, severity = cells
    out = []
    if r.severity.value != severity:
        out.append(f"severity {r.severity.value}, docs {severity}")
    documented = sorted(s.strip().split(" ")[0] for s in steps.split(","))
    if sorted(s.value for s in r.steps) != documented:
        out.append(f"steps {sorted(s.value for s in r.steps)}, docs {documented}")
    if r.citation.confidence.value != confidence:
        out.append(f"confidence {r.citation.confidence.value}, docs {confidence}")
    for part in r.citation.document.split(";"):
        if part.strip() not in citation:
            out.append(f"document {part.strip()!r} not in {citation!r}")
    for part in r.citation.clause.split(";")[:1]:  # the docs may say more after the first
        if part.strip() not in citation:
            out.append(f"clause {part.strip()!r} not in {citation!r}")
    return out


def test_every_rule_is_documented_as_it_runs() -> None:
    rules = {r.id: r for r in all_rules()}
    problems: dict[str, list[str]] = {}
    seen: set[str] = set()
    for cells in _rows("rules.md"):
        rid = cells[0]
        assert rid in rules, f"docs/rules.md lists {rid}, which no code runs"
        seen.add(rid)
        if found := _problems(rules[rid], cells):
            problems[rid] = found
    for cells in _rows("manifests.md"):
        first = cells[0].split("–")[0]
        if "–" in cells[0]:  # a range of duties met by design (R57–R59), not rules that run
            continue
        assert first in rules, f"docs/manifests.md lists {first}, which no code runs"
        seen.add(first)
        if rules[first].severity.value != cells[2]:
            problems[first] = [f"severity {rules[first].severity.value}, docs {cells[2]}"]
    assert problems == {}
    assert sorted(set(rules) - seen) == [], "rules the docs do not list"
