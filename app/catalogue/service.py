"""Search the 国家危险废物名录 catalogue (held in memory, loaded from the versioned CSV)."""

from __future__ import annotations

from app.catalogue import schemas
from app.context import AppContext
from app.domain.errors import InvalidInput, NotFound
from app.domain.values import HAZARD_ORDER
from app.domain.waste_codes import WasteCode, normalise_code


def _read(c: WasteCode) -> schemas.WasteCodeRead:
    return schemas.WasteCodeRead(
        code=c.code,
        category=c.category,
        category_name=c.category_name,
        hazard=c.hazard,
        hazard_characteristics=sorted(c.hazard_set, key=HAZARD_ORDER.index),
        description_en=c.description_en,
        edition=c.edition,
    )


def search(
    *,
    ctx: AppContext,
    q: str | None,
    category: str | None,
    edition: str | None,
    limit: int,
    offset: int,
) -> schemas.WasteCodePage:
    cat = ctx.catalogue
    if edition is not None and edition not in cat.editions:
        raise InvalidInput(
            f"unknown edition {edition}; loaded: {', '.join(cat.editions)}", field="edition"
        )
    ed = edition or cat.editions[-1]
    total, items = cat.search(q, edition=ed, category=category, limit=limit, offset=offset)
    return schemas.WasteCodePage(items=[_read(c) for c in items], total=total, edition=ed)


def get(*, ctx: AppContext, code: str) -> schemas.WasteCodeRead:
    found = ctx.catalogue.get(normalise_code(code))
    if found is None:
        raise NotFound(f"waste code {code} is not in the catalogue", code=code)
    return _read(found)
