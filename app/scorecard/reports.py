"""The scorecard's reports: the computed scorecard as its JSON document (the DTO), rendered by
`reports.scorecard` (no database there)."""

from __future__ import annotations

import json
from typing import Any

from app.scorecard.schemas import ScorecardRead
from app.scorecard.service import Computed, to_wire
from reports import scorecard as render


def document(c: Computed) -> dict[str, Any]:
    doc = ScorecardRead.model_validate(to_wire(c)).model_dump(mode="json")
    return json.loads(json.dumps(doc))  # type: ignore[no-any-return]


def pdf(c: Computed) -> bytes:
    return render.render_pdf(document(c))


def xlsx(c: Computed) -> bytes:
    return render.render_xlsx(document(c))
