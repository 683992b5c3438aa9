"""All rules, by step; `evaluate` runs the rules of a step over a situation."""

from __future__ import annotations

from functools import cache

from app.domain.rules import (  # noqa: F401 - register
    duration,
    generation,
    integrity,
    labelling,
    reporting,
    storage,
    transfer,
)
from app.domain.rules.base import Finding, Rule, Severity, Situation, Step
from app.domain.rules.common import RULES

SEVERITY_ORDER = {Severity.block: 0, Severity.warn: 1, Severity.info: 2}


def all_rules() -> list[Rule]:
    return sorted(RULES, key=lambda r: (r.id[0] != "R", r.id))


@cache
def rules_by_id() -> dict[str, Rule]:
    """Every rule by its id (for what names a rule without evaluating it: an alert, an audit)."""
    return {r.id: r for r in RULES}


def rules_for(step: Step) -> list[Rule]:
    return [r for r in all_rules() if step in r.steps]


def evaluate(situation: Situation) -> list[Finding]:
    """Every finding of every rule of the situation's step, blocking findings first."""
    out: list[Finding] = []
    for r in rules_for(situation.step):
        out.extend(r.check(situation, r))
    return sorted(out, key=lambda f: (SEVERITY_ORDER[f.severity], f.rule_id))


def blocking(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.blocks]
