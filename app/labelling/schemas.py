"""Request models of the label endpoints."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from pydantic import Field

from app.core.schemas import Schema
from app.labelling.service import MAX_BATCH

LabelLayout = Literal["roll", "a4"]
SignSize = Literal["A4", "A5"]


class LabelBatch(Schema):
    lot_ids: list[UUID] = Field(
        min_length=1,
        max_length=MAX_BATCH,
        description=f"the lots to print, in order (at most {MAX_BATCH})",
    )
    mode: LabelLayout = Field(
        default="roll",
        description="roll: one label per page (label printers); a4: N-up on A4 with cut marks",
    )
