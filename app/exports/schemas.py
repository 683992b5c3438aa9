"""Request and response models of the declaration filings (HJ 1259 §7, rule R60)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

from pydantic import Field

from app.core.schemas import Schema
from app.lots.schemas import CommandEnvelope


class DeclarationFilingCreate(CommandEnvelope):
    site_id: UUID
    period: str = Field(max_length=7, description="YYYY-MM, YYYYQn or YYYY")
    filed_on: date = Field(description="the day it was filed in the national system")
    receipt_no: str = Field(
        min_length=1, max_length=64, description="the national system's receipt or record number"
    )


class DeclarationPeriod(Schema):
    period: str
    cycle: str  # monthly | quarterly | yearly
    starts_on: date
    ends_on: date
    due_on: date
    status: str  # filed | overdue | due | open (not yet in the warning window)
    filed_on: date | None = None
    receipt_no: str | None = None
    filings: int = 0
    filed_at: datetime | None = None


class DeclarationCalendar(Schema):
    site_id: UUID
    management_class: str
    management_class_zh: str
    management_class_reasons: list[str] = Field(
        default_factory=list, description="why the class (HJ 1259 4.2.1), in Chinese"
    )
    annual_generation_t: Decimal
    required_cycle: str
    warn_days: int
    periods: list[DeclarationPeriod] = Field(description="the last twelve months, newest first")
