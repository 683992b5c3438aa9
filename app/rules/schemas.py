"""Rule catalogue and "what would happen if" checks."""

from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

from pydantic import Field, model_validator

from app.core.schemas import Instant, Schema
from app.domain.lot import GenerateLot


class CitationRead(Schema):
    document: str
    clause: str
    confidence: str


class RuleRead(Schema):
    id: str
    title_zh: str
    title_en: str
    citation: CitationRead
    steps: list[str]
    severity: str


class RuleCatalogue(Schema):
    rule_set_version: str
    rules: list[RuleRead]
    parameters: dict[str, Any]


class FindingRead(Schema):
    rule_id: str
    severity: str
    step: str
    message_zh: str
    message_en: str
    citation: dict[str, str]
    values: dict[str, Any]


class CheckRequest(Schema):
    """Ask what the rules would say, without writing anything."""

    action: Literal["generate", "label", "store", "move"]
    lot_id: UUID | None = Field(default=None, description="label / store / move")
    zone_id: UUID | None = Field(default=None, description="store / move: the target zone")
    scanned_code: str | None = Field(default=None, max_length=64)
    lot: GenerateLot | None = Field(default=None, description="generate: the lot to generate")
    occurred_at: Instant | None = None

    @model_validator(mode="after")
    def _needs(self) -> CheckRequest:
        if self.action == "generate" and self.lot is None:
            raise ValueError("action generate needs `lot`")
        if self.action != "generate" and self.lot_id is None:
            raise ValueError(f"action {self.action} needs `lot_id`")
        if self.action in {"store", "move"} and self.zone_id is None:
            raise ValueError(f"action {self.action} needs `zone_id`")
        return self


class CheckResult(Schema):
    allowed: bool
    overridable: bool = Field(description="blocked, but an EHS manager may override")
    rule_set_version: str
    findings: list[FindingRead]
