"""Waste-code catalogue responses."""

from __future__ import annotations

from app.core.schemas import Schema


class WasteCodeRead(Schema):
    code: str
    category: str
    category_name: str
    hazard: str
    hazard_characteristics: list[str]
    description_en: str
    edition: str


class WasteCodePage(Schema):
    items: list[WasteCodeRead]
    total: int
    edition: str
