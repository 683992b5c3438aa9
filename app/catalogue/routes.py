"""Waste-code catalogue API (`/api/v1/waste-codes`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.catalogue import schemas
from app.catalogue import service as catalogue_service
from app.core.errors import error_responses
from app.core.routing import CheckedRoute
from app.deps import CtxDep, Offset
from app.identity.deps import require
from app.identity.permissions import Permission

router = APIRouter(prefix="/api/v1/waste-codes", tags=["waste codes"], route_class=CheckedRoute)

Reader = require(Permission.catalogue_read)


@router.get("", response_model=schemas.WasteCodePage, responses=error_responses(401, 403, 422))
def search(
    _: Reader,
    ctx: CtxDep,
    q: Annotated[str | None, Query(max_length=100, description="code, HWxx or words")] = None,
    category: Annotated[str | None, Query(max_length=4, pattern=r"^HW\d{2}$")] = None,
    edition: Annotated[str | None, Query(max_length=8)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
) -> schemas.WasteCodePage:
    """Search the 国家危险废物名录 by code (with or without hyphens), category or words."""
    return catalogue_service.search(
        ctx=ctx, q=q, category=category, edition=edition, limit=limit, offset=offset
    )


@router.get(
    "/{code}", response_model=schemas.WasteCodeRead, responses=error_responses(401, 403, 404)
)
def get(code: str, _: Reader, ctx: CtxDep) -> schemas.WasteCodeRead:
    return catalogue_service.get(ctx=ctx, code=code)
