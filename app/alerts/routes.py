"""Alerts (`/api/v1/alerts`): what needs attention, each with the lots behind it."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from app.alerts import schemas
from app.alerts import service as alert_service
from app.core.errors import error_responses
from app.core.routing import CheckedRoute
from app.deps import CtxDep, Offset, ReadSessionDep, SessionDep
from app.identity.deps import require
from app.identity.permissions import Permission

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"], route_class=CheckedRoute)

Reader = require(Permission.lot_read)
Sweeper = require(Permission.zone_admin)


@router.get("", response_model=schemas.AlertPage, responses=error_responses(401, 403, 422))
def list_alerts(
    actor: Reader,
    session: ReadSessionDep,
    site_id: UUID | None = None,
    kind: Annotated[str | None, Query(max_length=32)] = None,
    include_cleared: bool = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
    offset: Offset = 0,
) -> schemas.AlertPage:
    """Open alerts (blocking first): storage time, storage spots, inspections, zone fill,
    unlabelled lots, containers awaiting repack."""
    total, rows = alert_service.list_alerts(
        session=session,
        actor=actor,
        site_id=site_id,
        kind=kind,
        include_cleared=include_cleared,
        limit=limit,
        offset=offset,
    )
    return schemas.AlertPage(items=[schemas.AlertRead.model_validate(r) for r in rows], total=total)


@router.post("/sweep", response_model=schemas.SweepRead, responses=error_responses(401, 403))
def sweep(actor: Sweeper, session: SessionDep, ctx: CtxDep) -> schemas.SweepRead:
    """Run the storage sweep now for the sites in scope (it also runs on a schedule)."""
    result = alert_service.sweep(session=session, ctx=ctx, site_ids=sorted(actor.site_ids, key=str))
    return schemas.SweepRead(raised=result.raised, cleared=result.cleared, open=result.open)
