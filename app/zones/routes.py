"""Zone API (`/api/v1/zones`)."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, status

from app.core.errors import error_responses
from app.deps import CtxDep, ReadSessionDep, SessionDep
from app.identity.deps import require
from app.identity.permissions import Permission
from app.zones import schemas
from app.zones import service as zone_service

router = APIRouter(prefix="/api/v1/zones", tags=["zones"])

Reader = require(Permission.zone_read)
Admin = require(Permission.zone_admin)


@router.post(
    "",
    response_model=schemas.ZoneRead,
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(401, 403, 409, 422),
)
def register(
    cmd: schemas.ZoneCreate, actor: Admin, session: SessionDep, ctx: CtxDep
) -> schemas.ZoneRead:
    return zone_service.register_zone(session=session, ctx=ctx, actor=actor, cmd=cmd)


@router.get("", response_model=list[schemas.ZoneRead], responses=error_responses(401, 403))
def list_zones(
    actor: Reader, session: ReadSessionDep, site_id: UUID | None = None
) -> list[schemas.ZoneRead]:
    return zone_service.list_zones(session=session, actor=actor, site_id=site_id)


@router.get("/{zone_id}", response_model=schemas.ZoneRead, responses=error_responses(401, 403, 404))
def get_zone(zone_id: UUID, actor: Reader, session: ReadSessionDep) -> schemas.ZoneRead:
    """A zone with its inventory by category (count, kg, litres)."""
    return zone_service.get_zone(session=session, actor=actor, zone_id=zone_id)
